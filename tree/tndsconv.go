package tree

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/tree/acl"
	"github.com/omadm-agent/omadm-agent/tree/tnds"
)

// getTNDS serializes the subtree at u as p can see it (TND §8.4, TNDS §9).
// The top Node is u itself (no Path); for the root, the root's children are
// the top nodes. Secret values are never serialized, even for Local.
func (t *Tree) getTNDS(ctx context.Context, p Principal, u URI, q Query) (Result, error) {
	include := func(prop string) bool {
		if len(q.TNDSProps) == 0 {
			return true
		}
		for _, x := range q.TNDSProps {
			if x == prop {
				return !q.TNDSExclude
			}
		}
		return q.TNDSExclude
	}
	type tmp struct {
		uri  URI
		n    tnds.Node
		kids []*tmp
	}
	top := &tmp{uri: u}
	stack := []*tmp{top}
	err := t.walk(ctx, p, u, func(n *Node) {
		if n.URI == u {
			if u != Root {
				top.n = t.tndsNode(n, include)
			}
			return
		}
		for len(stack) > 1 && stack[len(stack)-1].uri != n.URI.Parent() {
			stack = stack[:len(stack)-1]
		}
		x := &tmp{uri: n.URI, n: t.tndsNode(n, include)}
		parent := stack[len(stack)-1]
		parent.kids = append(parent.kids, x)
		stack = append(stack, x)
	})
	if err != nil {
		return Result{}, err
	}
	var build func(x *tmp) tnds.Node
	build = func(x *tmp) tnds.Node {
		n := x.n
		for _, k := range x.kids {
			n.Nodes = append(n.Nodes, build(k))
		}
		return n
	}
	m := &tnds.MgmtTree{VerDTD: "1.2"}
	if u == Root {
		for _, k := range top.kids {
			m.Nodes = append(m.Nodes, build(k))
		}
	} else {
		m.Nodes = []tnds.Node{build(top)}
	}
	var data []byte
	if len(m.Nodes) > 0 {
		if data, err = tnds.Marshal(m, tnds.MIMEXML); err != nil {
			return Result{}, fmt.Errorf("%w: %w", err, ErrCommandFailed)
		}
	} else {
		data = []byte(`<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>`)
	}
	return Result{Items: []Item{{URI: u, Format: FormatXML, Type: TypeTNDSXML, Data: data, TNDS: m}}}, nil
}

func sptr(s string) *string { return &s }

func (t *Tree) tndsNode(n *Node, include func(string) bool) tnds.Node {
	out := tnds.Node{NodeName: n.URI.Name()}
	rt := &tnds.RTProperties{}
	used := false
	set := func(prop string, dst **string, v string, cond bool) {
		if cond && include(prop) {
			*dst, used = sptr(v), true
		}
	}
	set("ACL", &rt.ACL, n.Props.ACL, n.Props.ACL != "")
	if include("Format") {
		rt.Format, used = &tnds.Format{Value: n.Props.Format}, true
	}
	set("Name", &rt.Name, n.Props.Name, true)
	set("Size", &rt.Size, strconv.Itoa(len(n.Value)), !n.Interior)
	set("Title", &rt.Title, n.Props.Title, n.Props.Title != "")
	set("TStamp", &rt.TStamp, n.Props.TStamp.UTC().Format(TStampLayout), !n.Props.TStamp.IsZero())
	if include("Type") && n.Props.Type != "" {
		used = true
		if n.Interior {
			rt.Type = &tnds.Type{DDFName: n.Props.Type}
		} else {
			rt.Type = &tnds.Type{MIME: n.Props.Type}
		}
	}
	set("VerNo", &rt.VerNo, strconv.Itoa(int(n.Props.VerNo)), !n.Props.TStamp.IsZero())
	if used {
		out.RTProperties = rt
	}
	if !n.Interior && !n.Secret && include("Value") {
		v := string(n.Value)
		if n.Props.Format == FormatBin {
			v = base64.StdEncoding.EncodeToString(n.Value)
		}
		out.Value = &v
	}
	return out
}

