package csp

import (
	"errors"
	"strings"
)

// ErrServiceUnavailable is wrapped by a BusError when the D-Bus service a
// provider talks to is not on the bus
// (org.freedesktop.DBus.Error.ServiceUnknown or NameHasNoOwner). Such an
// error also wraps tree.ErrCommandFailed, so it maps to status 500.
var ErrServiceUnavailable = errors.New("D-Bus service unavailable")

// BusError is a failed D-Bus call made by a provider.
type BusError struct {
	Service string // bus name called, e.g. "org.freedesktop.hostname1"
	Member  string // method, or "Get <Property>" for a property read
	Name    string // D-Bus error name; "" when no error reply came (timeout, transport)
	Message string // D-Bus error message, if any
	// Err is the classification the caller branches on: it wraps
	// tree.ErrBadRequest or tree.ErrCommandFailed, ErrServiceUnavailable
	// for an absent service, and the context error after a timeout.
	Err error
}

// Error reads "<service> <member>: <D-Bus error name>: <message>", or
// "<service> <member>: <cause>" when there was no error reply.
func (e *BusError) Error() string {
	var b strings.Builder
	b.WriteString(e.Service)
	b.WriteByte(' ')
	b.WriteString(e.Member)
	b.WriteString(": ")
	if e.Name == "" {
		if e.Err != nil {
			b.WriteString(e.Err.Error())
		} else {
			b.WriteString("failed")
		}
		return b.String()
	}
	b.WriteString(e.Name)
	if e.Message != "" && e.Message != e.Name {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if errors.Is(e.Err, ErrServiceUnavailable) {
		b.WriteString(" (")
		b.WriteString(ErrServiceUnavailable.Error())
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns Err.
func (e *BusError) Unwrap() error { return e.Err }
