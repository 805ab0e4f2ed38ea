// Package hostname is the provider of ./Vendor/omadm/Hostname, a vendor
// management object (MO identifier urn:omadm-agent:mo:hostname:1.0) that
// lets a DM server read and set the device's host names through systemd's
// hostnamed, org.freedesktop.hostname1(5), on the system bus.
//
// DDF (OMA-TS-DM_TND-V1_2 §7; `omadm-agent ddf` prints it from Describe):
//
//	./Vendor/omadm/Hostname   node  Get           One  Permanent  Type urn:omadm-agent:mo:hostname:1.0
//	    StaticHostname        chr   Get, Replace  One  Permanent  property StaticHostname / SetStaticHostname(s, b)
//	    PrettyHostname        chr   Get, Replace  One  Permanent  property PrettyHostname / SetPrettyHostname(s, b)
//	    Hostname              chr   Get           One  Permanent  property Hostname (the live transient host name)
//
// Every Get reads the live property from hostnamed (nothing is cached), so a
// change made by someone else is seen at once. Replace calls the setter with
// interactive=false (no polkit prompt; the agent runs privileged).
//
// Values: StaticHostname must be a host name as systemd accepts it: at most
// 64 bytes (Linux HOST_NAME_MAX), dot-separated RFC 1123 labels of 1-63
// letters, digits and hyphens, not starting or ending with a hyphen, no
// trailing dot; the empty string is allowed and, as in hostnamed, clears the
// static host name. PrettyHostname is free UTF-8 text without control
// characters. Anything else is refused with tree.ErrBadRequest (400) before
// D-Bus is called; hostnamed's own org.freedesktop.DBus.Error.InvalidArgs
// also maps to 400. Hostname is read-only (405).
//
// Errors: every D-Bus failure is a *csp.BusError keeping the D-Bus error
// name; hostnamed absent from the bus wraps csp.ErrServiceUnavailable; all
// map to 500 except InvalidArgs (400). Each call is bounded by a timeout
// (dbuscall.DefaultTimeout, WithTimeout), so a missing or hung service gives
// an error, not a hang.
//
// Atomic (architecture.md §4): the provider is tree.Transactional. Begin
// reads the current StaticHostname and PrettyHostname; Commit does nothing;
// Rollback sets back, in reverse order, the leaves replaced inside the
// transaction (even if the session ctx was cancelled). A leaf whose
// Replace failed is restored too, since a timed-out call may still have
// been applied.
//
// Concurrency: Get is safe for concurrent use (it only makes D-Bus calls on
// a *dbus.Conn); Replace, Begin, Commit and Rollback serialize on a mutex.
// The package starts no goroutines.
package hostname
