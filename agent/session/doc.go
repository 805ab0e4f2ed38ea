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
// 213, 215, 216, 401, 407, 413, 424, 500 for misplaced commands, 507,
// 516). Atomic runs in one tree transaction (tree.CheckAtomic first, so a
// non-transactional provider refuses the whole Atomic with nothing
// applied). Outgoing messages are built with syncml.Builder within the
// server's MaxMsgSize; what does not fit goes in the next message (with
// Alert 1222 from the server in between), and a Results item larger than a
// message is sent in chunks (MoreData, Size in the first chunk).
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
