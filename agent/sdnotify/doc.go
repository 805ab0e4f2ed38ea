// Package sdnotify connects the agent to systemd: the sd_notify(3)
// protocol (READY=1, STATUS=, STOPPING=1, RELOADING=1, WATCHDOG=1) through
// go-systemd's daemon package, a watchdog pinger that only pings while the
// agent's main loop makes progress, and a log/slog handler that writes
// structured records to journald (sd_journal_send(3) fields) when stderr is
// connected to the journal.
//
// Specifications: sd_notify(3) (NOTIFY_SOCKET, WATCHDOG_USEC/WATCHDOG_PID;
// "ping at half the interval" from sd_watchdog_enabled(3)), systemd.exec(5)
// $JOURNAL_STREAM, systemd.journal-fields(7).
//
// Invariants:
//   - Without NOTIFY_SOCKET every notification is a no-op (not an error).
//   - The watchdog pinger pings at interval/2 and only when the liveness
//     timestamp it is given is younger than interval/2: a stuck main loop
//     (no iteration for half the interval) stops the pings, and systemd
//     restarts the service after WatchdogSec. A ticker that pings
//     unconditionally would be useless.
//   - Journal field names are derived from slog keys: upper-cased, every
//     character outside [A-Z0-9_] replaced by "_", a leading "_" or digit
//     prefixed with "F" (journald refuses them otherwise): "session_id"
//     becomes SESSION_ID.
//
// Goroutines: Watchdog runs in the caller's goroutine until ctx ends. The
// Notifier and the journal handler are safe for concurrent use.
package sdnotify
