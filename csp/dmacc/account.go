package dmacc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/acl"
)

// Root is the URI of the DMAcc MO root.
const Root tree.URI = "./DMAcc"

// MOType is the MO identifier of a DM 1.2 account (./DMAcc/<x>), set as
// the Type of accounts this package's users create.
const MOType = "urn:oma:mo:oma-dm-dmacc:1.0"

// MOTypeW7 is the DDF name DM 1.2 bootstrap documents also use for an
// account (TNDS DDFName "org.openmobilealliance/1.0/w7").
const MOTypeW7 = "org.openmobilealliance/1.0/w7"

// OriginNode is the leaf under an account that records its origin.
const OriginNode = "Ext/Origin"

// Authentication levels (AAuthLevel).
const (
	LevelClient = "CLCRED"
	LevelServer = "SRVCRED"
	LevelOBEX   = "OBEX"
	LevelHTTP   = "HTTP"
)

// ErrUnknownServer is returned by Store.Account when no valid account has the
// requested ServerID.
var ErrUnknownServer = errors.New("dmacc: unknown server")

// ErrNoAddress is one of the problems an *InvalidError can hold: the account
// has no AppAddr entry at all. Bootstrap accepts such an account (with a
// warning; a server or the operator may add the address later) while
// Accounts skips it, since no session can be opened without an address.
var ErrNoAddress = errors.New("no AppAddr with AddrType URI and a valid URL")

// Account is one DM server account read from ./DMAcc/<x> (DM 1.2 schema,
// protocol.md §6.3).
type Account struct {
	Node     string // "./DMAcc/<x>"
	ServerID string
	Name     string
	Addr     string      // AppAddr/<x>/Addr with AddrType URI (the server URL), port applied if PortNbr given and the URL has none
	AuthPref string      // AAuthPref, e.g. "DIGEST" ("" = none)
	Client   Credential  // AppAuth with AAuthLevel CLCRED
	Server   Credential  // AppAuth with AAuthLevel SRVCRED
	HTTP     *Credential // AAuthLevel HTTP, if any
}

// Credential is one AppAuth entry. Nonce is the binary AAuthData.
type Credential struct {
	Node   string // "./DMAcc/<x>/AppAuth/<y>" ("" when the account has none at this level)
	Type   string // BASIC, DIGEST, HMAC, HTTP-BASIC, HTTP-DIGEST, TRANSPORT, ...
	Name   string
	Secret string
	Nonce  []byte
}

// String masks the secret and nonce.
func (c Credential) String() string {
	return fmt.Sprintf("{%s %s name=%q secret=******** nonce=%d bytes}", c.Node, c.Type, c.Name, len(c.Nonce))
}

// Store reads and updates accounts in a tree (as the local principal).
type Store struct {
	t *tree.Tree
}

// New returns a Store over t.
func New(t *tree.Tree) *Store { return &Store{t: t} }

// InvalidError reports an account that fails validation (see Validate).
type InvalidError struct {
	Node string
	Errs []error
}

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("dmacc: invalid account %s: %s", e.Node, strings.Join(msgs, "; "))
}

// Unwrap returns the individual problems.
func (e *InvalidError) Unwrap() []error { return e.Errs }

// OnlyNoAddress reports whether the account's only problem is ErrNoAddress.
func (e *InvalidError) OnlyNoAddress() bool {
	return len(e.Errs) == 1 && errors.Is(e.Errs[0], ErrNoAddress)
}

// Accounts returns every valid account under ./DMAcc in tree order. Invalid
// accounts are skipped; they are reported in the returned error (an
// errors.Join of *InvalidError, one per bad account) next to the valid ones,
// so a caller may use the accounts and log the error.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	r := reader{t: s.t}
	names, ok, err := r.children(ctx, Root)
	if err != nil || !ok {
		return nil, err
	}
	var (
		accs []Account
		errs []error
		seen = map[string]string{}
	)
	for _, seg := range names {
		u := Root.ChildSeg(seg)
		a, verrs, err := r.account(ctx, u)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[a.ServerID]; dup && a.ServerID != "" {
			verrs = append(verrs, fmt.Errorf("ServerID %q already used by %s", a.ServerID, prev))
		}
		if len(verrs) > 0 {
			errs = append(errs, &InvalidError{Node: string(u), Errs: verrs})
			continue
		}
		seen[a.ServerID] = string(u)
		accs = append(accs, a)
	}
	return accs, errors.Join(errs...)
}

