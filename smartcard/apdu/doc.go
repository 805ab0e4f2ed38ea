// Package apdu encodes ISO/IEC 7816-4 short command APDUs (cases 1 to 4),
// decodes response APDUs, turns status words into typed errors and runs the
// transport-level exchanges every smartcard reader needs: GET RESPONSE after
// 61xx (and 9Fxx on a GSM 11.11 / TS 51.011 SIM), resend with the right Le
// after 6Cxx.
//
// Specifications:
//   - ISO/IEC 7816-4 §5.1 (command-response pairs, short Lc/Le), §5.1.3 and
//     §5.6 (status words), §7.1.1 SELECT, §7.2.3 READ BINARY, §7.3.3 READ
//     RECORD, §7.1.2 MANAGE CHANNEL, §7.6.1 GET RESPONSE, §5.3.3 FCP (tag 62).
//   - ETSI TS 102 221 §10.1.1 (class byte coding for logical channels 0..19)
//     and §11.1.1.3 (FCP of a UICC file).
//   - 3GPP TS 51.011 / GSM 11.11 §9 (CLA A0, 9Fxx, the 2G GET RESPONSE layout
//     used by ParseFileInfo).
//
// Invariants: encoding rejects what a short APDU cannot carry (Lc > 255,
// Le > 256); parsers never panic and return typed errors; Exchange bounds
// its GET RESPONSE loop (MaxGetResponses, MaxResponse) so that a card can
// not make it loop forever. The package keeps no state and starts no
// goroutines.
package apdu
