package dbustest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
)

// Bus is a private system bus for one test.
type Bus struct {
	Addr string
	bus  *dbusmockrun.Bus
}

var (
	needOnce sync.Once
	needErr  string
)

// Need fails the test (it does not skip) when the test peers are missing.
func Need(t testing.TB) {
	t.Helper()
	needOnce.Do(func() {
		if _, err := exec.LookPath("dbus-daemon"); err != nil {
			needErr = "dbus-daemon not found (Debian package dbus): run `make deps`"
			return
		}
		if _, err := os.Stat(dbusmockrun.Python); err != nil {
			needErr = dbusmockrun.Python + " not found: run `make deps`"
			return
		}
		if out, err := exec.Command(dbusmockrun.Python, "-c", "import dbusmock").CombinedOutput(); err != nil {
			needErr = "python3-dbusmock is not importable by " + dbusmockrun.Python + " (" + string(out) + "): run `make deps`"
		}
	})
	if needErr != "" {
		t.Fatal(needErr)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// New starts a private system bus for t, points DBUS_SYSTEM_BUS_ADDRESS at
// it for the rest of the test, and stops it by PID when the test ends.
func New(t testing.TB) *Bus {
	t.Helper()
	Need(t)
	b, err := dbusmockrun.StartBus(ctx(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("stop dbus-daemon: %v", err)
		}
	})
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", b.Addr)
	return &Bus{Addr: b.Addr, bus: b}
}

// Connect opens a new connection to the system bus the way the agent does
// (dbus.ConnectSystemBus, which honours DBUS_SYSTEM_BUS_ADDRESS), closed
// when the test ends.
func (b *Bus) Connect(t testing.TB) *dbus.Conn {
	t.Helper()
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		t.Fatalf("connect to the private system bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func (b *Bus) keep(t testing.TB, m *dbusmockrun.Mock, err error) *dbusmockrun.Mock {
	t.Helper()
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

// Hostnamed starts the org.freedesktop.hostname1 stand-in.
func (b *Bus) Hostnamed(t testing.TB, st dbusmockrun.Hostnames) *dbusmockrun.Mock {
	t.Helper()
	m, err := dbusmockrun.StartHostnamed(ctx(t), b.Addr, st)
	return b.keep(t, m, err)
}

// Timedated starts the org.freedesktop.timedate1 stand-in.
func (b *Bus) Timedated(t testing.TB, st dbusmockrun.Timedate) *dbusmockrun.Mock {
	t.Helper()
	m, err := dbusmockrun.StartTimedated(ctx(t), b.Addr, st)
	return b.keep(t, m, err)
}

// Property reads a property of m's main interface, failing the test on error.
func Property(t testing.TB, m *dbusmockrun.Mock, name string) any {
	t.Helper()
	v, err := m.Property(ctx(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// SetProperty changes a property of m behind the provider's back.
func SetProperty(t testing.TB, m *dbusmockrun.Mock, name string, v any) {
	t.Helper()
	if err := m.SetProperty(ctx(t), name, v); err != nil {
		t.Fatal(err)
	}
}

// Calls returns the logged calls of method on m.
func Calls(t testing.TB, m *dbusmockrun.Mock, method string) []dbusmockrun.Call {
	t.Helper()
	c, err := m.MethodCalls(ctx(t), method)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// AddMethod replaces or adds a method of m's main interface.
func AddMethod(t testing.TB, m *dbusmockrun.Mock, name, inSig, outSig, code string) {
	t.Helper()
	if err := m.AddMethod(ctx(t), m.Iface, name, inSig, outSig, code); err != nil {
		t.Fatal(err)
	}
}
