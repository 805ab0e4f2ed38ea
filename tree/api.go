package tree

import (
	"context"
	"time"

	"github.com/omadm-agent/omadm-agent/tree/tnds"
)

// Principal is who runs an operation: a DM server (ServerID, subject to ACLs
// and DDF access types) or the local agent/operator (Local), which bypasses
// ACLs and access types — it may read AAuthSecret/AAuthData; user-facing
// output must mask them (see Node.String, MaskValue) — but still obeys URI
// rules, structure rules and permanence.
type Principal struct {
	ServerID string
	Local    bool
}

// LocalPrincipal is the local agent/operator.
var LocalPrincipal = Principal{Local: true}

// Server returns the Principal for the DM server serverID.
func Server(serverID string) Principal { return Principal{ServerID: serverID} }

// Node formats (TND §8.3.7.2). FormatNode is the format of interior nodes.
const (
	FormatB64   = "b64"
	FormatBin   = "bin"
	FormatBool  = "bool"
	FormatChr   = "chr"
	FormatInt   = "int"
	FormatNode  = "node"
	FormatNull  = "null"
	FormatXML   = "xml"
	FormatDate  = "date"
	FormatTime  = "time"
	FormatFloat = "float"
)

// MIME types the tree gives meaning to.
const (
	TypeText      = "text/plain"                          // default leaf Type
	TypeTNDSXML   = "application/vnd.syncml.dmtnds+xml"   // TNDS, XML encoding
	TypeTNDSWBXML = "application/vnd.syncml.dmtnds+wbxml" // TNDS, WBXML encoding
)

// Value is the payload of Add/Replace: Data plus its Meta Format and Type.
// An empty Format means chr; an empty Type means text/plain for leaves. Format
// "node" creates an interior node (Type is then its MO identifier, if any). A
// Type of TypeTNDSXML/TypeTNDSWBXML makes Data a serialized subtree. Format b64
// Data must already be decoded by the session; it is stored as bin.
type Value struct {
	Data   []byte
	Format string
	Type   string
}

// Props are the run-time node properties (TND §8.3, protocol.md §6.5). Size is
// derived from the value for leaves. A zero TStamp / VerNo means "not tracked"
// for provider nodes; stored nodes always track both.
type Props struct {
	ACL    string    // "" = inherit from the nearest ancestor with a non-empty ACL
	Format string    // "node" for interior nodes
	Name   string    // decoded (UTF-8) node name; "." for the root
	Title  string    // ≤255 bytes
	Type   string    // MIME for leaves, MO identifier (URN / DDF name) for interiors
	Size   int       // raw byte count of a leaf value
	TStamp time.Time // last modification, UTC
	VerNo  uint16    // incremented on each modification, wraps at 0xFFFF
}

// Node is one node as read from the stored tree or a provider.
type Node struct {
	URI      URI
	Interior bool
	Value    []byte   // leaves only
	Props    Props    // Props.Name may be left empty by providers; the tree fills it
	Children []string // interior only: canonical (percent-encoded) segment names, in order
	Secret   bool     // value must never be shown unmasked (AAuthSecret, AAuthData, Desc.Secret)
}

// Item is one entry of a Get result, mapping to a SyncML Results Item.
type Item struct {
	URI    URI    // Source LocURI (without ?prop= / ?list=)
	Format string // Meta Format
	Type   string // Meta Type ("" for interior nodes without an MO type)
	Data   []byte // leaf value, "/"-separated child names, property value, or TNDS bytes; nil for ?list=Struct
	// TNDS is the model behind Data for ?list=TNDS results, so a WBXML session
	// can re-encode it (tnds.MarshalWBXML) and set Type to TypeTNDSWBXML.
	TNDS *tnds.MgmtTree
}

// Result is what Get returns: one Item for a node value, a child list or a
// property; one Item per visible node for ?list=Struct/StructData (pre-order,
// starting with the target); one Item of Type TypeTNDSXML for ?list=TNDS.
type Result struct {
	Items []Item
}

// Limits are the URI limits published in ./DevDetail/URI (0 = unlimited).
// Lengths count bytes of the canonical (percent-encoded) URI.
type Limits struct {
	MaxDepth  int // number of segments after "."
	MaxTotLen int // whole URI including "./"
	MaxSegLen int // one segment
}

// DefaultLimits are the limits of a Tree built without WithLimits.
var DefaultLimits = Limits{MaxDepth: 32, MaxTotLen: 1024, MaxSegLen: 127}

// AccessType is the DDF AccessType set of a node (TND §7): which commands a
// server may ever run on it, independently of ACLs. Zero means "not declared"
// (everything allowed by the ACL).
type AccessType uint8

