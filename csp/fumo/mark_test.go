package fumo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/csp/fumo/fumotest"
	"github.com/omadm-agent/omadm-agent/tree"
)

// The mark tests run the real RAUC with the custom bootloader backend of
// fumotest (bootloader=custom): a script that keeps each slot's state and
// logs every call. RAUC sets slot B "bad" before writing it; its Mark
// ("good", "booted") shows as the call "set-state B good" and as
// boot-status "good" in RAUC's GetSlotStatus.

const markCall = "set-state B good"

// calls returns what RAUC asked the bootloader so far.
func (e *raucEnv) calls(t *testing.T) []string {
	t.Helper()
	c, err := e.r.BootloaderCalls()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// count counts call in what RAUC asked the bootloader.
func (e *raucEnv) count(t *testing.T, call string) int {
	t.Helper()
	n := 0
	for _, c := range e.calls(t) {
		if c == call {
			n++
		}
	}
	return n
}

// bootStatus asks RAUC (GetSlotStatus, not the provider) for the
// boot-status of the slot with bootname.
func (e *raucEnv) bootStatus(t *testing.T, bootname string) string {
	t.Helper()
	return e.slotProp(t, bootname, "boot-status")
}

// slotProp asks RAUC's GetSlotStatus for the string property key of the
// slot with bootname ("" when the slot lacks it).
func (e *raucEnv) slotProp(t *testing.T, bootname, key string) string {
	t.Helper()
	var slots []struct {
		Name  string
		Props map[string]dbus.Variant
	}
	err := e.conn.Object(RAUCService, RAUCPath).Call(RAUCIface+".GetSlotStatus", 0).Store(&slots)
	if err != nil {
		t.Fatalf("GetSlotStatus: %v", err)
	}
	for _, s := range slots {
		if b, _ := s.Props["bootname"].Value().(string); b == bootname {
			v, _ := s.Props[key].Value().(string)
			return v
		}
	}
	t.Fatalf("GetSlotStatus: no slot with bootname %s in %+v", bootname, slots)
	return ""
}

// marks records Config.OnMark calls.
type marks struct {
	mu    sync.Mutex
	slots []string
	errs  []error
}

func (m *marks) on(slot string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slots = append(m.slots, slot)
	m.errs = append(m.errs, err)
}

func (m *marks) get() ([]string, []error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.slots...), append([]error(nil), m.errs...)
}

// installB installs the good bundle into slot B with a provider on dir
// (booted from A, boot id boot-1) and closes it: the job waits for the
// reboot. Slot B is "bad" in the bootloader now.
func installB(t *testing.T, e *raucEnv, dir string) {
	t.Helper()
	f := newFixture(t, e.conn, dir, "boot-1", nil)
	if err := f.replace(t, "Update/PkgData", tree.Value{Data: readFile(t, art.good), Format: tree.FormatBin}); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Update", "u-1"))
	f.wait(t)
	if st := f.p.Status(); st.Phase != PhaseInstalled {
		t.Fatalf("after Update: got phase %q (%s), want installed", st.Phase, st.Detail)
	}
	closeNow(t, f)
	if got := e.bootStatus(t, "B"); got != "bad" {
		t.Fatalf("boot-status of B after the install: got %q, want bad", got)
	}
}

func closeNow(t *testing.T, f *fixture) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// started is a provider on dir after the reboot (boot id boot-2), resumed
// and settled.
func started(t *testing.T, e *raucEnv, dir string, mod func(*Config)) *fixture {
	t.Helper()
	f := newFixture(t, e.conn, dir, "boot-2", mod)
	f.p.Resume()
	f.wait(t)
	return f
}

func mode(m MarkGood, om *marks, more ...func(*Config)) func(*Config) {
	return func(c *Config) {
		c.MarkGood, c.OnMark = m, om.on
		for _, f := range more {
			f(c)
		}
	}
}

// sessionEnded calls SessionEnded and waits for the marker.
func sessionEnded(t *testing.T, f *fixture, ok bool) {
	t.Helper()
	f.p.SessionEnded(ok)
	f.wait(t)
}

