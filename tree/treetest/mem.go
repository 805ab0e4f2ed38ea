package treetest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Mem is an in-memory provider implementing every optional provider
// interface. The tree serialises calls; Mem itself is not safe for
// concurrent use.
type Mem struct {
	prefix tree.URI
	nodes  map[tree.URI]*memNode
	backup map[tree.URI]*memNode // state at Begin, nil outside a transaction

	// Execs records every Exec call.
	Execs []ExecCall
	// ExecErr, if set, is returned by Exec (e.g. tree.ErrAsync).
	ExecErr error
	// Descs is returned by Describe.
	Descs []tree.Desc
	// Fail, if set, is consulted before every write ("Add", "Replace",
	// "Delete", "Rename", "Commit", "Rollback"); a non-nil result fails it.
	Fail func(op string, u tree.URI) error
	// Begins, Commits and Rollbacks count transaction calls.
	Begins, Commits, Rollbacks int
}

type memNode struct {
	interior bool
	value    []byte
	format   string
	typ      string
	acl      string
	children []string
}

func (n *memNode) clone() *memNode {
	c := *n
	c.value = bytes.Clone(n.value)
	c.children = slices.Clone(n.children)
	return &c
}

// ExecCall is one recorded Exec.
type ExecCall struct {
	URI        tree.URI
	Data       []byte
	Correlator string
}

// NewMem returns a Mem provider whose mount point prefix is an empty interior node.
func NewMem(prefix tree.URI) *Mem {
	return &Mem{prefix: prefix, nodes: map[tree.URI]*memNode{prefix: {interior: true}}}
}

// Set creates or overwrites node u (and missing interior parents) without
// going through the tree: for test fixtures. acl is the provider's default ACL.
func (m *Mem) Set(u tree.URI, interior bool, value, format, typ, acl string) {
	if u != m.prefix {
		if _, ok := m.nodes[u.Parent()]; !ok {
			m.Set(u.Parent(), true, "", "", "", "")
		}
		p := m.nodes[u.Parent()]
		if !slices.Contains(p.children, u.Base()) {
			p.children = append(p.children, u.Base())
		}
	}
	n := &memNode{interior: interior, format: format, typ: typ, acl: acl}
	if old, ok := m.nodes[u]; ok && interior {
		n.children = old.children
	}
	if !interior {
		n.value = []byte(value)
	}
	m.nodes[u] = n
}

func (m *Mem) fail(op string, u tree.URI) error {
	if m.Fail != nil {
		return m.Fail(op, u)
	}
	return nil
}

// Get implements tree.Provider.
func (m *Mem) Get(ctx context.Context, u tree.URI) (tree.Node, error) {
	n, ok := m.nodes[u]
	if !ok {
		return tree.Node{}, fmt.Errorf("treetest.Mem %s: %w", u, tree.ErrNotFound)
	}
	out := tree.Node{URI: u, Interior: n.interior, Props: tree.Props{ACL: n.acl, Format: n.format, Type: n.typ}}
	if n.interior {
		out.Children = slices.Clone(n.children)
	} else {
		out.Value = bytes.Clone(n.value)
	}
	return out, nil
}

// Add implements tree.Adder.
func (m *Mem) Add(ctx context.Context, u tree.URI, v tree.Value) error {
	if err := m.fail("Add", u); err != nil {
		return err
	}
	if _, ok := m.nodes[u]; ok {
		return fmt.Errorf("treetest.Mem %s: %w", u, tree.ErrAlreadyExists)
	}
	p, ok := m.nodes[u.Parent()]
	if !ok || !p.interior {
		return fmt.Errorf("treetest.Mem parent of %s: %w", u, tree.ErrNotFound)
	}
	n := &memNode{interior: v.Format == tree.FormatNode, typ: v.Type}
	if !n.interior {
		n.value, n.format = bytes.Clone(v.Data), v.Format
	}
	m.nodes[u] = n
	p.children = append(p.children, u.Base())
	return nil
}

// Replace implements tree.Replacer.
func (m *Mem) Replace(ctx context.Context, u tree.URI, v tree.Value) error {
	if err := m.fail("Replace", u); err != nil {
		return err
	}
	n, ok := m.nodes[u]
	if !ok {
		return fmt.Errorf("treetest.Mem %s: %w", u, tree.ErrNotFound)
	}
	if n.interior {
		return fmt.Errorf("treetest.Mem %s: %w", u, tree.ErrNotAllowed)
	}
	n.value, n.format, n.typ = bytes.Clone(v.Data), v.Format, v.Type
	return nil
}

