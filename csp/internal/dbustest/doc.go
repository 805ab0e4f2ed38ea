// Package dbustest is the test harness of the D-Bus backed providers: a
// private system bus per test (dbus-daemon with a bus.conf in t.TempDir())
// with python3-dbusmock stand-ins for hostnamed and timedated, started
// through csp/dbusmockrun and killed by PID in t.Cleanup.
//
// New sets DBUS_SYSTEM_BUS_ADDRESS for the test (t.Setenv), so the code
// under test connects with dbus.ConnectSystemBus as it would on a device;
// such tests cannot run in parallel. When dbus-daemon or python3-dbusmock is
// missing the test FAILS with "run `make deps`"; it never skips.
package dbustest