// TestMarkAfterReport: the whole after-report flow against the real RAUC:
// install into B, reboot into B, 1226 with 200, no mark before a
// successful session end, exactly one Mark after it, seen by RAUC.
func TestMarkAfterReport(t *testing.T) {
	e := newRAUC(t, fumotest.CustomBootloader())
	dir := t.TempDir()
	installB(t, e, dir)
	e.reboot(t, "B")
	om := &marks{}
	f := started(t, e, dir, mode(MarkGoodAfterReport, om))
	oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "u-1", "200")
	if n := e.count(t, markCall); n != 0 {
		t.Fatalf("marked before any session ended: %d calls", n)
	}
	if got := f.get(t, "Ext/SlotGood"); got != "false" {
		t.Errorf("Ext/SlotGood after the report: got %q, want false", got)
	}
	if st := f.p.Status(); st.MarkStatus != MarkPending || st.MarkSlot != "B" {
		t.Errorf("mark after the report: got %q slot %q, want pending B", st.MarkStatus, st.MarkSlot)
	}

	sessionEnded(t, f, false)
	if n := e.count(t, markCall); n != 0 {
		t.Fatalf("marked after a failed session: %d calls", n)
	}

	sessionEnded(t, f, true)
	if n := e.count(t, markCall); n != 1 {
		t.Fatalf("%q calls after a successful session: got %d, want 1 (calls %q)", markCall, n, e.calls(t))
	}
	if got := e.bootStatus(t, "B"); got != "good" {
		t.Errorf("RAUC boot-status of B: got %q, want good", got)
	}
	if got := f.get(t, "Ext/SlotGood"); got != "true" {
		t.Errorf("Ext/SlotGood: got %q, want true", got)
	}
	slots, errs := om.get()
	if len(slots) != 1 || slots[0] != "rootfs.1" || errs[0] != nil {
		t.Errorf("OnMark: got %q %v, want one call for rootfs.1 without error", slots, errs)
	}

	sessionEnded(t, f, true)
	if n := e.count(t, markCall); n != 1 {
		t.Errorf("%q calls after another session: got %d, want still 1", markCall, n)
	}
	if st := f.p.Status(); st.MarkStatus != MarkDone || st.MarkError != "" {
		t.Errorf("mark: got %q (%q), want good", st.MarkStatus, st.MarkError)
	}
}

// TestMarkAfterRestart: the agent restarts between the report and the
// mark: the pending mark survives in the state file and happens once, at
// the first successful session end after the restart.
func TestMarkAfterRestart(t *testing.T) {
	e := newRAUC(t, fumotest.CustomBootloader())
	dir := t.TempDir()
	installB(t, e, dir)
	e.reboot(t, "B")
	om := &marks{}
	f := started(t, e, dir, mode(MarkGoodAfterReport, om))
	oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "u-1", "200")
	closeNow(t, f)
	if fi, err := os.Stat(filepath.Join(dir, StateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	s, err := DecodeState(readFile(t, filepath.Join(dir, StateFile)))
	if err != nil || s.Mark == nil || s.Mark.Status != MarkPending || s.Mark.Slot != "B" {
		t.Fatalf("state file mark: got %+v (%v), want pending for B", s.Mark, err)
	}

	f2 := started(t, e, dir, mode(MarkGoodAfterReport, om))
	if n := len(f2.al.get()); n != 0 {
		t.Errorf("alerts after the restart: got %d, want 0", n)
	}
	if n := e.count(t, markCall); n != 0 {
		t.Fatalf("marked at Resume: %d calls", n)
	}
	sessionEnded(t, f2, true)
	if n := e.count(t, markCall); n != 1 {
		t.Fatalf("%q calls: got %d, want 1", markCall, n)
	}
	closeNow(t, f2)

	f3 := started(t, e, dir, mode(MarkGoodAfterReport, om))
	sessionEnded(t, f3, true)
	if n := e.count(t, markCall); n != 1 {
		t.Errorf("%q calls after a second restart: got %d, want still 1", markCall, n)
	}
	if got := f3.get(t, "Ext/SlotGood"); got != "true" {
		t.Errorf("Ext/SlotGood after restarts: got %q, want true", got)
	}
}

// TestMarkNever: nothing is marked with MarkGoodNone, nor for an update
// that came back in the old slot (410), whatever the mode.
func TestMarkNever(t *testing.T) {
	tests := []struct {
		name   string
		mode   MarkGood
		boot   string
		result string
	}{
		{"none", MarkGoodNone, "B", "200"},
		{"after-report fallback", MarkGoodAfterReport, "A", "410"},
		{"on-boot fallback", MarkGoodOnBoot, "A", "410"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRAUC(t, fumotest.CustomBootloader())
			dir := t.TempDir()
			installB(t, e, dir)
			e.reboot(t, tc.boot)
			before := len(e.calls(t))
			om := &marks{}
			f := started(t, e, dir, mode(tc.mode, om))
			oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "u-1", tc.result)
			sessionEnded(t, f, true)
			closeNow(t, f)
			f2 := started(t, e, dir, mode(tc.mode, om))
			sessionEnded(t, f2, true)
			for _, c := range e.calls(t)[before:] {
				if strings.HasPrefix(c, "set-") {
					t.Errorf("bootloader changed: %q", c)
				}
			}
			if got := f2.get(t, "Ext/SlotGood"); got != "" {
				t.Errorf("Ext/SlotGood: got %q, want empty", got)
			}
			if slots, _ := om.get(); len(slots) != 0 {
				t.Errorf("OnMark calls: got %q, want none", slots)
			}
		})
	}
}

