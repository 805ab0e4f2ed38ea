package system_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
	"github.com/omadm-agent/omadm-agent/csp/system"
	"github.com/omadm-agent/omadm-agent/csp/window"
	"github.com/omadm-agent/omadm-agent/tree"
)

// clock is a settable wall clock for Config.Now.
type clock struct{ ns atomic.Int64 }

func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func windowed(e *env, c *clock, spec string, t *testing.T) system.Config {
	t.Helper()
	w, err := window.Parse([]string{spec})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Now, cfg.Window, cfg.WindowCheck = c.Now, w, 20*time.Millisecond
	return cfg
}

// TestRebootWaitsForWindow: a Reboot ordered at noon with a 02:00-03:00
// window is accepted (202) but not carried out after the delay; the marker
// says when; the wait survives an agent restart in the same boot; when the
// clock reaches the window, logind's Reboot is called exactly once.
func TestRebootWaitsForWindow(t *testing.T) {
	e := newEnv(t)
	noon := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c := newClock(noon)
	cfg := windowed(e, c, "02:00-03:00", t)
	tr, p := e.mount(t, cfg)
	if err := exec(tr, "Reboot", "corr-w"); !errors.Is(err, tree.ErrAsync) {
		t.Fatalf("Exec Reboot: got %v, want 202", err)
	}
	want := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, ok := e.marker(t)
		if ok && m.NotBefore.Equal(want) && m.Phase == system.PhaseScheduled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("marker: got %+v (%v), want scheduled, not before %v", m, ok, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(dbustest.Calls(t, e.logind, "Reboot")); n != 0 {
		t.Fatalf("Reboot called outside the window (%d calls)", n)
	}
	// The agent restarts while waiting: the marker stays, the wait goes on.
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m, ok := e.marker(t); !ok || m.Phase != system.PhaseScheduled {
		t.Fatalf("marker after Close: %+v (%v), want still scheduled", m, ok)
	}
	tr2, _ := e.mount(t, cfg)
	if err := exec(tr2, "Reboot", "again"); tree.StatusCode(err) != tree.StatusForbidden {
		t.Errorf("second Reboot while one waits: got %v, want 403", err)
	}
	if n := len(dbustest.Calls(t, e.logind, "Reboot")); n != 0 {
		t.Fatalf("Reboot called after the restart, outside the window (%d calls)", n)
	}
	if a := e.rep.all(); len(a) != 0 {
		t.Fatalf("alerts while waiting: %+v", a)
	}
	c.set(want.Add(30 * time.Second))
	calls := waitCalls(t, e.logind, "Reboot", 1, 10*time.Second)
	if len(calls) != 1 || len(calls[0].Args) != 1 || calls[0].Args[0] != false {
		t.Fatalf("Reboot calls in the window: got %+v, want exactly one (false)", calls)
	}
	waitPhase(t, e, system.PhaseRequested)
	if m, _ := e.marker(t); m.Correlator != "corr-w" {
		t.Errorf("marker correlator %q, want corr-w (the original Exec)", m.Correlator)
	}
}

// TestRebootInsideWindow: inside the window the reboot follows the delay
// as without one.
func TestRebootInsideWindow(t *testing.T) {
	e := newEnv(t)
	c := newClock(time.Date(2026, 11, 23, 2, 10, 0, 0, time.UTC))
	tr, _ := e.mount(t, windowed(e, c, "02:00-03:00", t))
	if err := exec(tr, "Reboot", "x"); !errors.Is(err, tree.ErrAsync) {
		t.Fatalf("Exec Reboot: %v", err)
	}
	if calls := waitCalls(t, e.logind, "Reboot", 1, 10*time.Second); len(calls) != 1 {
		t.Fatalf("Reboot calls: got %d, want 1", len(calls))
	}
	if m, _ := e.marker(t); !m.NotBefore.IsZero() {
		t.Errorf("NotBefore %v set inside the window", m.NotBefore)
	}
}

// TestWindowWaitInNewBoot: a wait for a window that a reboot (not ours)
// interrupted counts as done: the device did reboot.
func TestWindowWaitInNewBoot(t *testing.T) {
	e := newEnv(t)
	c := newClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	cfg := windowed(e, c, "02:00-03:00", t)
	tr, p := e.mount(t, cfg)
	if err := exec(tr, "Reboot", "nb"); !errors.Is(err, tree.ErrAsync) {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for m, _ := e.marker(t); m.NotBefore.IsZero(); m, _ = e.marker(t) {
		if time.Now().After(deadline) {
			t.Fatal("no NotBefore in the marker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Close(context.Background())
	e.boot.set("boot-B", time.Hour)
	e.mount(t, cfg)
	a := e.rep.wait(t, 10*time.Second)
	if string(a.Data) != "200" || a.Correlator != "nb" {
		t.Errorf("alert: got %+v, want 200 with correlator nb", a)
	}
	if n := len(dbustest.Calls(t, e.logind, "Reboot")); n != 0 {
		t.Errorf("Reboot called in the new boot: %d", n)
	}
}
