package store

import (
	"context"
	"errors"
)

// ErrNoSnapshot is returned by Load when nothing was ever saved.
var ErrNoSnapshot = errors.New("store: no snapshot")

// ErrCorrupt is returned by Load when the snapshot fails its checks.
var ErrCorrupt = errors.New("store: corrupt snapshot")

// Record is one persisted node. Records appear in pre-order: a parent always
// precedes its children, children in their listing order.
type Record struct {
	URI      string // canonical tree URI ("." for the root)
	Interior bool
	Format   string
	Type     string
	ACL      string
	Title    string
	TStamp   int64 // Unix nanoseconds, 0 = unset
	VerNo    uint16
	Value    []byte
	// Overlay marks a record holding only the tree-kept properties (ACL,
	// Title) of a node owned by a mounted provider; HasACL/HasTitle say
	// which of them are set (an overlay may set an empty ACL on purpose).
	Overlay  bool
	HasACL   bool
	HasTitle bool
}

// Snapshot is the whole persisted tree.
type Snapshot struct {
	Records []Record
}

// Store loads and saves snapshots.
type Store interface {
	// Load returns the last saved snapshot, ErrNoSnapshot if none exists, or
	// an error wrapping ErrCorrupt.
	Load(ctx context.Context) (*Snapshot, error)
	// Save persists s atomically: after it returns nil, a crash at any moment
	// leaves s (or a later snapshot) loadable. It reports whether bytes were
	// actually written.
	Save(ctx context.Context, s *Snapshot) (written bool, err error)
}
