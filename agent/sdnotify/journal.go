package sdnotify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// JournalHandler is a slog.Handler writing each record to journald with its
// attributes as journal fields (SESSION_ID, SERVER_ID, COMMANDS, ...) and
// as key=value text in MESSAGE, so "journalctl -u omadm-agent" stays
// readable and "journalctl SERVER_ID=x" filters. Levels map to syslog
// priorities (debug 7, info 6, warn 4, error 3).
type JournalHandler struct {
	level  slog.Leveler
	ident  string
	send   func(msg string, p journal.Priority, vars map[string]string) error
	attrs  []slog.Attr
	groups []string
	mu     *sync.Mutex // serialises send for tests; journal.Send is itself safe
}

// UseJournal reports whether stderr is connected to the journal
// ($JOURNAL_STREAM matches stderr), i.e. whether the agent runs under
// systemd with StandardError=journal.
func UseJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return ok && err == nil
}

// NewJournalHandler returns a handler sending to journald with
// SYSLOG_IDENTIFIER=ident, filtering by level (a *slog.LevelVar makes it
// live-changeable).
func NewJournalHandler(level slog.Leveler, ident string) *JournalHandler {
	return &JournalHandler{level: level, ident: ident, send: journal.Send, mu: &sync.Mutex{}}
}

// Enabled implements slog.Handler.
func (h *JournalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *JournalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := map[string]string{"SYSLOG_IDENTIFIER": h.ident}
	var text strings.Builder
	text.WriteString(r.Message)
	var walk func(prefix []string, a slog.Attr)
	walk = func(prefix []string, a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		if a.Value.Kind() == slog.KindGroup {
			p := prefix
			if a.Key != "" {
				p = append(append([]string(nil), prefix...), a.Key)
			}
			for _, g := range a.Value.Group() {
				walk(p, g)
			}
			return
		}
		key := strings.Join(append(append([]string(nil), prefix...), a.Key), ".")
		val := formatValue(a.Value)
		fmt.Fprintf(&text, " %s=%s", key, quoteIfNeeded(val))
		vars[FieldName(key)] = val
	}
	for _, a := range h.attrs {
		walk(nil, a)
	}
	r.Attrs(func(a slog.Attr) bool {
		walk(h.groups, a)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.send(text.String(), priority(r.Level), vars)
}

// WithAttrs implements slog.Handler.
func (h *JournalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), prefixed(h.groups, as)...)
	return &c
}

// WithGroup implements slog.Handler.
func (h *JournalHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups = append(append([]string(nil), h.groups...), name)
	return &c
}

func prefixed(groups []string, as []slog.Attr) []slog.Attr {
	if len(groups) == 0 {
		return as
	}
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = a
		for j := len(groups) - 1; j >= 0; j-- {
			out[i] = slog.Attr{Key: groups[j], Value: slog.GroupValue(out[i])}
		}
	}
	return out
}

// FieldName turns a slog key into a journal field name: upper case, only
// A-Z 0-9 _, not starting with "_" or a digit, at most 64 bytes.
func FieldName(key string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(key) {
		if (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] == '_' || (s[0] >= '0' && s[0] <= '9') {
		s = "F" + s
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

func formatValue(v slog.Value) string {
	switch v.Kind() {
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	}
	return v.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}
