package system_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
	"github.com/omadm-agent/omadm-agent/csp/system"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

const (
	unitA = "mosquitto.service"
	unitB = "openvpn@site-1.service"
)

// TestServicesGet: the unit leaves read the live unit properties.
func TestServicesGet(t *testing.T) {
	e := newEnv(t)
	addUnit(t, e.systemd, unitA)
	addUnit(t, e.systemd, unitB)
	tr, _ := e.mount(t, e.config(unitA, unitB))

	got, err := get(tr, "Services")
	if want := unitA + "/" + unitB; err != nil || got != want {
		t.Errorf("Get Services: got %q (%v), want %q", got, err, want)
	}
	tests := []struct{ leaf, want string }{
		{"LoadState", "loaded"}, {"ActiveState", "inactive"}, {"SubState", "dead"}, {"UnitFileState", "enabled"},
	}
	for _, tc := range tests {
		t.Run(tc.leaf, func(t *testing.T) {
			for _, u := range []string{unitA, unitB} {
				got, err := get(tr, "Services/"+u+"/"+tc.leaf)
				if err != nil || got != tc.want {
					t.Errorf("Get %s/%s: got %q (%v), want %q", u, tc.leaf, got, err, tc.want)
				}
			}
		})
	}
	// Live: a change in systemd shows at once.
	if err := e.systemd.Conn.Object(system.SystemdService, system.SystemdPath).CallWithContext(tctx(t),
		system.ManagerIface+".StartUnit", 0, unitA, "replace").Err; err != nil {
		t.Fatal(err)
	}
	if got, err := get(tr, "Services/"+unitA+"/ActiveState"); err != nil || got != "active" {
		t.Errorf("ActiveState after StartUnit behind the provider: got %q (%v), want active", got, err)
	}
}

