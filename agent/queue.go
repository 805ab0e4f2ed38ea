package agent

import "errors"

// ErrQueueFull is returned when a trigger names a server that has no pending
// trigger and the queue already holds MaxServers servers.
var ErrQueueFull = errors.New("trigger queue full")

// queue holds at most one pending trigger per server, in arrival order of
// the servers, and at most max servers. It is owned by the agent goroutine
// (no locking).
type queue struct {
	max     int
	order   []string // server IDs with a pending trigger, oldest first
	pending map[string]Trigger
}

func newQueue(max int) *queue {
	return &queue{max: max, pending: make(map[string]Trigger, min(max, 16))}
}

// add queues t, merging it into the server's pending trigger if there is
// one. It returns the trigger now pending, and the merge reason ("" when t
// was queued on its own).
func (q *queue) add(t Trigger) (Trigger, string, error) {
	if p, ok := q.pending[t.ServerID]; ok {
		m, why := merge(p, t)
		q.pending[t.ServerID] = m
		return m, why, nil
	}
	if len(q.pending) >= q.max {
		return Trigger{}, "", ErrQueueFull
	}
	t.Sources |= 1 << t.Source
	q.pending[t.ServerID] = t
	q.order = append(q.order, t.ServerID)
	return t, "", nil
}

// next removes and returns the oldest pending trigger whose server is not
// busy.
func (q *queue) next(busy func(serverID string) bool) (Trigger, bool) {
	for i, id := range q.order {
		if busy(id) {
			continue
		}
		t := q.pending[id]
		delete(q.pending, id)
		q.order = append(q.order[:i], q.order[i+1:]...)
		return t, true
	}
	return Trigger{}, false
}

func (q *queue) len() int { return len(q.pending) }

func (q *queue) get(serverID string) (Trigger, bool) {
	t, ok := q.pending[serverID]
	return t, ok
}
