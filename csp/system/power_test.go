package system_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
	"github.com/omadm-agent/omadm-agent/csp/system"
	"github.com/omadm-agent/omadm-agent/tree"
)

// TestRebootAfterDelay: Exec Reboot answers 202 at once; logind's
// Reboot(false) is called exactly once, after the delay and not before.
func TestRebootAfterDelay(t *testing.T) {
	e := newEnv(t)
	tr, _ := e.mount(t, e.config())
	start := time.Now()
	err := exec(tr, "Reboot", "corr-1")
	if !errors.Is(err, tree.ErrAsync) || tree.StatusCode(err) != tree.StatusAccepted {
		t.Fatalf("Exec Reboot: got %v (status %d), want ErrAsync, 202", err, tree.StatusCode(err))
	}
	m, ok := e.marker(t)
	if !ok || m.Phase != system.PhaseScheduled || m.Op != system.OpReboot || m.BootID != "boot-A" ||
		m.Correlator != "corr-1" || m.Source != uri("Reboot") {
		t.Errorf("marker after Exec: got %+v (present %v), want scheduled Reboot in boot-A, corr-1", m, ok)
	}
	fi, err := os.Stat(filepath.Join(e.dir, system.StateFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: got %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	// A Reboot in logind's log when the answer arrived less than the delay
	// after start (taken before Exec) came too early. When a loaded machine
	// answers later than that, the look proves nothing either way: it is
	// not taken as a failure (the delay timer may rightly have fired).
	early := func(when string) {
		t.Helper()
		c := dbustest.Calls(t, e.logind, "Reboot")
		if since := time.Since(start); len(c) != 0 && since < e.config().RebootDelay {
			t.Fatalf("Reboot called %s, less than %v after Exec, before the %v delay: %+v", when, since, e.config().RebootDelay, c)
		}
	}
	early("at once")
	time.Sleep(400 * time.Millisecond)
	early("400ms later")
	c := waitCalls(t, e.logind, "Reboot", 1, 5*time.Second)
	if since := time.Since(start); since < 700*time.Millisecond {
		t.Errorf("Reboot seen after %v, want ≥ 700ms", since)
	}
	if len(c) != 1 || len(c[0].Args) != 1 || c[0].Args[0] != false {
		t.Fatalf("Reboot calls: got %+v, want exactly one with (false)", c)
	}
	if n := len(dbustest.Calls(t, e.logind, "CanReboot")); n != 1 {
		t.Errorf("CanReboot calls: got %d, want 1", n)
	}
	time.Sleep(300 * time.Millisecond)
	if c := dbustest.Calls(t, e.logind, "Reboot"); len(c) != 1 {
		t.Errorf("Reboot calls later: got %d, want still 1", len(c))
	}
	if n := len(dbustest.Calls(t, e.logind, "PowerOff")); n != 0 {
		t.Errorf("PowerOff calls: got %d, want 0", n)
	}
	if m, _ := e.marker(t); m.Phase != system.PhaseRequested {
		t.Errorf("marker phase after the call: got %q, want %q", m.Phase, system.PhaseRequested)
	}
	// A second Reboot while one is under way is refused.
	if err := exec(tr, "Reboot", "corr-2"); tree.StatusCode(err) != tree.StatusForbidden {
		t.Errorf("second Reboot: got %v (status %d), want 403", err, tree.StatusCode(err))
	}
	if len(e.rep.all()) != 0 {
		t.Errorf("alerts before the restart: %+v", e.rep.all())
	}
}

// TestCloseCancels: Close before the delay cancels the reboot, removes the
// marker, and reports nothing.
func TestCloseCancels(t *testing.T) {
	e := newEnv(t)
	tr, p := e.mount(t, e.config())
	if err := exec(tr, "Reboot", "c"); !errors.Is(err, tree.ErrAsync) {
		t.Fatalf("Exec: %v", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	time.Sleep(1200 * time.Millisecond)
	if c := dbustest.Calls(t, e.logind, "Reboot"); len(c) != 0 {
		t.Errorf("Reboot called after Close: %+v", c)
	}
	if m, ok := e.marker(t); ok {
		t.Errorf("marker left after Close: %+v", m)
	}
	if a := e.rep.all(); len(a) != 0 {
		t.Errorf("alerts: %+v", a)
	}
	if err := exec(tr, "Reboot", "c"); tree.StatusCode(err) != 500 {
		t.Errorf("Exec after Close: got %v, want 500", err)
	}
}

// TestAlertAfterReboot: the next Mount in a new boot reports Generic Alert
// org.omadm.agent.reboot 200 exactly once, retrying a failing Report; the
// loop guard then refuses another reboot until MinUptime.
func TestAlertAfterReboot(t *testing.T) {
	e := newEnv(t)
	tr, p := e.mount(t, e.config())
	if err := exec(tr, "Reboot", "corr-7"); !errors.Is(err, tree.ErrAsync) {
		t.Fatalf("Exec: %v", err)
	}
	waitCalls(t, e.logind, "Reboot", 1, 5*time.Second)
	// The shutdown stops the agent; the marker must survive Close.
	waitPhase(t, e, system.PhaseRequested)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m, ok := e.marker(t); !ok || m.Phase != system.PhaseRequested {
		t.Fatalf("marker after Close: %+v (%v), want phase requested", m, ok)
	}

	// The new boot: Report fails twice (engine not up), then works.
	e.boot.set("boot-B", 90*time.Second)
	e.rep.fail = 2
	tr2, p2 := e.mount(t, e.config())
	a := e.rep.wait(t, 5*time.Second)
	want := tree.Alert{Type: system.AlertReboot, Format: tree.FormatInt, Source: tree.URI(uri("Reboot")),
		Correlator: "corr-7", Data: []byte("200")}
	if a.Type != want.Type || a.Format != want.Format || a.Source != want.Source || a.Correlator != want.Correlator ||
		string(a.Data) != "200" || a.Mark != "" {
		t.Errorf("alert: got %+v, want %+v", a, want)
	}
	time.Sleep(400 * time.Millisecond)
	if got := e.rep.all(); len(got) != 1 {
		t.Errorf("alerts delivered: got %d, want exactly 1", len(got))
	}
	if e.rep.calls != 3 {
		t.Errorf("Report calls: got %d, want 3 (two failures, one success)", e.rep.calls)
	}
	if m, _ := e.marker(t); m.Phase != system.PhaseReported || m.DoneBootID != "boot-B" || m.Result != 200 {
		t.Errorf("marker after the report: got %+v, want reported, boot-B, 200", m)
	}

	// Loop guard: up 90s of the 10 minutes → 403, without asking logind.
	before := len(dbustest.Calls(t, e.logind, "CanReboot"))
	err := exec(tr2, "Reboot", "again")
	if tree.StatusCode(err) != tree.StatusForbidden || !strings.Contains(err.Error(), "loop guard") {
		t.Errorf("Reboot 90s after the ordered reboot: got %v (status %d), want 403 loop guard", err, tree.StatusCode(err))
	}
	if n := len(dbustest.Calls(t, e.logind, "CanReboot")); n != before {
		t.Errorf("the refused Reboot reached logind (CanReboot %d → %d)", before, n)
	}
	// Once up long enough it is accepted again.
	e.boot.set("boot-B", 11*time.Minute)
	if err := exec(tr2, "Reboot", "later"); !errors.Is(err, tree.ErrAsync) {
		t.Errorf("Reboot after 11 minutes: got %v, want 202", err)
	}
	if err := p2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Another start in the same boot reports nothing again.
	e.rep = newReports()
	_, _ = e.mount(t, e.config())
	time.Sleep(400 * time.Millisecond)
	if got := e.rep.all(); len(got) != 0 {
		t.Errorf("alerts on a second Mount in the same boot: %+v", got)
	}
}

func waitPhase(t *testing.T, e *env, phase string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m, ok := e.marker(t); ok && m.Phase == phase {
			return
		}
		if time.Now().After(deadline) {
			m, ok := e.marker(t)
			t.Fatalf("marker: got %+v (%v), want phase %s", m, ok, phase)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestartBeforeReboot: a marker from this very boot means the agent
// restarted before the reboot happened: the outcome is 500, critical.
func TestRestartBeforeReboot(t *testing.T) {
	e := newEnv(t)
	tr, p := e.mount(t, e.config())
	if err := exec(tr, "Reboot", "x"); !errors.Is(err, tree.ErrAsync) {
		t.Fatal(err)
	}
	// Simulate a crash: the marker stays "scheduled" (Close would remove it).
	b, err := os.ReadFile(filepath.Join(e.dir, system.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
	if err := os.WriteFile(filepath.Join(e.dir, system.StateFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.mount(t, e.config())
	a := e.rep.wait(t, 5*time.Second)
	if string(a.Data) != "500" || a.Mark != system.MarkFailure || a.Correlator != "x" {
		t.Errorf("alert: got %+v, want Data 500, Mark critical, Correlator x", a)
	}
	// Not a completed reboot: no loop guard.
	if err := exec(tr, "Reboot", "y"); err == nil {
		t.Errorf("old tree, closed provider: want an error")
	}
}

// TestLogindRefuses: CanReboot "na" is 403 at Exec; a Reboot call that
// fails is reported at once as 500 (critical).
func TestLogindRefuses(t *testing.T) {
	e := newEnv(t)
	tr, _ := e.mount(t, e.config())
	dbustest.AddMethod(t, e.logind, "CanReboot", "", "s", "ret = 'na'")
	err := exec(tr, "Reboot", "a")
	if tree.StatusCode(err) != tree.StatusForbidden || !strings.Contains(err.Error(), `"na"`) {
		t.Errorf("CanReboot na: got %v (status %d), want 403 naming \"na\"", err, tree.StatusCode(err))
	}
	if _, ok := e.marker(t); ok {
		t.Errorf("a marker was written for a refused reboot")
	}

	dbustest.AddMethod(t, e.logind, "CanReboot", "", "s", "ret = 'yes'")
	dbustest.AddMethod(t, e.logind, "Reboot", "b", "",
		"raise dbus.exceptions.DBusException('Interactive authentication required.', name='org.freedesktop.DBus.Error.InteractiveAuthorizationRequired')")
	if err := exec(tr, "Reboot", "b"); !errors.Is(err, tree.ErrAsync) {
		t.Fatalf("Exec: %v", err)
	}
	a := e.rep.wait(t, 5*time.Second)
	if string(a.Data) != "500" || a.Mark != system.MarkFailure || a.Correlator != "b" || a.Type != system.AlertReboot {
		t.Errorf("alert: got %+v, want reboot 500 critical for b", a)
	}
	m, _ := e.marker(t)
	if !strings.Contains(m.Message, "InteractiveAuthorizationRequired") {
		t.Errorf("marker message %q does not name the D-Bus error", m.Message)
	}
	// The failure was no reboot: a new one is allowed at once.
	dbustest.AddMethod(t, e.logind, "Reboot", "b", "", "")
	if err := exec(tr, "Reboot", "c"); !errors.Is(err, tree.ErrAsync) {
		t.Errorf("Reboot after a failed one: got %v, want 202", err)
	}
}

// TestPowerOff: hidden unless enabled; then PowerOff(false) after the delay.
func TestPowerOff(t *testing.T) {
	e := newEnv(t)
	tr, _ := e.mount(t, e.config())
	if err := exec(tr, "PowerOff", "p"); tree.StatusCode(err) != tree.StatusNotFound {
		t.Errorf("PowerOff while disabled: got %v, want 404", err)
	}
	cfg := e.config()
	cfg.PowerOff = true
	cfg.StateDir = filepath.Join(t.TempDir(), "s2")
	tr2, _ := e.mount(t, cfg)
	if err := exec(tr2, "PowerOff", "p"); !errors.Is(err, tree.ErrAsync) {
		t.Fatalf("PowerOff: %v", err)
	}
	c := waitCalls(t, e.logind, "PowerOff", 1, 5*time.Second)
	if len(c) != 1 || c[0].Args[0] != false {
		t.Errorf("PowerOff calls: got %+v, want one (false)", c)
	}
	if n := len(dbustest.Calls(t, e.logind, "Reboot")); n != 0 {
		t.Errorf("Reboot calls: %d", n)
	}
}

// TestPeersMissing: without logind or systemd on the bus every operation
// fails at once with csp.ErrServiceUnavailable (500), leaving no marker.
func TestPeersMissing(t *testing.T) {
	b := dbustest.New(t)
	dir := filepath.Join(t.TempDir(), "st")
	tr := tree.New()
	p, err := system.Mount(tr, b.Connect(t), system.Config{StateDir: dir, Units: []string{"mosquitto.service"},
		Report: newReports().Report, CallTimeout: 20 * time.Second, BootID: (&boot{id: "b"}).BootID})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	ops := []struct {
		name, service string
		do            func() error
	}{
		{"Reboot", system.LogindService, func() error { return exec(tr, "Reboot", "") }},
		{"Get ActiveState", system.SystemdService, func() error {
			_, err := get(tr, "Services/mosquitto.service/ActiveState")
			return err
		}},
		{"Restart", system.SystemdService, func() error { return exec(tr, "Services/mosquitto.service/Restart", "") }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			start := time.Now()
			err := op.do()
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v, want an immediate error (call timeout 20s)", d)
			}
			if !errors.Is(err, csp.ErrServiceUnavailable) || tree.StatusCode(err) != 500 {
				t.Fatalf("got %v (status %d), want ErrServiceUnavailable, 500", err, tree.StatusCode(err))
			}
			if !strings.Contains(err.Error(), op.service) || !strings.Contains(err.Error(), "ServiceUnknown") {
				t.Errorf("error %q should name %s and ServiceUnknown", err, op.service)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, system.StateFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("marker written although logind is absent: %v", err)
	}
}

// TestNewConfig: configuration mistakes are refused by New.
func TestNewConfig(t *testing.T) {
	rep := newReports().Report
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  system.Config
		want string
	}{
		{"no state dir", system.Config{Report: rep}, "StateDir"},
		{"no report", system.Config{StateDir: dir}, "Report"},
		{"protected unit", system.Config{StateDir: dir, Report: rep, Units: []string{"omadm-agent.service"}}, "protected"},
		{"dbus protected", system.Config{StateDir: dir, Report: rep, Units: []string{"dbus.service"}}, "protected"},
		{"invalid unit", system.Config{StateDir: dir, Report: rep, Units: []string{"../etc/passwd"}}, "unknown type"},
		{"invalid char", system.Config{StateDir: dir, Report: rep, Units: []string{"my unit.service"}}, "invalid character"},
		{"template", system.Config{StateDir: dir, Report: rep, Units: []string{"getty@.service"}}, "template"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := system.New(nil, tc.cfg)
			if err == nil {
				p.Close(context.Background())
				t.Fatalf("New: got nil error, want one mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: got %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestBadStateFile: a corrupt marker is set aside, not fatal.
func TestBadStateFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, system.StateFile), []byte(`{"v":1,"op":"Format"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := system.New(nil, system.Config{StateDir: dir, Report: newReports().Report})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer p.Close(context.Background())
	if _, ok := p.Pending(); ok {
		t.Errorf("a corrupt marker was adopted")
	}
	if _, err := os.Stat(filepath.Join(dir, system.StateFile+".bad")); err != nil {
		t.Errorf("corrupt marker not set aside: %v", err)
	}
}

// TestResume: with a long retry interval, Resume makes the reporter try
// again at once.
func TestResume(t *testing.T) {
	e := newEnv(t)
	tr, p := e.mount(t, e.config())
	if err := exec(tr, "Reboot", "r"); !errors.Is(err, tree.ErrAsync) {
		t.Fatal(err)
	}
	waitPhase(t, e, system.PhaseRequested)
	p.Close(context.Background())
	e.boot.set("boot-C", time.Minute)
	e.rep.fail = 1
	cfg := e.config()
	cfg.ReportRetry = time.Hour
	_, p2 := e.mount(t, cfg)
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.rep.mu.Lock()
		n := e.rep.calls
		e.rep.mu.Unlock()
		if n >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Report never called")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.rep.all(); len(got) != 0 {
		t.Fatalf("delivered before Resume: %+v", got)
	}
	p2.Resume()
	if a := e.rep.wait(t, 3*time.Second); string(a.Data) != "200" || a.Correlator != "r" {
		t.Errorf("alert after Resume: got %+v, want 200 for r", a)
	}
}

// TestHungPeers: logind or systemd that do not answer give a timeout error
// after CallTimeout, not a hang, and no marker.
func TestHungPeers(t *testing.T) {
	e := newEnv(t)
	addUnit(t, e.systemd, unitA)
	cfg := e.config(unitA)
	cfg.CallTimeout = 300 * time.Millisecond
	tr, _ := e.mount(t, cfg)
	dbustest.AddMethod(t, e.logind, "CanReboot", "", "s", "time.sleep(3)\nret = 'yes'")
	dbustest.AddMethod(t, e.systemd, "GetUnit", "s", "o", "time.sleep(3)\nret = self.units[args[0]]")
	ops := []struct {
		name string
		do   func() error
	}{
		{"Reboot", func() error { return exec(tr, "Reboot", "") }},
		{"ActiveState", func() error { _, err := get(tr, "Services/"+unitA+"/ActiveState"); return err }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			start := time.Now()
			err := op.do()
			if d := time.Since(start); d < 250*time.Millisecond || d > 2500*time.Millisecond {
				t.Errorf("took %v, want about the 300ms call timeout", d)
			}
			if !errors.Is(err, context.DeadlineExceeded) || tree.StatusCode(err) != 500 {
				t.Errorf("got %v (status %d), want DeadlineExceeded, 500", err, tree.StatusCode(err))
			}
		})
	}
	if m, ok := e.marker(t); ok {
		t.Errorf("marker written: %+v", m)
	}
}

// TestSessionEndedExpedites: with a long RebootDelay, SessionEnded makes the
// scheduled reboot happen SessionEndGrace later; without a scheduled
// operation it does nothing.
func TestSessionEndedExpedites(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.RebootDelay = time.Hour
	tr, p := e.mount(t, cfg)
	p.SessionEnded() // nothing scheduled: no effect
	if err := exec(tr, "Reboot", "corr-s"); !errors.Is(err, tree.ErrAsync) {
		t.Fatalf("Exec Reboot: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if c := dbustest.Calls(t, e.logind, "Reboot"); len(c) != 0 {
		t.Fatalf("Reboot called before the session ended: %+v", c)
	}
	start := time.Now()
	p.SessionEnded()
	c := waitCalls(t, e.logind, "Reboot", 1, 10*time.Second)
	if since := time.Since(start); since < system.SessionEndGrace-100*time.Millisecond {
		t.Errorf("Reboot %v after SessionEnded, want ≥ %v", since, system.SessionEndGrace)
	}
	if len(c) != 1 || c[0].Args[0] != false {
		t.Errorf("Reboot calls: got %+v, want one (false)", c)
	}
}
