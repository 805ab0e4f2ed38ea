package tree

import (
	"context"
	"sync"

	"github.com/omadm-agent/omadm-agent/tree/store"
)

// Tree is the management tree. Create it with New (in memory) or Open
// (loaded from a store.Store). The zero value is not usable.
type Tree struct {
	mu  sync.Mutex
	cfg config
	st  store.Store // nil for New
	// TODO: stored nodes, mounts, descriptions, overlay, dirty flag, txn
}

// New returns an empty tree (root only, ACL DefaultRootACL) that is not
// persisted: Flush is a no-op.
func New(opts ...Option) *Tree {
	panic("TODO")
}

// Open loads the tree from st (a new tree if st holds no snapshot). Flush
// writes back to st.
func Open(ctx context.Context, st store.Store, opts ...Option) (*Tree, error) {
	panic("TODO")
}

// Limits returns the URI limits (for ./DevDetail/URI).
func (t *Tree) Limits() Limits { return t.cfg.limits }

// Mount attaches p at prefix (absolute canonical URI, not the root, not
// below ./Inbox). Missing ancestors are created as stored interior nodes.
// If p implements Describer its descriptions are declared. Mounting the same
// prefix twice fails with ErrAlreadyExists.
func (t *Tree) Mount(prefix URI, p Provider) error { panic("TODO") }

// Declare registers DDF descriptions (see Desc) for stored or provided nodes.
func (t *Tree) Declare(d ...Desc) error { panic("TODO") }

// Descriptions returns every registered description, sorted by Path.
func (t *Tree) Descriptions() []Desc { panic("TODO") }

// Get runs a DM Get on uri (which may carry ?prop= or ?list=) as p.
func (t *Tree) Get(ctx context.Context, p Principal, uri string) (Result, error) { panic("TODO") }

// Add runs a DM Add: creates the node (implicit interior parents as needed),
// or a whole subtree when v.Type is a TNDS type. An Add to ./Inbox places a
// TNDS tree by its root's MO identifier.
func (t *Tree) Add(ctx context.Context, p Principal, uri string, v Value) error { panic("TODO") }

// Replace runs a DM Replace of a leaf value, of a replaceable property
// (?prop=ACL|Name|Title) or, with TNDS data, of a whole subtree.
func (t *Tree) Replace(ctx context.Context, p Principal, uri string, v Value) error {
	panic("TODO")
}

// Delete runs a DM Delete (recursive).
func (t *Tree) Delete(ctx context.Context, p Principal, uri string) error { panic("TODO") }

// Copy runs a DM Copy of the leaf source onto the leaf target (created if
// missing, replaced otherwise).
func (t *Tree) Copy(ctx context.Context, p Principal, target, source string) error {
	panic("TODO")
}

// Exec runs a DM Exec, handing data and correlator to the owning provider.
func (t *Tree) Exec(ctx context.Context, p Principal, uri string, data []byte, correlator string) error {
	panic("TODO")
}

// RemoveServerFromACLs removes serverID from every ACL in the tree (stored
// nodes and the provider overlay); a root command left empty becomes "*".
func (t *Tree) RemoveServerFromACLs(ctx context.Context, serverID string) error {
	panic("TODO")
}

// IsSecret reports whether the node at u must be masked in user-facing output.
func (t *Tree) IsSecret(u URI) bool { panic("TODO") }

// Flush persists the stored tree if it changed since the last Flush. It is a
// no-op for a Tree made by New.
func (t *Tree) Flush(ctx context.Context) error { panic("TODO") }

// CheckAtomic reports ErrNotTransactional if any of the target URIs is owned
// by a provider that does not implement Transactional; the session calls it
// with every target of an Atomic before executing any command. Bad URIs are
// ignored here (their commands fail later).
func (t *Tree) CheckAtomic(targets ...string) error { panic("TODO") }

// Begin starts a transaction. It holds the tree lock until Commit or
// Rollback. ctx must not carry another Txn of this tree (ErrNestedAtomic).
func (t *Tree) Begin(ctx context.Context) (*Txn, error) { panic("TODO") }

// Atomic runs fn in a transaction and commits if fn returns nil, otherwise
// rolls back and returns fn's error joined with any rollback error
// (ErrRollbackFailed). fn must use tx (and ctx) for every tree operation.
func (t *Tree) Atomic(ctx context.Context, fn func(ctx context.Context, tx *Txn) error) error {
	panic("TODO")
}

// Txn is a transaction. Its operations have the same semantics and errors
// as the Tree's. It is not safe for concurrent use.
type Txn struct {
	t *Tree
}

// Context returns ctx marked with tx: a Begin/Atomic with it fails with
// ErrNestedAtomic.
func (tx *Txn) Context(ctx context.Context) context.Context { panic("TODO") }

// Get is Tree.Get inside the transaction.
func (tx *Txn) Get(ctx context.Context, p Principal, uri string) (Result, error) { panic("TODO") }

// Add is Tree.Add inside the transaction.
func (tx *Txn) Add(ctx context.Context, p Principal, uri string, v Value) error { panic("TODO") }

// Replace is Tree.Replace inside the transaction.
func (tx *Txn) Replace(ctx context.Context, p Principal, uri string, v Value) error {
	panic("TODO")
}

// Delete is Tree.Delete inside the transaction.
func (tx *Txn) Delete(ctx context.Context, p Principal, uri string) error { panic("TODO") }

// Copy is Tree.Copy inside the transaction.
func (tx *Txn) Copy(ctx context.Context, p Principal, target, source string) error {
	panic("TODO")
}

// Commit makes the changes permanent (in memory; Flush persists) and commits
// every provider transaction. A provider commit failure is returned but the
// stored tree stays committed.
func (tx *Txn) Commit(ctx context.Context) error { panic("TODO") }

// Rollback restores exactly the state before Begin and rolls back every
// provider transaction; on failure it returns an error wrapping
// ErrRollbackFailed (516), else nil (the session reports 216 per command).
func (tx *Txn) Rollback(ctx context.Context) error { panic("TODO") }
