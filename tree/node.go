package tree

import (
	"fmt"
	"slices"
	"time"
)

// node is a stored tree node. Children are kept in listing order; index is
// built once a node has many children.
type node struct {
	name     string // canonical segment ("." for the root)
	parent   *node
	interior bool
	value    []byte
	format   string
	typ      string
	acl      string
	title    string
	tstamp   int64 // Unix nanoseconds
	verno    uint16
	children []*node
	index    map[string]*node
	mount    *mount // non-nil: placeholder for a provider mount point
}

const indexThreshold = 16

func (n *node) child(seg string) *node {
	if n.index != nil {
		return n.index[seg]
	}
	for _, c := range n.children {
		if c.name == seg {
			return c
		}
	}
	return nil
}

func (n *node) childPos(seg string) int {
	for i, c := range n.children {
		if c.name == seg {
			return i
		}
	}
	return -1
}

func (n *node) insertChild(i int, c *node) {
	c.parent = n
	n.children = slices.Insert(n.children, i, c)
	if n.index != nil {
		n.index[c.name] = c
	} else if len(n.children) > indexThreshold {
		n.index = make(map[string]*node, len(n.children))
		for _, x := range n.children {
			n.index[x.name] = x
		}
	}
}

func (n *node) removeChild(i int) *node {
	c := n.children[i]
	n.children = slices.Delete(slices.Clip(n.children), i, i+1)
	if n.index != nil {
		delete(n.index, c.name)
	}
	return c
}

func (n *node) renameChild(c *node, seg string) {
	if n.index != nil {
		delete(n.index, c.name)
		n.index[seg] = c
	}
	c.name = seg
}

func (n *node) uri() URI {
	if n.parent == nil {
		return Root
	}
	var segs []string
	for x := n; x.parent != nil; x = x.parent {
		segs = append(segs, x.name)
	}
	b := make([]byte, 0, 64)
	b = append(b, '.')
	for i := len(segs) - 1; i >= 0; i-- {
		b = append(b, '/')
		b = append(b, segs[i]...)
	}
	return URI(b)
}

// fields is the scalar part of a node, saved for undo.
type fields struct {
	interior bool
	value    []byte
	format   string
	typ      string
	acl      string
	title    string
	tstamp   int64
	verno    uint16
}

func (n *node) save() fields {
	return fields{n.interior, n.value, n.format, n.typ, n.acl, n.title, n.tstamp, n.verno}
}

func (n *node) restore(f fields) {
	n.interior, n.value, n.format, n.typ, n.acl, n.title, n.tstamp, n.verno =
		f.interior, f.value, f.format, f.typ, f.acl, f.title, f.tstamp, f.verno
}

func (n *node) childNames() []string {
	out := make([]string, len(n.children))
	for i, c := range n.children {
		out[i] = c.name
	}
	return out
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// IsSecretName reports whether a node name always denotes a secret
// (AAuthSecret, AAuthData of ./DMAcc, OMA-TS-DM_StdObj): servers can never Get
// it and its value is masked in every dump.
func IsSecretName(name string) bool { return name == "AAuthSecret" || name == "AAuthData" }

// Masked is what String prints instead of a secret value.
const Masked = "******"

// String formats n for logs and dumps, masking secret values.
func (n Node) String() string {
	if n.Interior {
		return fmt.Sprintf("%s (node %q) children=%v ACL=%q", n.URI, n.Props.Type, n.Children, n.Props.ACL)
	}
	v := string(n.Value)
	if n.Secret || IsSecretName(n.URI.Name()) {
		v = Masked
	} else if n.Props.Format == FormatBin {
		v = fmt.Sprintf("<%d bytes>", len(n.Value))
	}
	return fmt.Sprintf("%s = %q (%s %s) ACL=%q", n.URI, v, n.Props.Format, n.Props.Type, n.Props.ACL)
}
