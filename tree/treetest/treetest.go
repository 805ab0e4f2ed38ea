package treetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Config describes the provider under test.
type Config struct {
	// Prefix is where the provider is mounted.
	Prefix tree.URI
	// New returns a fresh provider for each sub-test (state must not leak).
	New func(t *testing.T) tree.Provider
	// Replace lists leaves that accept Replace, with a valid new value each.
	Replace []Case
	// Add lists nodes that can be added (URIs under Prefix, absent at start).
	Add []Case
	// ReadOnly lists existing leaves that must refuse Replace with 405.
	ReadOnly []tree.URI
}

// Case is a URI and a value.
type Case struct {
	URI   tree.URI
	Value tree.Value
}

var formats = map[string]bool{"": true, "b64": true, "bin": true, "bool": true, "chr": true, "int": true,
	"node": true, "null": true, "xml": true, "date": true, "time": true, "float": true}

// Run runs the conformance suite: every node reachable from Prefix is
// gettable and consistent (interior ⇔ Format node, canonical child names,
// missing → ErrNotFound); Replace/Add cases round-trip through a Tree, with
// Delete where supported; read-only leaves refuse Replace with 405; and a
// Transactional provider restores its exact state on rollback.
func Run(t *testing.T, c Config) {
	t.Helper()
	ctx := context.Background()
	mount := func(t *testing.T) (*tree.Tree, tree.Provider) {
		t.Helper()
		p := c.New(t)
		tr := tree.New()
		if err := tr.Mount(c.Prefix, p); err != nil {
			t.Fatalf("Mount(%s): %v", c.Prefix, err)
		}
		return tr, p
	}

	t.Run("Walk", func(t *testing.T) {
		p := c.New(t)
		root, err := p.Get(ctx, c.Prefix)
		if err != nil {
			t.Fatalf("Get(%s): %v", c.Prefix, err)
		}
		if !root.Interior {
			t.Fatalf("mount point %s is a leaf, want interior", c.Prefix)
		}
		seen := 0
		var walk func(u tree.URI)
		walk = func(u tree.URI) {
			n, err := p.Get(ctx, u)
			if err != nil {
				t.Errorf("Get(%s): %v", u, err)
				return
			}
			seen++
			if !formats[n.Props.Format] {
				t.Errorf("%s: Format %q is not a DM format", u, n.Props.Format)
			}
			if n.Interior {
				if len(n.Value) > 0 {
					t.Errorf("%s: interior node with a value", u)
				}
				if n.Props.Format != "" && n.Props.Format != tree.FormatNode {
					t.Errorf("%s: interior node with Format %q, want node", u, n.Props.Format)
				}
				for _, ch := range n.Children {
					cu := u.ChildSeg(ch)
					got, _, err := tree.ParseURI(string(cu), tree.Limits{})
					if err != nil || got != cu {
						t.Errorf("%s: child %q is not a canonical segment (got %q, %v)", u, ch, got, err)
						continue
					}
					walk(cu)
				}
			} else if n.Props.Format == tree.FormatNode {
				t.Errorf("%s: leaf with Format node", u)
			}
		}
		walk(c.Prefix)
		if _, err := p.Get(ctx, c.Prefix.Child("treetest-missing-node")); !errors.Is(err, tree.ErrNotFound) {
			t.Errorf("Get(missing): got %v, want ErrNotFound", err)
		}
		tr := tree.New()
		if err := tr.Mount(c.Prefix, c.New(t)); err != nil {
			t.Fatal(err)
		}
		r, err := tr.Get(ctx, tree.LocalPrincipal, string(c.Prefix)+"?list=Struct")
		if err != nil {
			t.Fatalf("Get ?list=Struct: %v", err)
		}
		if len(r.Items) != seen {
			t.Errorf("?list=Struct: got %d items, want %d", len(r.Items), seen)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		for _, cs := range c.Replace {
			tr, _ := mount(t)
			if err := tr.Replace(ctx, tree.LocalPrincipal, string(cs.URI), cs.Value); err != nil {
				t.Errorf("Replace(%s): %v", cs.URI, err)
				continue
			}
			checkValue(t, tr, cs)
		}
		for _, u := range c.ReadOnly {
			tr, _ := mount(t)
			err := tr.Replace(ctx, tree.LocalPrincipal, string(u), tree.Value{Data: []byte("x")})
			if got := tree.StatusCode(err); got != tree.StatusNotAllowed {
				t.Errorf("Replace(read-only %s): got status %d (%v), want 405", u, got, err)
			}
		}
	})

	t.Run("AddDelete", func(t *testing.T) {
		for _, cs := range c.Add {
			tr, p := mount(t)
			if err := tr.Add(ctx, tree.LocalPrincipal, string(cs.URI), cs.Value); err != nil {
				t.Errorf("Add(%s): %v", cs.URI, err)
				continue
			}
			checkValue(t, tr, cs)
			if err := tr.Add(ctx, tree.LocalPrincipal, string(cs.URI), cs.Value); tree.StatusCode(err) != tree.StatusAlreadyExists {
				t.Errorf("second Add(%s): got %v, want 418", cs.URI, err)
			}
			if _, ok := p.(tree.Deleter); !ok {
				continue
			}
			if err := tr.Delete(ctx, tree.LocalPrincipal, string(cs.URI)); err != nil {
				t.Errorf("Delete(%s): %v", cs.URI, err)
			}
			if _, err := tr.Get(ctx, tree.LocalPrincipal, string(cs.URI)); tree.StatusCode(err) != tree.StatusNotFound {
				t.Errorf("Get after Delete(%s): got %v, want 404", cs.URI, err)
			}
		}
	})

	t.Run("Rollback", func(t *testing.T) {
		tr, p := mount(t)
		if _, ok := p.(tree.Transactional); !ok {
			if err := tr.CheckAtomic(string(c.Prefix)); !errors.Is(err, tree.ErrNotTransactional) {
				t.Errorf("CheckAtomic on a non-transactional provider: got %v, want ErrNotTransactional", err)
			}
			return
		}
		before := dump(t, tr, c.Prefix)
		errStop := errors.New("treetest: stop")
		err := tr.Atomic(ctx, func(ctx context.Context, tx *tree.Txn) error {
			for _, cs := range c.Replace {
				if err := tx.Replace(ctx, tree.LocalPrincipal, string(cs.URI), cs.Value); err != nil {
					return err
				}
			}
			for _, cs := range c.Add {
				if err := tx.Add(ctx, tree.LocalPrincipal, string(cs.URI), cs.Value); err != nil {
					return err
				}
			}
			return errStop
		})
		if !errors.Is(err, errStop) || tree.StatusCode(err) != tree.StatusAtomicFailed {
			t.Fatalf("Atomic: got %v, want 507 wrapping the stop error", err)
		}
		if after := dump(t, tr, c.Prefix); after != before {
			t.Errorf("state after rollback differs:\n got %s\nwant %s", after, before)
		}
	})
}

func checkValue(t *testing.T, tr *tree.Tree, cs Case) {
	t.Helper()
	r, err := tr.Get(context.Background(), tree.LocalPrincipal, string(cs.URI))
	if err != nil {
		t.Errorf("Get(%s): %v", cs.URI, err)
		return
	}
	if cs.Value.Format == tree.FormatNode {
		if r.Items[0].Format != tree.FormatNode {
			t.Errorf("Get(%s): got Format %q, want node", cs.URI, r.Items[0].Format)
		}
		return
	}
	if !bytes.Equal(r.Items[0].Data, cs.Value.Data) {
		t.Errorf("Get(%s): got %q, want %q", cs.URI, r.Items[0].Data, cs.Value.Data)
	}
}

func dump(t *testing.T, tr *tree.Tree, u tree.URI) string {
	t.Helper()
	r, err := tr.Get(context.Background(), tree.LocalPrincipal, string(u)+"?list=StructData")
	if err != nil {
		t.Fatalf("Get %s?list=StructData: %v", u, err)
	}
	var b bytes.Buffer
	for _, it := range r.Items {
		fmt.Fprintf(&b, "%s|%s|%s|%q\n", it.URI, it.Format, it.Type, it.Data)
	}
	return b.String()
}
