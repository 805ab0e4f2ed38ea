package fumo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/tree"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slotHolds reports whether the slot file starts with the image.
func slotHolds(t *testing.T, slot string, image []byte) bool {
	t.Helper()
	return bytes.Equal(readFile(t, slot)[:len(image)], image)
}

// TestDownloadAndUpdate: the whole FUMO flow against the real RAUC
// service: 202, download over HTTPS, InstallBundle, slot B written, State
// 60 until the reboot, then (a new provider on the same state, RAUC
// booted from B, a new boot id) one alert 200 and State 100; a third start
// reports nothing more.
func TestDownloadAndUpdate(t *testing.T) {
	e := newRAUC(t)
	srv := newPkgServer(t)
	url := srv.add("fw.raucb", readFile(t, art.good))
	dir := t.TempDir()
	tlsc := tlsFor(srv)
	withTLS := func(c *Config) { c.TLS = tlsc }

	var reboots atomic.Int32
	f := newFixture(t, e.conn, dir, "boot-1", func(c *Config) {
		c.TLS = tlsc
		c.Reboot = func(context.Context) error { reboots.Add(1); return nil }
	})
	if got := f.get(t, "State"); got != "10" {
		t.Errorf("initial State: got %s, want 10", got)
	}
	if err := f.replace(t, "DownloadAndUpdate/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	if slotHolds(t, e.slotB, art.image) {
		t.Fatal("slot B holds the image before the update")
	}
	mustAsync(t, f.exec(t, "DownloadAndUpdate", "corr-1"))
	f.wait(t)
	st := f.p.Status()
	if st.Phase != PhaseInstalled || st.State != StateUpdateProgressing {
		t.Fatalf("after install: got phase %q State %d (%s), want installed / 60", st.Phase, st.State, st.Detail)
	}
	if got := f.get(t, "State"); got != "60" {
		t.Errorf("State before the reboot: got %s, want 60", got)
	}
	if n := len(f.al.get()); n != 0 {
		t.Errorf("alerts before the reboot: got %d, want 0", n)
	}
	if !slotHolds(t, e.slotB, art.image) {
		t.Error("slot B is not byte-identical to the bundle's image")
	}
	if slotHolds(t, e.slotA, art.image) {
		t.Error("slot A (booted) was written")
	}
	if got := f.get(t, "PkgVersion"); got != art.version {
		t.Errorf("PkgVersion: got %q, want %q", got, art.version)
	}
	if got := f.get(t, "Ext/Progress"); got != "100" {
		t.Errorf("Ext/Progress after the install: got %s, want 100 (RAUC Progress)", got)
	}
	if n := reboots.Load(); n != 1 {
		t.Errorf("Reboot calls: got %d, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Restart of the agent without a reboot: still waiting, no alert.
	f1 := newFixture(t, e.conn, dir, "boot-1", withTLS)
	f1.p.Resume()
	f1.wait(t)
	if st := f1.p.Status(); st.Phase != PhaseInstalled || len(f1.al.get()) != 0 {
		t.Fatalf("restart without reboot: got phase %q, %d alerts; want installed, 0", st.Phase, len(f1.al.get()))
	}
	f1.p.Close(ctx)

	// The reboot: RAUC now runs from slot B.
	e.reboot(t, "B")
	f2 := newFixture(t, e.conn, dir, "boot-2", withTLS)
	f2.p.Resume()
	f2.wait(t)
	oneAlert(t, f2.al, TypeDownloadAndUpdate, "./FUMO/1/DownloadAndUpdate", "corr-1", "200")
	if got := f2.get(t, "State"); got != "100" {
		t.Errorf("State after the reboot: got %s, want 100 (Update Successful / No Data)", got)
	}
	if _, err := os.Stat(filepath.Join(dir, PackageFile)); !os.IsNotExist(err) {
		t.Errorf("package kept after success: %v", err)
	}
	f2.p.Close(ctx)

	// Reported once: another start sends nothing.
	f3 := newFixture(t, e.conn, dir, "boot-3", withTLS)
	f3.p.Resume()
	f3.wait(t)
	if n := len(f3.al.get()); n != 0 {
		t.Errorf("alerts after a further restart: got %d, want 0", n)
	}
	if got := f3.get(t, "State"); got != "100" {
		t.Errorf("State after a further restart: got %s, want 100", got)
	}
	// A new job is accepted again.
	if err := f3.exec(t, "Update", ""); tree.StatusCode(err) != 403 {
		t.Errorf("Update without package after success: got %v, want 403", err)
	}
}

// TestDownloadThenUpdate: Exec Download reports 200 at once (State 40,
// PkgName/PkgVersion from RAUC Info); Exec Update installs; a reboot that
// comes back on the old slot (fallback) is a failure 410, State 70.
func TestDownloadThenUpdate(t *testing.T) {
	e := newRAUC(t)
	srv := newPkgServer(t)
	url := srv.add("fw.raucb", readFile(t, art.good))
	dir := t.TempDir()
	withTLS := func(c *Config) { c.TLS = tlsFor(srv) }
	f := newFixture(t, e.conn, dir, "boot-1", withTLS)
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", "d-1"))
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "d-1", "200")
	if got := f.get(t, "State"); got != "40" {
		t.Errorf("State after Download: got %s, want 40", got)
	}
	if got, want := f.get(t, "PkgName")+" "+f.get(t, "PkgVersion"), compatible+" "+art.version; got != want {
		t.Errorf("PkgName PkgVersion: got %q, want %q", got, want)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, PackageFile)), readFile(t, art.good)) {
		t.Error("downloaded package differs from the served one")
	}
	if fi, err := os.Stat(filepath.Join(dir, PackageFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("package mode: got %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, StateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: got %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	mustAsync(t, f.exec(t, "Update", "u-1"))
	f.wait(t)
	if st := f.p.Status(); st.Phase != PhaseInstalled {
		t.Fatalf("after Update: got phase %q (%s), want installed", st.Phase, st.Detail)
	}
	if !slotHolds(t, e.slotB, art.image) {
		t.Error("slot B is not byte-identical to the bundle's image")
	}
	if len(f.al.get()) != 1 {
		t.Errorf("alerts: got %d, want only the download's", len(f.al.get()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f.p.Close(ctx)

	// The device came back on slot A: the update did not take.
	e.reboot(t, "A")
	f2 := newFixture(t, e.conn, dir, "boot-2", withTLS)
	f2.p.Resume()
	f2.wait(t)
	a := oneAlert(t, f2.al, TypeUpdate, "./FUMO/1/Update", "u-1", "410")
	_ = a
	if got := f2.get(t, "State"); got != "70" {
		t.Errorf("State after a fallback boot: got %s, want 70 (Update Failed / Have Data)", got)
	}
}

// TestUpdateRefused: bundles RAUC refuses give Update Failed with the
// matching result code, delivered through Update/PkgData.
func TestUpdateRefused(t *testing.T) {
	e := newRAUC(t)
	tests := []struct {
		name   string
		bundle *string
		result string
		state  string
	}{
		{"unknown signer", &art.other, "404", "80"},
		{"truncated", &art.truncated, "402", "80"},
		{"other device", &art.mismatch, "403", "80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, e.conn, t.TempDir(), "boot-1", nil)
			if err := f.replace(t, "Update/PkgData", tree.Value{Data: readFile(t, *tc.bundle), Format: tree.FormatBin}); err != nil {
				t.Fatal(err)
			}
			if got := f.get(t, "State"); got != "40" {
				t.Errorf("State after PkgData: got %s, want 40", got)
			}
			mustAsync(t, f.exec(t, "Update", "c"))
			f.wait(t)
			oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "c", tc.result)
			if got := f.get(t, "State"); got != tc.state {
				t.Errorf("State: got %s, want %s", got, tc.state)
			}
			if slotHolds(t, e.slotB, art.image) {
				t.Error("slot B was written")
			}
			if msg := f.get(t, "Ext/Message"); msg == "" {
				t.Error("Ext/Message is empty after a failure")
			}
		})
	}
}

// TestNoRAUC: with no RAUC on the bus, Update fails quickly with 410 and
// an error naming the missing service; nothing hangs.
func TestNoRAUC(t *testing.T) {
	e := newBus(t)
	f := newFixture(t, e.conn, t.TempDir(), "boot-1", nil)
	if err := f.replace(t, "Update/PkgData", tree.Value{Data: []byte("not a bundle"), Format: tree.FormatBin}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	mustAsync(t, f.exec(t, "Update", ""))
	f.wait(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v, want a quick failure", d)
	}
	oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "", "410")
	st := f.p.Status()
	if !strings.Contains(st.Detail, "ServiceUnknown") || !strings.Contains(st.Detail, RAUCService) {
		t.Errorf("detail: got %q, want the D-Bus error name and %s", st.Detail, RAUCService)
	}
	if st.State != StateUpdateFailedHaveData {
		t.Errorf("State: got %d, want 70", st.State)
	}
}

// TestResumeInstall: the agent died after persisting the install phase but
// before InstallBundle; Resume installs (real RAUC) and waits for the
// reboot.
func TestResumeInstall(t *testing.T) {
	e := newRAUC(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, PackageFile), readFile(t, art.good), 0o600); err != nil {
		t.Fatal(err)
	}
	st := `{"v":1,"state":60,"have_data":true,"job":{"op":"update","phase":"install","source":"./FUMO/1/Update",` +
		`"correlator":"k","version":"` + art.version + `","started":"2026-11-22T03:00:00Z"}}`
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(st), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, e.conn, dir, "boot-1", nil)
	if err := f.exec(t, "Download", ""); tree.StatusCode(err) != 403 {
		t.Errorf("Exec before Resume with a pending job: got %v, want 403", err)
	}
	f.p.Resume()
	f.wait(t)
	if s := f.p.Status(); s.Phase != PhaseInstalled {
		t.Fatalf("phase: got %q (%s), want installed", s.Phase, s.Detail)
	}
	if !slotHolds(t, e.slotB, art.image) {
		t.Error("slot B is not byte-identical to the bundle's image")
	}
}

// TestRAUCHung: a RAUC that takes its name but never answers gives a 410
// within the call timeouts, not a hang.
func TestRAUCHung(t *testing.T) {
	e := newBus(t)
	hung, err := dbus.Connect(e.bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	release := make(chan struct{})
	defer close(release)
	h := &hangingRAUC{release: release}
	if err := hung.Export(h, RAUCPath, RAUCIface); err != nil {
		t.Fatal(err)
	}
	if err := hung.Export(h, RAUCPath, "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	if r, err := hung.RequestName(RAUCService, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", r, err)
	}
	f := newFixture(t, e.conn, t.TempDir(), "boot-1", func(c *Config) { c.CallTimeout = 300 * time.Millisecond })
	if err := f.replace(t, "Update/PkgData", tree.Value{Data: readFile(t, art.good), Format: tree.FormatBin}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	mustAsync(t, f.exec(t, "Update", "h"))
	f.wait(t)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v with a 300ms call timeout", d)
	}
	oneAlert(t, f.al, TypeUpdate, "./FUMO/1/Update", "h", "410")
	if s := f.p.Status(); !strings.Contains(s.Detail, "no reply") {
		t.Errorf("detail: got %q, want a no-reply error", s.Detail)
	}
}

// hangingRAUC answers nothing until release is closed.
type hangingRAUC struct{ release chan struct{} }

func (h *hangingRAUC) Info(string) (string, string, *dbus.Error) {
	<-h.release
	return "", "", nil
}

func (h *hangingRAUC) Get(string, string) (dbus.Variant, *dbus.Error) {
	<-h.release
	return dbus.MakeVariant(""), nil
}

// TestDownloadAndUpdateNoRAUC: the download succeeds, then the missing
// RAUC fails the job with 410 and the package is kept (State 70).
func TestDownloadAndUpdateNoRAUC(t *testing.T) {
	e := newBus(t)
	srv := newPkgServer(t)
	url := srv.add("fw.raucb", readFile(t, art.good))
	f := newFixture(t, e.conn, t.TempDir(), "boot-1", func(c *Config) { c.TLS = tlsFor(srv) })
	if err := f.replace(t, "DownloadAndUpdate/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "DownloadAndUpdate", ""))
	f.wait(t)
	oneAlert(t, f.al, TypeDownloadAndUpdate, "./FUMO/1/DownloadAndUpdate", "", "410")
	if got := f.get(t, "State"); got != "70" {
		t.Errorf("State: got %s, want 70", got)
	}
	if _, err := os.Stat(filepath.Join(f.dir, PackageFile)); err != nil {
		t.Errorf("package not kept: %v", err)
	}
	if msg := f.get(t, "Ext/Message"); !strings.Contains(msg, "D-Bus service unavailable") {
		t.Errorf("Ext/Message: got %q, want the unavailable service", msg)
	}
}
