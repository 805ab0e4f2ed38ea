// Package outbox persists pending Generic Alerts (Alert 1226,
// OMA-TS-DM_Protocol-V1_2 §8.7 "Generic Alert", protocol.md §5.6) until the
// DM server has acknowledged them.
//
// Providers report asynchronous results (FUMO after an Exec answered 202,
// for example) as tree.Alert values. The agent adds them here; the session
// engine sends every pending alert in the next session (in Package 1) and
// calls Ack only after the server's Status for that Alert was 200 or 202.
// Anything else (no Status, an error status, a broken session, a restart)
// leaves the alert pending, so it is sent again next time.
//
// Storage: one file per alert, "<id>.alert" (JSON), in the directory given
// to Open, written atomically (temporary file in the same directory, fsync,
// rename, fsync of the directory) with mode 0600; the directory is created
// 0700. Ids sort in the order the alerts were added. Files that cannot be
// parsed are skipped by Pending and reported in its error, never deleted.
//
// Concurrency: an *Outbox is safe for concurrent use (one mutex); it starts
// no goroutines. Two Outbox values on the same directory in one process are
// not coordinated beyond the atomicity of each file.
package outbox
