package connmo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Root is where the provider is mounted.
const Root tree.URI = "./Vendor/omadm/Network/Cellular"

// MOType is the MO identifier of Root.
const MOType = "urn:omadm-agent:mo:connmo-cellular:1.0"

// Leaf names of a connection node.
const (
	LeafAPN         = "APN"
	LeafUser        = "User"
	LeafPassword    = "Password"
	LeafAutoconnect = "Autoconnect"
	LeafName        = "Name"
	LeafUUID        = "UUID"
)

// fixedLeaves exist on every connection; optional ones only when set.
var (
	fixedLeaves    = []string{LeafName, LeafUUID, LeafAutoconnect}
	optionalLeaves = []string{LeafAPN, LeafUser, LeafPassword}
)

// gsmKey is the NM gsm property of an optional leaf.
var gsmKey = map[string]string{LeafAPN: "apn", LeafUser: "username", LeafPassword: "password"}

// Defaults of Config.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultRollbackTimeout = 60 * time.Second
)

// Config configures New. Zero fields take the defaults.
type Config struct {
	// Timeout bounds each D-Bus call (default 5s).
	Timeout time.Duration
	// RollbackTimeout is the rollback_timeout of the NM checkpoint an
	// Atomic creates: NM rolls back by itself if the agent neither commits
	// nor rolls back within it (default 60s; rounded up to whole seconds).
	RollbackTimeout time.Duration
}

// Provider serves Root. Create it with New.
type Provider struct {
	nm  networkManager
	cfg Config
	mu  sync.Mutex // serializes writes and guards tx
	tx  *txn
}

func newProvider(nm networkManager, cfg Config) *Provider {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RollbackTimeout <= 0 {
		cfg.RollbackTimeout = DefaultRollbackTimeout
	}
	return &Provider{nm: nm, cfg: cfg}
}

// conn is one gsm connection as read from NM.
type conn struct {
	path dbus.ObjectPath
	s    Settings // settings without secrets
}

func (c conn) ident() Ident {
	id, _ := c.s.str("connection", "id")
	uuid, _ := c.s.str("connection", "uuid")
	return Ident{ID: id, UUID: uuid}
}

// list returns the gsm connections, in NM's order. A connection removed
// between ListConnections and GetSettings is skipped.
func (p *Provider) list(ctx context.Context) ([]conn, error) {
	paths, err := p.nm.ListConnections(ctx)
	if err != nil {
		return nil, fmt.Errorf("connmo: list connections: %w", err)
	}
	var out []conn
	for _, path := range paths {
		s, err := p.nm.GetSettings(ctx, path)
		if errors.Is(err, tree.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("connmo: read %s: %w", path, err)
		}
		if t, _ := s.str("connection", "type"); t == "gsm" {
			out = append(out, conn{path: path, s: s})
		}
	}
	return out, nil
}

func idents(cs []conn) []Ident {
	ids := make([]Ident, len(cs))
	for i, c := range cs {
		ids[i] = c.ident()
	}
	return ids
}

// target is a parsed URI below Root.
type target struct {
	name string // decoded connection node name; "" for Root
	leaf string // "" for the connection node
}

func parse(u tree.URI) (target, error) {
	if u == Root {
		return target{}, nil
	}
	if !u.HasPrefix(Root) {
		return target{}, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
	}
	segs := strings.Split(u.Rel(Root), "/")
	if len(segs) == 0 || len(segs) > 2 {
		return target{}, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
	}
	name, err := tree.UnescapeName(segs[0])
	if err != nil {
		return target{}, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
	}
	t := target{name: name}
	if len(segs) == 2 {
		t.leaf = segs[1]
	}
	return t, nil
}

// find returns the connection named name.
func (p *Provider) find(ctx context.Context, u tree.URI, name string) (conn, error) {
	cs, err := p.list(ctx)
	if err != nil {
		return conn{}, err
	}
	i := Resolve(idents(cs), name)
	if i < 0 {
		return conn{}, fmt.Errorf("%s: no gsm connection named %q: %w", u, name, tree.ErrNotFound)
	}
	return cs[i], nil
}

