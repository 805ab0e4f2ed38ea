package system_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
	"github.com/omadm-agent/omadm-agent/csp/system"
	"github.com/omadm-agent/omadm-agent/tree"
)

func tctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// startMock starts a dbusmock template on b and stops it by PID at the end.
func startMock(t testing.TB, b *dbustest.Bus, spec dbusmockrun.Spec) *dbusmockrun.Mock {
	t.Helper()
	m, err := dbusmockrun.StartMock(tctx(t), b.Addr, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stop mock %s: %v", m.Service, err)
		}
	})
	return m
}

func startLogind(t testing.TB, b *dbustest.Bus) *dbusmockrun.Mock {
	return startMock(t, b, dbusmockrun.Spec{Template: "logind", Service: system.LogindService,
		Path: system.LogindPath, Iface: system.LogindIface})
}

func startSystemd(t testing.TB, b *dbustest.Bus) *dbusmockrun.Mock {
	m := startMock(t, b, dbusmockrun.Spec{Template: "systemd", Service: system.SystemdService,
		Path: system.SystemdPath, Iface: system.ManagerIface})
	// Like systemd: GetUnit of a unit that is not loaded is NoSuchUnit;
	// LoadUnit of a unit without a unit file gives LoadState not-found;
	// RestartUnit behaves like the template's StartUnit (job, then
	// JobRemoved "done"); Subscribe exists.
	dbustest.AddMethod(t, m, "GetUnit", "s", "o",
		"if args[0] not in self.units: raise dbus.exceptions.DBusException('Unit '+args[0]+' not loaded.', name='"+system.ErrNameNoSuchUnit+"')\n"+
			"ret = self.units[args[0]]")
	dbustest.AddMethod(t, m, "LoadUnit", "s", "o",
		"self.AddMockUnit(args[0])\n"+
			"objects[self.units[args[0]]].UpdateProperties('"+system.UnitIface+"', {'LoadState': 'not-found'})\n"+
			"ret = self.units[args[0]]")
	dbustest.AddMethod(t, m, "Subscribe", "", "", "")
	setRestart(t, m, "done", true)
	return m
}

// setRestart makes RestartUnit emit JobRemoved with result (or nothing when
// !emit) and set ActiveState active.
func setRestart(t testing.TB, m *dbusmockrun.Mock, result string, emit bool) {
	code := "self.next_job_id += 1\n" +
		"job = '/org/freedesktop/systemd1/Job/%d' % self.next_job_id\n" +
		"objects[self.units[args[0]]].UpdateProperties('" + system.UnitIface + "', {'ActiveState': 'active', 'SubState': 'running'})\n"
	if emit {
		code += "self.EmitSignal('" + system.ManagerIface + "', 'JobRemoved', 'uoss', [dbus.UInt32(self.next_job_id), dbus.ObjectPath(job), args[0], '" + result + "'])\n"
	}
	code += "ret = job"
	dbustest.AddMethod(t, m, "RestartUnit", "ss", "o", code)
}

// unitPath escapes name like systemd's bus_label_escape: every byte but
// ASCII letters and digits becomes _xx.
func unitPath(name string) dbus.ObjectPath {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return dbus.ObjectPath("/org/freedesktop/systemd1/unit/" + b.String())
}

// addUnit adds a unit object (inactive/dead, enabled) to the systemd
// stand-in. The template's AddMockUnit cannot build a path for instance
// names ("@"), so the unit is added through a helper method.
func addUnit(t testing.TB, m *dbusmockrun.Mock, name string) {
	t.Helper()
	ctx := tctx(t)
	dbustest.AddMethod(t, m, "TestAddUnit", "so", "",
		"self.units[args[0]] = args[1]\n"+
			"self.AddObject(args[1], '"+system.UnitIface+"', {'Id': args[0], 'Names': [args[0]], 'LoadState': 'loaded', "+
			"'ActiveState': 'inactive', 'SubState': 'dead', 'UnitFileState': 'enabled'}, [])")
	if err := m.Conn.Object(m.Service, m.Path).CallWithContext(ctx, system.ManagerIface+".TestAddUnit", 0, name, unitPath(name)).Err; err != nil {
		t.Fatal(err)
	}
}

