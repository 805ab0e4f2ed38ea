// Package csp holds what the configuration service providers under csp/
// share: ErrServiceUnavailable and BusError, the error every D-Bus backed
// provider (csp/hostname, csp/timedate, later csp/connmo, csp/fumo) returns
// when a call to its system service fails. The providers themselves live in
// the sub-packages, one per management object.
//
// Status mapping (done once, by tree.StatusCode): a BusError wraps
// tree.ErrBadRequest (400) when the service rejected the value we sent
// (org.freedesktop.DBus.Error.InvalidArgs from a setter), otherwise
// tree.ErrCommandFailed (500); an absent service additionally wraps
// ErrServiceUnavailable so callers can tell "not running" from "refused".
// The D-Bus error name is kept in the error text for the caller's log.
//
// ReadBootID (the kernel's id of the running boot) serves the providers
// whose work spans a reboot (csp/fumo, csp/system); Wait bounds the wait
// for a provider's goroutines in Close.
//
// The package uses the standard library only; it starts no goroutines.
package csp