// Delete implements tree.Deleter.
func (m *Mem) Delete(ctx context.Context, u tree.URI) error {
	if err := m.fail("Delete", u); err != nil {
		return err
	}
	if _, ok := m.nodes[u]; !ok {
		return fmt.Errorf("treetest.Mem %s: %w", u, tree.ErrNotFound)
	}
	for k := range m.nodes {
		if k.HasPrefix(u) {
			delete(m.nodes, k)
		}
	}
	if p, ok := m.nodes[u.Parent()]; ok {
		p.children = slices.DeleteFunc(p.children, func(s string) bool { return s == u.Base() })
	}
	return nil
}

// Exec implements tree.Executer.
func (m *Mem) Exec(ctx context.Context, u tree.URI, data []byte, correlator string) error {
	m.Execs = append(m.Execs, ExecCall{URI: u, Data: bytes.Clone(data), Correlator: correlator})
	return m.ExecErr
}

// Rename implements tree.Renamer.
func (m *Mem) Rename(ctx context.Context, u tree.URI, name string) error {
	if err := m.fail("Rename", u); err != nil {
		return err
	}
	nu := u.Parent().Child(name)
	if _, ok := m.nodes[nu]; ok {
		return fmt.Errorf("treetest.Mem %s: %w", nu, tree.ErrAlreadyExists)
	}
	for _, k := range slices.Collect(maps.Keys(m.nodes)) {
		if k.HasPrefix(u) {
			m.nodes[nu+k[len(u):]] = m.nodes[k]
			delete(m.nodes, k)
		}
	}
	p := m.nodes[u.Parent()]
	if i := slices.Index(p.children, u.Base()); i >= 0 {
		p.children[i] = nu.Base()
	}
	return nil
}

// Begin implements tree.Transactional: it snapshots the whole state.
func (m *Mem) Begin(ctx context.Context) (tree.ProviderTx, error) {
	if m.backup != nil {
		return nil, fmt.Errorf("treetest.Mem: transaction already open: %w", tree.ErrCommandFailed)
	}
	m.Begins++
	m.backup = make(map[tree.URI]*memNode, len(m.nodes))
	for k, n := range m.nodes {
		m.backup[k] = n.clone()
	}
	return memTx{m}, nil
}

type memTx struct{ m *Mem }

func (x memTx) Commit(ctx context.Context) error {
	x.m.Commits++
	if err := x.m.fail("Commit", x.m.prefix); err != nil {
		return err
	}
	x.m.backup = nil
	return nil
}

func (x memTx) Rollback(ctx context.Context) error {
	x.m.Rollbacks++
	if err := x.m.fail("Rollback", x.m.prefix); err != nil {
		x.m.backup = nil
		return err
	}
	x.m.nodes, x.m.backup = x.m.backup, nil
	return nil
}

// Describe implements tree.Describer.
func (m *Mem) Describe() []tree.Desc { return m.Descs }

// NonTransactional returns a view of m without Begin and Describe, for
// testing the Atomic refusal.
func (m *Mem) NonTransactional() tree.Provider { return nonTx{m} }

type nonTx struct{ m *Mem }

func (n nonTx) Get(ctx context.Context, u tree.URI) (tree.Node, error)  { return n.m.Get(ctx, u) }
func (n nonTx) Add(ctx context.Context, u tree.URI, v tree.Value) error { return n.m.Add(ctx, u, v) }
func (n nonTx) Replace(ctx context.Context, u tree.URI, v tree.Value) error {
	return n.m.Replace(ctx, u, v)
}
func (n nonTx) Delete(ctx context.Context, u tree.URI) error { return n.m.Delete(ctx, u) }
func (n nonTx) Exec(ctx context.Context, u tree.URI, d []byte, c string) error {
	return n.m.Exec(ctx, u, d, c)
}

// ReadOnly returns a view of m that implements only tree.Provider.
func (m *Mem) ReadOnly() tree.Provider { return readOnly{m} }

type readOnly struct{ m *Mem }

func (r readOnly) Get(ctx context.Context, u tree.URI) (tree.Node, error) { return r.m.Get(ctx, u) }
