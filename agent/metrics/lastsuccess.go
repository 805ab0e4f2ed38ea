package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/omadm-agent/omadm-agent/agent"
)

// maxLastSuccessFile bounds the file LastSuccess reads.
const maxLastSuccessFile = 64 << 10

// LastSuccess keeps, per ServerID, when the last successful session ended,
// in a small JSON file (mode 0600) so that
// omadm_session_last_success_timestamp_seconds survives a restart of the
// agent: an alert such as "no success for a day" must not fire, or go
// silent, because the agent restarted. Safe for concurrent use.
type LastSuccess struct {
	path string
	mu   sync.Mutex
	at   map[string]time.Time
}

// OpenLastSuccess reads path if it exists. A missing file is an empty
// store; a damaged one is an error (the caller logs it and goes on with an
// empty store: Record rewrites the file).
func OpenLastSuccess(path string) (*LastSuccess, error) {
	l := &LastSuccess{path: path, at: map[string]time.Time{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return l, nil
	case err != nil:
		return l, fmt.Errorf("metrics: read %s: %w", path, err)
	case len(b) > maxLastSuccessFile:
		return l, fmt.Errorf("metrics: %s: %d bytes, more than %d", path, len(b), maxLastSuccessFile)
	}
	var m map[string]time.Time
	if err := json.Unmarshal(b, &m); err != nil {
		return l, fmt.Errorf("metrics: %s: %w", path, err)
	}
	l.at = m
	return l, nil
}

// LastSuccessFile is the store's file name in <state_dir>/metrics.
const LastSuccessFile = "last-success.json"

// Get returns the last success of serverID kept in the store (zero: none).
func (l *LastSuccess) Get(serverID string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.at[serverID]
}

// Record notes a successful session of serverID that ended at t and
// rewrites the file (atomically) when that moves the time forward.
func (l *LastSuccess) Record(serverID string, t time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !t.After(l.at[serverID]) {
		return nil
	}
	l.at[serverID] = t
	return l.saveLocked()
}

func (l *LastSuccess) saveLocked() error {
	b, err := json.Marshal(l.at)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return writeAtomic(l.path, b, 0o600)
}

// Merge returns s with the last success of each server taken from the
// store where the agent had none since it started, and records in the
// store the servers whose success in s is newer (rewriting the file once).
// The returned snapshot is complete even when the file cannot be written.
func (l *LastSuccess) Merge(s agent.Snapshot) (agent.Snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	servers := make([]agent.ServerState, len(s.Servers))
	copy(servers, s.Servers)
	changed := false
	for i, sv := range servers {
		stored, ok := l.at[sv.ServerID]
		switch {
		case sv.LastSuccess.After(stored):
			l.at[sv.ServerID] = sv.LastSuccess
			changed = true
		case ok:
			servers[i].LastSuccess = stored
		}
	}
	s.Servers = servers
	if !changed {
		return s, nil
	}
	return s, l.saveLocked()
}
