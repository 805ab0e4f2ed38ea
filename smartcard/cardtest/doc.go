// Package cardtest is a fake UICC / 2G SIM for tests: an ISO/IEC 7816-4
// command interpreter over a small file system loaded from a text
// description (testdata/smartcard/*.card), and a vsmartcard vpcd client
// (ServeVPCD) that plugs the same fake card into a real pcscd.
//
// The card answers SELECT (P1 00 by FID, 04 by DF name, 08 path from MF,
// 09 path from the current DF; P2 00/04 FCP, 0C none; 7FFF = the
// application selected on the channel, as in TS 102 221), READ BINARY,
// READ RECORD (absolute), GET RESPONSE, MANAGE CHANNEL (open/close, up to
// Options.Channels extra channels) in UICC mode (CLA 0x/4x, TS 102 221 FCP
// tag 62), and SELECT / GET RESPONSE / READ BINARY / READ RECORD with CLA
// A0 in 2G mode (GSM 11.11 §9: SELECT answers 9Fxx, GET RESPONSE returns
// the 15-byte EF or 22-byte DF header). Options.T0 makes case-4 commands
// answer 61xx like a T=0 card, so the reader's GET RESPONSE path runs.
//
// PathAccess reads the same card by path from the MF the way a modem
// serves AT+CRSM (3GPP TS 27.007 §8.18) and satisfies smartcard.PathReader;
// package atsim puts an AT command front end (AT+CSIM, AT+CCHO/CGLA/CCHC,
// AT+CRSM) on top of a Card.
//
// Description format (one directive per line, '#' starts a comment, lines
// that start with white space continue the previous directive with hex):
//
//	mode uicc|2g                 # default uicc
//	channels N                   # logical channels besides 0 (default 3; 0 = none)
//	mf                           # the MF 3F00 (implicit)
//	df  3F00/7F50 [name=AID]     # a DF under the MF, optionally selectable by AID
//	adf AID                      # an ADF reachable only by AID; its files are ADF/<fid>
//	ef  PATH transparent [size=N] [deny=SW] HEX...
//	ef  PATH linear reclen=N [records=N] [deny=SW] HEX...
//
// Content shorter than size (or records×reclen) is padded with FF, the way
// SIM files are filled.
//
// vpcd wire protocol (vsmartcard, virtualsmartcard/src/vpcd): the card
// dials pcscd's vpcd port (35963 for the first reader by default); every
// message is a 2-byte big-endian length and a payload; a 1-byte payload is
// a control message (00 power off, 01 power on, 02 reset, 04 get ATR,
// answered with the ATR); anything else is a command APDU answered with
// the response APDU.
//
// Goroutines: Card is safe for concurrent use (one mutex); ServeVPCD runs
// in the caller's goroutine until ctx ends.
package cardtest