// Access types.
const (
	AccessAdd AccessType = 1 << iota
	AccessCopy
	AccessDelete
	AccessExec
	AccessGet
	AccessReplace

	AccessAll = AccessAdd | AccessCopy | AccessDelete | AccessExec | AccessGet | AccessReplace
)

// Scope is the DDF Scope of a node.
type Scope uint8

// Scopes. Permanent nodes cannot be deleted or renamed by anyone (405).
const (
	ScopeUnspecified Scope = iota
	ScopeDynamic
	ScopePermanent
)

// Desc is the DDF description of a node or node pattern (TND §7). Path is an
// absolute URI pattern where a "*" segment stands for any name (an unnamed
// DDF node, <X>), e.g. "./DMAcc/*/AppAuth/*/AAuthSecret". Descriptions are
// registered with Tree.Declare or by a provider implementing Describer; the
// tree enforces Access, Scope, Format (415 on mismatch when non-empty) and
// Secret, and `omadm-agent ddf` prints them.
type Desc struct {
	Path        string
	Access      AccessType
	Format      string // expected Format ("node" for interiors); "" = any
	Type        string // MIME of a leaf or MO identifier (DDFName/URN) of an interior
	Occurrence  string // "One", "ZeroOrOne", "ZeroOrMore", "OneOrMore", "ZeroOrN", "OneOrN"
	Scope       Scope
	Description string
	Default     string // DefaultValue
	Secret      bool   // mask in logs and dumps; implied for AAuthSecret and AAuthData
}

// Alert is an asynchronous result a provider reports later (Generic Alert
// 1226, e.g. FUMO after Exec returned ErrAsync). Providers receive a
// func(Alert) from their constructor; the agent persists and sends them.
type Alert struct {
	Type       string // e.g. "org.openmobilealliance.dm.firmwareupdate.downloadandupdate"
	Format     string // Meta Format of Data, default chr
	Mark       string // Meta Mark, e.g. "critical"; optional
	Source     URI    // the node that was executed
	Correlator string // from the Exec
	Data       []byte // result code etc.
}

// Option configures a Tree.
type Option func(*config)

type config struct {
	limits  Limits
	now     func() time.Time
	rootACL string
}

// WithLimits sets the URI limits (enforced with ErrURITooLong, 414).
func WithLimits(l Limits) Option { return func(c *config) { c.limits = l } }

// WithClock sets the clock used for TStamp (tests).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRootACL sets the ACL given to the root of a new (never persisted) tree;
// default "Add=*&Get=*".
func WithRootACL(acl string) Option { return func(c *config) { c.rootACL = acl } }

// DefaultRootACL is the ACL of the root of a new tree.
const DefaultRootACL = "Add=*&Get=*"

// Provider serves the subtree mounted at a prefix (a configuration service
// provider, CSP). URIs passed to providers are absolute and canonical, and
// always at or below the mount prefix. Get returns ErrNotFound for a missing
// node. Providers never check ACLs; they may refuse a value with
// ErrBadRequest, ErrUnsupportedMedia, ErrForbidden (in use), ErrDeviceFull...
type Provider interface {
	Get(ctx context.Context, u URI) (Node, error)
}

// Adder is implemented by providers that accept Add. v.Format is "node" for an
// interior node; implicit parents are added one by one, parents first.
type Adder interface {
	Add(ctx context.Context, u URI, v Value) error
}

// Replacer is implemented by providers whose leaves can be replaced
// (absent ⇒ 405).
type Replacer interface {
	Replace(ctx context.Context, u URI, v Value) error
}

// Deleter is implemented by providers whose nodes can be deleted; Delete on an
// interior node removes its whole subtree.
type Deleter interface {
	Delete(ctx context.Context, u URI) error
}

// Executer is implemented by providers with executable nodes. Returning
// ErrAsync means "accepted, result follows as an Alert" (202).
type Executer interface {
	Exec(ctx context.Context, u URI, data []byte, correlator string) error
}

// Renamer is implemented by providers that support Replace of ?prop=Name.
// name is the new decoded (UTF-8) name; the tree has checked duplicates.
type Renamer interface {
	Rename(ctx context.Context, u URI, name string) error
}

// Transactional is implemented by providers that can take part in an Atomic.
// The tree calls Begin on first touch inside a Txn, then the provider's
// ordinary Add/Replace/Delete methods, then Commit or Rollback of the returned
// ProviderTx. Rollback must restore exactly the state before Begin.
type Transactional interface {
	Begin(ctx context.Context) (ProviderTx, error)
}

// ProviderTx is a provider-side transaction.
type ProviderTx interface {
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Describer is implemented by providers that publish DDF descriptions of
// their subtree (see Desc); Mount registers them like Tree.Declare.
type Describer interface {
	Describe() []Desc
}
