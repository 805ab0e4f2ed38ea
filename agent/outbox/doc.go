// Package outbox persists pending Generic Alerts (Alert 1226,
// OMA-TS-DM_Protocol-V1_2 §8.7 "Generic Alert", protocol.md §5.6) until the
// DM server has acknowledged them.
//
// Providers report asynchronous results (FUMO after an Exec answered 202,
// for example) as tree.Alert values. The agent adds them here, each with
// the ServerID of the DM server it is for (agent/session decides which:
// see Engine.ReportAlert); the session engine sends a server's pending
// alerts, and only that server's, in the next session with it (in Package
// 1) and calls Ack only after that server's Status for that Alert was 200
// or 202. Anything else (no Status, an error status, a broken session, a
// restart) leaves the alert pending, so it is sent again next time.
//
// Storage: one file per alert, "<id>.alert" (JSON), in the directory given
// to Open, written atomically (temporary file in the same directory, fsync,
// rename, fsync of the directory) with mode 0600; the directory is created
// 0700. Ids sort in the order the alerts were added. Files that cannot be
// parsed are skipped by Pending and reported in its error, never deleted.
//
// Schema: every file has "v". Version 2 adds "server" (required). Version
// 1 files (written before alerts carried their server) are still read,
// with ServerID ""; Assign attributes them (the session engine does so
// before it sends anything). A version this code does not know is reported
// as unreadable and left alone.
//
// Expect records an asynchronous Exec (server, node, correlator) in
// "execs.json" (bounded, MaxExpectations), so that the alert a provider
// raises later, even after a reboot, is attributed to the server that
// issued the Exec (Expected).
//
// Concurrency: an *Outbox is safe for concurrent use (one mutex); it starts
// no goroutines. Two Outbox values on the same directory in one process are
// not coordinated beyond the atomicity of each file.
package outbox
