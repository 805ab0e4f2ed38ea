// Package dbusmockrun starts a private D-Bus system bus (dbus-daemon with its
// own bus.conf) and python3-dbusmock stand-ins for the systemd services the
// D-Bus backed providers talk to: org.freedesktop.hostname1 (a generic mock,
// dbusmock ships no hostnamed template) and org.freedesktop.timedate1 (the
// "timedated" template plus a TimeUSec property). See
// shared/docs/test-peers.md §2-§3.
//
// It is test and demo support only: tests use it through
// csp/internal/dbustest, the demo launches the stand-ins with it. The agent
// daemon never imports it.
//
// Processes: every Start function starts one child process and returns a
// handle whose Stop kills exactly that process by PID (SIGTERM, then SIGKILL
// after a grace period) and reaps it. The caller owns the handles and must
// Stop them. One goroutine per child waits for its exit. The children get
// DBUS_SYSTEM_BUS_ADDRESS set to the private bus; nothing is started on, or
// left behind in, the machine's real bus.
//
// Needs the Debian packages dbus (dbus-daemon) and python3-dbusmock, run
// with /usr/bin/python3 (`make deps` installs them).
package dbusmockrun
