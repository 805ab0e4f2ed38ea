package tree

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/omadm-agent/omadm-agent/tree/store"
)

// Flush persists the stored tree and the provider overlay if they changed
// since the last Flush. It is a no-op for a Tree made by New. Inside a
// transaction (ctx marked by Txn.Context) it fails with ErrCommandFailed:
// uncommitted state is never persisted.
func (t *Tree) Flush(ctx context.Context) error {
	if t.txnOf(ctx) != nil {
		return &Error{Op: "Flush", Err: fmt.Errorf("inside a transaction: %w", ErrCommandFailed)}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st == nil || !t.dirty {
		return nil
	}
	if _, err := t.st.Save(ctx, t.snapshot()); err != nil {
		return &Error{Op: "Flush", Err: err}
	}
	t.dirty = false
	return nil
}

// Snapshot returns the persisted form of the tree (for dumps and tests).
func (t *Tree) Snapshot() *store.Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snapshot()
}

func (t *Tree) snapshot() *store.Snapshot {
	s := &store.Snapshot{Records: make([]store.Record, 0, 1024)}
	var walk func(n *node, u string)
	walk = func(n *node, u string) {
		if n.mount != nil {
			return
		}
		s.Records = append(s.Records, store.Record{
			URI: u, Interior: n.interior, Format: n.format, Type: n.typ, ACL: n.acl,
			Title: n.title, TStamp: n.tstamp, VerNo: n.verno, Value: n.value,
		})
		for _, c := range n.children {
			walk(c, u+"/"+c.name)
		}
	}
	walk(t.root, ".")
	keys := make([]string, 0, len(t.overlay))
	for k := range t.overlay {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		o := t.overlay[URI(k)]
		r := store.Record{URI: k, Overlay: true}
		if o.hasACL {
			r.ACL, r.HasACL = o.acl, true
		}
		if o.hasTitle {
			r.Title, r.HasTitle = o.title, true
		}
		s.Records = append(s.Records, r)
	}
	return s
}

func (t *Tree) load(s *store.Snapshot) error {
	if len(s.Records) == 0 || s.Records[0].URI != "." {
		return fmt.Errorf("snapshot has no root: %w", store.ErrCorrupt)
	}
	r0 := s.Records[0]
	t.root = &node{name: ".", interior: true, typ: r0.Type, acl: r0.ACL, title: r0.Title, tstamp: r0.TStamp, verno: r0.VerNo}
	if t.root.acl == "" {
		t.root.acl = t.cfg.rootACL
	}
	stack := []*node{t.root}
	uris := []string{"."}
	for _, r := range s.Records[1:] {
		if r.Overlay {
			var o overlay
			if r.HasACL {
				o.acl, o.hasACL = r.ACL, true
			}
			if r.HasTitle {
				o.title, o.hasTitle = r.Title, true
			}
			t.overlay[URI(r.URI)] = o
			continue
		}
		i := strings.LastIndexByte(r.URI, '/')
		if i < 0 {
			return fmt.Errorf("snapshot record %q: %w", r.URI, store.ErrCorrupt)
		}
		pu := r.URI[:i]
		for len(uris) > 0 && uris[len(uris)-1] != pu {
			stack, uris = stack[:len(stack)-1], uris[:len(uris)-1]
		}
		if len(stack) == 0 || !stack[len(stack)-1].interior {
			return fmt.Errorf("snapshot record %q out of order: %w", r.URI, store.ErrCorrupt)
		}
		parent := stack[len(stack)-1]
		n := &node{name: r.URI[i+1:], interior: r.Interior, format: r.Format, typ: r.Type,
			acl: r.ACL, title: r.Title, tstamp: r.TStamp, verno: r.VerNo}
		if !n.interior {
			n.value = r.Value
			if n.value == nil {
				n.value = []byte{}
			}
		}
		if parent.child(n.name) != nil {
			return fmt.Errorf("snapshot record %q duplicated: %w", r.URI, store.ErrCorrupt)
		}
		parent.insertChild(len(parent.children), n)
		stack, uris = append(stack, n), append(uris, r.URI)
	}
	return nil
}
