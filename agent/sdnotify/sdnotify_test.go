package sdnotify

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// listen binds a unixgram socket in a temp dir and points NOTIFY_SOCKET at it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

func recv(t *testing.T, c *net.UnixConn, wait time.Duration) (string, bool) {
	t.Helper()
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}

func TestNotify(t *testing.T) {
	c := listen(t)
	n := New(nil)
	tests := []struct {
		name string
		send func() bool
		want string
	}{
		{"ready", func() bool { return n.Ready("idle\nsecond line") }, "READY=1\nSTATUS=idle second line"},
		{"status", func() bool { return n.Status("last session: ok") }, "STATUS=last session: ok"},
		{"stopping", func() bool { return n.Stopping("stopping") }, "STOPPING=1\nSTATUS=stopping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.send() {
				t.Fatal("not sent")
			}
			got, ok := recv(t, c, 2*time.Second)
			if !ok || got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNotifyNoSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if New(nil).Ready("x") {
		t.Error("sent without NOTIFY_SOCKET")
	}
}

// TestWatchdogStopsWhenStuck: pings flow while the liveness timestamp
// advances, stop once it does not, and resume when it does again.
func TestWatchdogStopsWhenStuck(t *testing.T) {
	c := listen(t)
	var alive atomic.Int64
	alive.Store(time.Now().UnixNano())
	var stuck atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the "main loop"
		for ctx.Err() == nil {
			if !stuck.Load() {
				alive.Store(time.Now().UnixNano())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	const interval = 200 * time.Millisecond
	go New(nil).Watchdog(ctx, interval, func() time.Time { return time.Unix(0, alive.Load()) })
	// Waits for a ping are generous (a loaded machine delays goroutines);
	// only the "no ping while stuck" check depends on the interval.
	for i := range 3 {
		if got, ok := recv(t, c, 10*interval); !ok || got != "WATCHDOG=1" {
			t.Fatalf("ping %d: got %q, %v; want WATCHDOG=1", i, got, ok)
		}
	}
	stuck.Store(true)
	time.Sleep(interval) // let a ping already due pass
	for {
		if _, ok := recv(t, c, 10*time.Millisecond); !ok {
			break // drain
		}
	}
	if got, ok := recv(t, c, 3*interval); ok {
		t.Fatalf("got %q while the loop was stuck, want no ping", got)
	}
	stuck.Store(false)
	if got, ok := recv(t, c, 10*interval); !ok || got != "WATCHDOG=1" {
		t.Errorf("after recovery: got %q, %v; want WATCHDOG=1", got, ok)
	}
}

func TestJournalHandler(t *testing.T) {
	type sent struct {
		msg  string
		pri  journal.Priority
		vars map[string]string
	}
	var got []sent
	lv := new(slog.LevelVar)
	h := NewJournalHandler(lv, "omadm-agent")
	h.send = func(msg string, p journal.Priority, vars map[string]string) error {
		got = append(got, sent{msg, p, vars})
		return nil
	}
	log := slog.New(h).With("server_id", "dm.example.com")
	log.Debug("hidden")
	log.WithGroup("sess").Warn("session finished", "session_id", "1A2B", "commands", 3, "duration", 1500*time.Millisecond, "result", "ok done")
	lv.Set(slog.LevelDebug)
	log.Debug("shown")
	if len(got) != 2 {
		t.Fatalf("got %d records, want 2 (debug filtered, then enabled live)", len(got))
	}
	r := got[0]
	want := map[string]string{"SYSLOG_IDENTIFIER": "omadm-agent", "SERVER_ID": "dm.example.com", "SESS_SESSION_ID": "1A2B",
		"SESS_COMMANDS": "3", "SESS_DURATION": "1.5s", "SESS_RESULT": "ok done"}
	for k, v := range want {
		if r.vars[k] != v {
			t.Errorf("field %s: got %q, want %q", k, r.vars[k], v)
		}
	}
	if r.pri != journal.PriWarning {
		t.Errorf("got priority %d, want %d", r.pri, journal.PriWarning)
	}
	if !strings.HasPrefix(r.msg, "session finished server_id=dm.example.com sess.session_id=1A2B") || !strings.Contains(r.msg, `sess.result="ok done"`) {
		t.Errorf("got message %q", r.msg)
	}
	if got[1].pri != journal.PriDebug {
		t.Errorf("got priority %d, want debug", got[1].pri)
	}
}

func TestFieldName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"session_id", "SESSION_ID"}, {"a.b-c", "A_B_C"}, {"_x", "F_X"}, {"1x", "F1X"}, {"", "F"},
	}
	for _, tc := range tests {
		if got := FieldName(tc.in); got != tc.want {
			t.Errorf("FieldName(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
