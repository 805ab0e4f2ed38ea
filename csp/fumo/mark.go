package fumo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/omadm-agent/omadm-agent/tree"
)

// MarkGood is Config.MarkGood: whether and when the provider marks the
// slot a successful update booted "good" in the bootloader (RAUC
// Mark("good", "booted")), which bootloaders that count boot attempts
// (barebox/U-Boot bootchooser, GRUB and EFI with RAUC) need or they fall
// back to the old slot after a few boots. The TOML key is [fumo]
// mark_good; ParseMarkGood reads its value.
type MarkGood int

// MarkGood values.
const (
	// MarkGoodNone ("none", the default) never calls Mark: the system's
	// own health check marks the slot.
	MarkGoodNone MarkGood = iota
	// MarkGoodAfterReport ("after-report") marks the new slot once the
	// success alert 1226 of its job was reported and a DM session ended
	// successfully after that (SessionEnded(true)), and, when
	// Config.Delivered is set, once that says the alert reached its
	// server.
	MarkGoodAfterReport
	// MarkGoodOnBoot ("on-boot") marks the new slot as soon as the
	// provider has seen, after the reboot, that RAUC booted it with the
	// bundle's version, before the result is reported.
	MarkGoodOnBoot
)

var markGoodNames = [...]string{MarkGoodNone: "none", MarkGoodAfterReport: "after-report", MarkGoodOnBoot: "on-boot"}

func (m MarkGood) String() string {
	if m >= 0 && int(m) < len(markGoodNames) {
		return markGoodNames[m]
	}
	return "MarkGood(" + strconv.Itoa(int(m)) + ")"
}

// ErrBadMarkGood is wrapped by ParseMarkGood (and New) for a value that is
// not a MarkGood.
var ErrBadMarkGood = errors.New("fumo: bad mark_good value")

// ParseMarkGood parses "none", "after-report" or "on-boot" (exactly, lower
// case); "" is "none" (the key left out).
func ParseMarkGood(s string) (MarkGood, error) {
	if s == "" {
		return MarkGoodNone, nil
	}
	for i, n := range markGoodNames {
		if s == n {
			return MarkGood(i), nil
		}
	}
	return MarkGoodNone, fmt.Errorf("%w %q: want \"none\", \"after-report\" or \"on-boot\"", ErrBadMarkGood, s)
}

// MarkStatus is how far marking a job's new slot good has come.
type MarkStatus string

// MarkStatus values (SlotMark.Status).
const (
	MarkQueued  MarkStatus = "queued"  // update succeeded; its alert is not reported yet (after-report)
	MarkPending MarkStatus = "pending" // to be marked (next successful session end, or a retry)
	MarkDone    MarkStatus = "good"    // RAUC marked the slot good
	MarkFailed  MarkStatus = "failed"  // not marked: Config.MarkTries errors, or another slot is booted
)

func (s MarkStatus) valid() bool {
	return s == MarkQueued || s == MarkPending || s == MarkDone || s == MarkFailed
}

// SlotMark is the persisted record (key "mark" of the state file) of the
// mark of the last successful update. It outlives its job (a new Exec
// may come in the very session that delivers the alert) and is replaced
// by the next successful update's.
type SlotMark struct {
	Job    time.Time  `json:"job"`  // Started of the job
	Slot   string     `json:"slot"` // bootname the job installed to and booted
	Status MarkStatus `json:"status"`
	Tries  int        `json:"tries,omitempty"` // Mark calls that failed
	Error  string     `json:"error,omitempty"` // the last error
	// The success alert (Format int, no Mark) that must be delivered first.
	Type       string   `json:"type,omitempty"`
	Source     tree.URI `json:"source,omitempty"`
	Correlator string   `json:"correlator,omitempty"`
	Data       string   `json:"data,omitempty"`
}

func (m *SlotMark) alert() tree.Alert {
	return tree.Alert{Type: m.Type, Format: tree.FormatInt, Source: m.Source, Correlator: m.Correlator, Data: []byte(m.Data)}
}

// ErrNotBooted is wrapped in SlotMark.Error when the slot to mark is no
// longer the booted one (the bootloader fell back): it is never marked.
var ErrNotBooted = errors.New("fumo: the updated slot is not the booted slot")

