package window_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin for the daylight-saving cases, on any host

	"github.com/omadm-agent/omadm-agent/csp/window"
)

func mustParse(t testing.TB, specs ...string) window.Schedule {
	t.Helper()
	s, err := window.Parse(specs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", `want "[DAYS ]HH:MM-HH:MM"`},
		{"02:00", "time range"},
		{"2:00-", "end"},
		{"25:00-26:00", "start"},
		{"02:60-03:00", "start"},
		{"24:00-02:00", "start"},
		{"02:00-24:01", "end"},
		{"02:00-02:00", "equal"},
		{"Mo 02:00-03:00", "not a weekday"},
		{"Mon-Fr 02:00-03:00", "not a weekday"},
		{"Mon Tue 02:00-03:00", `want "[DAYS ]`},
		{"+1:00-02:00", "start"},
		{"02:+1-03:00", "start"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := window.Parse([]string{"03:00-04:00", tt.spec})
			if err == nil || !errors.Is(err, window.ErrSyntax) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"`+tt.spec+`"`) {
				t.Errorf("got %v, want an ErrSyntax naming %q and saying %q", err, tt.spec, tt.want)
			}
		})
	}
}

func TestOpenAndNext(t *testing.T) {
	utc := time.UTC
	// 2026-11-23 is a Monday.
	mon := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, utc) }
	day := func(d, h, m int) time.Time { return time.Date(2026, 11, 23+d, h, m, 0, 0, utc) }
	tests := []struct {
		name  string
		specs []string
		at    time.Time
		open  bool
		next  time.Time
	}{
		{"empty schedule is always open", nil, mon(12, 0), true, mon(12, 0)},
		{"inside daily", []string{"02:00-04:00"}, mon(3, 0), true, mon(3, 0)},
		{"start is inside", []string{"02:00-04:00"}, mon(2, 0), true, mon(2, 0)},
		{"end is outside", []string{"02:00-04:00"}, mon(4, 0), false, day(1, 2, 0)},
		{"before daily", []string{"02:00-04:00"}, mon(1, 59), false, mon(2, 0)},
		{"after daily", []string{"02:00-04:00"}, mon(12, 0), false, day(1, 2, 0)},
		{"across midnight, evening part", []string{"23:00-02:00"}, mon(23, 30), true, mon(23, 30)},
		{"across midnight, morning part", []string{"23:00-02:00"}, mon(1, 0), true, mon(1, 0)},
		{"across midnight, outside", []string{"23:00-02:00"}, mon(2, 0), false, mon(23, 0)},
		{"weekday range, open", []string{"Mon-Fri 01:00-03:00"}, mon(2, 0), true, mon(2, 0)},
		{"weekday range, Friday after: next Monday", []string{"Mon-Fri 01:00-03:00"}, day(4, 4, 0), false, day(7, 1, 0)},
		{"Saturday night belongs to Saturday", []string{"Sat 23:00-02:00"}, day(6, 1, 0), true, day(6, 1, 0)},
		{"Saturday night: Monday 1:00 is closed", []string{"Sat 23:00-02:00"}, mon(1, 0), false, day(5, 23, 0)},
		{"wrapping range Fri-Mon", []string{"Fri-Mon 00:00-24:00"}, day(1, 10, 0), false, day(4, 0, 0)},
		{"wrapping range includes Sunday", []string{"fri-mon 00:00-24:00"}, day(6, 10, 0), true, day(6, 10, 0)},
		{"earliest of several", []string{"Wed 05:00-06:00", "Tue 22:00-23:00"}, mon(12, 0), false, day(1, 22, 0)},
		{"same day later window", []string{"01:00-02:00", "13:00-14:00"}, mon(12, 0), false, mon(13, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.specs...)
			if got := s.Open(tt.at); got != tt.open {
				t.Errorf("Open(%v) = %t, want %t", tt.at, got, tt.open)
			}
			if got := s.Next(tt.at); !got.Equal(tt.next) {
				t.Errorf("Next(%v) = %v, want %v", tt.at, got, tt.next)
			}
		})
	}
}

func TestDaylightSaving(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, "01:00-04:00")
	// 2026-03-29: clocks go from 02:00 CET to 03:00 CEST. The window is
	// 01:00-04:00 local, two hours of real time that night.
	a := time.Date(2026, 3, 28, 12, 0, 0, 0, berlin)
	n := s.Next(a)
	if want := time.Date(2026, 3, 29, 1, 0, 0, 0, berlin); !n.Equal(want) {
		t.Errorf("Next = %v, want %v", n, want)
	}
	if s.Open(time.Date(2026, 3, 29, 4, 0, 0, 0, berlin)) {
		t.Error("open at 04:00 local on the day of the change")
	}
	if !s.Open(time.Date(2026, 3, 29, 3, 59, 0, 0, berlin)) {
		t.Error("closed at 03:59 local on the day of the change")
	}
	// 2026-10-25: 03:00 CEST becomes 02:00 CET; 01:00-04:00 is four hours.
	start := time.Date(2026, 10, 25, 1, 0, 0, 0, berlin)
	if !s.Open(start.Add(3*time.Hour + 30*time.Minute)) {
		t.Error("closed 3.5 h after the opening on the night the clocks go back")
	}
}

// checkInvariants: Next(t) >= t, the Schedule is open at Next(t), and it
// is closed at every minute between t and Next(t).
func checkInvariants(t *testing.T, s window.Schedule, at time.Time) {
	n := s.Next(at)
	if n.Before(at) {
		t.Fatalf("%s: Next(%v) = %v is before", s, at, n)
	}
	if !s.Open(n) {
		t.Fatalf("%s: not open at Next(%v) = %v", s, at, n)
	}
	for c := at.Truncate(time.Minute).Add(time.Minute); c.Before(n); c = c.Add(time.Minute) {
		if s.Open(c) {
			t.Fatalf("%s: open at %v, before Next(%v) = %v", s, c, at, n)
		}
	}
}

func TestInvariants(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	specs := [][]string{{"02:00-04:00"}, {"Sat 23:00-02:00"}, {"Mon-Fri 22:30-00:15", "Sun 12:00-12:01"}, {"Fri-Mon 00:00-24:00"}}
	for _, sp := range specs {
		s := mustParse(t, sp...)
		for _, loc := range []*time.Location{time.UTC, berlin} {
			for h := 0; h < 24*9; h += 5 {
				checkInvariants(t, s, time.Date(2026, 3, 25, 0, 7, 0, 0, loc).Add(time.Duration(h)*time.Hour))
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"02:00-04:00", "Mon-Fri 01:30-03:00", "Sat 23:00-02:00", "sun 00:00-24:00", "x", "24:00-01:00"} {
		f.Add(s, int64(1_790_000_000))
	}
	f.Fuzz(func(t *testing.T, spec string, unix int64) {
		s, err := window.Parse([]string{spec})
		if err != nil {
			if !errors.Is(err, window.ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		at := time.Unix(unix%(1<<34), 0).UTC()
		n := s.Next(at)
		if n.Before(at) || !s.Open(n) {
			t.Fatalf("%q: Next(%v) = %v (open %t)", spec, at, n, s.Open(n))
		}
		if n.Sub(at) > 8*24*time.Hour {
			t.Fatalf("%q: Next(%v) = %v is more than a week away", spec, at, n)
		}
	})
}

// TestWait: Wait notes the opening it waits for, follows the clock at
// every check, returns true once open, and false when note says stop or
// ctx ends.
func TestWait(t *testing.T) {
	s := mustParse(t, "02:00-03:00")
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	var notes []time.Time
	done := make(chan bool, 1)
	go func() {
		done <- s.Wait(context.Background(), now, 5*time.Millisecond, func(next time.Time) bool {
			notes = append(notes, next)
			if len(notes) == 3 { // the clock is set into the window after a few looks
				clock.Store(time.Date(2026, 11, 24, 2, 30, 0, 0, time.UTC).UnixNano())
			}
			return true
		})
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("Wait returned false, want true once open")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not follow the clock into the window")
	}
	want := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	if len(notes) != 3 || !notes[0].Equal(want) {
		t.Errorf("notes %v, want 3 of %v", notes, want)
	}
	if s.Wait(context.Background(), now, time.Hour, func(time.Time) bool { return false }) != true {
		t.Error("open at once: Wait must return true without asking note")
	}
	clock.Store(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	if s.Wait(context.Background(), now, time.Hour, func(time.Time) bool { return false }) {
		t.Error("note said stop: Wait returned true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s.Wait(ctx, now, time.Hour, func(time.Time) bool { return true }) {
		t.Error("ctx ended: Wait returned true")
	}
}
