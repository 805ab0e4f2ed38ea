// Package e2e holds the cross-package end-to-end tests of omadm-agent: the
// real daemon binary (built by the tests with go build, run as
// `omadm-agent run` in its own process) against real peers on one machine,
// following the data flow of architecture.md §3.4 from an SMS to a D-Bus
// write:
//
//   - a fake AT modem on a pty (modem/modemtest) that the agent opens as a
//     tty and that announces an SMS with +CMTI; the SMS-DELIVER PDUs are
//     encoded by python3-gammu (3GPP TS 23.040, WDP port 2948, WAP-230-WSP
//     push carrying an OMA-TS-DM_Notification-V1_2 Package #0);
//   - the scripted DM 1.2 test server (agent/dmtest) on loopback HTTPS with a
//     fresh CA the agent trusts through [transport] ca_file;
//   - python3-dbusmock stand-ins for hostnamed and timedated on a private
//     dbus-daemon (csp/dbusmockrun), which the agent's CSPs write to.
//
// The peers are brought up by agent/cmd/omadm-demo/rig, the same code the
// `make demo` driver uses. Each test starts its own peers and agent and
// stops every process by PID. A missing Debian program fails the test with
// "run `make deps`"; nothing is skipped.
//
// The package has only tests (and this file).
package e2e
