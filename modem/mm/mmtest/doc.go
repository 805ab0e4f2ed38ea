// Package mmtest runs the real ModemManager (1.20.x) in test mode for tests:
// a private dbus-daemon (csp/dbusmockrun.StartBus), `ModemManager
// --test-session --test-no-udev --test-no-suspend-resume --test-enable
// --debug` with DBUS_SESSION_BUS_ADDRESS pointing at it, and a Go fake AT
// modem (Fake) on a unix stream socket registered with
// org.freedesktop.ModemManager1.Test.SetProfile(id, "generic", [socket]).
// Start returns once ModemManager has probed, exported, enabled and
// registered the modem (about 1.5-2 s here, because the fake answers every
// command at once, with ERROR for what it does not support).
//
// The fake answers what ModemManager's generic plugin sends (identity
// +CGMI/+CGMM/+CGMR/+CGSN/+CIMI, +GCAP, +CPIN?, the ICCID through
// +CRSM=176,12258, +CREG/+CGREG/+COPS/+CSQ for registration and signal) and
// the 3GPP TS 27.005 SMS commands in PDU mode (+CMGF, +CPMS, +CNMI, +CMGL,
// +CMGR, +CMGD). Fake.Deliver stores a PDU and sends +CMTI: "SM",<index>.
// PDUs come from modem/modemtest.EncodeDeliver (python3-gammu).
//
// Processes: ModemManager and dbus-daemon are stopped by PID in Stop
// (SIGTERM, then SIGKILL); both also get SIGKILL if the test binary dies
// (Pdeathsig). The fake runs one goroutine per connection plus an accept
// goroutine, all ended by Fake.Close. A missing ModemManager makes Start
// fail with "run `make deps`".
package mmtest
