package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/omadm-agent/omadm-agent/tree"
)

// execFile holds the asynchronous Execs that may still produce an alert.
// Its name does not end in suffix, so Pending ignores it.
const execFile = "execs.json"

// MaxExpectations bounds the Exec records kept by Expect; the oldest is
// forgotten first.
const MaxExpectations = 64

// Expectation records that serverID executed source (with correlator)
// and was answered 202: the provider reports the result later as an alert.
type Expectation struct {
	ServerID   string   `json:"server"`
	Source     tree.URI `json:"source"`
	Correlator string   `json:"correlator,omitempty"`
}

type execRecords struct {
	V     int           `json:"v"`
	Execs []Expectation `json:"execs"`
}

// Expect records an asynchronous Exec of source by serverID, persistently
// (it survives a reboot, as a firmware update's result does). A newer
// record for the same source and correlator replaces the older one; at
// most MaxExpectations are kept.
func (o *Outbox) Expect(serverID string, source tree.URI, correlator string) error {
	if serverID == "" || (source == "" && correlator == "") {
		return errors.New("outbox: expect: need a ServerID and a source or correlator")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	recs, err := o.readExecs()
	if err != nil {
		recs = nil // a broken file is replaced; it only held hints
	}
	out := recs[:0]
	for _, r := range recs {
		if r.Source != source || r.Correlator != correlator {
			out = append(out, r)
		}
	}
	out = append(out, Expectation{ServerID: serverID, Source: source, Correlator: correlator})
	if len(out) > MaxExpectations {
		out = out[len(out)-MaxExpectations:]
	}
	b, err := json.Marshal(execRecords{V: 1, Execs: out})
	if err != nil {
		return fmt.Errorf("outbox: expect: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(o.dir, execFile), b); err != nil {
		return fmt.Errorf("outbox: expect: %w", err)
	}
	return nil
}

// Expected returns the server whose asynchronous Exec a belongs to: the
// latest record with a's Correlator (when a has one), else the latest with
// a's Source. ok is false when nothing matches.
func (o *Outbox) Expected(a tree.Alert) (serverID string, ok bool) {
	o.mu.Lock()
	recs, _ := o.readExecs()
	o.mu.Unlock()
	if a.Correlator != "" {
		for i := len(recs) - 1; i >= 0; i-- {
			if r := recs[i]; r.Correlator == a.Correlator && (r.Source == "" || a.Source == "" || r.Source == a.Source) {
				return r.ServerID, true
			}
		}
	}
	if a.Source != "" {
		for i := len(recs) - 1; i >= 0; i-- {
			if recs[i].Source == a.Source {
				return recs[i].ServerID, true
			}
		}
	}
	return "", false
}

func (o *Outbox) readExecs() ([]Expectation, error) {
	b, err := os.ReadFile(filepath.Join(o.dir, execFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r execRecords
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("outbox: %s: %w", execFile, err)
	}
	return r.Execs, nil
}