// TestMarkOnBoot: on-boot marks right after the reboot check, before the
// report, once.
func TestMarkOnBoot(t *testing.T) {
	e := newRAUC(t, fumotest.CustomBootloader())
	dir := t.TempDir()
	installB(t, e, dir)
	e.reboot(t, "B")
	om := &marks{}
	markedAtReport := -1
	f := started(t, e, dir, mode(MarkGoodOnBoot, om, func(c *Config) {
		report := c.Report
		c.Report = func(ctx context.Context, a tree.Alert) error {
			c, err := e.r.BootloaderCalls()
			if err != nil {
				return err
			}
			markedAtReport = 0
			for _, l := range c {
				if l == markCall {
					markedAtReport++
				}
			}
			return report(ctx, a)
		}
	}))
	oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "u-1", "200")
	if markedAtReport != 1 {
		t.Errorf("%q calls when the result was reported: got %d, want 1", markCall, markedAtReport)
	}
	if got := e.bootStatus(t, "B"); got != "good" {
		t.Errorf("RAUC boot-status of B: got %q, want good", got)
	}
	if got := f.get(t, "Ext/SlotGood"); got != "true" {
		t.Errorf("Ext/SlotGood: got %q, want true", got)
	}
	sessionEnded(t, f, true)
	closeNow(t, f)
	f2 := started(t, e, dir, mode(MarkGoodOnBoot, om))
	sessionEnded(t, f2, true)
	if n := e.count(t, markCall); n != 1 {
		t.Errorf("%q calls after sessions and a restart: got %d, want 1", markCall, n)
	}
}

// TestMarkError: a Mark that fails (the bootloader refuses) is visible
// (Ext/SlotGood false, Ext/Message, Status, OnMark) and retried at the
// next successful session end; after MarkTries failures it is given up.
func TestMarkError(t *testing.T) {
	for _, m := range []MarkGood{MarkGoodAfterReport, MarkGoodOnBoot} {
		t.Run(m.String(), func(t *testing.T) {
			e := newRAUC(t, fumotest.CustomBootloader())
			dir := t.TempDir()
			installB(t, e, dir)
			e.reboot(t, "B")
			if err := e.r.FailSetState(true); err != nil {
				t.Fatal(err)
			}
			om := &marks{}
			f := started(t, e, dir, mode(m, om, func(c *Config) { c.MarkTries = 3 }))
			oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "u-1", "200")
			if m == MarkGoodAfterReport {
				sessionEnded(t, f, true)
			}
			if n := e.count(t, markCall); n != 1 {
				t.Fatalf("%q attempts: got %d, want 1", markCall, n)
			}
			st := f.p.Status()
			if st.MarkStatus != MarkPending || st.MarkTries != 1 || !strings.Contains(st.MarkError, "Failed marking slot rootfs.1 as good") {
				t.Errorf("after a failed Mark: got %q tries %d error %q, want pending, 1, RAUC's error", st.MarkStatus, st.MarkTries, st.MarkError)
			}
			if got := f.get(t, "Ext/SlotGood"); got != "false" {
				t.Errorf("Ext/SlotGood: got %q, want false", got)
			}
			if got := f.get(t, "Ext/Message"); got != st.MarkError {
				t.Errorf("Ext/Message: got %q, want the mark error %q", got, st.MarkError)
			}
			if _, errs := om.get(); len(errs) != 1 || errs[0] == nil {
				t.Errorf("OnMark: got %v, want one error", errs)
			}

			// Retried at the next successful session end, after a restart too.
			closeNow(t, f)
			f = started(t, e, dir, mode(m, om, func(c *Config) { c.MarkTries = 3 }))
			wantAttempts := 1
			if m == MarkGoodOnBoot { // Resume retried
				wantAttempts = 2
			}
			if n := e.count(t, markCall); n != wantAttempts {
				t.Fatalf("%q attempts after the restart: got %d, want %d", markCall, n, wantAttempts)
			}
			sessionEnded(t, f, false)
			sessionEnded(t, f, true)
			wantAttempts++
			if n := e.count(t, markCall); n != wantAttempts {
				t.Fatalf("%q attempts: got %d, want %d", markCall, n, wantAttempts)
			}
			if m == MarkGoodOnBoot {
				// Three failures: given up, never tried again.
				if st := f.p.Status(); st.MarkStatus != MarkFailed || st.MarkTries != 3 {
					t.Errorf("after 3 failures: got %q tries %d, want failed, 3", st.MarkStatus, st.MarkTries)
				}
				e.r.FailSetState(false)
				sessionEnded(t, f, true)
				if n := e.count(t, markCall); n != 3 {
					t.Errorf("%q attempts after giving up: got %d, want 3", markCall, n)
				}
				if got := f.get(t, "Ext/SlotGood"); got != "false" {
					t.Errorf("Ext/SlotGood after giving up: got %q, want false", got)
				}
				return
			}
			// The bootloader works again: marked.
			if err := e.r.FailSetState(false); err != nil {
				t.Fatal(err)
			}
			sessionEnded(t, f, true)
			if n := e.count(t, markCall); n != 3 {
				t.Fatalf("%q attempts: got %d, want 3", markCall, n)
			}
			if got := e.bootStatus(t, "B"); got != "good" {
				t.Errorf("RAUC boot-status of B: got %q, want good", got)
			}
			if st := f.p.Status(); st.MarkStatus != MarkDone || st.MarkError != "" || f.get(t, "Ext/SlotGood") != "true" {
				t.Errorf("after the retry: got %q (%q), Ext/SlotGood %q, want good, true", st.MarkStatus, st.MarkError, f.get(t, "Ext/SlotGood"))
			}
		})
	}
}

