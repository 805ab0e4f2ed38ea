// Package dbusapitest starts a private dbus-daemon for tests of the control
// API: a "system"-type bus with an allow-everything policy (the agent's
// own uid/group check is what is under test), in a directory other users
// can reach, stopped by PID when the test ends. A missing dbus-daemon makes
// the test fail with "run `make deps`" (it never skips).
package dbusapitest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

const busConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`

// Bus is a running private bus.
type Bus struct {
	Addr string // e.g. unix:path=/tmp/.../bus.sock,guid=...
	Dir  string
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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

// Start starts the bus and sets DBUS_SYSTEM_BUS_ADDRESS and
// DBUS_SESSION_BUS_ADDRESS to it for the test.
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
	sock := filepath.Join(dir, "bus.sock")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConf, sock), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
	}()
	select {
	case addr, ok := <-line:
		if !ok || addr == "" {
			t.Fatalf("dbus-daemon did not start; stderr:\n%s", stderr.String())
		}
		if err := os.Chmod(sock, 0o777); err != nil {
			t.Fatal(err)
		}
		if tt, ok := t.(interface{ Setenv(k, v string) }); ok {
			tt.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
			tt.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
		}
		return &Bus{Addr: addr, Dir: dir}
	case <-time.After(10 * time.Second):
		t.Fatalf("dbus-daemon printed no address within 10s; stderr:\n%s", stderr.String())
	}
	return nil
}
