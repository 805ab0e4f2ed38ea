// Package timedate is the provider of ./Vendor/omadm/Time, a vendor
// management object (MO identifier urn:omadm-agent:mo:time:1.0) that lets
// a DM server read the device clock and set its time zone and NTP use
// through systemd's timedated, org.freedesktop.timedate1(5), on the system
// bus.
//
// DDF (OMA-TS-DM_TND-V1_2 §7; `omadm-agent ddf` prints it from Describe):
//
//	./Vendor/omadm/Time   node  Get           One  Permanent  Type urn:omadm-agent:mo:time:1.0
//	    Timezone          chr   Get, Replace  One  Permanent  property Timezone / SetTimezone(s zone, b interactive)
//	    NTP               bool  Get, Replace  One  Permanent  property NTP / SetNTP(b use, b interactive)
//	    LocalTime         chr   Get           One  Permanent  TimeUSec in Timezone, RFC 3339, e.g. 2026-03-01T13:04:05+01:00
//	    UTC               chr   Get           One  Permanent  TimeUSec in UTC, RFC 3339, e.g. 2026-03-01T12:04:05Z
//
// Every Get reads the live properties from timedated (nothing is cached).
// Replace calls the setters with interactive=false. NTP takes Format bool
// ("true"/"false"; another Format is 415 by the DDF).
//
// Values: Timezone must name a zone installed in the system tzdata: a
// relative path of letters, digits and "_+-" segments below
// /usr/share/zoneinfo (WithZoneinfo) whose file is a TZif file, the test
// timedated itself applies ("Invalid or not installed time zone", answered
// as org.freedesktop.DBus.Error.InvalidArgs). An unknown zone is refused
// with tree.ErrBadRequest (400) before D-Bus is called, and timedated's
// InvalidArgs also maps to 400. LocalTime and UTC are read-only (405).
//
// Errors: every D-Bus failure is a *csp.BusError keeping the D-Bus error
// name (e.g. org.freedesktop.timedate1.NoNTPSupport); timedated absent from
// the bus wraps csp.ErrServiceUnavailable; all map to 500 except
// InvalidArgs (400). Each call is bounded by a timeout
// (dbuscall.DefaultTimeout, WithTimeout).
//
// Atomic (architecture.md §4): the provider is tree.Transactional. Begin
// reads the current Timezone and NTP; Commit does nothing; Rollback sets
// back, in reverse order, the leaves replaced inside the transaction (even
// if the session ctx was cancelled).
//
// Concurrency: Get is safe for concurrent use; Replace, Begin, Commit and
// Rollback serialize on a mutex. The package starts no goroutines.
package timedate
