// Package agent is the daemon core of omadm-agent: one trigger queue, the
// push router, the poll scheduler and the file watcher. It decides when a
// DM session runs; the session itself is run by a SessionRunner
// (agent/session).
//
// Specifications: OMA-TS-DM_Notification-V1_2 §6 (Package #0: digest and
// nonce resynchronisation §6.2, ui-mode §6.2.2.7, session id §6.2.2.10;
// protocol.md §1.2-§1.5), OMA-TS-DM_Security-V1_2 §5.1.7.2 and
// OMA-TS-DM_Bootstrap-V1_2 §3.1 (pushed bootstraps with SEC/MAC,
// protocol.md §2.4), protocol.md §8 step 1 (trigger sources), the Windows
// DMClient Poll node and w7 CONNRETRYFREQ/INITIALBACKOFFTIME/MAXBACKOFFTIME
// (agent/config schedules).
//
// # Triggers
//
// Every reason to talk to a server becomes a Trigger in one queue: a
// verified push (server-initiated, with the Package #0 SessionID), the
// [[server]] poll schedule, a local request (D-Bus StartSession, the CLI),
// pending Generic Alerts in the outbox, a new account after bootstrap, and
// retries of failed sessions. Invariants:
//
//   - at most one session per server at a time (MaxSessions bounds the
//     sessions with different servers, default 1);
//   - at most one pending trigger per server, and at most MaxServers
//     servers with a pending trigger: memory is bounded whatever the burst;
//   - duplicates merge (see merge): a server-initiated trigger wins over a
//     client-initiated one and keeps its SessionID, the stronger UI mode is
//     kept, the Alerts flag is ORed;
//   - nothing is dropped silently: every merge and drop is counted in Stats
//     (DropReasons by reason) and logged at debug level with the reason;
//   - pending alerts are never lost: they stay in the outbox until a session
//     delivers them; the outbox is checked at start, after each session and
//     on AlertsChanged, and a failing server is retried on the backoff
//     schedule instead of in a loop. Each pending alert is for one server
//     (AlertSource counts per ServerID) and triggers a session with that
//     server only. Alerts a server saw in a successful session without
//     acknowledging them (e.g. Status 500) go with its next session but do
//     not trigger one by themselves; a new alert does.
//
// # Push router
//
// Router.Route decides what a WAP push means (see its doc): Package #0 is
// decoded, the ServerID looked up in ./DMAcc (unknown: ignored and logged
// once, or left on the modem with [modem] coexistence), the digest checked
// with the SRVCRED secret and nonce then the resync nonce (Trigger.NonceReset),
// replays within [push] replay_window and pushes over [push] rate_limit
// (a token bucket per server) refused, and the ui-mode policy applied.
// Bootstrap pushes are applied through agent/bootstrap only after their
// SEC/MAC check. The router needs no modem: it is tested with table tests.
//
// # Goroutines
//
//   - The agent goroutine (Run) owns the queue, the schedules, the per-server
//     state and the start of sessions. It is the only one that changes them.
//   - Each running session has its own goroutine, started by Run, which
//     reports back on a channel; its context is cancelled on shutdown and
//     after [agent] session_deadline.
//   - Every other method (Enqueue, StartSession, Reload, PollAll,
//     HandlePush, ProcessData, Snapshot) may be called from any goroutine
//     (D-Bus method goroutines, the modem, the watcher, signal handling):
//     they only send a request to the agent goroutine and wait for its
//     answer, or read the last published Snapshot.
//   - Watch runs in its own goroutine: fsnotify for the configuration and
//     its conf.d drop-ins (debounced, then Reload) and inotify for the
//     spool.
//
// # Liveness and idle
//
// The main loop stores a liveness timestamp at every iteration (Liveness);
// the systemd watchdog pinger (agent/sdnotify) only pings while it is
// recent, so a stuck loop stops the pings. The loop has no periodic tick
// unless Config.Heartbeat is set (with a watchdog): otherwise it only
// wakes for requests, session ends and a timer armed for the next due poll
// or retry.
package agent
