// Package dbus holds no code. Its directory ships the D-Bus files of the
// control API, and its tests check them against a real dbus-daemon:
//
//   - org.omadm.Agent1.conf: the system bus policy (installed in
//     /usr/share/dbus-1/system.d/);
//   - org.omadm.Agent1.xml: the introspection contract (installed in
//     /usr/share/dbus-1/interfaces/), which agent/dbusapi must implement.
//
// The tests start a private dbus-daemon whose default policy mirrors
// Debian's system.conf (deny by default) and which includes the shipped
// policy, export a stand-in service built from the contract (godbus), and
// call it with dbus-send as root, as a member of the control group and as
// nobody, checking that every method of the contract is allowed or denied
// exactly as the policy promises. Needs root (to switch users) and the
// dbus package (dbus-daemon, dbus-send) plus gdbus (libglib2.0-bin).
package dbus
