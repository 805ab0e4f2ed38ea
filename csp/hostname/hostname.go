package hostname

import (
	"context"
	"fmt"
	"github.com/omadm-agent/omadm-agent/csp/internal/undo"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Root is where the provider is mounted.
const Root tree.URI = "./Vendor/omadm/Hostname"

// MOType is the MO identifier of Root.
const MOType = "urn:omadm-agent:mo:hostname:1.0"

// Leaf names; each is also the hostname1 property it maps to.
const (
	LeafStatic    = "StaticHostname"
	LeafPretty    = "PrettyHostname"
	LeafTransient = "Hostname"
)

// MaxLen is the longest static host name accepted (Linux HOST_NAME_MAX).
const MaxLen = 64

var leaves = []string{LeafStatic, LeafPretty, LeafTransient}

// hostnamed is the part of org.freedesktop.hostname1 the provider needs.
type hostnamed interface {
	// Get reads the string property prop (a Leaf* name).
	Get(ctx context.Context, prop string) (string, error)
	// Set calls Set<prop>(value, interactive=false) for LeafStatic or LeafPretty.
	Set(ctx context.Context, prop, value string) error
}

// Provider serves Root. Create it with New.
type Provider struct {
	h  hostnamed
	mu sync.Mutex // serializes writes and guards tx
	tx *undo.Log
}

func newProvider(h hostnamed) *Provider { return &Provider{h: h} }

// leaf returns the leaf name of u, "" for Root, or ErrNotFound.
func leaf(u tree.URI) (string, error) {
	if u == Root {
		return "", nil
	}
	if u.Parent() == Root && slices.Contains(leaves, u.Base()) {
		return u.Base(), nil
	}
	return "", fmt.Errorf("%s: %w", u, tree.ErrNotFound)
}

// Get returns Root or one of its leaves, read live from hostnamed.
func (p *Provider) Get(ctx context.Context, u tree.URI) (tree.Node, error) {
	name, err := leaf(u)
	if err != nil {
		return tree.Node{}, err
	}
	if name == "" {
		return tree.Node{
			URI: u, Interior: true,
			Props:    tree.Props{Format: tree.FormatNode, Type: MOType},
			Children: slices.Clone(leaves),
		}, nil
	}
	v, err := p.h.Get(ctx, name)
	if err != nil {
		return tree.Node{}, err
	}
	return tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: tree.FormatChr, Type: tree.TypeText}}, nil
}

// Replace sets StaticHostname or PrettyHostname.
func (p *Provider) Replace(ctx context.Context, u tree.URI, v tree.Value) error {
	name, err := leaf(u)
	if err != nil {
		return err
	}
	switch name {
	case "", LeafTransient:
		return fmt.Errorf("%s is read-only: %w", u, tree.ErrNotAllowed)
	}
	if v.Format != "" && v.Format != tree.FormatChr {
		return fmt.Errorf("%s takes chr, not %s: %w", u, v.Format, tree.ErrUnsupportedMedia)
	}
	s := string(v.Data)
	check := ValidStatic
	if name == LeafPretty {
		check = ValidPretty
	}
	if err := check(s); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx != nil {
		p.tx.Changed(name)
	}
	return p.h.Set(ctx, name, s)
}

// ValidStatic reports, wrapping tree.ErrBadRequest, why s is not a static
// host name systemd-hostnamed would accept (see the package comment). The
// empty string is valid (it clears the static host name).
func ValidStatic(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxLen {
		return fmt.Errorf("host name longer than %d bytes: %w", MaxLen, tree.ErrBadRequest)
	}
	label := 0 // length of the current label
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return fmt.Errorf("host name %q has an empty label: %w", s, tree.ErrBadRequest)
			}
			if s[i-1] == '-' {
				return fmt.Errorf("host name %q has a label ending in '-': %w", s, tree.ErrBadRequest)
			}
			label = 0
			continue
		case c == '-':
			if label == 0 {
				return fmt.Errorf("host name %q has a label starting with '-': %w", s, tree.ErrBadRequest)
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			return fmt.Errorf("host name %q has the invalid character %q: %w", s, c, tree.ErrBadRequest)
		}
		label++
		if label > 63 {
			return fmt.Errorf("host name %q has a label longer than 63: %w", s, tree.ErrBadRequest)
		}
	}
	switch s[len(s)-1] {
	case '.':
		return fmt.Errorf("host name %q ends with a dot: %w", s, tree.ErrBadRequest)
	case '-':
		return fmt.Errorf("host name %q has a label ending in '-': %w", s, tree.ErrBadRequest)
	}
	return nil
}

// ValidPretty reports, wrapping tree.ErrBadRequest, why s is not a pretty
// host name: it must be valid UTF-8 without control characters.
func ValidPretty(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("pretty host name is not UTF-8: %w", tree.ErrBadRequest)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("pretty host name has the control character %U: %w", r, tree.ErrBadRequest)
		}
	}
	return nil
}

// Describe returns the DDF of Root.
func (p *Provider) Describe() []tree.Desc {
	return []tree.Desc{
		{Path: string(Root), Access: tree.AccessGet, Format: tree.FormatNode, Type: MOType, Occurrence: "One",
			Scope: tree.ScopePermanent, Description: "Host names (systemd-hostnamed, org.freedesktop.hostname1)"},
		{Path: string(Root.Child(LeafStatic)), Access: tree.AccessGet | tree.AccessReplace, Format: tree.FormatChr,
			Type: tree.TypeText, Occurrence: "One", Scope: tree.ScopePermanent,
			Description: "Static host name (/etc/hostname): RFC 1123 labels, at most 64 bytes; empty clears it"},
		{Path: string(Root.Child(LeafPretty)), Access: tree.AccessGet | tree.AccessReplace, Format: tree.FormatChr,
			Type: tree.TypeText, Occurrence: "One", Scope: tree.ScopePermanent,
			Description: "Pretty host name (free UTF-8 text, no control characters)"},
		{Path: string(Root.Child(LeafTransient)), Access: tree.AccessGet, Format: tree.FormatChr,
			Type: tree.TypeText, Occurrence: "One", Scope: tree.ScopePermanent,
			Description: "Live (transient, kernel) host name"},
	}
}

// Begin records the current StaticHostname and PrettyHostname; Rollback
// restores the ones replaced in the transaction, newest first.
func (p *Provider) Begin(ctx context.Context) (tree.ProviderTx, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx != nil {
		return nil, fmt.Errorf("hostname: a transaction is already open: %w", tree.ErrCommandFailed)
	}
	saved := map[string]string{}
	for _, name := range []string{LeafStatic, LeafPretty} {
		v, err := p.h.Get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("hostname: record %s: %w", name, err)
		}
		saved[name] = v
	}
	var tx *undo.Log
	tx = undo.New(&p.mu, func(ctx context.Context, name string) error {
		if err := p.h.Set(ctx, name, saved[name]); err != nil {
			return fmt.Errorf("hostname: restore %s to %q: %w", name, saved[name], err)
		}
		return nil
	}, func() {
		if p.tx == tx {
			p.tx = nil
		}
	})
	p.tx = tx
	return tx, nil
}
