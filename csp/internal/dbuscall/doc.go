// Package dbuscall is the small godbus layer shared by the D-Bus backed
// providers under csp/: property reads and method calls on one object of one
// service, each bounded by a timeout, with every failure turned into a
// *csp.BusError (see package csp for the status mapping).
//
// Calls never wait for a service to appear: an absent service answers
// org.freedesktop.DBus.Error.ServiceUnknown at once (the bus may still
// auto-start an activatable service, as systemd does for hostnamed and
// timedated, within the timeout). A peer that does not answer gives
// context.DeadlineExceeded after the timeout.
//
// Object is a value holding a *dbus.Conn, which is safe for concurrent use;
// so is Object. The package starts no goroutines of its own.
package dbuscall
