package tree

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/omadm-agent/omadm-agent/tree/acl"
	"github.com/omadm-agent/omadm-agent/tree/store"
)

// InboxURI is the URI of the Inbox (OMA-TS-DM_StdObj §8): Add of a TNDS tree
// there places it by its MO identifier; Get below it is refused (405).
const InboxURI URI = "./Inbox"

// InboxType is the MO identifier of ./Inbox.
const InboxType = "urn:oma:mo:oma-dm-inbox:1.0"

// Tree is the management tree. Create it with New (in memory) or Open
// (loaded from a store.Store). The zero value is not usable.
type Tree struct {
	mu       sync.Mutex
	cfg      config
	st       store.Store // nil for New
	root     *node
	descs    descs
	overlay  map[URI]overlay
	aclCache map[string]acl.ACL
	routes   map[string]URI // Inbox: MO identifier → parent URI
	dirty    bool
	tx       *Txn
	undo     []func()
	logging  bool
}

type overlay struct {
	acl, title       string
	hasACL, hasTitle bool
}

type mount struct {
	prefix URI
	p      Provider
	node   *node
	tx     ProviderTx // provider transaction inside the current Txn
}

// New returns an empty tree (root and ./Inbox, root ACL DefaultRootACL) that
// is not persisted: Flush is a no-op.
func New(opts ...Option) *Tree {
	t := newTree(opts)
	t.root = &node{name: ".", interior: true, acl: t.cfg.rootACL, tstamp: t.now()}
	t.ensureInbox()
	t.dirty = true
	return t
}

func newTree(opts []Option) *Tree {
	t := &Tree{
		cfg:      config{limits: DefaultLimits, now: time.Now, rootACL: DefaultRootACL},
		overlay:  map[URI]overlay{},
		aclCache: map[string]acl.ACL{},
		routes: map[string]URI{
			"org.openmobilealliance/1.0/w7": "./DMAcc",
			"urn:oma:mo:oma-dm-dmacc:1.0":   "./DMAcc",
		},
	}
	for _, o := range opts {
		o(&t.cfg)
	}
	return t
}

// Open loads the tree from st (a new tree if st holds no snapshot). Flush
// writes back to st.
func Open(ctx context.Context, st store.Store, opts ...Option) (*Tree, error) {
	snap, err := st.Load(ctx)
	if errors.Is(err, store.ErrNoSnapshot) {
		t := New(opts...)
		t.st = st
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tree: open: %w", err)
	}
	t := newTree(opts)
	t.st = st
	if err := t.load(snap); err != nil {
		return nil, fmt.Errorf("tree: open: %w", err)
	}
	if t.ensureInbox() {
		t.dirty = true
	}
	return t, nil
}

func (t *Tree) ensureInbox() bool {
	if t.root.child("Inbox") != nil {
		return false
	}
	t.root.insertChild(len(t.root.children), &node{name: "Inbox", interior: true, typ: InboxType, tstamp: t.now()})
	return true
}

func (t *Tree) now() int64 { return t.cfg.now().UnixNano() }

// Limits returns the URI limits (for ./DevDetail/URI).
func (t *Tree) Limits() Limits { return t.cfg.limits }

// RouteInbox makes an Add of a TNDS tree to ./Inbox whose root node has the
// MO identifier moID (DDFName / Type) land under parent. Defaults:
// "org.openmobilealliance/1.0/w7" and "urn:oma:mo:oma-dm-dmacc:1.0" → ./DMAcc.
func (t *Tree) RouteInbox(moID string, parent URI) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.routes[moID] = parent
}

// Mount attaches p at prefix (absolute canonical URI, not the root, not
// below ./Inbox, not below another mount). Missing ancestors are created as
// stored interior nodes. A stored subtree already at prefix is replaced by the
// provider (its ACL and Title are kept in the overlay). If p implements
// Describer its descriptions are declared. Mounting the same prefix twice
// fails with ErrAlreadyExists.
func (t *Tree) Mount(prefix URI, p Provider) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, q, err := parseURI(string(prefix), Limits{})
	if err != nil || u != prefix || q.Prop != "" || q.List != ListNone || u == Root || u.HasPrefix(InboxURI) {
		return &Error{Op: "Mount", URI: string(prefix), Err: fmt.Errorf("bad mount prefix: %w", ErrBadRequest)}
	}
	n := t.root
	for _, seg := range u.Segments() {
		if n.mount != nil {
			return &Error{Op: "Mount", URI: string(prefix), Err: fmt.Errorf("below mount %s: %w", n.mount.prefix, ErrAlreadyExists)}
		}
		if !n.interior {
			return &Error{Op: "Mount", URI: string(prefix), Err: fmt.Errorf("below a leaf: %w", ErrNotAllowed)}
		}
		c := n.child(seg)
		if c == nil {
			c = &node{name: seg, interior: true, tstamp: t.now()}
			n.insertChild(len(n.children), c)
			t.dirty = true
		}
		n = c
	}
	if n.mount != nil {
		return &Error{Op: "Mount", URI: string(prefix), Err: ErrAlreadyExists}
	}
	if n.acl != "" || n.title != "" || len(n.children) > 0 || !n.interior {
		o := t.overlay[u]
		if n.acl != "" && !o.hasACL {
			o.acl, o.hasACL = n.acl, true
		}
		if n.title != "" && !o.hasTitle {
			o.title, o.hasTitle = n.title, true
		}
		t.overlay[u] = o
		t.dirty = true
	}
	*n = node{name: n.name, parent: n.parent, interior: true, mount: &mount{prefix: u, p: p}}
	n.mount.node = n
	if d, ok := p.(Describer); ok {
		if err := t.declare(d.Describe()); err != nil {
			return &Error{Op: "Mount", URI: string(prefix), Err: err}
		}
	}
	return nil
}

