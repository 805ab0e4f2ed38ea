package tree

import (
	"context"
	"errors"
	"fmt"
)

// Txn is a transaction (an Atomic). Its operations have the same semantics
// and errors as the Tree's. It holds the tree lock from Begin until Commit or
// Rollback and is not safe for concurrent use.
type Txn struct {
	t      *Tree
	mounts []*mount // providers begun, in order
	done   bool
}

// CheckAtomic reports ErrNotTransactional if any of the target URIs is owned
// by a provider that does not implement Transactional; the session calls it
// with every target of an Atomic before executing any command, so such an
// Atomic fails (500) with nothing applied. Unparsable URIs are ignored here
// (their commands fail later).
func (t *Tree) CheckAtomic(targets ...string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checkAtomic(targets)
}

func (t *Tree) checkAtomic(targets []string) error {
	for _, s := range targets {
		u, _, err := t.parse(s)
		if err != nil {
			continue
		}
		if _, m, _ := t.locate(u); m != nil {
			if _, ok := m.p.(Transactional); !ok {
				return &Error{Op: "Atomic", URI: s, Err: fmt.Errorf("provider %s: %w", m.prefix, ErrNotTransactional)}
			}
		}
	}
	return nil
}

// Begin starts a transaction. It holds the tree lock until Commit or
// Rollback. A ctx carrying a Txn of this tree (see Txn.Context) gives
// ErrNestedAtomic; calling Begin again from the goroutine that holds an open
// Txn with an unmarked ctx deadlocks, so pass tx.Context(ctx) around.
func (t *Tree) Begin(ctx context.Context) (*Txn, error) {
	if t.txnOf(ctx) != nil {
		return nil, &Error{Op: "Atomic", URI: "", Err: ErrNestedAtomic}
	}
	t.mu.Lock()
	tx := &Txn{t: t}
	t.tx = tx
	t.logging = true
	t.undo = nil
	return tx, nil
}

// Atomic runs fn in a transaction. If fn returns nil the transaction is
// committed. Otherwise it is rolled back and Atomic returns an error wrapping
// ErrAtomicFailed (507: commands rolled back, each reported 216) and fn's
// error, or ErrRollbackFailed (516) if the rollback failed. If fn's error is
// ErrNestedAtomic or ErrNotTransactional, that error is returned as is (500).
func (t *Tree) Atomic(ctx context.Context, fn func(ctx context.Context, tx *Txn) error) error {
	tx, err := t.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if !tx.done { // fn panicked: release the tree in its prior state
			tx.Rollback(ctx)
		}
	}()
	err = fn(tx.Context(ctx), tx)
	if err == nil {
		return tx.Commit(ctx)
	}
	if rerr := tx.Rollback(ctx); rerr != nil {
		return errors.Join(rerr, err)
	}
	if errors.Is(err, ErrNestedAtomic) || errors.Is(err, ErrNotTransactional) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrAtomicFailed, err)
}

// Context returns ctx marked with tx: Tree methods called with it run inside
// tx, and Begin/Atomic with it fail with ErrNestedAtomic.
func (tx *Txn) Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, txKey{tx.t}, tx)
}

func (tx *Txn) live(op, uri string) error {
	if tx.done {
		return &Error{Op: op, URI: uri, Err: ErrTxnDone}
	}
	return nil
}

// Get is Tree.Get inside the transaction (sees uncommitted changes).
func (tx *Txn) Get(ctx context.Context, p Principal, uri string) (Result, error) {
	if err := tx.live("Get", uri); err != nil {
		return Result{}, err
	}
	r, err := tx.t.get(ctx, p, uri)
	return r, opErr("Get", uri, err)
}

// Add is Tree.Add inside the transaction.
func (tx *Txn) Add(ctx context.Context, p Principal, uri string, v Value) error {
	if err := tx.live("Add", uri); err != nil {
		return err
	}
	return opErr("Add", uri, tx.t.atomically(func() error { return tx.t.addCmd(ctx, p, uri, v) }))
}

// Replace is Tree.Replace inside the transaction.
func (tx *Txn) Replace(ctx context.Context, p Principal, uri string, v Value) error {
	if err := tx.live("Replace", uri); err != nil {
		return err
	}
	return opErr("Replace", uri, tx.t.atomically(func() error { return tx.t.replaceCmd(ctx, p, uri, v) }))
}

// Delete is Tree.Delete inside the transaction.
func (tx *Txn) Delete(ctx context.Context, p Principal, uri string) error {
	if err := tx.live("Delete", uri); err != nil {
		return err
	}
	return opErr("Delete", uri, tx.t.atomically(func() error { return tx.t.deleteCmd(ctx, p, uri) }))
}

// Copy is Tree.Copy inside the transaction.
func (tx *Txn) Copy(ctx context.Context, p Principal, target, source string) error {
	if err := tx.live("Copy", target); err != nil {
		return err
	}
	return opErr("Copy", target, tx.t.atomically(func() error { return tx.t.copyCmd(ctx, p, target, source) }))
}

func (tx *Txn) finish() {
	t := tx.t
	for _, m := range tx.mounts {
		m.tx = nil
	}
	tx.done = true
	t.tx = nil
	t.logging = false
	t.undo = nil
	t.mu.Unlock()
}

// Commit makes the changes permanent (in memory; Flush persists) and commits
// every provider transaction. A provider commit failure is returned (wrapping
// ErrCommandFailed) but the stored tree stays committed.
func (tx *Txn) Commit(ctx context.Context) error {
	if err := tx.live("Commit", ""); err != nil {
		return err
	}
	var errs []error
	for _, m := range tx.mounts {
		if err := m.tx.Commit(ctx); err != nil {
			errs = append(errs, fmt.Errorf("commit %s: %w", m.prefix, err))
		}
	}
	tx.finish()
	if err := errors.Join(errs...); err != nil {
		return &Error{Op: "Commit", Err: fmt.Errorf("%w: %w", ErrCommandFailed, err)}
	}
	return nil
}

// Rollback restores exactly the state before Begin (values, properties, ACLs,
// TStamp, VerNo, names, structure) and rolls back every provider transaction
// in reverse order; on a provider failure it returns an error wrapping
// ErrRollbackFailed (516), else nil (the session reports 216 per command).
func (tx *Txn) Rollback(ctx context.Context) error {
	if err := tx.live("Rollback", ""); err != nil {
		return err
	}
	tx.t.undoTo(0)
	var errs []error
	for i := len(tx.mounts) - 1; i >= 0; i-- {
		m := tx.mounts[i]
		if err := m.tx.Rollback(ctx); err != nil {
			errs = append(errs, fmt.Errorf("rollback %s: %w", m.prefix, err))
		}
	}
	tx.finish()
	if err := errors.Join(errs...); err != nil {
		return &Error{Op: "Rollback", Err: fmt.Errorf("%w: %w", ErrRollbackFailed, err)}
	}
	return nil
}