// TestServicesExec: Start/Stop/Restart call the manager with "replace" and
// wait for the job; the state follows.
func TestServicesExec(t *testing.T) {
	e := newEnv(t)
	addUnit(t, e.systemd, unitA)
	tr, _ := e.mount(t, e.config(unitA))
	tests := []struct {
		leaf, method, state string
	}{
		{"Restart", "RestartUnit", "active"},
		{"Stop", "StopUnit", "inactive"},
		{"Start", "StartUnit", "active"},
	}
	for _, tc := range tests {
		t.Run(tc.leaf, func(t *testing.T) {
			if err := e.systemd.ClearCalls(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := exec(tr, "Services/"+unitA+"/"+tc.leaf, ""); err != nil {
				t.Fatalf("Exec %s: %v", tc.leaf, err)
			}
			c := dbustest.Calls(t, e.systemd, tc.method)
			if len(c) != 1 || len(c[0].Args) != 2 || c[0].Args[0] != unitA || c[0].Args[1] != "replace" {
				t.Errorf("%s calls: got %+v, want one (%s, replace)", tc.method, c, unitA)
			}
			if got, err := get(tr, "Services/"+unitA+"/ActiveState"); err != nil || got != tc.state {
				t.Errorf("ActiveState after %s: got %q (%v), want %q", tc.leaf, got, err, tc.state)
			}
		})
	}
}

// TestServicesJobResult: a job that fails or does not finish is 500.
func TestServicesJobResult(t *testing.T) {
	e := newEnv(t)
	addUnit(t, e.systemd, unitA)
	cfg := e.config(unitA)
	cfg.JobTimeout = 400 * time.Millisecond
	tr, _ := e.mount(t, cfg)

	setRestart(t, e.systemd, "failed", true)
	err := exec(tr, "Services/"+unitA+"/Restart", "")
	var je *system.JobError
	if !errors.As(err, &je) || je.Result != "failed" || tree.StatusCode(err) != 500 {
		t.Errorf("failed job: got %v (status %d), want JobError failed, 500", err, tree.StatusCode(err))
	}

	setRestart(t, e.systemd, "", false)
	start := time.Now()
	err = exec(tr, "Services/"+unitA+"/Restart", "")
	if d := time.Since(start); d < 350*time.Millisecond || d > 3*time.Second {
		t.Errorf("unfinished job: took %v, want about the 400ms job timeout", d)
	}
	if !errors.As(err, &je) || je.Result != "" || tree.StatusCode(err) != 500 || !strings.Contains(err.Error(), "not finished") {
		t.Errorf("unfinished job: got %v (status %d), want JobError not finished, 500", err, tree.StatusCode(err))
	}
}

// TestServicesRefused: units outside the allow-list and invalid names are
// 404 without any D-Bus call; an allowed unit systemd does not know is 404;
// a masked unit 403; other D-Bus errors 500 with their name.
func TestServicesRefused(t *testing.T) {
	e := newEnv(t)
	addUnit(t, e.systemd, unitA)
	addUnit(t, e.systemd, "sshd.service")
	tr, _ := e.mount(t, e.config(unitA, "absent.service"))
	if err := e.systemd.ClearCalls(context.Background()); err != nil {
		t.Fatal(err)
	}
	refused := []struct{ name, rel, want string }{
		{"not allowed", "Services/sshd.service/Stop", "allow-list"},
		{"the agent itself", "Services/omadm-agent.service/Stop", "allow-list"},
		{"not allowed get", "Services/sshd.service/ActiveState", "allow-list"},
		{"no suffix", "Services/sshd/Stop", "no type suffix"},
		{"unknown type", "Services/sshd.exe/Stop", "unknown type"},
		{"bad char", "Services/a%20b.service/Restart", "invalid character"},
		{"template", "Services/getty@.service/Start", "template"},
		{"unknown leaf", "Services/" + unitA + "/Kill", "not found"},
		{"too deep", "Services/" + unitA + "/Start/x", "not found"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if strings.HasSuffix(tc.rel, "State") {
				_, err = get(tr, tc.rel)
			} else {
				err = exec(tr, tc.rel, "")
			}
			if tree.StatusCode(err) != tree.StatusNotFound || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: got %v (status %d), want 404 mentioning %q", tc.rel, err, tree.StatusCode(err), tc.want)
			}
		})
	}
	if n := unitCalls(t, e.systemd); n != 0 {
		t.Errorf("refused requests made %d systemd calls, want 0", n)
	}

	// Allowed but unknown to systemd: GetUnit NoSuchUnit → LoadUnit → not-found.
	if _, err := get(tr, "Services/absent.service/ActiveState"); tree.StatusCode(err) != tree.StatusNotFound {
		t.Errorf("absent unit ActiveState: got %v, want 404", err)
	}
	// StartUnit answering NoSuchUnit / UnitMasked / something else.
	errs := []struct {
		errName string
		status  int
	}{
		{system.ErrNameNoSuchUnit, 404},
		{system.ErrNameUnitMasked, 403},
		{"org.freedesktop.DBus.Error.AccessDenied", 500},
	}
	for _, tc := range errs {
		t.Run(tc.errName, func(t *testing.T) {
			dbustest.AddMethod(t, e.systemd, "StartUnit", "ss", "o",
				"raise dbus.exceptions.DBusException('nope', name='"+tc.errName+"')")
			err := exec(tr, "Services/"+unitA+"/Start", "")
			if tree.StatusCode(err) != tc.status || !strings.Contains(err.Error(), tc.errName) {
				t.Errorf("got %v (status %d), want %d naming %s", err, tree.StatusCode(err), tc.status, tc.errName)
			}
			var be *csp.BusError
			if !errors.As(err, &be) || be.Member != "StartUnit" || be.Name != tc.errName {
				t.Errorf("BusError: got %+v", be)
			}
		})
	}
}