// secrets returns the gsm secrets NM holds for c (they are not part of
// GetSettings on a real NM). Failures count as "no secrets": a caller that
// writes them back then simply does not re-send them.
func (p *Provider) secrets(ctx context.Context, c conn) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"password"} {
		if v, ok := c.s.str("gsm", k); ok {
			out[k] = v
		}
	}
	s, err := p.nm.GetSecrets(ctx, c.path, "gsm")
	if err != nil {
		return out
	}
	for k, v := range s["gsm"] {
		if str, ok := v.Value().(string); ok && k == "password" {
			out[k] = str
		}
	}
	return out
}

// full returns c's settings with its gsm secrets merged in: what Update
// must be sent so that it does not drop them.
func (p *Provider) full(ctx context.Context, c conn) Settings {
	s := c.s.clone()
	for k, v := range p.secrets(ctx, c) {
		s.set("gsm", k, v)
	}
	return s
}

func (p *Provider) children(ctx context.Context, c conn) []string {
	ch := slices.Clone(fixedLeaves)
	sec := p.secrets(ctx, c)
	for _, l := range optionalLeaves {
		var v string
		if l == LeafPassword {
			v = sec["password"]
		} else {
			v, _ = c.s.str("gsm", gsmKey[l])
		}
		if v != "" {
			ch = append(ch, l)
		}
	}
	return ch
}

// Get returns Root, a connection node or one of its leaves, read live from
// NetworkManager. Password is write-only: its node exists while a password
// is stored, its value is always empty and it is marked Secret.
func (p *Provider) Get(ctx context.Context, u tree.URI) (tree.Node, error) {
	t, err := parse(u)
	if err != nil {
		return tree.Node{}, err
	}
	if t.name == "" {
		cs, err := p.list(ctx)
		if err != nil {
			return tree.Node{}, err
		}
		names := NodeNames(idents(cs))
		for i, n := range names {
			names[i] = tree.EscapeName(n)
		}
		return tree.Node{URI: u, Interior: true, Props: tree.Props{Format: tree.FormatNode, Type: MOType}, Children: names}, nil
	}
	c, err := p.find(ctx, u, t.name)
	if err != nil {
		return tree.Node{}, err
	}
	if t.leaf == "" {
		return tree.Node{URI: u, Interior: true, Props: tree.Props{Format: tree.FormatNode}, Children: p.children(ctx, c)}, nil
	}
	chr := func(v string) (tree.Node, error) {
		return tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: tree.FormatChr, Type: tree.TypeText}}, nil
	}
	switch t.leaf {
	case LeafName:
		return chr(c.ident().ID)
	case LeafUUID:
		return chr(c.ident().UUID)
	case LeafAutoconnect:
		ac := true // NM's default when the property is absent
		if v, ok := c.s["connection"]["autoconnect"]; ok {
			if b, ok := v.Value().(bool); ok {
				ac = b
			}
		}
		return tree.Node{URI: u, Value: []byte(strconv.FormatBool(ac)), Props: tree.Props{Format: tree.FormatBool, Type: tree.TypeText}}, nil
	case LeafAPN, LeafUser:
		if v, _ := c.s.str("gsm", gsmKey[t.leaf]); v != "" {
			return chr(v)
		}
	case LeafPassword:
		if p.secrets(ctx, c)["password"] != "" {
			return tree.Node{URI: u, Props: tree.Props{Format: tree.FormatChr, Type: tree.TypeText}, Secret: true}, nil
		}
	}
	return tree.Node{}, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
}