// TestMarkFellBack: the bootloader went back to slot A between the report
// and the mark: slot A is not marked in B's stead, and the mark is given
// up with ErrNotBooted.
func TestMarkFellBack(t *testing.T) {
	e := newRAUC(t, fumotest.CustomBootloader())
	dir := t.TempDir()
	installB(t, e, dir)
	e.reboot(t, "B")
	om := &marks{}
	f := started(t, e, dir, mode(MarkGoodAfterReport, om))
	oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "u-1", "200")
	e.reboot(t, "A")
	sessionEnded(t, f, true)
	sessionEnded(t, f, true)
	for _, c := range e.calls(t) {
		if strings.HasPrefix(c, "set-state") && strings.HasSuffix(c, " good") {
			t.Errorf("bootloader call %q after a fallback", c)
		}
	}
	st := f.p.Status()
	if st.MarkStatus != MarkFailed || !strings.Contains(st.MarkError, `booted "A", updated "B"`) {
		t.Errorf("mark: got %q (%q), want failed: booted A", st.MarkStatus, st.MarkError)
	}
	if _, errs := om.get(); len(errs) != 1 || !errors.Is(errs[0], ErrNotBooted) {
		t.Errorf("OnMark: got %v, want one ErrNotBooted", errs)
	}
	if got := f.get(t, "Ext/SlotGood"); got != "false" {
		t.Errorf("Ext/SlotGood: got %q, want false", got)
	}
}

// TestMarkDelivered: with Config.Delivered answering from the outbox, a
// successful session that did not deliver the alert marks nothing; once
// the server acknowledged it (Ack), the next one marks.
func TestMarkDelivered(t *testing.T) {
	e := newRAUC(t, fumotest.CustomBootloader())
	dir := t.TempDir()
	ob, err := outbox.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Expect("srv-fw", "./FUMO/1/Update", "u-1"); err != nil {
		t.Fatal(err)
	}
	installB(t, e, dir)
	e.reboot(t, "B")
	report := func(ctx context.Context, a tree.Alert) error {
		id, ok := ob.Expected(a)
		if !ok {
			return errors.New("no expectation")
		}
		_, err := ob.Add(id, a)
		return err
	}
	var asked []tree.Alert
	delivered := func(ctx context.Context, a tree.Alert) (bool, error) {
		asked = append(asked, a)
		es, err := ob.Pending()
		if err != nil {
			return false, err
		}
		for _, e := range es {
			if e.Alert.Type == a.Type && e.Alert.Source == a.Source && e.Alert.Correlator == a.Correlator && string(e.Alert.Data) == string(a.Data) {
				return false, nil
			}
		}
		return true, nil
	}
	om := &marks{}
	f := started(t, e, dir, mode(MarkGoodAfterReport, om, func(c *Config) { c.Report, c.Delivered = report, delivered }))
	es, err := ob.Pending()
	if err != nil || len(es) != 1 || string(es[0].Alert.Data) != "200" {
		t.Fatalf("outbox: got %+v (%v), want the 200 alert", es, err)
	}
	sessionEnded(t, f, true)
	if n := e.count(t, markCall); n != 0 {
		t.Fatalf("marked while the alert is pending: %d calls", n)
	}
	if len(asked) != 1 || asked[0].Type != TypeUpdate || asked[0].Source != "./FUMO/1/Update" || asked[0].Correlator != "u-1" || string(asked[0].Data) != "200" {
		t.Errorf("Delivered asked about %+v, want the Update 200 alert", asked)
	}
	if err := ob.Ack(es[0].ID); err != nil {
		t.Fatal(err)
	}
	sessionEnded(t, f, true)
	if n := e.count(t, markCall); n != 1 {
		t.Errorf("%q calls after the ack: got %d, want 1", markCall, n)
	}
}

