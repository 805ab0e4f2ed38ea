// Package smartcard reads the OMA DM bootstrap document from a SIM, USIM or
// UICC: ReadBootstrap walks EF.DIR → PKCS#15 application → EF.ODF → DODF →
// the data object with OID 2.23.43.7.1 (EF(DM_Bootstrap)), or, when there
// is none, the ProvSC CP objects 2.23.43.5.1/.2/.3, and returns the raw
// document with the card's ICCID.
//
// Specifications:
//   - OMA-TS-DM_Bootstrap-V1_2 §3.1.4.6 and its smartcard appendix (DM
//     profile), OMA-WAP-TS-ProvSC (CP profile), as restated in
//     smartcard.md §1-§4 (read algorithm, OIDs, PKCS#15 structures).
//   - PKCS#15 v1.1 / ISO/IEC 7816-15 (package pkcs15).
//   - ISO/IEC 7816-4 and ETSI TS 102 221 (package apdu): SELECT, READ
//     BINARY, READ RECORD, MANAGE CHANNEL, GET RESPONSE; 3GPP TS 31.102
//     EF_ICCID (2FE2); 3GPP TS 51.011 for 2G SIMs (CLA A0).
//   - Transports: 3GPP TS 27.007 §8.17 AT+CSIM (modem.CSIM), §8.45/§8.43/
//     §8.46 AT+CCHO/AT+CGLA/AT+CCHC (modem.CGLA, an AppOpener), §8.18
//     AT+CRSM (modem.CRSM, a PathReader), the pcsc-lite client protocol 4.4
//     (package pcsc); smartcard.md §6 routes A, B and C.
//
// Order of tries (smartcard.md §1, §4, §6):
//  1. Basic channel: SELECT MF with CLA 00; a 6Exx/6Dxx answer means a 2G
//     SIM and every later command uses CLA A0 and FID-by-FID selection.
//     Read EF_ICCID (3F00/2FE2) and EF.DIR (3F00/2F00) for the PKCS#15
//     application's AID and path.
//  2. UICC: MANAGE CHANNEL open, SELECT the PKCS#15 AID on that channel,
//     relative paths resolve in the ADF. The channel is closed again on
//     every return path (also when ctx is cancelled: the close then runs
//     under a short detached deadline).
//  3. Fallback (2G, no logical channel, AID not selectable): select the DF
//     named by EF.DIR (or 3F00/7F50 as a last resort) on the basic channel.
//  4. EF.ODF 5031 → every A7 DODF in order; candidates are the DM objects
//     (in DODF order), then CP bootstrap, config1, config2; the first whose
//     file has content wins. A 6982 (private object) skips the candidate.
//
// A transport that opens the logical channel itself (AppOpener: AT+CCHO,
// where the modem sends MANAGE CHANNEL and SELECT by AID) replaces steps
// 1-3: ReadBootstrap calls OpenApp with the PKCS#15 AID, walks step 4 with
// CLA 00 (the transport owns the channel bits), reads EF_ICCID on the same
// channel last and closes it on every return path. A failed OpenApp is
// ErrChannelRefused (the modem cannot tell a missing application from a
// refusal).
//
// ReadBootstrapByPath is the same walk for restricted SIM access, where no
// APDU can be sent (PathReader: AT+CRSM, smartcard.md §6 route C): EF_ICCID
// (10 bytes, no header), EF.DIR records sized by GET RESPONSE, then the
// DF of tag 51 (or 3F00/7F50) by path from the MF; every file is sized by
// GET RESPONSE (a TS 102 221 FCP or the GSM 11.11 header; an unreadable one
// means reading to the end) and read in pieces of at most 255 bytes,
// resending once with the length a 6Cxx / 67xx asks for. An application
// that exists only as an ADF is out of its reach (ErrNoBootstrap).
//
// Errors: a card answer (status word, content) moves on to the next file,
// object or route, and ends in ErrNoBootstrap when nothing is found; a
// transport error (the Transmitter's or PathReader's error, ctx) ends the
// read and is returned as it is, never as ErrNoBootstrap. A logical
// channel refused with a status other than 6A82 (MANAGE CHANNEL 6881,
// SELECT by AID 6Dxx...) is wrapped as ErrChannelRefused next to the
// ErrNoBootstrap of the basic-channel fallback, so that a caller with
// another transport (modem.ReadSIMBootstrap) may still try AT+CCHO.
//
// Invariants: every file read is bounded (MaxFileSize, MaxRecords,
// MaxDODFs), every APDU exchange checks ctx, trailing FF fill is stripped
// and the document must start with a WBXML version byte (01..03) or '<'.
// Nothing is logged; errors wrap ErrNoBootstrap when the card simply has
// no bootstrap. The package starts no goroutines.
package smartcard