// importTNDS applies a TNDS document for Add (replace false) or Replace
// (replace true) at target u. The caller runs it atomically.
func (t *Tree) importTNDS(ctx context.Context, p Principal, u URI, v Value, replace bool) error {
	m, err := tnds.Unmarshal(v.Data, v.Type)
	switch {
	case errors.Is(err, tnds.ErrUnsupportedMIME):
		return fmt.Errorf("%w: %w", err, ErrUnsupportedMedia)
	case err != nil:
		return fmt.Errorf("%w: %w", err, ErrBadRequest)
	}
	if inInbox(u) {
		if u != InboxURI {
			return fmt.Errorf("TNDS Add below ./Inbox/...: %w", ErrNotAllowed)
		}
		for i := range m.Nodes {
			n := &m.Nodes[i]
			id := ""
			if rt := n.RTProperties; rt != nil && rt.Type != nil {
				id = rt.Type.DDFName
				if id == "" {
					id = rt.Type.MIME
				}
			}
			parent, ok := t.routes[id]
			if !ok {
				return fmt.Errorf("no Inbox route for MO %q: %w", id, ErrOptionalFeature)
			}
			from := string(InboxURI) + "/" + escape(n.NodeName)
			to := string(parent) + "/" + escape(n.NodeName)
			rewriteConRefs(n, from, to)
			if err := t.importNode(ctx, p, parent, n, false); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range m.Nodes {
		n := &m.Nodes[i]
		base := u
		if path := strings.TrimPrefix(strings.TrimPrefix(n.Path, "."), "/"); path != "" {
			rel, _, err := parseURI("./"+path, Limits{})
			if err != nil {
				return fmt.Errorf("TNDS Path %q: %w", n.Path, err)
			}
			base = u + rel[1:]
			if u == Root {
				base = rel
			}
		}
		if err := t.importNode(ctx, p, base, n, replace); err != nil {
			return err
		}
	}
	return nil
}

// rewriteConRefs rewrites leaf values pointing into the Inbox copy of the MO
// ("./Inbox/<name>/...") to where the MO is placed.
func rewriteConRefs(n *tnds.Node, from, to string) {
	if n.Value != nil && (*n.Value == from || strings.HasPrefix(*n.Value, from+"/")) {
		v := to + (*n.Value)[len(from):]
		n.Value = &v
	}
	for i := range n.Nodes {
		rewriteConRefs(&n.Nodes[i], from, to)
	}
}

func tndsValue(n *tnds.Node) (Value, Props, error) {
	var v Value
	var pr Props
	rt := n.RTProperties
	if rt == nil {
		rt = &tnds.RTProperties{}
	}
	if rt.Format != nil {
		v.Format = rt.Format.Value
	}
	if n.Interior() {
		v.Format = FormatNode
	} else if v.Format == "" {
		v.Format = FormatChr
	}
	if rt.Type != nil {
		v.Type = rt.Type.MIME
		if v.Type == "" {
			v.Type = rt.Type.DDFName
		}
	}
	if n.Value != nil && v.Format != FormatNode {
		v.Data = []byte(*n.Value)
		if v.Format == FormatBin || v.Format == FormatB64 {
			d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(*n.Value))
			if err != nil {
				return v, pr, fmt.Errorf("node %q: bad base64 value: %w", n.NodeName, ErrBadRequest)
			}
			v.Data, v.Format = d, FormatBin
		}
	}
	if rt.ACL != nil {
		a, err := acl.Parse(*rt.ACL)
		if err != nil {
			return v, pr, fmt.Errorf("node %q: %w: %w", n.NodeName, err, ErrBadRequest)
		}
		pr.ACL = a.String()
	}
	if rt.Title != nil {
		if len(*rt.Title) > MaxTitleLen {
			return v, pr, fmt.Errorf("node %q: Title too long: %w", n.NodeName, ErrBadRequest)
		}
		pr.Title = *rt.Title
	}
	return v, pr, nil
}

func (t *Tree) importNode(ctx context.Context, p Principal, parent URI, n *tnds.Node, replace bool) error {
	u := parent.Child(n.NodeName)
	if _, _, err := t.parse(string(u)); err != nil {
		return err
	}
	v, pr, err := tndsValue(n)
	if err != nil {
		return err
	}
	cur, err := t.nodeAt(ctx, u)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if exists && !replace {
		return fmt.Errorf("%s: %w", u, ErrAlreadyExists)
	}
	if exists && cur.Interior != (v.Format == FormatNode) {
		if err := t.delete(ctx, p, u); err != nil {
			return err
		}
		exists = false
	}
	if !exists {
		if err := t.add(ctx, p, u, v, &pr); err != nil {
			return err
		}
		for i := range n.Nodes {
			if err := t.importNode(ctx, p, u, &n.Nodes[i], false); err != nil {
				return err
			}
		}
		return nil
	}
	// Replace of an existing node.
	if n.RTProperties != nil && n.RTProperties.ACL != nil && pr.ACL != cur.Props.ACL {
		if err := t.replaceACL(ctx, p, cur, pr.ACL); err != nil {
			return err
		}
	}
	if n.RTProperties != nil && n.RTProperties.Title != nil && pr.Title != cur.Props.Title {
		if err := t.replaceProp(ctx, p, u, "Title", []byte(pr.Title)); err != nil {
			return err
		}
	}
	if !cur.Interior {
		return t.replace(ctx, p, u, v)
	}
	keep := map[string]bool{}
	for i := range n.Nodes {
		keep[escape(n.Nodes[i].NodeName)] = true
		if err := t.importNode(ctx, p, u, &n.Nodes[i], true); err != nil {
			return err
		}
	}
	for _, c := range cur.Children {
		if !keep[c] {
			if err := t.delete(ctx, p, u.ChildSeg(c)); err != nil {
				return err
			}
		}
	}
	return nil
}
