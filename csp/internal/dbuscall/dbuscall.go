package dbuscall

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/tree"
)

// DefaultTimeout bounds one call when Object.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// D-Bus error names the mapping looks at.
const (
	ErrNameServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	ErrNameNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
	ErrNameInvalidArgs    = "org.freedesktop.DBus.Error.InvalidArgs"
)

// Object is one D-Bus object of one service, called through one interface.
type Object struct {
	Conn    *dbus.Conn // nil: every call fails with csp.ErrServiceUnavailable
	Service string     // bus name, e.g. "org.freedesktop.hostname1"
	Path    dbus.ObjectPath
	Iface   string        // interface of the methods and properties
	Timeout time.Duration // per call; 0 means DefaultTimeout
}

func (o Object) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// Property reads property name of o.Iface into out (a pointer to a Go value
// of the property's type).
func (o Object) Property(ctx context.Context, name string, out any) error {
	member := "Get " + name
	if o.Conn == nil {
		return noConn(o.Service, member)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	var v dbus.Variant
	call := o.Conn.Object(o.Service, o.Path).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, o.Iface, name)
	if err := call.Store(&v); err != nil {
		return mapErr(ctx, o.Service, member, err, false)
	}
	if err := v.Store(out); err != nil {
		return &csp.BusError{Service: o.Service, Member: member,
			Err: fmt.Errorf("property has signature %s: %w: %w", v.Signature(), err, tree.ErrCommandFailed)}
	}
	return nil
}

// Call calls method of o.Iface with args and discards the reply. An
// org.freedesktop.DBus.Error.InvalidArgs reply means the service refused
// the value and maps to tree.ErrBadRequest (400).
func (o Object) Call(ctx context.Context, method string, args ...any) error {
	if o.Conn == nil {
		return noConn(o.Service, method)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	call := o.Conn.Object(o.Service, o.Path).CallWithContext(ctx, o.Iface+"."+method, 0, args...)
	if call.Err != nil {
		return mapErr(ctx, o.Service, method, call.Err, true)
	}
	return nil
}

// CallStore calls method of o.Iface with args and stores the reply's
// values into out (pointers), as godbus's Call.Store does. Errors map as
// for a getter (InvalidArgs is a failure of the service, not a bad value).
func (o Object) CallStore(ctx context.Context, method string, out []any, args ...any) error {
	if o.Conn == nil {
		return noConn(o.Service, method)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	call := o.Conn.Object(o.Service, o.Path).CallWithContext(ctx, o.Iface+"."+method, 0, args...)
	if call.Err != nil {
		return mapErr(ctx, o.Service, method, call.Err, false)
	}
	if len(out) > 0 {
		if err := call.Store(out...); err != nil {
			return &csp.BusError{Service: o.Service, Member: method, Err: fmt.Errorf("reply: %w: %w", err, tree.ErrCommandFailed)}
		}
	}
	return nil
}

// Err maps an error of a call to member of service that did not go through
// Object (a match rule, a bus daemon call) as Object's methods do.
func Err(ctx context.Context, service, member string, err error) error {
	return mapErr(ctx, service, member, err, false)
}

func noConn(service, member string) error {
	return &csp.BusError{Service: service, Member: member,
		Err: fmt.Errorf("no D-Bus connection: %w: %w", csp.ErrServiceUnavailable, tree.ErrCommandFailed)}
}

// BusError builds the *csp.BusError of a failed call of member on
// service. For an error reply it fills Name and Message and returns
// named = true: the caller classifies the name and sets Err (Classify is
// the common part). For no reply (ctx ended, time-out) or any other
// failure, Err is already set (tree.ErrCommandFailed, 500) and named is
// false. Every D-Bus CSP maps godbus errors through it.
func BusError(ctx context.Context, service, member string, err error) (e *csp.BusError, named bool) {
	e = &csp.BusError{Service: service, Member: member}
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case errors.As(err, &de):
		e.Name, e.Message = de.Name, de.Error()
		return e, true
	case errors.As(err, &dep) && dep != nil:
		e.Name, e.Message = dep.Name, dep.Error()
		return e, true
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		e.Err = fmt.Errorf("no reply: %w: %w", err, tree.ErrCommandFailed)
	default:
		e.Err = fmt.Errorf("%w: %w", err, tree.ErrCommandFailed)
	}
	return e, false
}

// Classify is the status of the D-Bus error names every service shares: an
// absent service is csp.ErrServiceUnavailable (500); anything else
// tree.ErrCommandFailed (500).
func Classify(name string) error {
	if name == ErrNameServiceUnknown || name == ErrNameNameHasNoOwner {
		return fmt.Errorf("%w: %w", csp.ErrServiceUnavailable, tree.ErrCommandFailed)
	}
	return tree.ErrCommandFailed
}

// mapErr turns a godbus error into a *csp.BusError. setter says the call
// carried a value the service validates (InvalidArgs → 400).
func mapErr(ctx context.Context, service, member string, err error, setter bool) error {
	e, named := BusError(ctx, service, member, err)
	if !named {
		return e
	}
	if e.Name == ErrNameInvalidArgs && setter {
		e.Err = tree.ErrBadRequest
	} else {
		e.Err = Classify(e.Name)
	}
	return e
}

// OrSystemBus returns conn, or the shared system bus connection
// (dbus.SystemBus, which honours DBUS_SYSTEM_BUS_ADDRESS) when conn is nil:
// what the CSPs' Mount functions take as their default.
func OrSystemBus(conn *dbus.Conn) (*dbus.Conn, error) {
	if conn != nil {
		return conn, nil
	}
	c, err := dbus.SystemBus()
	if err != nil {
		return nil, fmt.Errorf("connect to the system bus: %w", err)
	}
	return c, nil
}
