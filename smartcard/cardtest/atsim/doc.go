// Package atsim is a fake modem's SIM front end for tests: it answers the
// AT commands of 3GPP TS 27.007 that reach the SIM, on top of a cardtest
// fake card, with the responses a modem sends (information lines, then the
// final result code OK, ERROR or +CME ERROR: <err>):
//
//   - §8.17 AT+CSIM=<length>,"<command>" → +CSIM: <length>,"<response>";
//     <length> counts hex characters; the APDU goes to the card as it is.
//   - §8.45 AT+CCHO="<dfname>" → <sessionid> (the bare number of the TS
//     27.007 syntax, or "+CCHO: <sessionid>" as Telit and Quectel print it
//     when Modem.CCHOPrefix is set). The modem sends MANAGE CHANNEL open
//     and SELECT by DF name (P2 04) itself; a failure closes the channel
//     again and answers +CME ERROR: 100.
//   - §8.43 AT+CGLA=<sessionid>,<length>,"<command>" → +CGLA: <length>,
//     "<response>". As the TS 27.007 note asks, the modem manages the
//     channel bits of an interindustry CLA (it sets those of the session's
//     channel) unless Modem.CGLAVerbatim, which forwards CLA unchanged as
//     some modems do (smartcard.md §5.8).
//   - §8.46 AT+CCHC=<sessionid> → OK (MANAGE CHANNEL close).
//   - §8.18 AT+CRSM=<command>[,<fileid>[,<P1>,<P2>,<P3>[,<data>[,<pathid>]]]]
//     → +CRSM: <sw1>,<sw2>[,"<response>"] for READ BINARY (176), READ
//     RECORD (178, absolute mode P2 04), GET RESPONSE (192: the FCP of a
//     UICC or the GSM 11.11 header of a 2G SIM) and STATUS (242), through
//     cardtest.PathAccess. <pathid> is the DF path from the MF, accepted
//     without the MF ("7F50", the TS 27.007 / TS 102 221 form) and with it
//     ("3F007F50", as Android's RIL sends it), per Modem.CRSMPaths; no
//     <pathid> means the MF.
//   - The test commands AT+CSIM=?, AT+CCHO=?, AT+CGLA=?, AT+CCHC=?,
//     AT+CRSM=? answer OK.
//
// Anything else, a malformed parameter list, an odd or wrong <length> or
// a <command> that is not a quoted hex string, answers ERROR or +CME ERROR:
// 50 (incorrect parameters), so the client's command formatting is checked
// too. The Refuse* fields make a command answer a given final result
// (e.g. "ERROR", "+CME ERROR: 4") without reaching the card, to test route
// fallbacks.
//
// Goroutines: a Modem is safe for concurrent use (one mutex); set its
// fields before the first Answer.
package atsim