// TestSessionEndedHungRAUC: SessionEnded returns at once even when RAUC
// does not answer; the attempt ends with the call timeout, counts as a
// failed try, and Close does not hang.
func TestSessionEndedHungRAUC(t *testing.T) {
	e := newBus(t)
	hung, err := dbus.Connect(e.bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	release := make(chan struct{})
	defer close(release)
	h := &hangingRAUC{release: release}
	if err := hung.Export(h, RAUCPath, "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	if r, err := hung.RequestName(RAUCService, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", r, err)
	}
	dir := t.TempDir()
	st := `{"v":1,"state":100,"job":{"op":"update","phase":"done","source":"./FUMO/1/Update","result":200,"started":"2026-11-22T03:00:00Z"},` +
		`"mark":{"job":"2026-11-22T03:00:00Z","slot":"B","status":"pending","type":"` + TypeUpdate + `","source":"./FUMO/1/Update","data":"200"}}`
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(st), 0o600); err != nil {
		t.Fatal(err)
	}
	om := &marks{}
	f := newFixture(t, e.conn, dir, "boot-2", mode(MarkGoodAfterReport, om, func(c *Config) { c.CallTimeout = 300 * time.Millisecond }))
	start := time.Now()
	f.p.SessionEnded(true)
	f.p.SessionEnded(true) // while the first attempt runs: nothing more
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("SessionEnded took %v", d)
	}
	f.wait(t)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("attempt took %v with a 300ms call timeout", d)
	}
	s := f.p.Status()
	if s.MarkStatus != MarkPending || s.MarkTries != 1 || !strings.Contains(s.MarkError, "no reply") {
		t.Errorf("mark: got %q tries %d (%q), want pending, 1, a no-reply error", s.MarkStatus, s.MarkTries, s.MarkError)
	}
	if _, errs := om.get(); len(errs) != 1 {
		t.Errorf("OnMark calls: got %d, want 1", len(errs))
	}
	f.p.SessionEnded(true) // a new attempt, then Close while it hangs
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start = time.Now()
	if err := f.p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if s := f.p.Status(); s.MarkTries != 1 {
		t.Errorf("tries after a cancelled attempt: got %d, want 1 (cancelling is no failure)", s.MarkTries)
	}
}

func TestParseMarkGood(t *testing.T) {
	tests := []struct {
		in   string
		want MarkGood
		ok   bool
	}{
		{"", MarkGoodNone, true},
		{"none", MarkGoodNone, true},
		{"after-report", MarkGoodAfterReport, true},
		{"on-boot", MarkGoodOnBoot, true},
		{"On-Boot", MarkGoodNone, false},
		{" none", MarkGoodNone, false},
		{"after_report", MarkGoodNone, false},
		{"true", MarkGoodNone, false},
	}
	for _, tc := range tests {
		got, err := ParseMarkGood(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseMarkGood(%q): got %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && (!errors.Is(err, ErrBadMarkGood) || !strings.Contains(err.Error(), `"after-report"`) || !strings.Contains(err.Error(), tc.in)) {
			t.Errorf("ParseMarkGood(%q) error: got %q, want ErrBadMarkGood naming the value and the choices", tc.in, err)
		}
	}
	if _, err := New(nil, Config{Dir: t.TempDir(), Report: (&alerts{}).report, MarkGood: 7}); !errors.Is(err, ErrBadMarkGood) {
		t.Errorf("New with MarkGood 7: got %v, want ErrBadMarkGood", err)
	}
}

// FuzzParseMarkGood: never panics; an accepted value prints as a name
// that parses to the same value.
func FuzzParseMarkGood(f *testing.F) {
	for _, s := range []string{"", "none", "after-report", "on-boot", "on-boot ", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarkGood(s)
		if err != nil {
			return
		}
		m2, err := ParseMarkGood(m.String())
		if err != nil || m2 != m {
			t.Fatalf("ParseMarkGood(%q) = %v; its String %q parses to %v, %v", s, m, m.String(), m2, err)
		}
	})
}
