// Package pcsc is a pure-Go (no cgo) client of pcscd, the pcsc-lite
// daemon, speaking its unix-socket protocol directly (pcsc-lite 1.9.9,
// protocol version 4.4, socket /run/pcscd/pcscd.comm or
// $PCSCLITE_CSOCK_NAME).
//
// Wire format (pcsc-lite src/winscard_msg.h, facts only): every request is
// a header {uint32 size, uint32 command} followed by a fixed-size struct in
// host byte order; the daemon answers with the same struct. CMD_VERSION
// (0x11) must come first; CMD_GET_READERS_STATE (0x12) returns 16 reader
// state records of 184 bytes (name[128], eventCounter, readerState,
// readerSharing, cardAtr[33], pad, cardAtrLength, cardProtocol);
// SCARD_TRANSMIT (0x09) sends the command APDU right after its struct and
// receives the response APDU right after the answer struct.
//
// Unlike go-libpcsclite, Transmit sends the protocol control information of
// the protocol the daemon actually negotiated in Connect (T=0 or T=1), so
// T=0-only SIMs work.
//
// Goroutines: a Client is safe for concurrent use (requests are serialised
// by a mutex); ctx deadlines and cancellation are applied to the socket
// with SetDeadline, so a cancelled request closes nothing but fails, and
// the connection is then unusable (the daemon may still answer).
package pcsc
