package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/notification"
)

// Source says where a trigger came from.
type Source uint8

// Trigger sources. The order is the precedence used when two triggers for
// the same server are merged and neither is server-initiated: a local
// request beats a bootstrap, which beats a pending alert, which beats a
// retry, which beats a poll.
const (
	SourcePoll      Source = iota + 1 // the [[server]] poll schedule (or SIGUSR1)
	SourceRetry                       // a failed session retried on the backoff schedule
	SourceAlert                       // pending Generic Alerts in the outbox
	SourceBootstrap                   // a new account after bootstrap
	SourceLocal                       // D-Bus StartSession or the CLI
	SourcePush                        // a verified Package #0 (server-initiated)
)

var sourceNames = [...]string{"", "poll", "retry", "alert", "bootstrap", "local", "push"}

func (s Source) String() string {
	if int(s) < len(sourceNames) && s != 0 {
		return sourceNames[s]
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// Trigger asks for one DM session with one server. A trigger with a
// SessionID is server-initiated (Alert 1200, the SessionID of Package #0);
// every other one is client-initiated (Alert 1201, a fresh SessionID).
type Trigger struct {
	// ID identifies the trigger for D-Bus callers ("t17"). When triggers
	// merge, the pending one keeps its ID.
	ID       string
	ServerID string
	Source   Source
	// SessionID is the hex session id of Package #0 ("1234"); "" for a
	// client-initiated session.
	SessionID string
	// Session is the SessionID the session uses: SessionID for a
	// server-initiated one; for a client-initiated one a random hex value
	// (1..FFFF) assigned when the trigger is queued (so StartSession can
	// return it), or when the session starts.
	Session string
	// UIMode is the ui-mode of Package #0 after the [push] and [ui] policy
	// (user-interaction may have been turned into background).
	UIMode notification.UIMode
	// NonceReset: the Package #0 digest matched only the resync nonce
	// 00000000, so Package 1 must use credentials built on that nonce and
	// fresh nonces are exchanged (OMA-TS-DM_Notification §6.2).
	NonceReset bool
	// Alerts: the outbox holds Generic Alerts for this server; Package 1
	// carries them (Alert 1201 + 1226).
	Alerts bool
	// Merged counts the triggers folded into this one.
	Merged int
	// Sources is the set of sources folded into this one (bit 1<<Source).
	Sources uint16
	// At is when the trigger was first queued.
	At time.Time
	// Promised holds the SessionIDs that earlier callers were given (in
	// their Ref) for pending triggers this one replaced: a server-initiated
	// trigger replacing a client-initiated one, or a newer push replacing
	// an older one. The session that serves this trigger finishes those
	// promises too (dbusapi emits SessionFinished for each), so a caller
	// waiting on a replaced request is answered instead of timing out. At
	// most MaxPromised are kept (the oldest are dropped).
	Promised []string
}

// MaxPromised bounds Trigger.Promised.
const MaxPromised = 8

// promise records that t serves the SessionID id that a caller was given.
func (t *Trigger) promise(id string) {
	if id == "" || id == t.SessionID {
		return
	}
	for _, p := range t.Promised {
		if p == id {
			return
		}
	}
	t.Promised = append(t.Promised, id)
	if len(t.Promised) > MaxPromised {
		t.Promised = append([]string(nil), t.Promised[len(t.Promised)-MaxPromised:]...)
	}
}

// Ref is the reference StartSession and ProcessData return for a pending
// trigger: "<ID>/<SessionID the session will use>" (the Package #0
// SessionID when server-initiated, otherwise the one assigned when the
// trigger was queued).
func (t Trigger) Ref() string {
	return t.ID + "/" + refSession(t)
}

// refSession is the SessionID in t's Ref.
func refSession(t Trigger) string {
	if t.SessionID != "" {
		return t.SessionID
	}
	return t.Session
}

// ServerInitiated reports whether t carries a Package #0 SessionID.
func (t Trigger) ServerInitiated() bool { return t.SessionID != "" }

// String describes t for logs (no secrets in a trigger).
func (t Trigger) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s server=%q", t.ID, t.Source, t.ServerID)
	if t.SessionID != "" {
		fmt.Fprintf(&b, " session=%s ui=%s", t.SessionID, t.UIMode)
	}
	if t.NonceReset {
		b.WriteString(" nonce-reset")
	}
	if t.Alerts {
		b.WriteString(" alerts")
	}
	if t.Merged > 0 {
		fmt.Fprintf(&b, " merged=%d", t.Merged)
	}
	return b.String()
}

// merge folds the newer trigger n into the pending trigger p and returns the
// result and why (for the debug log). Rules:
//
//   - a server-initiated trigger (with a SessionID) wins over a
//     client-initiated one; its SessionID, UI mode and nonce-reset flag are
//     kept whichever came first;
//   - of two server-initiated triggers the newer SessionID wins (the server
//     waits for that one), but the stronger UI mode is kept so a
//     user-interaction request is never downgraded by a later background one;
//   - of two client-initiated triggers the higher Source wins;
//   - Alerts is ORed; ID and At of the pending trigger are kept.
func merge(p, n Trigger) (Trigger, string) {
	out := p
	var why string
	switch {
	case p.ServerInitiated() && !n.ServerInitiated():
		why = fmt.Sprintf("%s folded into pending server-initiated session %s", n.Source, p.SessionID)
	case !p.ServerInitiated() && n.ServerInitiated():
		out.Promised = append([]string(nil), p.Promised...)
		out.promise(refSession(p))
		out.Source, out.SessionID, out.UIMode, out.NonceReset = n.Source, n.SessionID, n.UIMode, n.NonceReset
		why = fmt.Sprintf("server-initiated session %s replaces pending %s", n.SessionID, p.Source)
	case p.ServerInitiated() && n.ServerInitiated():
		out.Promised = append([]string(nil), p.Promised...)
		out.SessionID, out.NonceReset = n.SessionID, n.NonceReset
		out.promise(p.SessionID)
		out.UIMode = max(p.UIMode, n.UIMode)
		if p.SessionID == n.SessionID {
			why = "same server-initiated session " + n.SessionID
		} else {
			why = fmt.Sprintf("newer server-initiated session %s replaces %s", n.SessionID, p.SessionID)
		}
	default:
		if n.Source > p.Source {
			out.Source = n.Source
		}
		why = fmt.Sprintf("%s merged into pending %s", n.Source, p.Source)
	}
	out.Alerts = p.Alerts || n.Alerts
	out.Merged = p.Merged + n.Merged + 1
	out.Sources = p.Sources | n.Sources | 1<<n.Source
	return out, why
}