// SessionEnded tells the provider that a DM session ended, ok when it
// ended successfully (the server's statuses, including those for the
// alerts sent in it, were received). With MarkGoodAfterReport and a
// reported success waiting to be marked it starts the provider's marker
// goroutine, which checks Config.Delivered, then that RAUC still booted
// the slot, and calls Mark; with MarkGoodOnBoot it retries a failed
// mark. It never blocks; Close waits for the goroutine.
func (p *Provider) SessionEnded(ok bool) {
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startMarkLocked()
}

// startMarkLocked starts the marker goroutine if a mark is pending.
func (p *Provider) startMarkLocked() {
	m := p.st.Mark
	if p.cfg.MarkGood == MarkGoodNone || p.closed || p.marking || m == nil || m.Status != MarkPending {
		return
	}
	p.marking = true
	p.wg.Add(1)
	go p.markWorker(*m)
}

// markWorker runs one attempt on m and records its outcome, unless the
// record was replaced meanwhile or the provider closed.
func (p *Provider) markWorker(m SlotMark) {
	defer p.wg.Done()
	ctx := p.base
	err := p.deliveredFirst(ctx, &m)
	if err == nil {
		p.markSlot(ctx, &m)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marking = false
	if ctx.Err() != nil || p.st.Mark == nil || !p.st.Mark.Job.Equal(m.Job) || p.st.Mark.Status != MarkPending {
		return
	}
	if err != nil {
		if errors.Is(err, errNotDelivered) {
			return
		}
		m.Error = err.Error() // Delivered failed: no Mark call, not a try
	}
	st := p.st
	st.Mark = &m
	if serr := saveState(p.cfg.Dir, st); serr != nil {
		p.msg = serr.Error()
	}
	p.st = st
}

var errNotDelivered = errors.New("fumo: alert not delivered yet")

// deliveredFirst asks Config.Delivered (after-report only) whether the
// success alert reached the server.
func (p *Provider) deliveredFirst(ctx context.Context, m *SlotMark) error {
	if p.cfg.MarkGood != MarkGoodAfterReport || p.cfg.Delivered == nil {
		return nil
	}
	ok, err := p.cfg.Delivered(ctx, m.alert())
	if err != nil {
		return fmt.Errorf("fumo: is the alert delivered: %w", err)
	}
	if !ok {
		return errNotDelivered
	}
	return nil
}

// markSlot checks that RAUC booted m.Slot and calls Mark("good",
// "booted"); it updates m (Status, Tries, Error) and calls Config.OnMark.
// A cancelled ctx leaves m as it was.
func (p *Provider) markSlot(ctx context.Context, m *SlotMark) {
	booted, err := p.r.BootSlot(ctx)
	if err == nil && booted != m.Slot {
		err = fmt.Errorf("%w: booted %q, updated %q", ErrNotBooted, booted, m.Slot)
	}
	if err == nil {
		var name string
		name, _, err = p.r.Mark(ctx, "good", "booted")
		if err == nil {
			m.Status, m.Error = MarkDone, ""
			if p.cfg.OnMark != nil {
				p.cfg.OnMark(name, nil)
			}
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	err = fmt.Errorf("fumo: mark slot %s good: %w", m.Slot, err)
	m.Error = err.Error()
	p.setMsg(m.Error)
	if errors.Is(err, ErrNotBooted) {
		m.Status = MarkFailed
	} else if m.Tries++; m.Tries >= p.cfg.MarkTries {
		m.Status = MarkFailed
	}
	if p.cfg.OnMark != nil {
		p.cfg.OnMark(m.Slot, err)
	}
}

// markAfterBoot makes the record of job j, which booted its new slot.
// With MarkGoodOnBoot the mark is tried at once (from the worker, before
// the report); with MarkGoodAfterReport it waits for the report.
func (p *Provider) markAfterBoot(ctx context.Context, j *Job, a tree.Alert) *SlotMark {
	m := &SlotMark{Job: j.Started, Slot: j.TargetSlot, Status: MarkQueued,
		Type: a.Type, Source: a.Source, Correlator: a.Correlator, Data: string(a.Data)}
	switch p.cfg.MarkGood {
	case MarkGoodNone:
		return nil
	case MarkGoodOnBoot:
		m.Status = MarkPending
		p.markSlot(ctx, m)
	}
	return m
}

// slotGood is the value of Ext/SlotGood.
func (p *Provider) slotGoodLocked() string {
	switch m := p.st.Mark; {
	case m == nil:
		return ""
	case m.Status == MarkDone:
		return "true"
	}
	return "false"
}