// checkLeafValue validates the value for a writable leaf before any D-Bus
// call and returns it as the NM property value.
func checkLeafValue(u tree.URI, leaf string, v tree.Value) (any, error) {
	want := tree.FormatChr
	if leaf == LeafAutoconnect {
		want = tree.FormatBool
	}
	if v.Format != "" && v.Format != want && !(want == tree.FormatBool && v.Format == tree.FormatChr) {
		return nil, fmt.Errorf("%s takes %s, not %s: %w", u, want, v.Format, tree.ErrUnsupportedMedia)
	}
	s := string(v.Data)
	var err error
	switch leaf {
	case LeafAutoconnect:
		b, perr := strconv.ParseBool(s)
		if perr != nil || (s != "true" && s != "false") {
			return nil, fmt.Errorf("%s: %q is not true or false: %w", u, s, tree.ErrBadRequest)
		}
		return b, nil
	case LeafAPN:
		err = ValidAPN(s)
	case LeafUser:
		err = validText("user name", s)
	case LeafPassword:
		err = validText("password", s)
	default:
		return nil, fmt.Errorf("%s: %w", u, tree.ErrNotAllowed)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	return s, nil
}

// Add creates a gsm connection (interior node Root/<name>, id = name), or
// sets an optional leaf (APN, User, Password) of an existing one.
func (p *Provider) Add(ctx context.Context, u tree.URI, v tree.Value) error {
	t, err := parse(u)
	if err != nil || t.name == "" {
		return fmt.Errorf("%s: %w", u, tree.ErrNotAllowed)
	}
	if t.leaf != "" {
		if !slices.Contains(optionalLeaves, t.leaf) {
			return fmt.Errorf("%s: not a leaf of a connection that can be added: %w", u, tree.ErrNotAllowed)
		}
		return p.Replace(ctx, u, v)
	}
	if v.Format != tree.FormatNode {
		return fmt.Errorf("%s is an interior node, not %q: %w", u, v.Format, tree.ErrUnsupportedMedia)
	}
	if err := ValidID(t.name); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	uuid, err := newUUID()
	if err != nil {
		return fmt.Errorf("%s: %w: %w", u, err, tree.ErrCommandFailed)
	}
	s := Settings{}
	s.set("connection", "id", t.name)
	s.set("connection", "uuid", uuid)
	s.set("connection", "type", "gsm")
	s.set("connection", "autoconnect", false)
	s["gsm"] = map[string]dbus.Variant{}
	s.set("ipv4", "method", "auto")
	s.set("ipv6", "method", "auto")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx != nil {
		p.tx.created(uuid)
	}
	if _, err := p.nm.AddConnection(ctx, s); err != nil {
		return fmt.Errorf("connmo: add %s: %w", u, err)
	}
	return nil
}

// Replace sets APN, User, Password or Autoconnect. An empty APN, User or
// Password removes it (the node disappears).
func (p *Provider) Replace(ctx context.Context, u tree.URI, v tree.Value) error {
	t, err := parse(u)
	if err != nil {
		return err
	}
	switch t.leaf {
	case "", LeafName, LeafUUID:
		return fmt.Errorf("%s is read-only: %w", u, tree.ErrNotAllowed)
	}
	val, err := checkLeafValue(u, t.leaf, v)
	if err != nil {
		return err
	}
	return p.modify(ctx, u, t.name, func(s Settings) {
		if t.leaf == LeafAutoconnect {
			s.set("connection", "autoconnect", val)
			return
		}
		if val == "" {
			delete(s["gsm"], gsmKey[t.leaf])
			return
		}
		s.set("gsm", gsmKey[t.leaf], val)
	})
}

// modify applies fn to the full settings (secrets included) of connection
// name and sends them with Update, journaling them first inside a
// transaction.
func (p *Provider) modify(ctx context.Context, u tree.URI, name string, fn func(Settings)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.find(ctx, u, name)
	if err != nil {
		return err
	}
	s := p.full(ctx, c)
	if p.tx != nil {
		p.tx.touched(c.ident().UUID, s)
	}
	s = s.clone()
	fn(s)
	if err := p.nm.Update(ctx, c.path, s); err != nil {
		return fmt.Errorf("connmo: update %s: %w", u, err)
	}
	return nil
}

// Delete removes a connection, or clears an optional leaf.
func (p *Provider) Delete(ctx context.Context, u tree.URI) error {
	t, err := parse(u)
	if err != nil || t.name == "" {
		return fmt.Errorf("%s: %w", u, tree.ErrNotAllowed)
	}
	if t.leaf != "" {
		if !slices.Contains(optionalLeaves, t.leaf) {
			return fmt.Errorf("%s cannot be deleted: %w", u, tree.ErrNotAllowed)
		}
		return p.modify(ctx, u, t.name, func(s Settings) { delete(s["gsm"], gsmKey[t.leaf]) })
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.find(ctx, u, t.name)
	if err != nil {
		return err
	}
	if p.tx != nil {
		p.tx.touched(c.ident().UUID, p.full(ctx, c))
	}
	if err := p.nm.Delete(ctx, c.path); err != nil {
		return fmt.Errorf("connmo: delete %s: %w", u, err)
	}
	return nil
}

// Rename changes the id of a connection (Replace of ?prop=Name on
// Root/<x>); the node name follows the id.
func (p *Provider) Rename(ctx context.Context, u tree.URI, name string) error {
	t, err := parse(u)
	if err != nil || t.name == "" || t.leaf != "" {
		return fmt.Errorf("%s: only a connection node can be renamed: %w", u, tree.ErrNotAllowed)
	}
	if err := ValidID(name); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	return p.modify(ctx, u, t.name, func(s Settings) { s.set("connection", "id", name) })
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random UUID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// Describe returns the DDF of Root.
func (p *Provider) Describe() []tree.Desc {
	x := string(Root) + "/*"
	leaf := func(name string, acc tree.AccessType, format, occ, desc string) tree.Desc {
		return tree.Desc{Path: x + "/" + name, Access: acc, Format: format, Type: tree.TypeText,
			Occurrence: occ, Scope: tree.ScopeDynamic, Description: desc}
	}
	opt := tree.AccessAdd | tree.AccessDelete | tree.AccessGet | tree.AccessReplace
	pw := leaf(LeafPassword, tree.AccessAdd|tree.AccessDelete|tree.AccessReplace, tree.FormatChr, "ZeroOrOne",
		"gsm.password: write-only (never returned), at most 255 bytes UTF-8; empty or Delete removes it")
	pw.Secret = true
	ac := leaf(LeafAutoconnect, tree.AccessGet|tree.AccessReplace, tree.FormatBool, "One",
		"connection.autoconnect; false for connections added here until set")
	ac.Default = "true"
	return []tree.Desc{
		{Path: string(Root), Access: tree.AccessGet | tree.AccessAdd, Format: tree.FormatNode, Type: MOType,
			Occurrence: "One", Scope: tree.ScopePermanent,
			Description: "Cellular data connections (NetworkManager connections of type gsm)"},
		{Path: x, Access: tree.AccessAdd | tree.AccessDelete | tree.AccessGet | tree.AccessReplace, Format: tree.FormatNode,
			Occurrence: "ZeroOrMore", Scope: tree.ScopeDynamic,
			Description: "One NetworkManager gsm connection; the node name is its id (its UUID when the id is ambiguous or not a valid node name)"},
		leaf(LeafAPN, opt, tree.FormatChr, "ZeroOrOne", "gsm.apn: at most 64 bytes of A-Z a-z 0-9 . _ -; empty or Delete removes it"),
		leaf(LeafUser, opt, tree.FormatChr, "ZeroOrOne", "gsm.username: at most 255 bytes UTF-8; empty or Delete removes it"),
		pw,
		ac,
		leaf(LeafName, tree.AccessGet, tree.FormatChr, "One", "connection.id (rename with Replace ?prop=Name on the connection node)"),
		leaf(LeafUUID, tree.AccessGet, tree.FormatChr, "One", "connection.uuid"),
	}
}
