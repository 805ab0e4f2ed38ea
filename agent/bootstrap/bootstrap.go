package bootstrap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

// Sentinel errors; Apply's errors wrap one of them.
var (
	// ErrRefused: the document was refused as a whole (bad syntax, a
	// command that failed, an invalid account); the tree is unchanged.
	ErrRefused = errors.New("bootstrap refused")
	// ErrUnauthenticated: a pushed document failed its SEC/MAC check.
	ErrUnauthenticated = errors.New("bootstrap not authenticated")
	// ErrUnknownDocument: neither a SyncML DM message nor a
	// wap-provisioningdoc.
	ErrUnknownDocument = errors.New("not a DM bootstrap message or a CP provisioning document")
)

// Kind is the profile of a bootstrap document.
type Kind string

// Kinds.
const (
	KindDM Kind = "dm" // SyncML DM message (Bootstrap §3.1.4)
	KindCP Kind = "cp" // WAP provisioning document with a w7 APPLICATION (§3.1.3)
)

// Encoding is the wire form of a document.
type Encoding string

// Encodings.
const (
	XML   Encoding = "xml"
	WBXML Encoding = "wbxml"
)

// Push carries the WSP SEC and MAC parameters of a pushed bootstrap and the
// keys to check them (protocol.md §2.4).
type Push struct {
	Sec  auth.SecMethod
	MAC  string // 40 hex digits; "" = the push had no MAC (refused)
	IMSI string // for NETWPIN / USERNETWPIN
	PIN  string // for USERPIN / USERNETWPIN
}

// Options control Apply.
type Options struct {
	// Principal runs the DM commands; the zero value means
	// tree.LocalPrincipal. CP documents are applied as this principal too.
	Principal tree.Principal
	// Origin is recorded in ./DMAcc/<x>/Ext/Origin of every account the
	// document creates: "file", "push", "smartcard:<ICCID>"... "" = "local".
	Origin string
	// Push, if non-nil, makes Apply verify the SEC/MAC before anything else;
	// a missing or wrong MAC refuses the document (ErrUnauthenticated).
	Push *Push
}

// Report says what a successful Apply did.
type Report struct {
	Kind     Kind
	Encoding Encoding
	// Added are the ServerIDs of the accounts the document created, in tree
	// order: the agent starts a client-initiated session (1201) to each.
	Added []string
	// Nodes are the ./DMAcc/<x> nodes of Added, in the same order.
	Nodes []string
	// Changed are the ServerIDs of existing accounts the document changed.
	Changed []string
	// Warnings: accounts accepted without a server address, parts of a CP
	// document that were ignored, DM commands that have no effect here.
	Warnings []string
}

// VerifyPush checks the MAC of a pushed bootstrap body with agent/auth
// (HMAC-SHA1 keyed per SEC). It returns nil or an error wrapping
// ErrUnauthenticated.
func VerifyPush(ctx context.Context, sec auth.SecMethod, mac string, body []byte, imsi, pin string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if strings.TrimSpace(strings.TrimRight(mac, "\x00")) == "" {
		return fmt.Errorf("%w: push has no MAC", ErrUnauthenticated)
	}
	if err := auth.VerifyBootstrapMAC(sec, mac, body, imsi, pin); err != nil {
		return fmt.Errorf("%w: SEC %s: %w", ErrUnauthenticated, sec, err)
	}
	return nil
}

// Detect tells the profile and encoding of doc without applying it.
func Detect(doc []byte) (Kind, Encoding, error) {
	if len(doc) > 0 && doc[0] <= 0x03 {
		r, err := wbxml.NewReader(doc)
		if err != nil {
			return "", WBXML, fmt.Errorf("%w: %w", ErrUnknownDocument, err)
		}
		switch r.Doc().Root {
		case "SyncML":
			return KindDM, WBXML, nil
		case "wap-provisioningdoc":
			return KindCP, WBXML, nil
		}
		return "", WBXML, fmt.Errorf("%w: WBXML document type %q", ErrUnknownDocument, r.Doc().Name)
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return "", XML, fmt.Errorf("%w: no root element", ErrUnknownDocument)
		}
		if err != nil {
			return "", XML, fmt.Errorf("%w: %w", ErrUnknownDocument, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "SyncML":
				return KindDM, XML, nil
			case "wap-provisioningdoc":
				return KindCP, XML, nil
			}
			return "", XML, fmt.Errorf("%w: root element <%s>", ErrUnknownDocument, se.Name.Local)
		}
	}
}

