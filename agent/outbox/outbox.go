package outbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/omadm-agent/omadm-agent/tree"
)

// suffix is the file name suffix of a stored alert.
const suffix = ".alert"

// schemaVersion is written into every file. Version 1 files (before
// alerts carried their server) are still read: their ServerID is "" until
// Assign attributes them.
const schemaVersion = 2

// ErrUnknownID is wrapped by Ack for an id that is not pending.
var ErrUnknownID = errors.New("outbox: unknown alert id")

// ErrAssigned is wrapped by Assign for an entry that already has a server.
var ErrAssigned = errors.New("outbox: alert already attributed")

// Entry is one pending alert.
type Entry struct {
	ID    string
	Added time.Time
	// ServerID is the DM server the alert is for; "" for an entry written
	// by schema version 1 that was not attributed yet (see Assign).
	ServerID string
	Alert    tree.Alert
}

// Outbox is a directory of pending alerts.
type Outbox struct {
	dir string
	mu  sync.Mutex
	seq uint32
	now func() time.Time
}

// record is the JSON form of an Entry.
type record struct {
	V          int       `json:"v"`
	ID         string    `json:"id"`
	Added      time.Time `json:"added"`
	Server     string    `json:"server,omitempty"`
	Type       string    `json:"type"`
	Format     string    `json:"format,omitempty"`
	Mark       string    `json:"mark,omitempty"`
	Source     string    `json:"source,omitempty"`
	Correlator string    `json:"correlator,omitempty"`
	Data       []byte    `json:"data,omitempty"`
}

// Open opens (creating it 0700 if needed) the outbox directory dir.
func Open(dir string) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("outbox: empty directory name")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{dir: dir, now: time.Now}, nil
}

// Dir returns the directory of the outbox.
func (o *Outbox) Dir() string { return o.dir }

// Add persists a, to be sent to serverID, and returns its id. It returns
// only once the alert is on disk.
func (o *Outbox) Add(serverID string, a tree.Alert) (string, error) {
	if a.Type == "" {
		return "", errors.New("outbox: alert without Type")
	}
	if serverID == "" {
		return "", errors.New("outbox: alert without ServerID")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now().UTC()
	o.seq++
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("outbox: %w", err)
	}
	id := fmt.Sprintf("%016x-%08x-%s", now.UnixNano(), o.seq, hex.EncodeToString(rnd[:]))
	if err := o.write(Entry{ID: id, Added: now, ServerID: serverID, Alert: a}); err != nil {
		return "", fmt.Errorf("outbox: add: %w", err)
	}
	return id, nil
}

// write stores e (atomically) under its id.
func (o *Outbox) write(e Entry) error {
	a := e.Alert
	r := record{V: schemaVersion, ID: e.ID, Added: e.Added, Server: e.ServerID, Type: a.Type, Format: a.Format, Mark: a.Mark,
		Source: string(a.Source), Correlator: a.Correlator, Data: a.Data}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(o.dir, e.ID+suffix), b)
}

// Pending returns every pending alert, oldest first. Unreadable files are
// skipped and reported in the returned error next to the good entries.
func (o *Outbox) Pending() ([]Entry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pending()
}

// PendingFor returns the pending alerts for serverID, oldest first (see
// Pending for errors).
func (o *Outbox) PendingFor(serverID string) ([]Entry, error) {
	all, err := o.Pending()
	out := all[:0]
	for _, e := range all {
		if e.ServerID == serverID {
			out = append(out, e)
		}
	}
	return out, err
}

func (o *Outbox) pending() ([]Entry, error) {
	des, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	var (
		out  []Entry
		errs []error
	)
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || !strings.HasSuffix(name, suffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(o.dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil || r.ID+suffix != name || r.Type == "" {
			errs = append(errs, fmt.Errorf("outbox: %s: unreadable entry", name))
			continue
		}
		if r.V < 1 || r.V > schemaVersion || (r.V >= 2 && r.Server == "") {
			errs = append(errs, fmt.Errorf("outbox: %s: unsupported schema version %d (or no server)", name, r.V))
			continue
		}
		out = append(out, Entry{ID: r.ID, Added: r.Added, ServerID: r.Server, Alert: tree.Alert{Type: r.Type, Format: r.Format,
			Mark: r.Mark, Source: tree.URI(r.Source), Correlator: r.Correlator, Data: r.Data}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, errors.Join(errs...)
}

// Assign attributes the unattributed entry id (ServerID "", a schema
// version 1 file) to serverIDs: the entry is rewritten for the first one
// and copied, with the ids "<id>-1", "<id>-2"..., for the others, so that
// every server acknowledges its own copy. Copies are written before the
// original is rewritten, and their ids are derived from the original's, so
// a crash in between only repeats the same writes next time. An entry
// that is already attributed is left alone (ErrAssigned).
func (o *Outbox) Assign(id string, serverIDs ...string) error {
	if len(serverIDs) == 0 {
		return errors.New("outbox: assign: no server")
	}
	for _, s := range serverIDs {
		if s == "" {
			return errors.New("outbox: assign: empty ServerID")
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	all, _ := o.pending()
	var e *Entry
	for i := range all {
		if all[i].ID == id {
			e = &all[i]
		}
	}
	if e == nil {
		return fmt.Errorf("%w: %q", ErrUnknownID, id)
	}
	if e.ServerID != "" {
		return fmt.Errorf("%w: %q is for %q", ErrAssigned, id, e.ServerID)
	}
	for i, s := range serverIDs[1:] {
		c := *e
		c.ID, c.ServerID = fmt.Sprintf("%s-%d", id, i+1), s
		if err := o.write(c); err != nil {
			return fmt.Errorf("outbox: assign: %w", err)
		}
	}
	c := *e
	c.ServerID = serverIDs[0]
	if err := o.write(c); err != nil {
		return fmt.Errorf("outbox: assign: %w", err)
	}
	return nil
}

// Ack removes the alerts with the given ids (the server acknowledged them).
// Unknown ids are reported (wrapping ErrUnknownID) after the known ones are
// removed.
func (o *Outbox) Ack(ids ...string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	removed := false
	for _, id := range ids {
		if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
			errs = append(errs, fmt.Errorf("%w: %q", ErrUnknownID, id))
			continue
		}
		err := os.Remove(filepath.Join(o.dir, id+suffix))
		switch {
		case err == nil:
			removed = true
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("%w: %q", ErrUnknownID, id))
		default:
			errs = append(errs, fmt.Errorf("outbox: ack: %w", err))
		}
	}
	if removed {
		if err := syncDir(o.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory: write, fsync, rename, fsync of the directory. Mode 0600.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("outbox: sync %s: %w", dir, err)
	}
	return nil
}
