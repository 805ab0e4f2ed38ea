// Package dbusapitest starts a private dbus-daemon for tests of the control
// API: a "system"-type bus with an allow-everything policy (the agent's
// own uid/group check is what is under test), in a directory other users
// can reach, stopped by PID when the test ends. A missing dbus-daemon makes
// the test fail with "run `make deps`" (it never skips).
package dbusapitest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
)

// Bus is a running private bus.
type Bus struct {
	Addr string // e.g. unix:path=/tmp/.../bus.sock,guid=...
	Dir  string
}

// Need fails the test if a program is missing.
func Need(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s not found: run `make deps` (Debian package dbus / systemd / libglib2.0-bin)", p)
		}
	}
}

// Start starts the bus (csp/dbusmockrun.StartBus: a system-type bus with
// an allow-everything policy) in a directory other users can reach, makes
// its socket world-writable so tests can call it as another uid, sets
// DBUS_SYSTEM_BUS_ADDRESS and DBUS_SESSION_BUS_ADDRESS to it for the test,
// and stops it by PID when the test ends.
func Start(t testing.TB) *Bus {
	t.Helper()
	Need(t, "dbus-daemon")
	dir, err := os.MkdirTemp("", "omadm-dbusapi-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := dbusmockrun.StartBus(context.Background(), dir)
	if err != nil {
		t.Fatalf("private dbus-daemon: %v", err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	sock, _, _ := strings.Cut(strings.TrimPrefix(b.Addr, "unix:path="), ",")
	if err := os.Chmod(sock, 0o777); err != nil {
		t.Fatal(err)
	}
	if tt, ok := t.(interface{ Setenv(k, v string) }); ok {
		tt.Setenv("DBUS_SYSTEM_BUS_ADDRESS", b.Addr)
		tt.Setenv("DBUS_SESSION_BUS_ADDRESS", b.Addr)
	}
	return &Bus{Addr: b.Addr, Dir: dir}
}