// Apply applies the bootstrap document doc to t, all or nothing, inside one
// tree transaction: a DM bootstrap message (XML or WBXML) or a CP
// wap-provisioningdoc (XML or WBXML) with w7 APPLICATION characteristics.
// Every account it creates or changes must pass dmacc.Store.Check (an
// account without any address is accepted with a warning); otherwise, or if
// any command fails, the transaction is rolled back and Apply returns an
// error wrapping ErrRefused whose text is one line. The caller flushes t.
func Apply(ctx context.Context, t *tree.Tree, doc []byte, opts Options) (Report, error) {
	if opts.Push != nil {
		if err := VerifyPush(ctx, opts.Push.Sec, opts.Push.MAC, doc, opts.Push.IMSI, opts.Push.PIN); err != nil {
			return Report{}, err
		}
	}
	if opts.Principal == (tree.Principal{}) {
		opts.Principal = tree.LocalPrincipal
	}
	if opts.Origin == "" {
		opts.Origin = "local"
	}
	kind, enc, err := Detect(doc)
	if err != nil {
		return Report{Encoding: enc}, err
	}
	rep := Report{Kind: kind, Encoding: enc}
	var plan func(ctx context.Context, tx *tree.Txn, a *applier) error
	switch kind {
	case KindDM:
		p, err := parseDM(doc)
		if err != nil {
			return rep, refused(err)
		}
		plan = p
	case KindCP:
		p, err := parseCP(doc, enc)
		if err != nil {
			return rep, refused(err)
		}
		plan = p
	}
	var inner error
	err = t.Atomic(ctx, func(ctx context.Context, tx *tree.Txn) error {
		a := &applier{t: t, tx: tx, p: opts.Principal, rep: &rep, store: dmacc.New(t)}
		if err := a.begin(ctx); err != nil {
			inner = err
			return err
		}
		if err := plan(ctx, tx, a); err != nil {
			inner = err
			return err
		}
		if err := a.finish(ctx, opts.Origin); err != nil {
			inner = err
			return err
		}
		return nil
	})
	if err != nil {
		rep.Added, rep.Nodes, rep.Changed = nil, nil, nil
		if inner != nil && !errors.Is(err, tree.ErrRollbackFailed) {
			err = inner
		}
		return rep, refused(err)
	}
	return rep, nil
}

func refused(err error) error {
	if errors.Is(err, ErrRefused) {
		return err
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	return &refusedError{msg: msg, err: err}
}

type refusedError struct {
	msg string
	err error
}

func (e *refusedError) Error() string   { return "bootstrap refused: " + e.msg }
func (e *refusedError) Unwrap() []error { return []error{ErrRefused, e.err} }

// applier tracks which accounts a document touches.
type applier struct {
	t       *tree.Tree
	tx      *tree.Txn
	p       tree.Principal
	rep     *Report
	store   *dmacc.Store
	before  []string
	touched map[string]bool // account nodes
	all     bool            // a TNDS/whole-subtree target: check every account
}

func (a *applier) begin(ctx context.Context) error {
	nodes, err := a.store.Nodes(ctx)
	if err != nil {
		return err
	}
	a.before = nodes
	a.touched = map[string]bool{}
	return nil
}

// touch notes that target (a canonical URI) was written.
func (a *applier) touch(target string) {
	u, _, err := tree.ParseURI(target, tree.Limits{})
	if err != nil {
		return
	}
	switch {
	case u.HasPrefix(dmacc.Root) && u != dmacc.Root:
		seg := u.Segments()[1]
		a.touched[string(dmacc.Root.ChildSeg(seg))] = true
	case dmacc.Root.HasPrefix(u) || u.HasPrefix(tree.InboxURI):
		a.all = true
	}
}

// finish validates new and touched accounts and records the origin of new
// ones.
func (a *applier) finish(ctx context.Context, origin string) error {
	after, err := a.store.Nodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range after {
		isNew := !slices.Contains(a.before, n)
		if !isNew && !a.all && !a.touched[n] {
			continue
		}
		acc, err := a.store.Check(ctx, n)
		var ie *dmacc.InvalidError
		switch {
		case errors.As(err, &ie) && ie.OnlyNoAddress():
			a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf("%s (%s) has no server address: no session until AppAddr is set", n, acc.ServerID))
		case err != nil:
			return err
		}
		if !isNew {
			a.rep.Changed = append(a.rep.Changed, acc.ServerID)
			continue
		}
		a.rep.Added = append(a.rep.Added, acc.ServerID)
		a.rep.Nodes = append(a.rep.Nodes, n)
		if err := a.tx.Add(ctx, tree.LocalPrincipal, n+"/"+dmacc.OriginNode, tree.Value{Data: []byte(origin)}); err != nil {
			if !errors.Is(err, tree.ErrAlreadyExists) {
				return fmt.Errorf("recording origin: %w", err)
			}
			if err := a.tx.Replace(ctx, tree.LocalPrincipal, n+"/"+dmacc.OriginNode, tree.Value{Data: []byte(origin)}); err != nil {
				return fmt.Errorf("recording origin: %w", err)
			}
		}
	}
	return nil
}
