package dbusapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
)

// ErrAgentGone: the agent left the bus while a caller waited for a session.
var ErrAgentGone = errors.New("the agent left the bus")

// Finished is one SessionFinished signal.
type Finished struct {
	ServerID  string
	SessionID string
	// Status is 0 on success, otherwise the SyncML status code that ended
	// the session, or -1 for a transport failure.
	Status int32
	Result string
}

// OK reports whether the session succeeded.
func (f Finished) OK() bool { return f.Status == 0 }

// SplitRef splits a StartSession / ProcessFile reference
// "<trigger id>/<SessionID>" (see agent.Trigger.Ref).
func SplitRef(ref string) (trigger, sessionID string, ok bool) {
	trigger, sessionID, ok = strings.Cut(ref, "/")
	return trigger, sessionID, ok && trigger != "" && sessionID != ""
}

// RunSession asks the agent for a session with serverID ("" = every
// account) and waits, until ctx ends, for the SessionFinished signal of
// every session that serves the request. It subscribes to the signals
// before calling StartSession, so a fast session is not missed. The
// results come in the order the sessions finished; the error is ctx's, the
// agent's answer to StartSession, or ErrAgentGone.
func (c *Client) RunSession(ctx context.Context, serverID string) ([]Finished, error) {
	return c.wait(ctx, func() (string, error) { return c.StartSession(ctx, serverID) })
}

// wait subscribes to SessionFinished and NameOwnerChanged, calls start
// (which returns comma-separated references) and waits for a
// SessionFinished with each reference's SessionID.
func (c *Client) wait(ctx context.Context, start func() (string, error)) ([]Finished, error) {
	ch := make(chan *dbus.Signal, 64)
	c.conn.Signal(ch)
	defer c.conn.RemoveSignal(ch)
	opts := []dbus.MatchOption{dbus.WithMatchObjectPath(ObjectPath), dbus.WithMatchInterface(Interface), dbus.WithMatchMember("SessionFinished")}
	if err := c.conn.AddMatchSignalContext(ctx, opts...); err != nil {
		return nil, fmt.Errorf("dbusapi: subscribe to SessionFinished: %w", err)
	}
	defer c.conn.RemoveMatchSignalContext(context.WithoutCancel(ctx), opts...)
	gone := []dbus.MatchOption{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, BusName)}
	if err := c.conn.AddMatchSignalContext(ctx, gone...); err != nil {
		return nil, fmt.Errorf("dbusapi: subscribe to NameOwnerChanged: %w", err)
	}
	defer c.conn.RemoveMatchSignalContext(context.WithoutCancel(ctx), gone...)

	// Only the agent's own signals count (anyone may emit a signal).
	var owner string
	if err := c.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, BusName).Store(&owner); err != nil {
		return nil, fmt.Errorf("dbusapi: %w", ErrAgentGone)
	}
	refs, err := start()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{} // SessionID → still waiting
	for _, ref := range strings.Split(refs, ",") {
		_, sid, ok := SplitRef(ref)
		if !ok {
			return nil, fmt.Errorf("dbusapi: the agent answered %q, not a <trigger>/<SessionID> reference", ref)
		}
		want[sid] = true
	}
	var out []Finished
	for len(want) > 0 {
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case s, ok := <-ch:
			if !ok {
				return out, fmt.Errorf("dbusapi: connection closed: %w", ErrAgentGone)
			}
			switch s.Name {
			case "org.freedesktop.DBus.NameOwnerChanged":
				if len(s.Body) == 3 {
					if name, _ := s.Body[0].(string); name == BusName {
						if owner, _ := s.Body[2].(string); owner == "" {
							return out, ErrAgentGone
						}
					}
				}
			case Interface + ".SessionFinished":
				var f Finished
				if s.Sender != owner {
					continue
				}
				if err := dbus.Store(s.Body, &f.ServerID, &f.SessionID, &f.Status, &f.Result); err != nil {
					continue
				}
				if want[f.SessionID] {
					delete(want, f.SessionID)
					out = append(out, f)
				}
			}
		}
	}
	return out, nil
}

// ProcessDataAndWait passes data to the agent as a file of kind
// ("notification", "bootstrap" or "") through a pipe (ProcessFile takes a
// descriptor) and waits, like RunSession, for the sessions it queued.
func (c *Client) ProcessDataAndWait(ctx context.Context, data []byte, kind string) ([]Finished, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("dbusapi: %d bytes is more than %d", len(data), MaxFileSize)
	}
	return c.wait(ctx, func() (string, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return "", err
		}
		defer r.Close()
		go func() {
			w.Write(data)
			w.Close()
		}()
		return c.ProcessFile(ctx, r, kind)
	})
}