// Account returns the valid account whose ServerID is serverID, or an error
// wrapping ErrUnknownServer.
func (s *Store) Account(ctx context.Context, serverID string) (Account, error) {
	accs, err := s.Accounts(ctx)
	if accs == nil && err != nil {
		var ie *InvalidError
		if !errors.As(err, &ie) {
			return Account{}, err
		}
	}
	for _, a := range accs {
		if a.ServerID == serverID {
			return a, nil
		}
	}
	return Account{}, fmt.Errorf("%w: %q", ErrUnknownServer, serverID)
}

// SetNonce stores nonce as the AAuthData of the AppAuth entry of level
// ("CLCRED" or "SRVCRED") of serverID's account, creating the leaf if
// needed. The change is made in memory; the caller flushes the tree.
func (s *Store) SetNonce(ctx context.Context, serverID, level string, nonce []byte) error {
	a, err := s.Account(ctx, serverID)
	if err != nil {
		return err
	}
	var c Credential
	switch level {
	case LevelClient:
		c = a.Client
	case LevelServer:
		c = a.Server
	default:
		return fmt.Errorf("dmacc: set nonce: level %q: %w", level, tree.ErrBadRequest)
	}
	if c.Node == "" {
		return fmt.Errorf("dmacc: set nonce: %s has no %s AppAuth: %w", a.Node, level, tree.ErrNotFound)
	}
	v := tree.Value{Data: append([]byte{}, nonce...), Format: tree.FormatBin, Type: "application/octet-stream"}
	u := c.Node + "/AAuthData"
	err = s.t.Replace(ctx, tree.LocalPrincipal, u, v)
	if errors.Is(err, tree.ErrNotFound) {
		err = s.t.Add(ctx, tree.LocalPrincipal, u, v)
	}
	if err != nil {
		return fmt.Errorf("dmacc: set nonce: %w", err)
	}
	return nil
}

// reader reads nodes as the local principal.
type reader struct{ t *tree.Tree }

