// Package bootstrap applies OMA DM bootstrap documents to the management
// tree: the DM profile (a SyncML DM message, OMA-TS-DM_Bootstrap-V1_2
// §3.1.4; protocol.md §7.1) and the CP profile (a WAP provisioning document
// with a w7 APPLICATION characteristic, OMA-TS-DM_Bootstrap-V1_2 §3.1.3 and
// OMA-WAP-TS-ProvCont; protocol.md §7.2), in XML or WBXML, from a factory
// file, a WAP push (SEC/MAC checked, OMA-TS-DM_Security-V1_2 §5.1.7.2;
// protocol.md §2.4) or a smartcard. Accounts land in ./DMAcc (package
// csp/dmacc, OMA-TS-DM_StdObj-V1_2 DMAcc).
//
// # Semantics
//
//   - All or nothing: Apply runs the whole document in one tree transaction
//     (tree.Atomic). Any failing command, any account that fails
//     dmacc.Store.Check, or any syntax error rolls everything back; the error
//     wraps ErrRefused and reads as one line ("bootstrap refused: ...").
//   - DM profile: the message is processed like a normal one but produces no
//     response. Add, Replace, Delete and Copy run in order as
//     Options.Principal (default the local principal); Atomic and Sequence
//     contents run inline; Get, Alert, Status and Results are ignored with a
//     warning; Exec and anything else refuse the document. Meta Format b64
//     data is decoded and stored as bin; an embedded TNDS tree is added as
//     TNDS, so an Add to ./Inbox is placed by its MO identifier
//     (tree.RouteInbox; dmacc.Declare registers both DMAcc identifiers) and
//     ./Inbox/... connectivity references are rewritten by the tree.
//   - CP profile: each APPLICATION with APPID w7 becomes ./DMAcc/<x>, x the
//     first free positive integer. PROVIDER-ID → ServerID, NAME → Name, one
//     TO-NAPID/TO-PROXY → PrefConRef (several → ToConRef/<n>/ConRef), each
//     APPADDR (or an ADDR parm) → AppAddr/<n> (ADDRTYPE default URI, PORT/
//     PORTNBR → Port/<n>/PortNbr), each APPAUTH → AppAuth/<n> with AAUTHLEVEL
//     APPSRV → CLCRED, CLIENT → SRVCRED, OBEX → OBEX, and AAUTHDATA
//     base64-decoded into the bin AAuthData. The account node gets Type
//     urn:oma:mo:oma-dm-dmacc:1.0 and the ACL Get, Replace and Delete for the
//     PROVIDER-ID. Other characteristics and parameters are ignored with a
//     warning. A PROVIDER-ID that already names an account refuses the
//     document (ServerIDs are unique).
//   - Validation: every account created or changed is checked with
//     dmacc.Store.Check inside the transaction. An account with no address
//     at all (the protocol.md §7.1 vector) is accepted with a warning; the
//     agent cannot open a session to it until an AppAddr is added.
//   - Origin: each new account gets ./DMAcc/<x>/Ext/Origin = Options.Origin
//     ("file", "push", "smartcard:<ICCID>"; default "local"), so accounts
//     from a smartcard can be removed when the card changes.
//   - Push: with Options.Push set, VerifyPush checks the MAC before anything
//     is parsed; no MAC or a wrong one gives ErrUnauthenticated.
//
// Report.Added lists the ServerIDs of the new accounts: the agent starts a
// client-initiated session to each. The package keeps no state, starts no
// goroutines and never logs; the caller flushes the tree.
package bootstrap
