package tree

import (
	"fmt"
	"sort"
	"strings"
)

// cdesc is a compiled Desc.
type cdesc struct {
	Desc
	segs []string // canonical segments after ".", "*" = any
}

func compileDesc(d Desc) (*cdesc, error) {
	p := d.Path
	if p == "." {
		return &cdesc{Desc: d}, nil
	}
	if !strings.HasPrefix(p, "./") {
		return nil, fmt.Errorf("tree: Desc path %q must start with \"./\": %w", p, ErrBadRequest)
	}
	var segs []string
	for _, s := range strings.Split(p[2:], "/") {
		if s == "*" {
			segs = append(segs, s)
			continue
		}
		name, err := unescape(s)
		if err != nil || name == "" || name == "." || name == ".." {
			return nil, fmt.Errorf("tree: Desc path %q: bad segment %q: %w", p, s, ErrBadRequest)
		}
		segs = append(segs, escape(name))
	}
	return &cdesc{Desc: d, segs: segs}, nil
}

// match reports whether canonical URI u matches the pattern, comparing from
// the last segment backwards without allocating.
func (d *cdesc) match(u URI) bool {
	s := string(u)
	for i := len(d.segs) - 1; i >= 0; i-- {
		j := strings.LastIndexByte(s, '/')
		if j < 0 {
			return false
		}
		if d.segs[i] != "*" && d.segs[i] != s[j+1:] {
			return false
		}
		s = s[:j]
	}
	return s == "."
}

type descs struct {
	byLast  map[string][]*cdesc
	anyLast []*cdesc
	all     []*cdesc
}

func (ds *descs) add(d *cdesc) {
	if ds.byLast == nil {
		ds.byLast = map[string][]*cdesc{}
	}
	ds.all = append(ds.all, d)
	if len(d.segs) == 0 {
		ds.byLast["."] = append(ds.byLast["."], d)
		return
	}
	last := d.segs[len(d.segs)-1]
	if last == "*" {
		ds.anyLast = append(ds.anyLast, d)
	} else {
		ds.byLast[last] = append(ds.byLast[last], d)
	}
}

// lookup returns the most specific description of u (fewest wildcards), or nil.
func (ds *descs) lookup(u URI) *cdesc {
	if len(ds.all) == 0 {
		return nil
	}
	var best *cdesc
	bestW := 1 << 30
	try := func(list []*cdesc) {
		for _, d := range list {
			if d.match(u) {
				w := 0
				for _, s := range d.segs {
					if s == "*" {
						w++
					}
				}
				if w < bestW {
					best, bestW = d, w
				}
			}
		}
	}
	try(ds.byLast[u.Base()])
	try(ds.anyLast)
	return best
}

// Declare registers DDF descriptions (see Desc) for stored or provided nodes.
func (t *Tree) Declare(d ...Desc) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.declare(d)
}

func (t *Tree) declare(d []Desc) error {
	cs := make([]*cdesc, 0, len(d))
	for _, x := range d {
		c, err := compileDesc(x)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		t.descs.add(c)
	}
	return nil
}

// Descriptions returns every registered description, sorted by Path.
func (t *Tree) Descriptions() []Desc {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Desc, len(t.descs.all))
	for i, d := range t.descs.all {
		out[i] = d.Desc
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// accessOf returns the commands the DDF allows on u (AccessAll if undeclared),
// with Get removed for secret names.
func (t *Tree) accessOf(u URI) AccessType {
	a := AccessAll
	if d := t.descs.lookup(u); d != nil && d.Access != 0 {
		a = d.Access
	}
	if IsSecretName(u.Name()) {
		a &^= AccessGet | AccessCopy
	}
	return a
}

func (t *Tree) secret(u URI) bool {
	if IsSecretName(u.Name()) {
		return true
	}
	d := t.descs.lookup(u)
	return d != nil && d.Secret
}

func (t *Tree) permanent(u URI) bool {
	d := t.descs.lookup(u)
	return d != nil && d.Scope == ScopePermanent
}

// IsSecret reports whether the node at u must be masked in user-facing output.
func (t *Tree) IsSecret(u URI) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.secret(u)
}
