// Package session is the OMA DM 1.2 client session engine: it runs one DM
// session against one server, from Package 1 to the server's last
// message, applying every server command to the management tree.
//
// Specifications: OMA-TS-DM_Protocol-V1_2 §2 (messages, packages, large
// objects, §2.4 authentication flow), §6 (protocol elements), §7 (Status
// and Results), §8 (session flow: Packages 1-4, Generic Alert §8.7, abort)
// and §9 (user interaction alerts 1100-1104); OMA-TS-DM_Security-V1_2 §5
// (credentials, nonces, challenges, HMAC integrity, transport security);
// the SyncML HTTP binding as summarised in protocol.md §5.8. Project notes:
// protocol.md §3-§5 and §8, seed 003 (per-command problems).
//
// # Shape
//
// Engine.Run drives a state machine of state functions (stateSetup,
// statePkg1, stateSend, stateHandle; see architecture.md §3.3): Package 1
// (Alert 1200/1201, Replace ./DevInfo, pending Generic Alerts 1226), then
// message exchanges until the server sends Final with no command and no
// challenge. Every server command runs through the tree as
// tree.Server(serverID); tree errors become status codes only through
// tree.StatusCode; the engine itself sets only protocol-level codes (212,
// 213, 215, 216, 400 for a misplaced chunk, 401, 407, 413, 424, 500 for
// misplaced commands, 507, 516, 517). Outgoing messages are built with
// syncml.Builder within the server's MaxMsgSize; what does not fit goes in
// the next message (with Alert 1222 from the server in between), and a
// Results item larger than a message is sent in chunks (MoreData, Size in
// the first chunk). Add/Replace/Delete/Copy/Exec/Get answer one Status per
// Item (TargetRef/SourceRef naming the Item), as RepPro's Status rules
// require when the Items' codes differ (200 and 213 in one command, say).
//
// # Atomic
//
// Atomic runs in one tree transaction (tree.CheckAtomic first, so a
// non-transactional provider refuses the whole Atomic with nothing
// applied: its code, and 215 for every child). A failed child makes it 507:
// the failed child keeps its code, the children that had succeeded get 216
// (516 if the rollback failed), the rest 215. Before committing, the engine
// measures the answers (the Atomic's Status and its children's) in a
// message of their own under the server's MaxMsgSize (header, SyncHdr
// Status and an Alert 1222 included, CmdIDs estimated on the high side,
// 16 bytes to spare).
// If they do not fit, the Atomic is rolled back and answered 517 (RepPro
// §4.1.6.3), its children exactly as on the 507 path: 216 (516) each.
// RepPro lets a client that executes the whole Atomic at once, as this one
// does, split the answers instead; the engine chooses 517 so that the
// outcome of an Atomic always reaches the server in one message. A 517
// answer has as many Statuses as the 200 one would have had, so it is
// itself split over several messages, the Atomic's Status first. An Atomic
// that failed anyway keeps 507 and is split the same way if it must be:
// nothing was applied and 507 names the failing child. Answers that fit in
// one message go out together: when they do not fit in what is left of the
// current message they start the next one.
//
// # Large objects to the device
//
// Protocol §2.2: a chunk (Item with MoreData) of an Add or Replace at the
// top level is answered 213 and buffered; the last chunk is checked
// against the first chunk's Size (424) and applied; a new command, or an
// Item for another node, before the last chunk abandons the object with
// Alert 1225 naming it. No new Item may come between chunks, so a chunk is
// the last Item of its command: the earlier Items of that command are
// complete and run as usual, each with its Status, and the last one starts
// (or continues) the object. MoreData on an Item that is not the last of
// its command is refused with 400 (malformed command, RepPro) for that
// Item, nothing of it is buffered, the object it would have continued is
// abandoned (1225), and the other Items run as usual. MoreData inside
// Atomic or Sequence is refused with 400 as well.
//
// # Authentication
//
// Our credentials come from the account's CLCRED entry, type AAuthPref
// first (BASIC, DIGEST, HMAC). A 401/407 with Chal sends Package 1 again
// with the asked type and nonce (bounded by Config.AuthAttempts). The
// server is authenticated against SRVCRED (Cred in its SyncHdr, or its
// x-syncml-hmac header); when SRVCRED requires it and the server did not
// prove itself, the engine answers 401/407 with a Chal carrying a fresh
// random nonce (stored as the SRVCRED nonce) and executes nothing from
// that message (every command gets the same 401/407). A NextNonce is
// always used for the next credential but persisted (SetNonce CLCRED) only
// when it came in an authenticated message. Without SRVCRED DM-level
// authentication, the server counts as authenticated only over https.
// Secrets, nonces and Cred data are never logged; session records redact
// them.
//
// # Invariants
//
//   - One session at a time per ServerID (Engine serialises Run calls per
//     server); a session is owned by the goroutine calling Run and starts no
//     goroutine of its own except one per UI question forwarded to a hook.
//   - The tree is flushed at the end of every session, whatever the
//     outcome; an Atomic is never left half-applied.
//   - Generic alerts leave the outbox only after the authenticated server
//     answered 200 or 202 for them. Every outbox entry is for one
//     ServerID; a session sends only its server's entries, so only that
//     server can acknowledge them. Engine.ReportAlert attributes a
//     provider's alert (Engine.AlertOwners): the server whose Exec of the
//     node was answered 202 (recorded persistently in the outbox, so a
//     reboot in between does not matter), else the servers the node's ACL
//     grants Exec, else the only account, else every account (one copy
//     each). Entries an older version wrote without a server are
//     attributed by the same rules at the start of a session.
//   - A local abort (ctx cancelled, session deadline) sends Alert 1223 with
//     the collected statuses and Final, best effort, with a short timeout.
//   - Retries: a failed POST is retried per the w7 CONNRETRYFREQ /
//     INITIALBACKOFFTIME / MAXBACKOFFTIME policy (Transport), but in the
//     middle of a session only when the request surely never reached the
//     server (connection not established).
package session
