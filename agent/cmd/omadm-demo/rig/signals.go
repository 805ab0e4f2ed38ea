package rig

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// Names of the agent's control API (packaging/dbus/org.omadm.Agent1.xml).
const (
	AgentBusName = "org.omadm.Agent1"
	AgentPath    = dbus.ObjectPath("/org/omadm/Agent1")
	AgentIface   = "org.omadm.Agent1"
)

// SessionEvent is one SessionStarted or SessionFinished signal of the agent.
type SessionEvent struct {
	Finished  bool
	Server    string
	SessionID string
	Status    int32  // SessionFinished: 0 success, SyncML code, -1 transport
	Result    string // SessionFinished: one-line summary
	At        time.Time
}

func (e SessionEvent) String() string {
	if !e.Finished {
		return fmt.Sprintf("SessionStarted(server %q, session %q)", e.Server, e.SessionID)
	}
	return fmt.Sprintf("SessionFinished(server %q, session %q, status %d, %q)", e.Server, e.SessionID, e.Status, e.Result)
}

// Watcher listens to the agent's session signals on a bus.
type Watcher struct {
	conn *dbus.Conn
	ch   chan *dbus.Signal

	mu      sync.Mutex
	events  []SessionEvent
	changed chan struct{}
	done    chan struct{}
}

// WatchSignals connects to the bus at addr and subscribes to the agent's
// SessionStarted and SessionFinished signals (they may arrive before the
// agent owns its name). ctx bounds the set-up only; the subscription lasts
// until Close.
func WatchSignals(ctx context.Context, addr string) (*Watcher, error) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchInterface(AgentIface), dbus.WithMatchObjectPath(AgentPath)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("subscribe to %s signals: %w", AgentIface, err)
	}
	w := &Watcher{conn: conn, ch: make(chan *dbus.Signal, 64), changed: make(chan struct{}), done: make(chan struct{})}
	conn.Signal(w.ch)
	go w.loop()
	return w, nil
}

func (w *Watcher) loop() {
	defer close(w.done)
	for s := range w.ch {
		ev := SessionEvent{At: time.Now()}
		switch s.Name {
		case AgentIface + ".SessionStarted":
			if len(s.Body) >= 2 {
				ev.Server, _ = s.Body[0].(string)
				ev.SessionID, _ = s.Body[1].(string)
			}
		case AgentIface + ".SessionFinished":
			ev.Finished = true
			if len(s.Body) >= 4 {
				ev.Server, _ = s.Body[0].(string)
				ev.SessionID, _ = s.Body[1].(string)
				ev.Status, _ = s.Body[2].(int32)
				ev.Result, _ = s.Body[3].(string)
			}
		default:
			continue
		}
		w.mu.Lock()
		w.events = append(w.events, ev)
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
}

// Events returns the signals received so far.
func (w *Watcher) Events() []SessionEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]SessionEvent(nil), w.events...)
}

// Mark returns the number of events so far.
func (w *Watcher) Mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// WaitFinished waits for a SessionFinished signal after mark.
func (w *Watcher) WaitFinished(ctx context.Context, mark int) (SessionEvent, error) {
	return w.wait(ctx, mark, true)
}

// WaitStarted waits for a SessionStarted signal after mark.
func (w *Watcher) WaitStarted(ctx context.Context, mark int) (SessionEvent, error) {
	return w.wait(ctx, mark, false)
}

func (w *Watcher) wait(ctx context.Context, mark int, finished bool) (SessionEvent, error) {
	for {
		w.mu.Lock()
		for i := mark; i < len(w.events); i++ {
			if w.events[i].Finished == finished {
				ev := w.events[i]
				w.mu.Unlock()
				return ev, nil
			}
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			name := "SessionStarted"
			if finished {
				name = "SessionFinished"
			}
			return SessionEvent{}, fmt.Errorf("no %s signal: %w", name, ctx.Err())
		}
	}
}

// Close ends the subscription.
func (w *Watcher) Close() error {
	err := w.conn.Close()
	return err
}

// WaitName waits until name has an owner on the bus at addr.
func WaitName(ctx context.Context, addr, name string) error {
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	defer conn.Close()
	for {
		var has bool
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
		if err == nil && has {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not appear on the bus: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// AgentProperty reads a property of the agent's control API
// (org.omadm.Agent1: Version, State, ModemState, ...) over the bus at addr.
func AgentProperty(ctx context.Context, addr, name string) (any, error) {
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	defer conn.Close()
	var v dbus.Variant
	err = conn.Object(AgentBusName, AgentPath).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, AgentIface, name).Store(&v)
	if err != nil {
		return nil, fmt.Errorf("get %s.%s: %w", AgentIface, name, err)
	}
	return v.Value(), nil
}
