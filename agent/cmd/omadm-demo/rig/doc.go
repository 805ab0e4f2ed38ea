// Package rig brings up, around a real omadm-agent process, every peer of an
// end-to-end run on one machine: a private D-Bus system bus with
// python3-dbusmock stand-ins for hostnamed and timedated (csp/dbusmockrun),
// the scripted DM 1.2 test server over loopback HTTPS (agent/dmtest), a DM
// account bootstrap document and an agent.toml pointing the agent at them, a
// fake AT modem on a pty (modem/modemtest), and WAP-push SMS carrying a
// Package #0 (OMA-TS-DM_Notification-V1_2 §6, WAP-230-WSP §8.2.4, WDP port
// 2948 over 3GPP TS 23.040 user data headers, PDUs encoded by python3-gammu).
//
// It is demo and test support only (the omadm-demo driver and the agent/e2e
// tests use it); nothing shipped imports it.
//
// Invariants:
//   - Every child process (dbus-daemon, dbusmock, omadm-agent) is started by
//     this package's callers through it and stopped by PID (SIGTERM, then
//     SIGKILL after a grace period), then reaped. Nothing is started on the
//     machine's real buses.
//   - The agent runs as a separate process (exec of the built binary) with
//     DBUS_SYSTEM_BUS_ADDRESS set to the private bus; it is never linked in.
//   - Secrets (account passwords) are fixed demo values; they are written
//     only to the 0600 bootstrap file in the caller's temp directory and are
//     never printed by Describe* functions.
//
// Goroutines: an Agent has one goroutine that waits for the process and
// copies its stderr into a line buffer; Agent methods are safe for
// concurrent use. Everything else is synchronous.
package rig