// leaf returns the value of leaf u; ok=false if it does not exist.
func (r reader) leaf(ctx context.Context, u tree.URI) ([]byte, bool, error) {
	res, err := r.t.Get(ctx, tree.LocalPrincipal, string(u))
	if errors.Is(err, tree.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(res.Items) != 1 || res.Items[0].Format == tree.FormatNode {
		return nil, false, nil
	}
	return res.Items[0].Data, true, nil
}

func (r reader) str(ctx context.Context, u tree.URI) (string, bool, error) {
	b, ok, err := r.leaf(ctx, u)
	return string(b), ok, err
}

// children returns the canonical child segments of interior node u.
func (r reader) children(ctx context.Context, u tree.URI) ([]string, bool, error) {
	res, err := r.t.Get(ctx, tree.LocalPrincipal, string(u))
	if errors.Is(err, tree.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(res.Items) != 1 || res.Items[0].Format != tree.FormatNode {
		return nil, false, nil
	}
	if len(res.Items[0].Data) == 0 {
		return nil, true, nil
	}
	return strings.Split(string(res.Items[0].Data), "/"), true, nil
}

// account reads and validates the account at u. Validation problems are
// returned in verrs; err is reserved for tree failures.
func (r reader) account(ctx context.Context, u tree.URI) (a Account, verrs []error, err error) {
	a.Node = string(u)
	bad := func(format string, args ...any) { verrs = append(verrs, fmt.Errorf(format, args...)) }
	if _, ok, err := r.children(ctx, u); err != nil {
		return a, nil, err
	} else if !ok {
		bad("not an interior node")
		return a, verrs, nil
	}
	appID, ok, err := r.str(ctx, u.Child("AppID"))
	if err != nil {
		return a, nil, err
	}
	switch {
	case !ok:
		bad("AppID missing")
	case appID != "w7":
		bad("AppID %q, want w7", appID)
	}
	if a.ServerID, ok, err = r.str(ctx, u.Child("ServerID")); err != nil {
		return a, nil, err
	} else if !ok || a.ServerID == "" {
		bad("ServerID missing")
	} else if err := CheckServerID(a.ServerID); err != nil {
		bad("%v", err)
	}
	if a.Name, _, err = r.str(ctx, u.Child("Name")); err != nil {
		return a, nil, err
	}
	if a.AuthPref, _, err = r.str(ctx, u.Child("AAuthPref")); err != nil {
		return a, nil, err
	}
	if a.AuthPref != "" && !validAuthType(a.AuthPref) {
		bad("AAuthPref %q is not an AAuthType", a.AuthPref)
	}

	// AppAddr: the first entry with AddrType URI (default) and a valid URL.
	addrs, _, err := r.children(ctx, u.Child("AppAddr"))
	if err != nil {
		return a, nil, err
	}
	for _, seg := range addrs {
		au := u.Child("AppAddr").ChildSeg(seg)
		addr, _, err := r.str(ctx, au.Child("Addr"))
		if err != nil {
			return a, nil, err
		}
		typ, ok, err := r.str(ctx, au.Child("AddrType"))
		if err != nil {
			return a, nil, err
		}
		if !ok || typ == "" {
			typ = "URI"
		}
		switch typ {
		case "URI", "IPv4", "IPv6":
		default:
			bad("%s/AddrType %q, want URI, IPv4 or IPv6", au.Rel(u), typ)
			continue
		}
		ports, _, err := r.children(ctx, au.Child("Port"))
		if err != nil {
			return a, nil, err
		}
		port := ""
		for _, ps := range ports {
			p, _, err := r.str(ctx, au.Child("Port").ChildSeg(ps).Child("PortNbr"))
			if err != nil {
				return a, nil, err
			}
			if n, perr := strconv.ParseUint(p, 10, 16); perr != nil || n == 0 {
				bad("%s/Port/%s/PortNbr %q is not a port number", au.Rel(u), ps, p)
				continue
			}
			if port == "" {
				port = p
			}
		}
		if typ != "URI" || a.Addr != "" {
			continue
		}
		full, aerr := serverURL(addr, port)
		if aerr != nil {
			bad("%s/Addr: %v", au.Rel(u), aerr)
			continue
		}
		a.Addr = full
	}
	if a.Addr == "" {
		verrs = append(verrs, ErrNoAddress)
	}

	// AppAuth.
	auths, _, err := r.children(ctx, u.Child("AppAuth"))
	if err != nil {
		return a, nil, err
	}
	for _, seg := range auths {
		cu := u.Child("AppAuth").ChildSeg(seg)
		c := Credential{Node: string(cu)}
		level, _, err := r.str(ctx, cu.Child("AAuthLevel"))
		if err != nil {
			return a, nil, err
		}
		if c.Type, _, err = r.str(ctx, cu.Child("AAuthType")); err != nil {
			return a, nil, err
		}
		if c.Name, _, err = r.str(ctx, cu.Child("AAuthName")); err != nil {
			return a, nil, err
		}
		if c.Secret, _, err = r.str(ctx, cu.Child("AAuthSecret")); err != nil {
			return a, nil, err
		}
		if c.Nonce, _, err = r.leaf(ctx, cu.Child("AAuthData")); err != nil {
			return a, nil, err
		}
		if !validLevel(level) {
			bad("AppAuth/%s/AAuthLevel %q, want CLCRED, SRVCRED, OBEX or HTTP", seg, level)
			continue
		}
		if !validAuthType(c.Type) {
			bad("AppAuth/%s/AAuthType %q is not a valid type", seg, c.Type)
			continue
		}
		switch level {
		case LevelClient:
			if a.Client.Node == "" {
				a.Client = c
			}
		case LevelServer:
			if a.Server.Node == "" {
				a.Server = c
			}
		case LevelHTTP:
			if a.HTTP == nil {
				cc := c
				a.HTTP = &cc
			}
		}
	}
	return a, verrs, nil
}

// AuthTypes are the valid AAuthType (and AAuthPref) values (StdObj §7.1.3.1).
var AuthTypes = []string{"HTTP-BASIC", "HTTP-DIGEST", "BASIC", "DIGEST", "HMAC", "X509", "SECURID", "SAFEWORD", "DIGIPASS", "TRANSPORT"}

// Levels are the valid AAuthLevel values.
var Levels = []string{LevelClient, LevelServer, LevelOBEX, LevelHTTP}

func validAuthType(s string) bool {
	for _, v := range AuthTypes {
		if s == v {
			return true
		}
	}
	return false
}

func validLevel(s string) bool {
	for _, v := range Levels {
		if s == v {
			return true
		}
	}
	return false
}

// CheckServerID reports whether id can be a ServerID: non-empty, printable
// and usable in an ACL (tree/acl.ValidServerID: no '=', '&', '+', '*' or
// white space).
func CheckServerID(id string) error {
	if id == "" {
		return errors.New("empty ServerID")
	}
	if !acl.ValidServerID(id) {
		return fmt.Errorf("ServerID %q is not usable in an ACL", id)
	}
	return nil
}

// serverURL validates addr as an http(s) URL and applies port if the URL has
// none.
func serverURL(addr, port string) (string, error) {
	if addr == "" {
		return "", errors.New("empty address")
	}
	pu, err := url.Parse(addr)
	if err != nil {
		return "", fmt.Errorf("bad URL %q", addr)
	}
	if pu.Scheme != "http" && pu.Scheme != "https" || pu.Host == "" || pu.Hostname() == "" {
		return "", fmt.Errorf("%q is not an http or https URL", addr)
	}
	if port != "" && pu.Port() == "" {
		pu.Host = net.JoinHostPort(pu.Hostname(), port)
		return pu.String(), nil
	}
	return addr, nil
}

// Check reads and validates the account at node (e.g. "./DMAcc/1"): AppID
// w7, a ServerID usable in ACLs and unique across ./DMAcc, an AppAddr with a
// valid http(s) URL, AAuthLevel/AAuthType from their value sets, AAuthPref a
// valid type. Problems are returned as one *InvalidError. Called with a ctx
// of a tree transaction, it sees the uncommitted state (bootstrap uses this to
// refuse a document before committing it).
func (s *Store) Check(ctx context.Context, node string) (Account, error) {
	u, _, err := tree.ParseURI(node, tree.Limits{})
	if err != nil {
		return Account{}, fmt.Errorf("dmacc: %w", err)
	}
	r := reader{t: s.t}
	a, verrs, err := r.account(ctx, u)
	if err != nil {
		return a, err
	}
	if a.ServerID != "" {
		names, _, err := r.children(ctx, Root)
		if err != nil {
			return a, err
		}
		for _, seg := range names {
			o := Root.ChildSeg(seg)
			if o == u {
				continue
			}
			sid, _, err := r.str(ctx, o.Child("ServerID"))
			if err != nil {
				return a, err
			}
			if sid == a.ServerID {
				verrs = append(verrs, fmt.Errorf("ServerID %q already used by %s", sid, o))
			}
		}
	}
	if len(verrs) > 0 {
		return a, &InvalidError{Node: string(u), Errs: verrs}
	}
	return a, nil
}

// Nodes returns the URIs of the account nodes under ./DMAcc (valid or not).
func (s *Store) Nodes(ctx context.Context) ([]string, error) {
	names, _, err := reader{t: s.t}.children(ctx, Root)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, seg := range names {
		out[i] = string(Root.ChildSeg(seg))
	}
	return out, nil
}

// Origin returns the recorded origin of the account at node ("" if none).
func (s *Store) Origin(ctx context.Context, node string) (string, error) {
	u, _, err := tree.ParseURI(node+"/"+OriginNode, tree.Limits{})
	if err != nil {
		return "", fmt.Errorf("dmacc: %w", err)
	}
	v, _, err := reader{t: s.t}.str(ctx, u)
	return v, err
}
