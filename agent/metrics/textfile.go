package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Textfile keeps a file of metrics current for a collector that reads it
// (node_exporter's textfile collector). Build it with NewTextfile.
type Textfile struct {
	path     string
	interval time.Duration
	collect  func() []Family
	onErr    func(error)
	kick     chan struct{}

	last    []byte
	lastErr error
}

// NewTextfile returns a Textfile writing collect()'s families to path at
// most once per interval. onErr, if not nil, is told when a write fails
// (once per distinct error) and, with nil, when writes work again.
func NewTextfile(path string, interval time.Duration, collect func() []Family, onErr func(error)) *Textfile {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return &Textfile{path: path, interval: interval, collect: collect, onErr: onErr, kick: make(chan struct{}, 1)}
}

// Kick asks for a write soon (at most one interval after the last one).
// It never blocks.
func (t *Textfile) Kick() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Run writes the file now, then whenever the metrics changed: on Kick and
// on a tick of the interval, never twice within one interval. When ctx ends
// it writes once more (the final state) and returns nil.
func (t *Textfile) Run(ctx context.Context) error {
	t.report(t.Write())
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			t.report(t.Write())
			return nil
		case <-tick.C:
		case <-t.kick:
		}
		t.report(t.Write())
		// Rate limit: a burst of kicks gives one write per interval.
		select {
		case <-ctx.Done():
			t.report(t.Write())
			return nil
		case <-time.After(t.interval):
		}
	}
}

// Write renders the metrics and, if they differ from what was last
// written, replaces the file atomically. It is not safe for concurrent use
// with Run.
func (t *Textfile) Write() error {
	var buf bytes.Buffer
	if err := Render(&buf, t.collect()); err != nil {
		return fmt.Errorf("metrics: render: %w", err)
	}
	if t.last != nil && bytes.Equal(buf.Bytes(), t.last) {
		return nil
	}
	if err := writeAtomic(t.path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	t.last = buf.Bytes()
	return nil
}

func (t *Textfile) report(err error) {
	if t.onErr == nil {
		return
	}
	switch {
	case err != nil && (t.lastErr == nil || t.lastErr.Error() != err.Error()):
		t.onErr(err)
	case err == nil && t.lastErr != nil:
		t.onErr(nil)
	}
	t.lastErr = err
}

// writeErr names the file being replaced rather than the temporary one
// (whose random name would make every failure look new).
func writeErr(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("metrics: write %s: %s: %w", path, pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("metrics: write %s: %s: %w", path, le.Op, le.Err)
	}
	return fmt.Errorf("metrics: write %s: %w", path, err)
}

// writeAtomic writes data to a temporary file next to path and renames it
// over path, so a reader sees the old file or the new one, never a part.
// On any error the old file is left as it was.
func writeAtomic(path string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return writeErr(path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return writeErr(path, err)
	}
	if err = f.Chmod(mode); err != nil {
		return writeErr(path, err)
	}
	if err = f.Close(); err != nil {
		return writeErr(path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return writeErr(path, err)
	}
	return nil
}
