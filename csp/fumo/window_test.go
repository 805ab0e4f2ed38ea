package fumo

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/csp/window"
	"github.com/omadm-agent/omadm-agent/tree"
)

// The window tests run the real RAUC (fumotest): the install into slot B
// happens at once whatever the window; only the call of Config.Reboot
// waits. The wall clock is a settable clock (Config.Now) and the clock is
// re-read every few milliseconds (Config.WindowCheck).

// clock is a settable wall clock for Config.Now.
type clock struct{ ns atomic.Int64 }

func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) Now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }

// windowed sets the clock, the window spec and WindowCheck, and, when n
// is not nil, a Reboot that counts its calls in n.
func windowed(t *testing.T, c *clock, spec string, check time.Duration, n *atomic.Int32) func(*Config) {
	t.Helper()
	w, err := window.Parse([]string{spec})
	if err != nil {
		t.Fatal(err)
	}
	return func(cfg *Config) {
		cfg.Now, cfg.Window, cfg.WindowCheck = c.Now, w, check
		if n != nil {
			cfg.Reboot = func(context.Context) error { n.Add(1); return nil }
		}
	}
}

// installWindowed runs DownloadAndUpdate (correlator "w-1") with a
// provider on dir in boot boot-1 (RAUC booted from A) and checks through
// RAUC that slot B now holds the bundle.
func installWindowed(t *testing.T, e *raucEnv, dir string, mod func(*Config)) *fixture {
	t.Helper()
	srv := newPkgServer(t)
	url := srv.add("fw.raucb", readFile(t, art.good))
	f := newFixture(t, e.conn, dir, "boot-1", func(c *Config) {
		c.TLS = tlsFor(srv)
		mod(c)
	})
	if err := f.replace(t, "DownloadAndUpdate/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "DownloadAndUpdate", "w-1"))
	f.wait(t)
	if st := f.p.Status(); st.Phase != PhaseInstalled || st.State != StateUpdateProgressing {
		t.Fatalf("after the install: got phase %q State %d (%s), want installed / 60", st.Phase, st.State, st.Detail)
	}
	if got := e.slotProp(t, "B", "bundle.version"); got != art.version {
		t.Errorf("RAUC GetSlotStatus bundle.version of B: got %q, want %q", got, art.version)
	}
	if got := e.slotProp(t, "B", "installed.timestamp"); got == "" {
		t.Error("RAUC GetSlotStatus: slot B has no installed.timestamp")
	}
	if !slotHolds(t, e.slotB, art.image) {
		t.Error("slot B is not byte-identical to the bundle's image")
	}
	return f
}

// fileNotBefore is Job.NotBefore in the state file on dir.
func fileNotBefore(t *testing.T, dir string) time.Time {
	t.Helper()
	st, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Job == nil {
		t.Fatal("state file holds no job")
	}
	return st.Job.NotBefore
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRebootWaitsForWindow: DownloadAndUpdate at noon with the window
// 02:00-03:00: the bundle is installed into slot B at once, Reboot is not
// called, Ext/RebootAt is the next 02:00 (persisted); a second Exec is
// 403; Close returns promptly and the remounted provider in the same boot
// goes on waiting; a clock set late moves RebootAt; the clock inside the
// window gives exactly one Reboot call; the reboot into B reports 200.
func TestRebootWaitsForWindow(t *testing.T) {
	e := newRAUC(t)
	dir := t.TempDir()
	c := newClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)) // a Monday
	var reboots atomic.Int32
	// WindowCheck of an hour: Close must not wait for the timer.
	f := installWindowed(t, e, dir, windowed(t, c, "02:00-03:00", time.Hour, &reboots))
	want := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	if got := f.get(t, "Ext/RebootAt"); got != "2026-11-24T02:00:00Z" {
		t.Errorf("Ext/RebootAt: got %q, want 2026-11-24T02:00:00Z", got)
	}
	if got := f.p.Status().RebootAt; !got.Equal(want) {
		t.Errorf("Status.RebootAt: got %v, want %v", got, want)
	}
	if got := fileNotBefore(t, dir); !got.Equal(want) {
		t.Errorf("state file not_before: got %v, want %v", got, want)
	}
	if got := f.get(t, "State"); got != "60" {
		t.Errorf("State while waiting: got %s, want 60", got)
	}
	if err := f.exec(t, "DownloadAndUpdate", "w-2"); tree.StatusCode(err) != 403 || !errors.Is(err, ErrBusy) {
		t.Errorf("second Exec while the reboot waits: got %v, want 403 ErrBusy", err)
	}
	if err := f.exec(t, "Update", "w-3"); tree.StatusCode(err) != 403 {
		t.Errorf("Update while the reboot waits: got %v, want 403", err)
	}
	if n := reboots.Load(); n != 0 {
		t.Fatalf("Reboot called outside the window: %d calls", n)
	}
	if n := len(f.al.get()); n != 0 {
		t.Errorf("alerts while waiting: got %d, want 0", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := f.p.Close(ctx); err != nil {
		t.Fatalf("Close while waiting for the window: %v", err)
	}
	if got := fileNotBefore(t, dir); !got.Equal(want) {
		t.Errorf("state file not_before after Close: got %v, want %v", got, want)
	}

	// The agent restarts in the same boot: the wait goes on.
	f2 := newFixture(t, e.conn, dir, "boot-1", windowed(t, c, "02:00-03:00", 5*time.Millisecond, &reboots))
	if got := f2.get(t, "Ext/RebootAt"); got != "2026-11-24T02:00:00Z" {
		t.Errorf("Ext/RebootAt after the restart: got %q, want 2026-11-24T02:00:00Z", got)
	}
	f2.p.Resume()
	f2.wait(t)
	time.Sleep(100 * time.Millisecond) // 20 clock checks
	if n := reboots.Load(); n != 0 {
		t.Fatalf("Reboot called after the restart, outside the window: %d calls", n)
	}
	if st := f2.p.Status(); st.Phase != PhaseInstalled || len(f2.al.get()) != 0 {
		t.Fatalf("after the restart: got phase %q, %d alerts; want installed, 0", st.Phase, len(f2.al.get()))
	}

	// The clock is set late (NTP) past the window: the next one counts.
	c.set(time.Date(2026, 11, 24, 3, 30, 0, 0, time.UTC))
	later := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	eventually(t, "Ext/RebootAt following the clock", func() bool {
		return f2.get(t, "Ext/RebootAt") == "2026-11-25T02:00:00Z" && fileNotBefore(t, dir).Equal(later)
	})
	if n := reboots.Load(); n != 0 {
		t.Fatalf("Reboot called when the clock jumped over the window: %d calls", n)
	}

	// Inside the window: exactly one Reboot call.
	c.set(later.Add(30 * time.Second))
	eventually(t, "Reboot call in the window", func() bool { return reboots.Load() > 0 })
	time.Sleep(100 * time.Millisecond)
	f2.p.Resume() // once per process: a second Resume does not reboot again
	f2.wait(t)
	if n := reboots.Load(); n != 1 {
		t.Fatalf("Reboot calls in the window: got %d, want 1", n)
	}
	if got := f2.get(t, "Ext/RebootAt"); got != "" {
		t.Errorf("Ext/RebootAt after the Reboot call: got %q, want empty", got)
	}
	if got := fileNotBefore(t, dir); !got.IsZero() {
		t.Errorf("state file not_before after the Reboot call: got %v, want none", got)
	}
	if st := f2.p.Status(); st.Phase != PhaseInstalled || st.State != StateUpdateProgressing || len(f2.al.get()) != 0 {
		t.Errorf("after the Reboot call: got phase %q State %d, %d alerts; want installed / 60, 0", st.Phase, st.State, len(f2.al.get()))
	}
	if err := f2.p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The reboot happens: RAUC now runs from B.
	e.reboot(t, "B")
	f3 := started(t, e, dir, windowed(t, c, "02:00-03:00", 5*time.Millisecond, &reboots))
	oneAlert(t, f3.al, TypeDownloadAndUpdate, "./FUMO/1/DownloadAndUpdate", "w-1", "200")
	if got := f3.get(t, "State"); got != "100" {
		t.Errorf("State after the reboot: got %s, want 100", got)
	}
	if n := reboots.Load(); n != 1 {
		t.Errorf("Reboot calls after the reboot: got %d, want still 1", n)
	}
}

// TestRebootInsideWindow: an install finished inside the window reboots
// at once, as without a window, and records no wait.
func TestRebootInsideWindow(t *testing.T) {
	e := newRAUC(t)
	dir := t.TempDir()
	c := newClock(time.Date(2026, 11, 24, 2, 10, 0, 0, time.UTC))
	var reboots atomic.Int32
	f := installWindowed(t, e, dir, windowed(t, c, "02:00-03:00", 5*time.Millisecond, &reboots))
	if n := reboots.Load(); n != 1 {
		t.Errorf("Reboot calls: got %d, want 1", n)
	}
	if got := f.get(t, "Ext/RebootAt"); got != "" {
		t.Errorf("Ext/RebootAt: got %q, want empty", got)
	}
	if got := fileNotBefore(t, dir); !got.IsZero() {
		t.Errorf("state file not_before: got %v, want none", got)
	}
}

// TestWindowWaitNewBoot: the device reboots (not through the provider)
// while the reboot waits for the window: the next start in the new boot
// runs the post-reboot check and reports 200 as always, without Reboot.
func TestWindowWaitNewBoot(t *testing.T) {
	e := newRAUC(t)
	dir := t.TempDir()
	c := newClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	var reboots atomic.Int32
	mod := windowed(t, c, "02:00-03:00", 5*time.Millisecond, &reboots)
	f := installWindowed(t, e, dir, mod)
	if got := fileNotBefore(t, dir); got.IsZero() {
		t.Fatal("no not_before in the state file")
	}
	closeNow(t, f)
	e.reboot(t, "B")
	f2 := started(t, e, dir, mod)
	oneAlert(t, f2.al, TypeDownloadAndUpdate, "./FUMO/1/DownloadAndUpdate", "w-1", "200")
	if n := reboots.Load(); n != 0 {
		t.Errorf("Reboot calls: got %d, want 0", n)
	}
	if got := f2.get(t, "Ext/RebootAt"); got != "" {
		t.Errorf("Ext/RebootAt after the reboot: got %q, want empty", got)
	}
	if got := fileNotBefore(t, dir); !got.IsZero() {
		t.Errorf("state file not_before after the reboot: got %v, want none", got)
	}
}

// TestWindowWithoutReboot: with Config.Reboot nil (someone else reboots)
// the window changes nothing: no wait is recorded or started.
func TestWindowWithoutReboot(t *testing.T) {
	e := newRAUC(t)
	dir := t.TempDir()
	c := newClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	f := installWindowed(t, e, dir, windowed(t, c, "02:00-03:00", 5*time.Millisecond, nil))
	if got := f.get(t, "Ext/RebootAt"); got != "" {
		t.Errorf("Ext/RebootAt: got %q, want empty", got)
	}
	if got := fileNotBefore(t, dir); !got.IsZero() {
		t.Errorf("state file not_before: got %v, want none", got)
	}
	f.p.mu.Lock()
	waiting := f.p.waiting
	f.p.mu.Unlock()
	if waiting {
		t.Error("a window goroutine runs without Config.Reboot")
	}
}

// TestDecodeStateNotBefore: Job.NotBefore is optional (a file written
// before it existed decodes with none) and a bad value is ErrBadState.
func TestDecodeStateNotBefore(t *testing.T) {
	const head = `{"v":1,"state":60,"have_data":true,"job":{"op":"downloadandupdate","phase":"installed","source":"./FUMO/1/DownloadAndUpdate",` +
		`"version":"2026.11.1","target_slot":"B","boot_id":"b1","started":"2026-11-23T12:00:00Z"`
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{"old file without it", head + `}}`, time.Time{}, false},
		{"set", head + `,"not_before":"2026-11-24T02:00:00Z"}}`, time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC), false},
		{"with offset", head + `,"not_before":"2026-11-24T03:00:00+01:00"}}`, time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC), false},
		{"not a time", head + `,"not_before":"tomorrow"}}`, time.Time{}, true},
		{"a number", head + `,"not_before":1764036000}}`, time.Time{}, true},
		{"month 13", head + `,"not_before":"2026-13-24T02:00:00Z"}}`, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := DecodeState([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrBadState) {
					t.Fatalf("got %v, want ErrBadState", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !s.Job.NotBefore.Equal(tc.want) {
				t.Errorf("NotBefore: got %v, want %v", s.Job.NotBefore, tc.want)
			}
			enc, err := encodeState(s)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := DecodeState(enc)
			if err != nil || !s2.Job.NotBefore.Equal(tc.want) {
				t.Errorf("round trip: got %v (%v), want %v", s2.Job.NotBefore, err, tc.want)
			}
		})
	}
}
