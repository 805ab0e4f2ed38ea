// Package modemtest provides a fake AT modem on a pty for tests of package
// modem, and an independent SMS-DELIVER PDU encoder (python3-gammu).
//
// The fake speaks the wire format of a real modem (3GPP TS 27.005, V.25ter
// framing "\r\n<line>\r\n", PDU lines directly after their +CMGR/+CMGL/+CMT
// header, PDU-mode <length> = TPDU octets without the SMSC address): OK,
// ERROR, +CMS ERROR: n, +CME ERROR: n, echo on/off (ATE0/ATE1, ATZ), +CMTI,
// +CMT, +CMGR, +CMGL, +CMGD, +CNMI, +CSMS, +CNMA, +CGSN, +CIMI, +CPIN?. The
// agent opens Fake.Path (a symlink to the pty slave) with go.bug.st/serial,
// exactly as it opens a device. Unplug closes the pty and removes the
// symlink; Replug creates a new pty behind the same path.
//
// Goroutines: one reader goroutine per pty owns the master's read side; all
// state is guarded by the Fake's mutex.
package modemtest
