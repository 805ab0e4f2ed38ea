// Package modem receives WAP pushes over SMS from a serial AT modem and
// delivers them decoded (package wappush) to the agent.
//
// Specifications:
//   - 3GPP TS 27.005: AT+CMGF=0 (PDU mode), AT+CNMI (new-message routing,
//     §3.4.1), +CMTI / +CMT unsolicited results, AT+CMGR, AT+CMGL=4, AT+CMGD,
//     AT+CSMS / AT+CNMA (direct delivery acknowledgement); the PDU-mode
//     <length> counts the TPDU without the SMSC address (§3.1).
//   - 3GPP TS 23.040: the SMS-DELIVER TPDU (§9.2.2.1) and its User Data
//     Header (§9.2.3.24): application port IEs 0x04/0x05 and concatenation
//     IEs 0x00 (8-bit reference) and 0x08 (16-bit reference).
//   - WAP-259-WDP: WDP over SMS; port 2948 is the connectionless push port.
//   - WAP-230-WSP §8.2.4: the connectionless Push PDU (decoded by wappush).
//   - OMA-TS-DM_Notification §6.3: Package #0 carried by such a push.
//
// Data flow: +CMTI → +CMGR=<i> → DecodePDU (warthog618/sms) → WDP port 2948
// only → Reassembler for concatenated SMS → wappush.Decode → Handler (Run: the
// out channel) → +CMGD=<i> only once the handler accepted the push. At every
// (re)connection and after a modem restart (RDY, +CPIN: READY) a +CMGL=4
// sweep picks up pushes stored while the agent was not listening. SMS not
// addressed to port 2948 are never deleted. When the modem refuses storage
// routing, direct +CMT delivery is used, acknowledged with +CNMA.
//
// Invariants:
//   - The serial port is opened with go.bug.st/serial with NO read timeout
//     (at's bufio.Scanner would give up on (0, nil) reads); cancelling Run
//     closes the port, which unblocks the pending Read.
//   - A push is deleted from the modem storage (every segment) only after the
//     Handler returned nil; a refused push stays and is offered again after
//     Config.RetryInterval. A timed-out partial concatenated message is
//     deleted (it cannot complete any more); an evicted one is left stored.
//   - After an AT timeout the session reconnects: at matches answers to
//     commands by order only, and a late answer must not be taken for the
//     answer to a later +CMGR (which could delete the wrong message).
//   - No polling: with no traffic the Run loop sleeps in one select; timers
//     exist only while partial messages or a retry are pending; while the
//     device is absent Run waits on fsnotify (nearest existing ancestor
//     directory of Config.Device) with a slow capped backoff as fallback.
//   - Failures are logged once with their cause (slog); PINs are never logged.
//
// SIM access for the smartcard bootstrap (package smartcard; smartcard.md
// §6): csim.go carries APDUs with AT+CSIM (3GPP TS 27.007 §8.17, route A);
// sim_cgla.go opens a logical channel to the PKCS#15 application with
// AT+CCHO (§8.45), carries APDUs with AT+CGLA (§8.43) and closes with
// AT+CCHC (§8.46) (route B; it sets the CLA channel bits from the session
// ID, see CGLA); sim_crsm.go reads files by path with AT+CRSM (§8.18:
// READ BINARY 176, READ RECORD 178, GET RESPONSE 192; route C) for
// smartcard.ReadBootstrapByPath; sim_route.go's ReadSIMBootstrap picks one
// route or tries A → B → C ("auto"), moving on only when the modem or card
// refuses the route (ERROR, +CME ERROR 3/4/50, 6Dxx/6Exx, no logical
// channel), never when a working route found no bootstrap (6A82), broken
// card data or a SIM failure. They use Commander only (any *Modem), start
// no goroutine and are for one reader at a time.
//
// Goroutine ownership:
//   - The warthog618/modem at pipeline goroutines (lineReader, indLoop,
//     cmdLoop) own the serial port while it is open; Command, IMEI, IMSI and
//     SIMStatus go through at's command channel and are safe for concurrent
//     use with Run.
//   - at runs each indication handler in its own goroutine; handlers only send
//     an event to the session's channel (or give up when the port closes).
//   - The Run (Serve) goroutine owns the session state, the Reassembler and
//     the reconnect logic. Only one Run or Serve may be active per Modem.
package modem
