package mmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
)

// Binary is the ModemManager daemon started by Start.
const Binary = "/usr/sbin/ModemManager"

// D-Bus names used by the harness.
const (
	Service         = "org.freedesktop.ModemManager1"
	ManagerPath     = dbus.ObjectPath("/org/freedesktop/ModemManager1")
	ifaceTest       = "org.freedesktop.ModemManager1.Test"
	ifaceModem      = "org.freedesktop.ModemManager1.Modem"
	ifaceObjMgr     = "org.freedesktop.DBus.ObjectManager"
	modemRegistered = 8 // MM_MODEM_STATE_REGISTERED
)

// MM is a real ModemManager in test mode on a private bus, with one Fake
// modem behind a test profile.
type MM struct {
	Bus   *dbusmockrun.Bus // nil for StartOn
	Conn  *dbus.Conn       // a private connection to Bus for the test's own calls
	Fake  *Fake
	Modem dbus.ObjectPath // the exported modem object

	cmd  *exec.Cmd
	log  *tailBuffer
	done chan struct{}
	once sync.Once
}

// Start starts a private bus, ModemManager (--test-session --test-no-udev
// --test-no-suspend-resume --test-enable --debug) on it, and a Fake modem on
// a unix socket in dir; it registers the fake with Test.SetProfile and waits
// (up to ctx) until ModemManager has exported and enabled the modem. It fails
// with a "run `make deps`" message when ModemManager is missing. The caller
// must call Stop.
func Start(ctx context.Context, dir string) (*MM, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("mmtest: %s missing (run `make deps`): %w", Binary, err)
	}
	bus, err := dbusmockrun.StartBus(ctx, dir)
	if err != nil {
		return nil, err
	}
	m, err := StartOn(ctx, dir, bus.Addr)
	if err != nil {
		bus.Stop()
		return nil, err
	}
	m.Bus = bus
	return m, nil
}

// StartOn is Start on an existing bus at addr (which Stop leaves running).
func StartOn(ctx context.Context, dir, addr string) (*MM, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("mmtest: %s missing (run `make deps`): %w", Binary, err)
	}
	m := &MM{log: &tailBuffer{max: 256 << 10}, done: make(chan struct{})}
	var err error
	ok := false
	defer func() {
		if !ok {
			m.Stop()
		}
	}()
	if m.Fake, err = NewFake(dir); err != nil {
		return nil, err
	}
	m.cmd = exec.Command(Binary, "--test-session", "--test-no-udev", "--test-no-suspend-resume", "--test-enable", "--debug")
	m.cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("mmtest: start ModemManager: %w", err)
	}
	go func() { m.cmd.Wait(); close(m.done) }()
	if m.Conn, err = Dial(addr); err != nil {
		return nil, err
	}
	if err := m.waitName(ctx); err != nil {
		return nil, err
	}
	if err := m.Conn.Object(Service, ManagerPath).CallWithContext(ctx, ifaceTest+".SetProfile", 0,
		"fake1", "generic", []string{m.Fake.Path}).Err; err != nil {
		return nil, fmt.Errorf("mmtest: Test.SetProfile: %w", err)
	}
	if m.Modem, err = m.waitModem(ctx); err != nil {
		return nil, err
	}
	if err := m.enable(ctx); err != nil {
		return nil, err
	}
	ok = true
	return m, nil
}

// Dial opens a private connection to the bus at addr.
func Dial(addr string) (*dbus.Conn, error) {
	c, err := dbus.Connect(addr)
	if err != nil {
		return nil, fmt.Errorf("mmtest: connect %s: %w", addr, err)
	}
	return c, nil
}

func (m *MM) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

func (m *MM) poll(ctx context.Context, what string, f func() (bool, error)) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		done, err := f()
		if done {
			return nil
		}
		last = err
		if m.exited() {
			return fmt.Errorf("mmtest: ModemManager exited while waiting for %s; log tail:\n%s", what, m.LogTail(4000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mmtest: waiting for %s: %w (last: %v); log tail:\n%s", what, ctx.Err(), last, m.LogTail(4000))
		case <-tick.C:
		}
	}
}

func (m *MM) waitName(ctx context.Context) error {
	return m.poll(ctx, "the ModemManager bus name", func() (bool, error) {
		var owner string
		err := m.Conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, Service).Store(&owner)
		return err == nil && owner != "", err
	})
}

func (m *MM) waitModem(ctx context.Context) (dbus.ObjectPath, error) {
	var path dbus.ObjectPath
	err := m.poll(ctx, "the modem object", func() (bool, error) {
		var objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant
		err := m.Conn.Object(Service, ManagerPath).CallWithContext(ctx, ifaceObjMgr+".GetManagedObjects", 0).Store(&objs)
		for p, ifs := range objs {
			if _, ok := ifs[ifaceModem]; ok {
				path = p
				return true, nil
			}
		}
		return false, err
	})
	return path, err
}

func (m *MM) enable(ctx context.Context) error {
	o := m.Conn.Object(Service, m.Modem)
	if err := o.CallWithContext(ctx, ifaceModem+".Enable", 0, true).Err; err != nil {
		return fmt.Errorf("mmtest: Modem.Enable: %w; log tail:\n%s", err, m.LogTail(4000))
	}
	return m.poll(ctx, "the modem to be enabled and registered", func() (bool, error) {
		v, err := o.GetProperty(ifaceModem + ".State")
		if err != nil {
			return false, err
		}
		st, _ := v.Value().(int32)
		return st >= modemRegistered, fmt.Errorf("state %d", st)
	})
}

// LogTail returns the last n bytes of ModemManager's debug output.
func (m *MM) LogTail(n int) string {
	s := m.log.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// Log returns ModemManager's debug output kept so far (the newest 256 KiB).
func (m *MM) Log() string { return m.log.String() }

// PID is ModemManager's process id (0 if it never started).
func (m *MM) PID() int {
	if m.cmd == nil || m.cmd.Process == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Stop stops ModemManager by PID (SIGTERM, then SIGKILL after 5 s), the
// fake modem and the bus. It is idempotent.
func (m *MM) Stop() error {
	var errs []error
	m.once.Do(func() {
		if m.Conn != nil {
			m.Conn.Close()
		}
		if m.cmd != nil && m.cmd.Process != nil {
			if !m.exited() {
				m.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-m.done:
				case <-time.After(5 * time.Second):
					m.cmd.Process.Kill()
					<-m.done
				}
			}
		}
		if m.Fake != nil {
			m.Fake.Close()
		}
		if m.Bus != nil {
			if err := m.Bus.Stop(); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.Clone(t.b))
}