// locate walks the stored tree along u. It returns (placeholder, mount, false)
// when u is at or below a mount point; (node, nil, true) when u is a stored
// node; else (deepest existing stored ancestor, nil, false).
func (t *Tree) locate(u URI) (*node, *mount, bool) {
	n := t.root
	if u == Root {
		return n, nil, true
	}
	s := string(u[2:])
	for {
		if n.mount != nil {
			return n, n.mount, false
		}
		seg, rest, more := strings.Cut(s, "/")
		c := n.child(seg)
		if c == nil {
			return n, nil, false
		}
		n = c
		if !more {
			break
		}
		s = rest
	}
	if n.mount != nil {
		return n, n.mount, false
	}
	return n, nil, true
}

func (t *Tree) parseACL(s string) acl.ACL {
	if a, ok := t.aclCache[s]; ok {
		return a
	}
	a, err := acl.Parse(s)
	if err != nil {
		a = acl.ACL{} // stored ACLs are validated on write; a bad one grants nothing
	}
	if len(t.aclCache) > 4096 {
		clear(t.aclCache)
	}
	t.aclCache[s] = a
	return a
}

// provACL returns the own ACL of provider node u (overlay first).
func (t *Tree) provACL(ctx context.Context, m *mount, u URI) string {
	if o, ok := t.overlay[u]; ok && o.hasACL {
		return o.acl
	}
	n, err := m.p.Get(ctx, u)
	if err != nil {
		return ""
	}
	return n.Props.ACL
}

// effACL returns the ACL governing u: its own if non-empty, else the nearest
// ancestor's. u need not exist (then its ancestors decide).
func (t *Tree) effACL(ctx context.Context, u URI) acl.ACL {
	n, m, _ := t.locate(u)
	if m != nil {
		for cur := u; ; cur = cur.Parent() {
			if s := t.provACL(ctx, m, cur); s != "" {
				return t.parseACL(s)
			}
			if cur == m.prefix || cur == Root {
				break
			}
		}
		n = m.node.parent
	}
	for ; n != nil; n = n.parent {
		if n.acl != "" && n.mount == nil {
			return t.parseACL(n.acl)
		}
	}
	return t.parseACL(DefaultRootACL)
}

func (t *Tree) storedNode(n *node, u URI) Node {
	nd := Node{
		URI:      u,
		Interior: n.interior,
		Props: Props{
			ACL: n.acl, Format: n.format, Name: u.Name(), Title: n.title, Type: n.typ,
			TStamp: unixTime(n.tstamp), VerNo: n.verno,
		},
		Secret: t.secret(u),
	}
	if n.interior {
		nd.Props.Format = FormatNode
		nd.Children = n.childNames()
	} else {
		nd.Value = n.value
		nd.Props.Size = len(n.value)
	}
	return nd
}

func (t *Tree) provNode(ctx context.Context, m *mount, u URI) (Node, error) {
	nd, err := m.p.Get(ctx, u)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Node{}, fmt.Errorf("%s: %w", u, err)
		}
		return Node{}, fmt.Errorf("provider %s: %w", m.prefix, err)
	}
	nd.URI = u
	nd.Props.Name = u.Name()
	if nd.Interior {
		nd.Props.Format = FormatNode
		nd.Value = nil
	} else {
		nd.Children = nil
		if nd.Props.Format == "" {
			nd.Props.Format = FormatChr
		}
		if nd.Props.Type == "" {
			nd.Props.Type = TypeText
		}
		nd.Props.Size = len(nd.Value)
	}
	if o, ok := t.overlay[u]; ok {
		if o.hasACL {
			nd.Props.ACL = o.acl
		}
		if o.hasTitle {
			nd.Props.Title = o.title
		}
	}
	nd.Secret = nd.Secret || t.secret(u)
	return nd, nil
}

// nodeAt returns the node at u or ErrNotFound.
func (t *Tree) nodeAt(ctx context.Context, u URI) (Node, error) {
	n, m, exact := t.locate(u)
	switch {
	case m != nil:
		return t.provNode(ctx, m, u)
	case exact:
		return t.storedNode(n, u), nil
	}
	return Node{}, fmt.Errorf("%s: %w", u, ErrNotFound)
}