// TestDDF: a server principal meets the declared access types: Exec on
// Reboot and the unit actions, Get only on state leaves.
func TestDDF(t *testing.T) {
	e := newEnv(t)
	addUnit(t, e.systemd, unitA)
	cfg := e.config(unitA)
	cfg.RebootDelay = time.Hour // never fires in this test
	tr, p := e.mount(t, cfg)
	ctx := context.Background()
	// Grant the server everything by ACL so only the DDF decides.
	if err := tr.Replace(ctx, tree.LocalPrincipal, string(system.Root)+"?prop=ACL",
		tree.Value{Data: []byte("Get=srv&Exec=srv&Replace=srv&Add=srv&Delete=srv")}); err != nil {
		t.Fatalf("set ACL: %v", err)
	}
	srv := tree.Server("srv")
	tests := []struct {
		name string
		do   func() error
		want int
	}{
		{"Exec ActiveState", func() error { return tr.Exec(ctx, srv, uri("Services/"+unitA+"/ActiveState"), nil, "") }, 405},
		{"Exec BootID", func() error { return tr.Exec(ctx, srv, uri("BootID"), nil, "") }, 405},
		{"Replace Uptime", func() error { return tr.Replace(ctx, srv, uri("Uptime"), tree.Value{Data: []byte("1")}) }, 405},
		{"Delete Services", func() error { return tr.Delete(ctx, srv, uri("Services")) }, 405},
		{"Exec Restart", func() error { return tr.Exec(ctx, srv, uri("Services/"+unitA+"/Restart"), nil, "") }, 200},
		{"Exec Reboot", func() error { return tr.Exec(ctx, srv, uri("Reboot"), nil, "c") }, 202},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tree.StatusCode(tc.do()); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
	byPath := map[string]tree.Desc{}
	for _, d := range p.Describe() {
		byPath[d.Path] = d
	}
	checks := []struct {
		rel    string
		access tree.AccessType
		format string
		occ    string
	}{
		{"", tree.AccessGet, tree.FormatNode, "One"},
		{"Reboot", tree.AccessGet | tree.AccessExec, tree.FormatNull, "One"},
		{"Uptime", tree.AccessGet, tree.FormatInt, "One"},
		{"Services/*", tree.AccessGet, tree.FormatNode, "ZeroOrMore"},
		{"Services/*/ActiveState", tree.AccessGet, tree.FormatChr, "One"},
		{"Services/*/Restart", tree.AccessGet | tree.AccessExec, tree.FormatNull, "One"},
	}
	for _, c := range checks {
		path := string(system.Root)
		if c.rel != "" {
			path += "/" + c.rel
		}
		d, ok := byPath[path]
		if !ok || d.Access != c.access || d.Format != c.format || d.Occurrence != c.occ {
			t.Errorf("Desc %s: got %+v (%v), want access %v format %s occurrence %s", path, d, ok, c.access, c.format, c.occ)
		}
	}
	if _, ok := byPath[string(system.Root)+"/PowerOff"]; ok {
		t.Errorf("PowerOff described although disabled")
	}
}

// TestInfo: BootID, Uptime and LastBoot come from the hooks.
func TestInfo(t *testing.T) {
	b := &boot{id: "0b1c2d3e-aaaa-bbbb-cccc-000000000001", up: 3723500 * time.Millisecond}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tr := tree.New()
	p, err := system.New(nil, system.Config{StateDir: t.TempDir(), Report: newReports().Report,
		BootID: b.BootID, Uptime: b.Uptime, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := tr.Mount(system.Root, p); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ leaf, want string }{
		{"BootID", b.id},
		{"Uptime", "3723"},
		{"LastBoot", "2026-11-22T10:57:56Z"},
	}
	for _, tc := range tests {
		if got, err := get(tr, tc.leaf); err != nil || got != tc.want {
			t.Errorf("Get %s: got %q (%v), want %q", tc.leaf, got, err, tc.want)
		}
	}
	// The real /proc readers work on this machine.
	if id, err := system.ReadBootID(); err != nil || len(id) != 36 {
		t.Errorf("ReadBootID: got %q (%v), want a 36-character UUID", id, err)
	}
	if up, err := system.ReadUptime(); err != nil || up <= 0 {
		t.Errorf("ReadUptime: got %v (%v), want > 0", up, err)
	}
}

// TestConformance runs the tree's provider suite over the whole subtree.
func TestConformance(t *testing.T) {
	e := newEnv(t)
	addUnit(t, e.systemd, unitA)
	addUnit(t, e.systemd, unitB)
	cfg := e.config(unitA, unitB)
	cfg.PowerOff = true
	treetest.Run(t, treetest.Config{
		Prefix: system.Root,
		New: func(t *testing.T) tree.Provider {
			c := cfg
			c.StateDir = t.TempDir()
			p, err := system.New(e.conn, c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close(context.Background()) })
			return p
		},
		ReadOnly: []tree.URI{system.Root.Child("BootID"), system.Root.Child("LastBoot"),
			system.Root.Child("Services").Child(unitA).Child("ActiveState")},
	})
}
