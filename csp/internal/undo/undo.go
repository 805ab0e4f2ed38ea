// Package undo is the transaction of a configuration service provider whose
// writes take effect at once (a D-Bus setter): it records which leaves a
// transaction replaced and, on Rollback, restores them newest first
// (tree.Transactional, OMA-TS-DM_Protocol Atomic semantics as the tree
// implements them).
//
// A Log is used under its provider's mutex: Changed is called with the
// mutex held, Commit and Rollback take it themselves.
package undo

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Log is one open provider transaction.
type Log struct {
	mu      *sync.Mutex
	restore func(ctx context.Context, leaf string) error
	release func()
	changed []string
	done    bool
}

// New returns an open transaction. mu is the provider's mutex; restore puts
// leaf back to the value it had at Begin; release is called once when the
// transaction ends (the provider forgets it), with mu held.
func New(mu *sync.Mutex, restore func(ctx context.Context, leaf string) error, release func()) *Log {
	return &Log{mu: mu, restore: restore, release: release}
}

// Changed records that leaf was replaced in the transaction. The caller
// holds the provider's mutex.
func (l *Log) Changed(leaf string) {
	if !slices.Contains(l.changed, leaf) {
		l.changed = append(l.changed, leaf)
	}
}

func (l *Log) end() bool {
	if l.done {
		return false
	}
	l.done = true
	l.release()
	return true
}

// Commit keeps the changes (they are already applied).
func (l *Log) Commit(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.end() {
		return tree.ErrTxnDone
	}
	return nil
}

// Rollback restores the leaves replaced in the transaction, last first,
// even when ctx is already cancelled (the session may be ending).
func (l *Log) Rollback(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.end() {
		return tree.ErrTxnDone
	}
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for i := len(l.changed) - 1; i >= 0; i-- {
		if err := l.restore(ctx, l.changed[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