func (t *Tree) exists(ctx context.Context, u URI) (bool, error) {
	_, err := t.nodeAt(ctx, u)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// check enforces the DDF access type (405) then the ACL (425) of cmd on u
// for p. aclURI is the node whose ACL governs (u, or its parent for Add).
func (t *Tree) check(ctx context.Context, p Principal, u, aclURI URI, cmd acl.Command, access AccessType) error {
	if p.Local {
		return nil
	}
	if t.accessOf(u)&access == 0 {
		return fmt.Errorf("%s on %s not allowed by its DDF: %w", cmd, u, ErrNotAllowed)
	}
	if !t.effACL(ctx, aclURI).Allows(cmd, p.ServerID) {
		return fmt.Errorf("%s on %s for server %q: %w", cmd, aclURI, p.ServerID, ErrPermissionDenied)
	}
	return nil
}

func inInbox(u URI) bool { return u.HasPrefix(InboxURI) }

// record appends an undo step while an operation or transaction is running.
func (t *Tree) record(f func()) {
	if t.logging {
		t.undo = append(t.undo, f)
	}
}

func (t *Tree) undoTo(mark int) {
	for i := len(t.undo) - 1; i >= mark; i-- {
		t.undo[i]()
	}
	clear(t.undo[mark:])
	t.undo = t.undo[:mark]
}

// atomically runs f so that stored-tree changes are all-or-nothing.
func (t *Tree) atomically(f func() error) error {
	was := t.logging
	t.logging = true
	mark := len(t.undo)
	err := f()
	if err != nil {
		t.undoTo(mark)
	}
	if !was {
		t.logging = false
		t.undo = nil
	}
	return err
}

// touch prepares a write to a provider: inside a Txn the provider must be
// Transactional and is begun on first touch. Under WithDryRun it is where a
// provider write stops (ErrDryRun), before the provider is involved.
func (t *Tree) touch(ctx context.Context, m *mount) error {
	if dryRun(ctx) {
		return ErrDryRun
	}
	if t.tx == nil || m.tx != nil {
		return nil
	}
	tp, ok := m.p.(Transactional)
	if !ok {
		return fmt.Errorf("%s: %w", m.prefix, ErrNotTransactional)
	}
	ptx, err := tp.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin %s: %w", m.prefix, err)
	}
	m.tx = ptx
	t.tx.mounts = append(t.tx.mounts, m)
	return nil
}

func (t *Tree) setOverlay(u URI, f func(*overlay)) {
	old, had := t.overlay[u]
	o := old
	f(&o)
	t.overlay[u] = o
	t.dirty = true
	t.record(func() {
		if had {
			t.overlay[u] = old
		} else {
			delete(t.overlay, u)
		}
	})
}

func (t *Tree) dropOverlay(u URI) {
	for k, o := range t.overlay {
		if k.HasPrefix(u) {
			delete(t.overlay, k)
			t.dirty = true
			t.record(func() { t.overlay[k] = o })
		}
	}
}

// RemoveServerFromACLs removes serverID from every ACL in the tree (stored
// nodes and the provider overlay); a root command left empty becomes "*".
// Provider-supplied default ACLs are not rewritten (providers own them).
func (t *Tree) RemoveServerFromACLs(ctx context.Context, serverID string) error {
	if tx := t.txnOf(ctx); tx != nil {
		return t.removeServer(serverID)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.removeServer(serverID)
}

func (t *Tree) removeServer(sid string) error {
	return t.atomically(func() error {
		var walk func(n *node)
		walk = func(n *node) {
			if n.acl != "" && n.mount == nil {
				a := t.parseACL(n.acl)
				if a.Mentions(sid) {
					t.setNodeACL(n, a.WithoutServer(sid, n.parent == nil).String())
				}
			}
			for _, c := range n.children {
				walk(c)
			}
		}
		walk(t.root)
		for u, o := range t.overlay {
			if o.hasACL {
				if a := t.parseACL(o.acl); a.Mentions(sid) {
					s := a.WithoutServer(sid, false).String()
					t.setOverlay(u, func(o *overlay) { o.acl = s })
				}
			}
		}
		return nil
	})
}

func (t *Tree) setNodeACL(n *node, s string) {
	old := n.acl
	n.acl = s
	t.dirty = true
	t.record(func() { n.acl = old })
}

// txKey marks a context as belonging to a Txn of a Tree.
type txKey struct{ t *Tree }

func (t *Tree) txnOf(ctx context.Context) *Txn {
	if ctx == nil {
		return nil
	}
	tx, _ := ctx.Value(txKey{t}).(*Txn)
	if tx == nil || tx.done {
		return nil
	}
	return tx
}

type dryRunKey struct{}

// WithDryRun returns a context under which Add, Replace (values and
// properties), Delete, Copy and Exec run every check the command would
// meet (node existence, DDF access type and format, ACL, the provider's
// support of the command) and then return ErrDryRun (status 200) instead
// of changing the tree or calling the provider's write. Get is unchanged.
// Checks made inside a provider's write (a value the service refuses) are
// not run: a dry run says "allowed", not "will succeed".
func WithDryRun(ctx context.Context) context.Context {
	return context.WithValue(ctx, dryRunKey{}, true)
}

func dryRun(ctx context.Context) bool {
	v, _ := ctx.Value(dryRunKey{}).(bool)
	return v
}