// unitCalls counts every logged systemd manager call that touches units.
func unitCalls(t testing.TB, m *dbusmockrun.Mock) int {
	n := 0
	for _, meth := range []string{"TestAddUnit", "GetUnit", "LoadUnit", "StartUnit", "StopUnit", "RestartUnit", "Subscribe"} {
		n += len(dbustest.Calls(t, m, meth))
	}
	return n
}

// boot is a switchable boot id and uptime.
type boot struct {
	mu sync.Mutex
	id string
	up time.Duration
}

func (b *boot) set(id string, up time.Duration) {
	b.mu.Lock()
	b.id, b.up = id, up
	b.mu.Unlock()
}

func (b *boot) BootID() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.id, nil
}

func (b *boot) Uptime() (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.up, nil
}

// reports records the alerts given to Config.Report.
type reports struct {
	mu    sync.Mutex
	got   []tree.Alert
	calls int
	fail  int // fail this many calls first
	ch    chan tree.Alert
}

func newReports() *reports { return &reports{ch: make(chan tree.Alert, 16)} }

func (r *reports) Report(ctx context.Context, a tree.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail > 0 {
		r.fail--
		return errors.New("engine not up yet")
	}
	r.got = append(r.got, a)
	r.ch <- a
	return nil
}

func (r *reports) all() []tree.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tree.Alert(nil), r.got...)
}

func (r *reports) wait(t *testing.T, d time.Duration) tree.Alert {
	t.Helper()
	select {
	case a := <-r.ch:
		return a
	case <-time.After(d):
		t.Fatalf("no alert reported within %v", d)
	}
	return tree.Alert{}
}

// env is a private bus with logind and systemd stand-ins and a state dir.
type env struct {
	bus     *dbustest.Bus
	logind  *dbusmockrun.Mock
	systemd *dbusmockrun.Mock
	conn    *dbus.Conn
	dir     string
	boot    *boot
	rep     *reports
}

func newEnv(t *testing.T) *env { return newEnvTB(t) }

func newEnvTB(t testing.TB) *env {
	t.Helper()
	b := dbustest.New(t)
	return &env{bus: b, logind: startLogind(t, b), systemd: startSystemd(t, b), conn: b.Connect(t),
		dir: filepath.Join(t.TempDir(), "state"), boot: &boot{id: "boot-A", up: time.Hour}, rep: newReports()}
}

func (e *env) config(units ...string) system.Config {
	return system.Config{StateDir: e.dir, Units: units, Report: e.rep.Report, BootID: e.boot.BootID,
		Uptime: e.boot.Uptime, RebootDelay: 700 * time.Millisecond, ReportRetry: 100 * time.Millisecond,
		JobTimeout: 2 * time.Second}
}

// mount mounts a provider on a new tree and closes it at the end.
func (e *env) mount(t *testing.T, cfg system.Config) (*tree.Tree, *system.Provider) {
	t.Helper()
	tr := tree.New()
	p, err := system.Mount(tr, e.conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return tr, p
}

func (e *env) marker(t *testing.T) (system.Marker, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, system.StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return system.Marker{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := system.DecodeMarker(b)
	if err != nil {
		t.Fatal(err)
	}
	return m, true
}

func uri(rel string) string { return string(system.Root) + "/" + rel }

func exec(tr *tree.Tree, rel, corr string) error {
	return tr.Exec(context.Background(), tree.LocalPrincipal, uri(rel), nil, corr)
}

func get(tr *tree.Tree, rel string) (string, error) {
	r, err := tr.Get(context.Background(), tree.LocalPrincipal, uri(rel))
	if err != nil {
		return "", err
	}
	return string(r.Items[0].Data), nil
}

// waitCalls polls m's log of method until it has n entries or d passes.
func waitCalls(t *testing.T, m *dbusmockrun.Mock, method string, n int, d time.Duration) []dbusmockrun.Call {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c := dbustest.Calls(t, m, method)
		if len(c) >= n || time.Now().After(deadline) {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
}
