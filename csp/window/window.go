package window

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSyntax is wrapped by every Parse error.
var ErrSyntax = errors.New("bad maintenance window")

// allDays is the weekday mask of a window without DAYS.
const allDays = 1<<7 - 1

// Window is one parsed window.
type window struct {
	days       uint8 // bit d set: open on time.Weekday(d)
	start, end int   // minutes after midnight; end may be <= start (crosses midnight)
}

// Schedule is a list of maintenance windows; the zero Schedule is always
// open.
type Schedule struct {
	ws  []window
	src []string
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse parses windows such as "02:00-04:00", "Mon-Fri 01:30-03:00" or
// "Sat 23:00-02:00". An empty list gives the always-open Schedule.
func Parse(specs []string) (Schedule, error) {
	s := Schedule{src: append([]string(nil), specs...)}
	for _, spec := range specs {
		w, err := parseOne(spec)
		if err != nil {
			return Schedule{}, fmt.Errorf("%w %q: %s", ErrSyntax, spec, err)
		}
		s.ws = append(s.ws, w)
	}
	return s, nil
}

func parseOne(spec string) (window, error) {
	f := strings.Fields(spec)
	w := window{days: allDays}
	switch len(f) {
	case 1:
	case 2:
		d, err := parseDays(f[0])
		if err != nil {
			return w, err
		}
		w.days = d
		f = f[1:]
	default:
		return w, errors.New(`want "[DAYS ]HH:MM-HH:MM"`)
	}
	a, b, ok := strings.Cut(f[0], "-")
	if !ok {
		return w, errors.New("want a time range HH:MM-HH:MM")
	}
	var err error
	if w.start, err = parseClock(a, false); err != nil {
		return w, fmt.Errorf("start: %s", err)
	}
	if w.end, err = parseClock(b, true); err != nil {
		return w, fmt.Errorf("end: %s", err)
	}
	if w.start == w.end {
		return w, errors.New("start and end are equal (use 00:00-24:00 for a whole day)")
	}
	return w, nil
}

func parseDays(s string) (uint8, error) {
	a, b, isRange := strings.Cut(s, "-")
	from, ok := dayNames[strings.ToLower(a)]
	if !ok {
		return 0, fmt.Errorf("%q is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", a)
	}
	if !isRange {
		return 1 << from, nil
	}
	to, ok := dayNames[strings.ToLower(b)]
	if !ok {
		return 0, fmt.Errorf("%q is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", b)
	}
	var m uint8
	for d := from; ; d = (d + 1) % 7 {
		m |= 1 << d
		if d == to {
			break
		}
	}
	return m, nil
}

func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || h[0] == '+' || m[0] == '+' {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	switch {
	case hh < 24:
	case hh == 24 && mm == 0 && end:
	default:
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return hh*60 + mm, nil
}

// Empty reports whether the Schedule has no window (always open).
func (s Schedule) Empty() bool { return len(s.ws) == 0 }

// String returns the windows as given to Parse.
func (s Schedule) String() string { return strings.Join(s.src, ", ") }

// at returns minutes after midnight of day d (a date in loc) as a time;
// minutes >= 1440 fall on the next day.
func at(y int, m time.Month, d, minutes int, loc *time.Location) time.Time {
	return time.Date(y, m, d, 0, minutes, 0, 0, loc)
}

// span returns when w opens and closes on the day y-m-d, if it is open
// that day.
func (w window) span(y int, m time.Month, d int, loc *time.Location) (time.Time, time.Time, bool) {
	day := time.Date(y, m, d, 12, 0, 0, 0, loc).Weekday()
	if w.days&(1<<day) == 0 {
		return time.Time{}, time.Time{}, false
	}
	end := w.end
	if end <= w.start {
		end += 24 * 60
	}
	return at(y, m, d, w.start, loc), at(y, m, d, end, loc), true
}

// Open reports whether t lies in a window (always, for an empty Schedule).
func (s Schedule) Open(t time.Time) bool {
	if s.Empty() {
		return true
	}
	y, m, d := t.Date()
	for _, w := range s.ws {
		for off := -1; off <= 0; off++ {
			if a, b, ok := w.span(y, m, d+off, t.Location()); ok && !t.Before(a) && t.Before(b) {
				return true
			}
		}
	}
	return false
}

// Next returns t if a window is open at t, else the start of the next
// window after t.
func (s Schedule) Next(t time.Time) time.Time {
	if s.Open(t) {
		return t
	}
	y, m, d := t.Date()
	var best time.Time
	for _, w := range s.ws {
		for off := 0; off <= 8; off++ {
			a, _, ok := w.span(y, m, d+off, t.Location())
			if !ok || !a.After(t) {
				continue
			}
			if best.IsZero() || a.Before(best) {
				best = a
			}
			break
		}
	}
	return best
}

// Wait blocks until the Schedule is open and returns true; it returns
// false when ctx ends or note says to stop. While closed it calls note
// with the opening it waits for (so the caller can record it) and sleeps
// until then, but never longer than check between looks at now(): a clock
// that is set late (NTP after boot) or jumps is followed.
func (s Schedule) Wait(ctx context.Context, now func() time.Time, check time.Duration, note func(next time.Time) bool) bool {
	for {
		t := now()
		if s.Open(t) {
			return true
		}
		next := s.Next(t)
		if !note(next) {
			return false
		}
		timer := time.NewTimer(min(next.Sub(t), check))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
}
