package dbusmockrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// Python is the interpreter that sees Debian's python3-dbusmock.
const Python = "/usr/bin/python3"

// MockIface is dbusmock's control interface on every mock object.
const MockIface = "org.freedesktop.DBus.Mock"

// Spec says which mock to start: a dbusmock template, or a generic mock
// owning Service with one object at Path whose main interface is Iface.
type Spec struct {
	Template string         // e.g. "timedated"; "" for a generic mock
	Params   map[string]any // template parameters, passed as JSON with -p
	Service  string         // bus name; also what Start waits for
	Path     dbus.ObjectPath
	Iface    string
}

// Mock is a running python3-dbusmock process on a private bus, plus a
// control connection to that bus.
type Mock struct {
	Spec
	Conn *dbus.Conn // control connection (the mock's own calls go through it)
	p    *proc
}

// Call is one logged method call (Mock.GetMethodCalls).
type Call struct {
	Time uint64 // Unix seconds
	Args []any  // Go values of the arguments
}

// StartMock starts `python3 -m dbusmock --system ...` on the bus at addr and
// waits until spec.Service has an owner.
func StartMock(ctx context.Context, addr string, spec Spec) (*Mock, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	args := []string{"-m", "dbusmock", "--system"}
	if spec.Template != "" {
		args = append(args, "-t", spec.Template)
		if len(spec.Params) > 0 {
			js, err := json.Marshal(spec.Params)
			if err != nil {
				return nil, fmt.Errorf("dbusmockrun: template parameters: %w", err)
			}
			args = append(args, "-p", string(js))
		}
	} else {
		args = append(args, spec.Service, string(spec.Path), spec.Iface)
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, fmt.Errorf("dbusmockrun: connect to %s: %w", addr, err)
	}
	p, err := startProc(Python, childEnv(addr), args...)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("dbusmockrun: %w", err)
	}
	m := &Mock{Spec: spec, Conn: conn, p: p}
	if err := m.waitName(ctx); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

func (m *Mock) waitName(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var has bool
		err := m.Conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, m.Service).Store(&has)
		if err == nil && has {
			return nil
		}
		if m.p.exited() {
			return fmt.Errorf("dbusmockrun: mock %s exited: %v; output:\n%s", m.Service, m.p.err, m.p.out.String())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dbusmockrun: %s did not appear on the bus: %w (last error %v); output:\n%s",
				m.Service, ctx.Err(), err, m.p.out.String())
		case <-tick.C:
		}
	}
}

// PID is the mock's process id.
func (m *Mock) PID() int { return m.p.cmd.Process.Pid }

// Output is the tail of the mock's stdout and stderr (its call log).
func (m *Mock) Output() string { return m.p.out.String() }

// Stop kills the mock by PID, reaps it and closes the control connection.
// It is idempotent.
func (m *Mock) Stop() error {
	err := m.p.stop()
	m.Conn.Close()
	return err
}

func (m *Mock) obj() dbus.BusObject { return m.Conn.Object(m.Service, m.Path) }

func (m *Mock) call(ctx context.Context, method string, args ...any) *dbus.Call {
	return m.obj().CallWithContext(ctx, method, 0, args...)
}

// AddProperties adds properties to iface of the main object.
func (m *Mock) AddProperties(ctx context.Context, iface string, props map[string]dbus.Variant) error {
	if err := m.call(ctx, MockIface+".AddProperties", iface, props).Err; err != nil {
		return fmt.Errorf("dbusmockrun: %s AddProperties: %w", m.Service, err)
	}
	return nil
}

// AddMethod adds (or replaces) method name of iface with Python code (see
// dbusmock's AddMethod: args holds the arguments, ret the reply, self the
// mock object; raising dbus.exceptions.DBusException returns a D-Bus error).
func (m *Mock) AddMethod(ctx context.Context, iface, name, inSig, outSig, code string) error {
	if err := m.call(ctx, MockIface+".AddMethod", iface, name, inSig, outSig, code).Err; err != nil {
		return fmt.Errorf("dbusmockrun: %s AddMethod %s: %w", m.Service, name, err)
	}
	return nil
}

// MethodCalls returns the logged calls of method, oldest first.
func (m *Mock) MethodCalls(ctx context.Context, method string) ([]Call, error) {
	var raw []struct {
		Time uint64
		Args []dbus.Variant
	}
	if err := m.call(ctx, MockIface+".GetMethodCalls", method).Store(&raw); err != nil {
		return nil, fmt.Errorf("dbusmockrun: %s GetMethodCalls %s: %w", m.Service, method, err)
	}
	calls := make([]Call, len(raw))
	for i, r := range raw {
		calls[i].Time = r.Time
		for _, v := range r.Args {
			calls[i].Args = append(calls[i].Args, v.Value())
		}
	}
	return calls, nil
}

// ClearCalls empties the mock's call log.
func (m *Mock) ClearCalls(ctx context.Context) error {
	if err := m.call(ctx, MockIface+".ClearCalls").Err; err != nil {
		return fmt.Errorf("dbusmockrun: %s ClearCalls: %w", m.Service, err)
	}
	return nil
}

// Property reads a property of the main interface straight from the mock.
func (m *Mock) Property(ctx context.Context, name string) (any, error) {
	var v dbus.Variant
	if err := m.call(ctx, "org.freedesktop.DBus.Properties.Get", m.Iface, name).Store(&v); err != nil {
		return nil, fmt.Errorf("dbusmockrun: %s Get %s: %w", m.Service, name, err)
	}
	return v.Value(), nil
}

// SetProperty changes a property of the main interface behind the back of
// any client (org.freedesktop.DBus.Properties.Set on the mock).
func (m *Mock) SetProperty(ctx context.Context, name string, value any) error {
	if err := m.call(ctx, "org.freedesktop.DBus.Properties.Set", m.Iface, name, dbus.MakeVariant(value)).Err; err != nil {
		return fmt.Errorf("dbusmockrun: %s Set %s: %w", m.Service, name, err)
	}
	return nil
}

// setup runs fn on a started mock and stops it if fn fails.
func (m *Mock) setup(ctx context.Context, fn func(ctx context.Context) error) (*Mock, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	if err := fn(ctx); err != nil {
		return nil, errors.Join(err, m.Stop())
	}
	return m, nil
}
