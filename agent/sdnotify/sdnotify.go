package sdnotify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends sd_notify messages. The zero value is not usable; use New.
type Notifier struct {
	log  *slog.Logger
	send func(state string) (bool, error)
}

// New returns a Notifier using daemon.SdNotify (NOTIFY_SOCKET read at each
// call). log receives send failures at debug level; nil discards them.
func New(log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{log: log, send: func(s string) (bool, error) { return daemon.SdNotify(false, s) }}
}

// Notify sends state as is (lines "KEY=value" separated by "\n"). It
// reports whether the message was sent (false without NOTIFY_SOCKET).
func (n *Notifier) Notify(state string) bool {
	ok, err := n.send(state)
	if err != nil {
		n.log.Debug("sd_notify failed", "state", firstLine(state), "err", err)
	}
	return ok
}

// Ready sends READY=1 with a STATUS= line.
func (n *Notifier) Ready(status string) bool {
	return n.Notify(daemon.SdNotifyReady + "\nSTATUS=" + oneLine(status))
}

// Status sends STATUS=status (shown by systemctl status).
func (n *Notifier) Status(status string) bool { return n.Notify("STATUS=" + oneLine(status)) }

// Stopping sends STOPPING=1 with a STATUS= line.
func (n *Notifier) Stopping(status string) bool {
	return n.Notify(daemon.SdNotifyStopping + "\nSTATUS=" + oneLine(status))
}

// Reloading sends RELOADING=1 (with MONOTONIC_USEC, as systemd 253+
// wants for Type=notify-reload) and Ready after it must follow.
func (n *Notifier) Reloading() bool {
	return n.Notify(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec())
}

// WatchdogInterval returns the watchdog interval systemd asked for
// (WatchdogSec=, via WATCHDOG_USEC and WATCHDOG_PID), or 0 when the
// watchdog is off.
func WatchdogInterval() (time.Duration, error) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, fmt.Errorf("watchdog: %w", err)
	}
	return d, nil
}

// Watchdog pings WATCHDOG=1 every interval/2 until ctx ends, but only while
// alive() is more recent than interval/2; once the main loop stops
// advancing it, the pings stop (and one warning is logged), and they
// resume if it recovers. interval <= 0 returns at once.
func (n *Notifier) Watchdog(ctx context.Context, interval time.Duration, alive func() time.Time) {
	if interval <= 0 {
		return
	}
	half := interval / 2
	t := time.NewTicker(half)
	defer t.Stop()
	stuck := false
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			age := now.Sub(alive())
			if age > half {
				if !stuck {
					n.log.Warn("main loop made no progress; withholding the watchdog ping", "since", age.Round(time.Millisecond))
					stuck = true
				}
				continue
			}
			if stuck {
				n.log.Info("main loop progressing again; watchdog pings resumed")
				stuck = false
			}
			n.Notify(daemon.SdNotifyWatchdog)
		}
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
