package tree

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/omadm-agent/omadm-agent/tree/acl"
)

// TStampLayout is the TStamp property format (ISO 8601 basic, UTC).
const TStampLayout = "20060102T150405Z"

// MaxTitleLen is the largest Title property value in bytes.
const MaxTitleLen = 255

// Get runs a DM Get on uri (which may carry ?prop= or ?list=) as p.
func (t *Tree) Get(ctx context.Context, p Principal, uri string) (Result, error) {
	if tx := t.txnOf(ctx); tx != nil {
		return tx.Get(ctx, p, uri)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, err := t.get(ctx, p, uri)
	return r, opErr("Get", uri, err)
}

// Add runs a DM Add: creates the node (implicit interior parents as needed),
// or a whole subtree when v.Type is a TNDS type. An Add to ./Inbox places a
// TNDS tree by its root's MO identifier (see RouteInbox).
func (t *Tree) Add(ctx context.Context, p Principal, uri string, v Value) error {
	if tx := t.txnOf(ctx); tx != nil {
		return tx.Add(ctx, p, uri, v)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return opErr("Add", uri, t.atomically(func() error { return t.addCmd(ctx, p, uri, v) }))
}

// Replace runs a DM Replace of a leaf value, of a replaceable property
// (?prop=ACL|Name|Title) or, with TNDS data, of a whole subtree.
func (t *Tree) Replace(ctx context.Context, p Principal, uri string, v Value) error {
	if tx := t.txnOf(ctx); tx != nil {
		return tx.Replace(ctx, p, uri, v)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return opErr("Replace", uri, t.atomically(func() error { return t.replaceCmd(ctx, p, uri, v) }))
}

// Delete runs a DM Delete (recursive).
func (t *Tree) Delete(ctx context.Context, p Principal, uri string) error {
	if tx := t.txnOf(ctx); tx != nil {
		return tx.Delete(ctx, p, uri)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return opErr("Delete", uri, t.atomically(func() error { return t.deleteCmd(ctx, p, uri) }))
}

// Copy runs a DM Copy of the leaf source onto the leaf target (created if
// missing, replaced otherwise). It needs Get on the source and Add (on the
// target's parent) or Replace (on the existing target). An interior source or
// target gives ErrForbidden (403).
func (t *Tree) Copy(ctx context.Context, p Principal, target, source string) error {
	if tx := t.txnOf(ctx); tx != nil {
		return tx.Copy(ctx, p, target, source)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return opErr("Copy", target, t.atomically(func() error { return t.copyCmd(ctx, p, target, source) }))
}

// Exec runs a DM Exec, handing data and correlator to the owning provider.
// Stored nodes and providers without Executer give ErrNotAllowed (405). Exec
// is not available inside a transaction (the session answers 500).
func (t *Tree) Exec(ctx context.Context, p Principal, uri string, data []byte, correlator string) error {
	if t.txnOf(ctx) != nil {
		return opErr("Exec", uri, fmt.Errorf("Exec inside Atomic: %w", ErrCommandFailed))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return opErr("Exec", uri, t.exec(ctx, p, uri, data, correlator))
}

func (t *Tree) parse(uri string) (URI, Query, error) { return parseURI(uri, t.cfg.limits) }

func (t *Tree) get(ctx context.Context, p Principal, uri string) (Result, error) {
	u, q, err := t.parse(uri)
	if err != nil {
		return Result{}, err
	}
	if inInbox(u) {
		return Result{}, fmt.Errorf("Get below ./Inbox: %w", ErrNotAllowed)
	}
	n, err := t.nodeAt(ctx, u)
	if err != nil {
		return Result{}, err
	}
	if err := t.checkGet(ctx, p, n); err != nil {
		return Result{}, err
	}
	switch {
	case q.Prop != "":
		it, err := propItem(n, q.Prop)
		if err != nil {
			return Result{}, err
		}
		return Result{Items: []Item{it}}, nil
	case q.List == ListStruct || q.List == ListStructData:
		var items []Item
		err := t.walk(ctx, p, u, func(n *Node) {
			it := Item{URI: n.URI, Format: n.Props.Format, Type: n.Props.Type}
			if q.List == ListStructData && !n.Interior && !n.Secret {
				it.Data = bytes.Clone(n.Value)
				if it.Data == nil {
					it.Data = []byte{}
				}
			}
			items = append(items, it)
		})
		return Result{Items: items}, err
	case q.List == ListTNDS:
		return t.getTNDS(ctx, p, u, q)
	}
	return Result{Items: []Item{valueItem(n)}}, nil
}

func (t *Tree) checkGet(ctx context.Context, p Principal, n Node) error {
	if !p.Local && n.Secret {
		return fmt.Errorf("secret node %s: %w", n.URI, ErrNotAllowed)
	}
	return t.check(ctx, p, n.URI, n.URI, acl.Get, AccessGet)
}

func valueItem(n Node) Item {
	if n.Interior {
		return Item{URI: n.URI, Format: FormatNode, Type: n.Props.Type, Data: []byte(strings.Join(n.Children, "/"))}
	}
	d := bytes.Clone(n.Value)
	if d == nil {
		d = []byte{}
	}
	return Item{URI: n.URI, Format: n.Props.Format, Type: n.Props.Type, Data: d}
}

func propItem(n Node, prop string) (Item, error) {
	var v string
	switch prop {
	case "ACL":
		v = n.Props.ACL
	case "Format":
		v = n.Props.Format
	case "Name":
		v = n.Props.Name
	case "Size":
		if n.Interior {
			return Item{}, fmt.Errorf("Size of an interior node: %w", ErrOptionalFeature)
		}
		v = strconv.Itoa(len(n.Value))
	case "Title":
		v = n.Props.Title
	case "TStamp":
		if n.Props.TStamp.IsZero() {
			return Item{}, fmt.Errorf("TStamp not tracked for %s: %w", n.URI, ErrOptionalFeature)
		}
		v = n.Props.TStamp.UTC().Format(TStampLayout)
	case "Type":
		v = n.Props.Type
	case "VerNo":
		v = strconv.Itoa(int(n.Props.VerNo))
	default:
		return Item{}, fmt.Errorf("property %q: %w", prop, ErrOptionalFeature)
	}
	return Item{URI: n.URI, Format: FormatChr, Type: TypeText, Data: []byte(v)}, nil
}

// walk visits, in pre-order, u and every descendant p may Get (DDF Get, not
// secret for servers, ACL Get); a node p may not Get is skipped with its
// subtree. ./Inbox is never visited. Visited Nodes carry no Children.
func (t *Tree) walk(ctx context.Context, p Principal, u URI, fn func(*Node)) error {
	inh := t.effACL(ctx, u.Parent())
	if u == Root {
		inh = acl.ACL{}
	}
	n, m, exact := t.locate(u)
	switch {
	case m != nil:
		return t.walkProv(ctx, p, m, u, inh, fn)
	case exact:
		return t.walkStored(ctx, p, n, u, inh, fn)
	}
	return fmt.Errorf("%s: %w", u, ErrNotFound)
}

func (t *Tree) visible(p Principal, n *Node, eff acl.ACL) bool {
	if p.Local {
		return true
	}
	return !n.Secret && t.accessOf(n.URI)&AccessGet != 0 && eff.Allows(acl.Get, p.ServerID)
}

func (t *Tree) walkStored(ctx context.Context, p Principal, n *node, u URI, inh acl.ACL, fn func(*Node)) error {
	if n.mount != nil {
		return t.walkProv(ctx, p, n.mount, u, inh, fn)
	}
	if u == InboxURI {
		return nil
	}
	eff := inh
	if n.acl != "" {
		eff = t.parseACL(n.acl)
	}
	nd := Node{URI: u, Interior: n.interior, Props: Props{ACL: n.acl, Format: n.format, Type: n.typ, Title: n.title, TStamp: unixTime(n.tstamp), VerNo: n.verno}}
	if len(t.descs.all) > 0 || IsSecretName(n.name) {
		nd.Secret = t.secret(u)
	}
	if n.interior {
		nd.Props.Format = FormatNode
	} else {
		nd.Value = n.value
		nd.Props.Size = len(n.value)
	}
	if !t.visible(p, &nd, eff) {
		return nil
	}
	fn(&nd)
	for _, c := range n.children {
		if err := t.walkStored(ctx, p, c, u+"/"+URI(c.name), eff, fn); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tree) walkProv(ctx context.Context, p Principal, m *mount, u URI, inh acl.ACL, fn func(*Node)) error {
	nd, err := t.provNode(ctx, m, u)
	if err != nil {
		return err
	}
	eff := inh
	if nd.Props.ACL != "" {
		eff = t.parseACL(nd.Props.ACL)
	}
	if !t.visible(p, &nd, eff) {
		return nil
	}
	kids := nd.Children
	nd.Children = nil
	fn(&nd)
	for _, c := range kids {
		if err := t.walkProv(ctx, p, m, u.ChildSeg(c), eff, fn); err != nil {
			return err
		}
	}
	return nil
}

// normValue applies Meta defaults and validates the value against its format.
func normValue(v Value) (Value, error) {
	switch v.Format {
	case "":
		v.Format = FormatChr
	case FormatB64:
		v.Format = FormatBin
	case FormatBin, FormatBool, FormatChr, FormatInt, FormatNode, FormatNull, FormatXML, FormatDate, FormatTime, FormatFloat:
	default:
		return v, fmt.Errorf("format %q: %w", v.Format, ErrUnsupportedMedia)
	}
	switch v.Format {
	case FormatNode:
		if len(v.Data) > 0 {
			return v, fmt.Errorf("interior node with data: %w", ErrBadRequest)
		}
		v.Data = nil
		return v, nil
	case FormatNull:
		if len(v.Data) > 0 {
			return v, fmt.Errorf("null format with data: %w", ErrBadRequest)
		}
		v.Data = nil
	case FormatBool:
		if s := string(v.Data); s != "true" && s != "false" {
			return v, fmt.Errorf("bool value %q: %w", s, ErrBadRequest)
		}
	case FormatInt:
		if _, err := strconv.ParseInt(string(v.Data), 10, 64); err != nil {
			return v, fmt.Errorf("int value %q: %w", v.Data, ErrBadRequest)
		}
	case FormatFloat:
		if _, err := strconv.ParseFloat(string(v.Data), 64); err != nil {
			return v, fmt.Errorf("float value %q: %w", v.Data, ErrBadRequest)
		}
	case FormatChr, FormatXML, FormatDate, FormatTime:
		if !utf8.Valid(v.Data) {
			return v, fmt.Errorf("%s value is not UTF-8: %w", v.Format, ErrBadRequest)
		}
	}
	if v.Type == "" {
		v.Type = TypeText
	}
	v.Data = bytes.Clone(v.Data)
	if v.Data == nil {
		v.Data = []byte{}
	}
	return v, nil
}

func (t *Tree) checkDescFormat(u URI, v Value) error {
	d := t.descs.lookup(u)
	if d == nil || d.Format == "" {
		return nil
	}
	want := d.Format
	if want == FormatB64 {
		want = FormatBin
	}
	if v.Format != want {
		return fmt.Errorf("%s has format %s, not %s: %w", u, want, v.Format, ErrUnsupportedMedia)
	}
	return nil
}

func isTNDS(v Value) bool { return v.Type == TypeTNDSXML || v.Type == TypeTNDSWBXML }

func (t *Tree) addCmd(ctx context.Context, p Principal, uri string, v Value) error {
	u, q, err := t.parse(uri)
	if err != nil {
		return err
	}
	if q.Prop != "" || q.List != ListNone {
		return fmt.Errorf("Add on a property or list: %w", ErrNotAllowed)
	}
	if isTNDS(v) {
		return t.importTNDS(ctx, p, u, v, false)
	}
	if inInbox(u) {
		return fmt.Errorf("Add to ./Inbox needs TNDS data: %w", ErrUnsupportedMedia)
	}
	return t.add(ctx, p, u, v, nil)
}

// add creates u. props, if non-nil, sets ACL/Title of the new node (TNDS).
func (t *Tree) add(ctx context.Context, p Principal, u URI, v Value, props *Props) error {
	if u == Root {
		return fmt.Errorf("root: %w", ErrAlreadyExists)
	}
	v, err := normValue(v)
	if err != nil {
		return err
	}
	if err := t.checkDescFormat(u, v); err != nil {
		return err
	}
	n, m, exact := t.locate(u)
	if exact {
		return fmt.Errorf("%s: %w", u, ErrAlreadyExists)
	}
	if m != nil {
		return t.addProv(ctx, p, m, u, v, props)
	}
	if !n.interior {
		return fmt.Errorf("child of leaf %s: %w", n.uri(), ErrNotAllowed)
	}
	anc := n.uri()
	if err := t.check(ctx, p, u, anc, acl.Add, AccessAdd); err != nil {
		return err
	}
	if dryRun(ctx) {
		return ErrDryRun
	}
	exc := t.addException(ctx, p, anc)
	segs := strings.Split(string(u[len(anc)+1:]), "/")
	now := t.now()
	parent := n
	for i, seg := range segs {
		c := &node{name: seg, interior: true, tstamp: now}
		if i == len(segs)-1 {
			c.interior = v.Format == FormatNode
			if !c.interior {
				c.value, c.format = v.Data, v.Format
			}
			c.typ = v.Type
			if c.interior && v.Type == TypeText {
				c.typ = ""
			}
			if props != nil {
				c.acl, c.title = props.ACL, props.Title
			}
		}
		if i == 0 && c.interior && exc != "" && c.acl == "" {
			c.acl = exc
		}
		parent.insertChild(len(parent.children), c)
		pp := parent
		t.record(func() { pp.removeChild(pp.childPos(c.name)) })
		parent = c
	}
	t.dirty = true
	return nil
}

// addException returns the ACL a new interior node gets when server p adds it
// below anc without Replace rights on anc (TND §8.3.7.1): Add, Delete and
// Replace for p, and Get for p plus whoever could Get it by inheritance
// (so existing readers keep their view). "" when no exception applies.
func (t *Tree) addException(ctx context.Context, p Principal, anc URI) string {
	if p.Local {
		return ""
	}
	eff := t.effACL(ctx, anc)
	if eff.Allows(acl.Replace, p.ServerID) {
		return ""
	}
	var a acl.ACL
	for _, id := range eff.Servers(acl.Get) {
		a = a.With(acl.Get, id)
	}
	for _, c := range []acl.Command{acl.Add, acl.Delete, acl.Get, acl.Replace} {
		a = a.With(c, p.ServerID)
	}
	return a.String()
}

func (t *Tree) addProv(ctx context.Context, p Principal, m *mount, u URI, v Value, props *Props) error {
	if u == m.prefix {
		return fmt.Errorf("%s: %w", u, ErrAlreadyExists)
	}
	if ok, err := t.exists(ctx, u); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%s: %w", u, ErrAlreadyExists)
	}
	// Nearest existing ancestor inside the provider (the mount point exists).
	anc := u.Parent()
	var missing []URI
	for anc != m.prefix {
		ok, err := t.exists(ctx, anc)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		missing = append(missing, anc)
		anc = anc.Parent()
	}
	an, err := t.provNode(ctx, m, anc)
	if err != nil {
		return err
	}
	if !an.Interior {
		return fmt.Errorf("child of leaf %s: %w", anc, ErrNotAllowed)
	}
	if err := t.check(ctx, p, u, anc, acl.Add, AccessAdd); err != nil {
		return err
	}
	ad, ok := m.p.(Adder)
	if !ok {
		return fmt.Errorf("provider %s does not support Add: %w", m.prefix, ErrNotAllowed)
	}
	if err := t.touch(ctx, m); err != nil {
		return err
	}
	exc := t.addException(ctx, p, anc)
	first := true
	for i := len(missing) - 1; i >= 0; i-- {
		if err := ad.Add(ctx, missing[i], Value{Format: FormatNode}); err != nil {
			return fmt.Errorf("provider %s: %w", m.prefix, err)
		}
		if first && exc != "" {
			t.setOverlay(missing[i], func(o *overlay) { o.acl, o.hasACL = exc, true })
		}
		first = false
	}
	if err := ad.Add(ctx, u, v); err != nil {
		return fmt.Errorf("provider %s: %w", m.prefix, err)
	}
	switch {
	case props != nil && (props.ACL != "" || props.Title != ""):
		t.setOverlay(u, func(o *overlay) {
			if props.ACL != "" {
				o.acl, o.hasACL = props.ACL, true
			}
			if props.Title != "" {
				o.title, o.hasTitle = props.Title, true
			}
		})
	case first && exc != "" && v.Format == FormatNode:
		t.setOverlay(u, func(o *overlay) { o.acl, o.hasACL = exc, true })
	}
	return nil
}

func (t *Tree) replaceCmd(ctx context.Context, p Principal, uri string, v Value) error {
	u, q, err := t.parse(uri)
	if err != nil {
		return err
	}
	if q.List != ListNone {
		return fmt.Errorf("Replace on a list: %w", ErrNotAllowed)
	}
	if inInbox(u) {
		return fmt.Errorf("Replace below ./Inbox: %w", ErrNotAllowed)
	}
	if q.Prop != "" {
		return t.replaceProp(ctx, p, u, q.Prop, v.Data)
	}
	if isTNDS(v) {
		return t.importTNDS(ctx, p, u, v, true)
	}
	return t.replace(ctx, p, u, v)
}

func (t *Tree) replace(ctx context.Context, p Principal, u URI, v Value) error {
	v, err := normValue(v)
	if err != nil {
		return err
	}
	n, m, exact := t.locate(u)
	// A DDF that forbids Replace answers 405 without asking the provider, so
	// a read-only leaf of an unreachable service is still 405, not 500.
	if !p.Local && t.accessOf(u)&AccessReplace == 0 {
		return fmt.Errorf("Replace on %s not allowed by its DDF: %w", u, ErrNotAllowed)
	}
	var cur Node
	switch {
	case m != nil:
		if cur, err = t.provNode(ctx, m, u); err != nil {
			return err
		}
	case exact:
		cur = t.storedNode(n, u)
	default:
		return fmt.Errorf("%s: %w", u, ErrNotFound)
	}
	if cur.Interior || v.Format == FormatNode {
		return fmt.Errorf("Replace of interior node %s: %w", u, ErrNotAllowed)
	}
	if err := t.check(ctx, p, u, u, acl.Replace, AccessReplace); err != nil {
		return err
	}
	if err := t.checkDescFormat(u, v); err != nil {
		return err
	}
	if m != nil {
		r, ok := m.p.(Replacer)
		if !ok {
			return fmt.Errorf("provider %s does not support Replace: %w", m.prefix, ErrNotAllowed)
		}
		if err := t.touch(ctx, m); err != nil {
			return err
		}
		if err := r.Replace(ctx, u, v); err != nil {
			return fmt.Errorf("provider %s: %w", m.prefix, err)
		}
		return nil
	}
	if dryRun(ctx) {
		return ErrDryRun
	}
	old := n.save()
	t.record(func() { n.restore(old) })
	n.value, n.format, n.typ = v.Data, v.Format, v.Type
	n.tstamp = t.now()
	n.verno++
	t.dirty = true
	return nil
}

func (t *Tree) replaceProp(ctx context.Context, p Principal, u URI, prop string, data []byte) error {
	n, err := t.nodeAt(ctx, u)
	if err != nil {
		return err
	}
	switch prop {
	case "ACL":
		return t.replaceACL(ctx, p, n, string(data))
	case "Title":
		if len(data) > MaxTitleLen || !utf8.Valid(data) {
			return fmt.Errorf("Title longer than %d bytes or not UTF-8: %w", MaxTitleLen, ErrBadRequest)
		}
		if err := t.check(ctx, p, u, u, acl.Replace, AccessReplace); err != nil {
			return err
		}
		if dryRun(ctx) {
			return ErrDryRun
		}
		return t.setProp(u, func(sn *node) { sn.title = string(data) }, func(o *overlay) { o.title, o.hasTitle = string(data), true })
	case "Name":
		return t.rename(ctx, p, n, string(data))
	}
	return fmt.Errorf("Replace of property %s: %w", prop, ErrNotAllowed)
}

func (t *Tree) setProp(u URI, stored func(*node), ov func(*overlay)) error {
	n, m, exact := t.locate(u)
	if m != nil {
		t.setOverlay(u, ov)
		return nil
	}
	if !exact {
		return fmt.Errorf("%s: %w", u, ErrNotFound)
	}
	old := n.save()
	t.record(func() { n.restore(old) })
	stored(n)
	t.dirty = true
	return nil
}

// replaceACL: an interior node's ACL may be changed with Replace on the node
// or on its parent; a leaf's only with Replace on the parent (TND §8.3.7.1.3).
// The root ACL must keep a value (405 when emptied).
func (t *Tree) replaceACL(ctx context.Context, p Principal, n Node, s string) error {
	a, err := acl.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrBadRequest)
	}
	s = a.String()
	if n.URI == Root && s == "" {
		return fmt.Errorf("the root ACL must have a value: %w", ErrNotAllowed)
	}
	if !p.Local {
		ok := n.URI != Root && t.effACL(ctx, n.URI.Parent()).Allows(acl.Replace, p.ServerID)
		if n.Interior && !ok {
			ok = t.effACL(ctx, n.URI).Allows(acl.Replace, p.ServerID)
		}
		if !ok {
			return fmt.Errorf("changing the ACL of %s for server %q: %w", n.URI, p.ServerID, ErrPermissionDenied)
		}
	}
	if dryRun(ctx) {
		return ErrDryRun
	}
	return t.setProp(n.URI, func(sn *node) { sn.acl = s }, func(o *overlay) { o.acl, o.hasACL = s, true })
}

func (t *Tree) rename(ctx context.Context, p Principal, n Node, name string) error {
	u := n.URI
	if u == Root || u == InboxURI || t.permanent(u) {
		return fmt.Errorf("renaming permanent node %s: %w", u, ErrNotAllowed)
	}
	if name == "" || name == "." || name == ".." || !utf8.ValidString(name) {
		return fmt.Errorf("new name %q: %w", name, ErrBadRequest)
	}
	seg := escape(name)
	if lim := t.cfg.limits.MaxSegLen; lim > 0 && len(seg) > lim {
		return fmt.Errorf("name longer than MaxSegLen: %w", ErrURITooLong)
	}
	if err := t.check(ctx, p, u, u, acl.Replace, AccessReplace); err != nil {
		return err
	}
	nu := u.Parent().ChildSeg(seg)
	if nu == u {
		return nil
	}
	if ok, err := t.exists(ctx, nu); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%s: %w", nu, ErrAlreadyExists)
	}
	sn, m, _ := t.locate(u)
	if m != nil {
		if u == m.prefix {
			return fmt.Errorf("renaming mount point %s: %w", u, ErrNotAllowed)
		}
		r, ok := m.p.(Renamer)
		if !ok {
			return fmt.Errorf("provider %s does not support rename: %w", m.prefix, ErrNotAllowed)
		}
		if err := t.touch(ctx, m); err != nil {
			return err
		}
		if err := r.Rename(ctx, u, name); err != nil {
			return fmt.Errorf("provider %s: %w", m.prefix, err)
		}
		t.moveOverlay(u, nu)
		return nil
	}
	if hasMount(sn) {
		return fmt.Errorf("renaming %s would move a mount point: %w", u, ErrNotAllowed)
	}
	if dryRun(ctx) {
		return ErrDryRun
	}
	parent, oldSeg := sn.parent, sn.name
	parent.renameChild(sn, seg)
	t.record(func() { parent.renameChild(sn, oldSeg) })
	t.dirty = true
	return nil
}

func (t *Tree) moveOverlay(from, to URI) {
	type kv struct {
		k URI
		o overlay
	}
	var moved []kv
	for k, o := range t.overlay {
		if k.HasPrefix(from) {
			moved = append(moved, kv{k, o})
		}
	}
	for _, x := range moved {
		t.dropOverlay(x.k)
		nk := to + x.k[len(from):]
		o := x.o
		t.setOverlay(nk, func(p *overlay) { *p = o })
	}
}

func hasMount(n *node) bool {
	if n.mount != nil {
		return true
	}
	for _, c := range n.children {
		if hasMount(c) {
			return true
		}
	}
	return false
}

func (t *Tree) hasPermanent(n *node, u URI) bool {
	if len(t.descs.all) == 0 {
		return false
	}
	if t.permanent(u) {
		return true
	}
	for _, c := range n.children {
		if t.hasPermanent(c, u+"/"+URI(c.name)) {
			return true
		}
	}
	return false
}

func (t *Tree) deleteCmd(ctx context.Context, p Principal, uri string) error {
	u, q, err := t.parse(uri)
	if err != nil {
		return err
	}
	if q.Prop != "" || q.List != ListNone {
		return fmt.Errorf("Delete of a property or list: %w", ErrNotAllowed)
	}
	return t.delete(ctx, p, u)
}

func (t *Tree) delete(ctx context.Context, p Principal, u URI) error {
	if u == Root || u == InboxURI {
		return fmt.Errorf("deleting %s: %w", u, ErrNotAllowed)
	}
	n, m, exact := t.locate(u)
	if m == nil && !exact {
		return fmt.Errorf("%s: %w", u, ErrNotFound)
	}
	if m != nil {
		if _, err := t.provNode(ctx, m, u); err != nil {
			return err
		}
	}
	if t.permanent(u) || (m != nil && u == m.prefix) {
		return fmt.Errorf("deleting permanent node %s: %w", u, ErrNotAllowed)
	}
	if err := t.check(ctx, p, u, u, acl.Delete, AccessDelete); err != nil {
		return err
	}
	if m != nil {
		d, ok := m.p.(Deleter)
		if !ok {
			return fmt.Errorf("provider %s does not support Delete: %w", m.prefix, ErrNotAllowed)
		}
		if err := t.touch(ctx, m); err != nil {
			return err
		}
		if err := d.Delete(ctx, u); err != nil {
			return fmt.Errorf("provider %s: %w", m.prefix, err)
		}
		t.dropOverlay(u)
		return nil
	}
	if hasMount(n) || t.hasPermanent(n, u) {
		return fmt.Errorf("%s contains permanent nodes: %w", u, ErrNotAllowed)
	}
	if dryRun(ctx) {
		return ErrDryRun
	}
	parent := n.parent
	i := parent.childPos(n.name)
	parent.removeChild(i)
	t.record(func() { parent.insertChild(i, n) })
	t.dirty = true
	return nil
}

func (t *Tree) copyCmd(ctx context.Context, p Principal, target, source string) error {
	tu, tq, err := t.parse(target)
	if err != nil {
		return err
	}
	su, sq, err := t.parse(source)
	if err != nil {
		return err
	}
	if tq.Prop != "" || sq.Prop != "" || tq.List != ListNone || sq.List != ListNone {
		return fmt.Errorf("Copy of a property or list: %w", ErrNotAllowed)
	}
	if inInbox(su) || inInbox(tu) {
		return fmt.Errorf("Copy with ./Inbox: %w", ErrNotAllowed)
	}
	src, err := t.nodeAt(ctx, su)
	if err != nil {
		return err
	}
	if !p.Local && (src.Secret || t.accessOf(su)&(AccessGet|AccessCopy) != AccessGet|AccessCopy) {
		return fmt.Errorf("copying %s not allowed by its DDF: %w", su, ErrNotAllowed)
	}
	if err := t.checkGet(ctx, p, src); err != nil {
		return err
	}
	if src.Interior {
		return fmt.Errorf("Copy of interior node %s: %w", su, ErrForbidden)
	}
	v := Value{Data: src.Value, Format: src.Props.Format, Type: src.Props.Type}
	dst, err := t.nodeAt(ctx, tu)
	switch {
	case errors.Is(err, ErrNotFound):
		return t.add(ctx, p, tu, v, nil)
	case err != nil:
		return err
	case dst.Interior:
		return fmt.Errorf("Copy onto interior node %s: %w", tu, ErrForbidden)
	}
	return t.replace(ctx, p, tu, v)
}

func (t *Tree) exec(ctx context.Context, p Principal, uri string, data []byte, corr string) error {
	u, q, err := t.parse(uri)
	if err != nil {
		return err
	}
	if q.Prop != "" || q.List != ListNone {
		return fmt.Errorf("Exec on a property or list: %w", ErrNotAllowed)
	}
	if inInbox(u) {
		return fmt.Errorf("Exec below ./Inbox: %w", ErrNotAllowed)
	}
	if _, err := t.nodeAt(ctx, u); err != nil {
		return err
	}
	if err := t.check(ctx, p, u, u, acl.Exec, AccessExec); err != nil {
		return err
	}
	_, m, _ := t.locate(u)
	if m == nil {
		return fmt.Errorf("%s is not executable: %w", u, ErrNotAllowed)
	}
	x, ok := m.p.(Executer)
	if !ok {
		return fmt.Errorf("provider %s does not support Exec: %w", m.prefix, ErrNotAllowed)
	}
	if dryRun(ctx) {
		return ErrDryRun
	}
	if err := x.Exec(ctx, u, bytes.Clone(data), corr); err != nil {
		if errors.Is(err, ErrAsync) {
			return err
		}
		return fmt.Errorf("provider %s: %w", m.prefix, err)
	}
	return nil
}
