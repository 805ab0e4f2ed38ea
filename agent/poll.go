package agent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/tree"
)

// pollState is the poll schedule of one server (config [[server]], like
// the Windows DMClient Poll node; see config.Server.PollDelay).
type pollState struct {
	cfg  config.Server
	n    int       // polls done since base
	last time.Time // when the previous poll fired (or the base)
	next time.Time // zero: no more polls

	retries int       // failed attempts in a row
	retryAt time.Time // zero: no retry scheduled
}

// scheduler holds the poll and retry schedules. Owned by the agent
// goroutine.
type scheduler struct {
	servers map[string]*pollState
}

func newScheduler() *scheduler { return &scheduler{servers: map[string]*pollState{}} }

func (p *pollState) plan() {
	if d, ok := p.cfg.PollDelay(p.n + 1); ok {
		p.next = p.last.Add(d)
	} else {
		p.next = time.Time{}
	}
}

// configure applies the [[server]] tables. A server already known keeps its
// count and last poll, so a changed interval takes effect from the last
// poll; a new one starts counting at now.
func (s *scheduler) configure(servers []config.Server, now time.Time) {
	seen := map[string]bool{}
	for _, c := range servers {
		seen[c.ServerID] = true
		p, ok := s.servers[c.ServerID]
		if !ok {
			p = &pollState{last: now}
			s.servers[c.ServerID] = p
		}
		p.cfg = c
		p.plan()
	}
	for id, p := range s.servers {
		if !seen[id] {
			// No [[server]] table: no polls, but keep a pending retry.
			p.cfg = config.DefaultServer()
			p.cfg.ServerID = id
			p.next = time.Time{}
			if p.retryAt.IsZero() {
				delete(s.servers, id)
			}
		}
	}
}

// restart starts server id's schedule over at now (its account appeared).
func (s *scheduler) restart(id string, now time.Time) {
	if p, ok := s.servers[id]; ok {
		p.n, p.last = 0, now
		p.plan()
	}
}

// due returns the servers whose poll or retry time has come, advancing
// their schedules.
func (s *scheduler) due(now time.Time) (polls, retries []string) {
	for id, p := range s.servers {
		if !p.next.IsZero() && !p.next.After(now) {
			p.n++
			p.last = now
			p.plan()
			polls = append(polls, id)
		}
		if !p.retryAt.IsZero() && !p.retryAt.After(now) {
			p.retryAt = time.Time{}
			retries = append(retries, id)
		}
	}
	return polls, retries
}

// earliest returns the next time something is due.
func (s *scheduler) earliest() (time.Time, bool) {
	var t time.Time
	for _, p := range s.servers {
		for _, x := range []time.Time{p.next, p.retryAt} {
			if !x.IsZero() && (t.IsZero() || x.Before(t)) {
				t = x
			}
		}
	}
	return t, !t.IsZero()
}

// failed records a failed session of server id and schedules a retry on
// the transport backoff schedule when retry_on_failure allows it. It
// returns the delay, or false when the attempt is given up.
func (s *scheduler) failed(id string, tr config.Transport, now time.Time) (time.Duration, bool) {
	p, ok := s.servers[id]
	if !ok {
		p = &pollState{cfg: config.DefaultServer(), last: now}
		p.cfg.ServerID = id
		s.servers[id] = p
	}
	if !p.cfg.RetryOnFailure {
		return 0, false
	}
	p.retries++
	d, ok := tr.Backoff(p.retries)
	if !ok {
		p.retries = 0
		p.retryAt = time.Time{}
		return 0, false
	}
	p.retryAt = now.Add(d)
	return d, true
}

// succeeded clears server id's retry state.
func (s *scheduler) succeeded(id string) {
	if p, ok := s.servers[id]; ok {
		p.retries, p.retryAt = 0, time.Time{}
	}
}

// nextPoll returns when server id is polled or retried next (zero: never).
func (s *scheduler) nextPoll(id string) time.Time {
	p, ok := s.servers[id]
	if !ok {
		return time.Time{}
	}
	switch {
	case p.next.IsZero():
		return p.retryAt
	case p.retryAt.IsZero() || p.next.Before(p.retryAt):
		return p.next
	}
	return p.retryAt
}

// TreeBootstrapper applies bootstrap documents to a tree and flushes it.
type TreeBootstrapper struct{ Tree *tree.Tree }

// Bootstrap implements Bootstrapper.
func (b TreeBootstrapper) Bootstrap(ctx context.Context, doc []byte, opts bootstrap.Options) (bootstrap.Report, error) {
	rep, err := bootstrap.Apply(ctx, b.Tree, doc, opts)
	if err != nil {
		return rep, err
	}
	if err := b.Tree.Flush(ctx); err != nil {
		return rep, fmt.Errorf("bootstrap applied but the tree was not saved: %w", err)
	}
	return rep, nil
}

// pinReader returns a function reading the USERPIN from path (trimmed), or
// nil when path is "".
func pinReader(path string) func() (string, error) {
	if path == "" {
		return nil
	}
	return func() (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read user_pin_file: %w", err)
		}
		pin := strings.TrimSpace(string(b))
		if pin == "" {
			return "", fmt.Errorf("user_pin_file %s is empty", path)
		}
		return pin, nil
	}
}
