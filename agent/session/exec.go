package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

// where a command runs.
type scope int

const (
	inBody scope = iota
	inSequence
	inAtomic
)

// execute runs every command of m (Status commands were handled already)
// and queues the Status and Results answers.
func (s *session) execute(ctx context.Context, m *syncml.Message) {
	for _, c := range m.Body {
		if c.Kind == syncml.KindStatus && c.Problem == nil {
			continue
		}
		if s.lo != nil && !s.continuesChunk(c) {
			s.interruptChunk()
		}
		s.sum.Commands++
		out, _ := s.run1(ctx, c, inBody)
		s.push(out...)
	}
	if m.Final && s.lo != nil {
		s.interruptChunk()
	}
}

// continuesChunk reports whether c carries the next chunk of s.lo.
func (s *session) continuesChunk(c *syncml.Command) bool {
	return c.Problem == nil && c.Kind == s.lo.kind && len(c.Items) >= 1 && c.Items[0].Target != nil &&
		c.Items[0].Target.LocURI == s.lo.target
}

// interruptChunk drops the object being reassembled and queues Alert 1225.
func (s *session) interruptChunk() {
	lo := s.lo
	s.lo = nil
	it := &syncml.Item{Target: &syncml.Location{LocURI: lo.target}}
	if lo.item.Source != nil {
		it.Source = &syncml.Location{LocURI: lo.item.Source.LocURI}
	}
	s.push(&syncml.Command{Kind: syncml.KindAlert, Data: syncml.AlertNoEndOfData.Data(), Items: []*syncml.Item{it}})
	s.log.Warn("chunked object interrupted", "target", lo.target, "received", len(lo.buf), "size", lo.size)
}

// failed reports whether a status code means the command did not succeed.
func failed(code int) bool { return code >= 300 }

// run1 executes one command and returns its answers (Status first, then
// Results) and whether it failed.
func (s *session) run1(ctx context.Context, c *syncml.Command, where scope) ([]*syncml.Command, bool) {
	if c.Problem != nil {
		code := int(syncml.ProblemStatus(c.Problem))
		return []*syncml.Command{s.status(c, code, nil)}, true
	}
	switch c.Kind {
	case syncml.KindAdd, syncml.KindReplace, syncml.KindDelete, syncml.KindCopy, syncml.KindExec, syncml.KindGet:
		if where == inAtomic && (c.Kind == syncml.KindGet || c.Kind == syncml.KindExec) {
			return []*syncml.Command{s.status(c, codeCommandFailed, first(c.Items))}, true
		}
		return s.itemCommand(ctx, c, where)
	case syncml.KindAlert:
		return s.alert(ctx, c, where)
	case syncml.KindSequence:
		if where == inAtomic {
			return []*syncml.Command{s.status(c, codeCommandFailed, nil)}, true
		}
		return s.sequence(ctx, c)
	case syncml.KindAtomic:
		if where == inAtomic {
			return []*syncml.Command{s.status(c, codeCommandFailed, nil)}, true // nested Atomic
		}
		out, bad := s.atomic(ctx, c)
		s.keepTogether(out)
		return out, bad
	case syncml.KindResults, syncml.KindStatus:
		return []*syncml.Command{s.status(c, codeOptionalFeature, nil)}, true
	}
	return []*syncml.Command{s.status(c, codeOptionalFeature, nil)}, true
}

func first(items []*syncml.Item) *syncml.Item {
	if len(items) > 0 {
		return items[0]
	}
	return nil
}

// itemCommand runs Add/Replace/Delete/Copy/Exec/Get, one Status per Item.
func (s *session) itemCommand(ctx context.Context, c *syncml.Command, where scope) ([]*syncml.Command, bool) {
	if len(c.Items) == 0 {
		return []*syncml.Command{s.status(c, tree.StatusCode(tree.ErrIncomplete), nil)}, true
	}
	var out []*syncml.Command
	bad := false
	for i, it := range c.Items {
		if it.MoreData && i < len(c.Items)-1 && (c.Kind == syncml.KindAdd || c.Kind == syncml.KindReplace) {
			// Protocol §2.2: no new Item may come between the chunks of
			// an object, so a chunk is the last Item of its command. This
			// one is refused and not buffered; an object it continued is
			// abandoned (Alert 1225). The other Items run as usual.
			if s.lo != nil {
				s.interruptChunk()
			}
			out = append(out, s.status(c, tree.StatusCode(tree.ErrBadRequest), it))
			bad = true
			continue
		}
		code, res := s.item(ctx, c, it, where)
		out = append(out, s.status(c, code, it))
		out = append(out, res...)
		bad = bad || failed(code)
	}
	return out, bad
}

// item runs one Item of an item command. It returns the status code and,
// for Get, the Results.
func (s *session) item(ctx context.Context, c *syncml.Command, it *syncml.Item, where scope) (int, []*syncml.Command) {
	target := ""
	if it.Target != nil {
		target = it.Target.LocURI
	}
	if target == "" {
		return tree.StatusCode(tree.ErrIncomplete), nil
	}
	// Large objects (top level Add/Replace only). Another object while one
	// is being reassembled ends that one (Protocol §2.2, Alert 1225).
	if s.lo != nil && (c.Kind != s.lo.kind || target != s.lo.target) {
		s.interruptChunk()
	}
	if (c.Kind == syncml.KindAdd || c.Kind == syncml.KindReplace) && (it.MoreData || s.lo != nil) {
		if where != inBody {
			return tree.StatusCode(tree.ErrBadRequest), nil
		}
		return s.chunk(ctx, c, it)
	}
	switch c.Kind {
	case syncml.KindAdd, syncml.KindReplace:
		v, err := s.value(c, it, nil)
		if err != nil {
			return statusOf(err), nil
		}
		if c.Kind == syncml.KindAdd {
			return tree.StatusCode(s.t.Add(ctx, s.principal, target, v)), nil
		}
		return tree.StatusCode(s.t.Replace(ctx, s.principal, target, v)), nil
	case syncml.KindDelete:
		return tree.StatusCode(s.t.Delete(ctx, s.principal, target)), nil
	case syncml.KindCopy:
		if it.Source == nil || it.Source.LocURI == "" {
			return tree.StatusCode(tree.ErrIncomplete), nil
		}
		return tree.StatusCode(s.t.Copy(ctx, s.principal, target, it.Source.LocURI)), nil
	case syncml.KindExec:
		var data []byte
		if it.Data != nil {
			data = []byte(it.Data.Text)
		}
		err := s.t.Exec(ctx, s.principal, target, data, c.Correlator)
		if errors.Is(err, tree.ErrAsync) {
			s.recordAsyncExec(target, c.Correlator)
		}
		return tree.StatusCode(err), nil
	case syncml.KindGet:
		r, err := s.t.Get(ctx, s.principal, target)
		if err != nil {
			return tree.StatusCode(err), nil
		}
		return s.results(c, target, r)
	}
	return codeOptionalFeature, nil
}

// errTooLarge marks an object over our MaxObjSize (413, protocol level).
var errTooLarge = errors.New("object larger than MaxObjSize")

func statusOf(err error) int {
	if errors.Is(err, errTooLarge) {
		return codeTooLarge
	}
	return tree.StatusCode(err)
}

// metaOf merges command Meta and item Meta (the item wins).
func metaOf(c *syncml.Command, it *syncml.Item) syncml.Meta {
	var m syncml.Meta
	if c.Meta != nil {
		m = *c.Meta
	}
	if im := it.Meta; im != nil {
		if im.Format != "" {
			m.Format = im.Format
		}
		if im.Type != "" {
			m.Type = im.Type
		}
		if im.Size != "" {
			m.Size = im.Size
		}
	}
	return m
}

// value builds the tree value of an Add/Replace item; data, if non-nil,
// replaces the item's Data (a reassembled large object).
func (s *session) value(c *syncml.Command, it *syncml.Item, data []byte) (tree.Value, error) {
	m := metaOf(c, it)
	v := tree.Value{Format: m.Format, Type: m.Type}
	switch {
	case data != nil:
		v.Data = data
	case it.Data == nil:
	case it.Data.IsTree():
		v.Data = it.Data.Tree
		if v.Type == "" || v.Type == tree.TypeTNDSWBXML {
			v.Type = tree.TypeTNDSXML // the codec hands embedded trees over as XML
		}
	default:
		v.Data = []byte(it.Data.Text)
	}
	if v.Format == tree.FormatB64 {
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(v.Data)), ""))
		if err != nil {
			return v, fmt.Errorf("%w: Data is not base64", tree.ErrBadRequest)
		}
		v.Data, v.Format = raw, tree.FormatBin
	}
	if s.maxObj > 0 && len(v.Data) > s.maxObj {
		return v, errTooLarge
	}
	return v, nil
}

// chunk handles one chunk of a large object (protocol.md §5.5).
func (s *session) chunk(ctx context.Context, c *syncml.Command, it *syncml.Item) (int, []*syncml.Command) {
	if s.lo == nil {
		m := metaOf(c, it)
		size, ok := m.SizeInt()
		if !ok || size < 0 {
			return tree.StatusCode(tree.ErrIncomplete), nil // first chunk without Size
		}
		if s.maxObj > 0 && size > int64(s.maxObj) {
			return codeTooLarge, nil
		}
		s.lo = &largeObject{kind: c.Kind, cmd: c, item: it, target: it.Target.LocURI, meta: m, size: size}
	}
	lo := s.lo
	if it.Data != nil {
		lo.buf = append(lo.buf, it.Data.Text...)
	}
	if int64(len(lo.buf)) > lo.size {
		s.lo = nil
		return codeSizeMismatch, nil
	}
	if it.MoreData {
		return codeChunkAccepted, nil
	}
	s.lo = nil
	if int64(len(lo.buf)) != lo.size {
		return codeSizeMismatch, nil
	}
	// Execute the whole object with the first chunk's Meta.
	fc := &syncml.Command{Kind: lo.kind, Meta: &lo.meta}
	v, err := s.value(fc, &syncml.Item{}, lo.buf)
	if err != nil {
		return statusOf(err), nil
	}
	if lo.kind == syncml.KindAdd {
		return tree.StatusCode(s.t.Add(ctx, s.principal, lo.target, v)), nil
	}
	return tree.StatusCode(s.t.Replace(ctx, s.principal, lo.target, v)), nil
}

// results turns a Get result into Results commands (one per item).
func (s *session) results(c *syncml.Command, target string, r tree.Result) (int, []*syncml.Command) {
	var out []*syncml.Command
	query := strings.Contains(target, "?")
	for _, ti := range r.Items {
		src := string(ti.URI)
		if query && len(r.Items) == 1 {
			src = target
		}
		it := &syncml.Item{Source: &syncml.Location{LocURI: src}}
		meta := &syncml.Meta{}
		if ti.Format != "" && ti.Format != tree.FormatChr {
			meta.Format = ti.Format
		}
		if ti.Type != "" && ti.Type != tree.TypeText {
			meta.Type = ti.Type
		}
		switch {
		case ti.TNDS != nil || ti.Type == tree.TypeTNDSXML:
			x := stripXMLDecl(ti.Data)
			it.Data = syncml.TreeData(x)
			// The WBXML codec writes the tree as an embedded WBXML
			// document and the Type as ...dmtnds+wbxml.
			meta.Format = tree.FormatXML
			meta.Type = tree.TypeTNDSXML
		case ti.Data == nil:
		case ti.Format == tree.FormatBin || ti.Format == tree.FormatB64 || !utf8.Valid(ti.Data) || hasControl(ti.Data):
			it.Data = syncml.TextData(base64.StdEncoding.EncodeToString(ti.Data))
			meta.Format = tree.FormatB64
		default:
			it.Data = syncml.TextData(string(ti.Data))
		}
		if meta.Format != "" || meta.Type != "" {
			it.Meta = meta
		}
		size := len(ti.Data)
		if it.Data != nil && !it.Data.IsTree() {
			size = len(it.Data.Text)
		}
		if s.srvMaxObj > 0 && size > s.srvMaxObj {
			return codeTooLarge, nil
		}
		out = append(out, &syncml.Command{Kind: syncml.KindResults, MsgRef: s.srvMsgID, CmdRef: c.CmdID,
			Items: []*syncml.Item{it}})
	}
	return tree.StatusCode(nil), out
}

func stripXMLDecl(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if bytes.HasPrefix(b, []byte("<?xml")) {
		if i := bytes.Index(b, []byte("?>")); i >= 0 {
			b = bytes.TrimSpace(b[i+2:])
		}
	}
	return b
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
	}
	return false
}

// alert answers an Alert from the server.
func (s *session) alert(ctx context.Context, c *syncml.Command, where scope) ([]*syncml.Command, bool) {
	code, ok := c.AlertCode()
	switch {
	case !ok:
		return []*syncml.Command{s.status(c, tree.StatusCode(tree.ErrBadRequest), nil)}, true
	case code == syncml.AlertNextMessage || code == syncml.AlertNoEndOfData:
		return []*syncml.Command{s.status(c, codeOK, nil)}, false
	case code.IsUI():
		req := parseUIAlert(s.trig.ServerID, code, c)
		resp, err := s.cfg.UI.Ask(ctx, req)
		if err != nil {
			resp = UIResponse{Status: codeCommandFailed}
		}
		if resp.Status == 0 {
			resp.Status = codeOK
		}
		st := s.status(c, resp.Status, nil)
		for _, d := range resp.Data {
			if code < syncml.AlertTextInput || resp.Status != codeOK {
				break // only input and choices carry data
			}
			st.Items = append(st.Items, &syncml.Item{Data: syncml.TextData(d)})
		}
		s.log.Info("UI alert answered", "alert", int(code), "status", resp.Status)
		return []*syncml.Command{st}, failed(resp.Status)
	}
	return []*syncml.Command{s.status(c, codeOptionalFeature, nil)}, true
}

// sequence runs the children in order; after a failure (or a UI "No") the
// rest are not executed (215). The Sequence itself gets 200.
func (s *session) sequence(ctx context.Context, c *syncml.Command) ([]*syncml.Command, bool) {
	out := []*syncml.Command{s.status(c, codeOK, nil)}
	stop := false
	for _, ch := range c.Children {
		if stop {
			out = append(out, s.notExecuted(ch)...)
			continue
		}
		o, bad := s.run1(ctx, ch, inSequence)
		out = append(out, o...)
		stop = bad
	}
	return out, false
}

// notExecuted answers 215 for c (one per item, for item commands).
func (s *session) notExecuted(c *syncml.Command) []*syncml.Command {
	if len(c.Items) > 1 && c.Kind != syncml.KindAlert {
		var out []*syncml.Command
		for _, it := range c.Items {
			out = append(out, s.status(c, codeNotExecuted, it))
		}
		return out
	}
	return []*syncml.Command{s.status(c, codeNotExecuted, first(c.Items))}
}

// atomic runs the children in one tree transaction: all or nothing.
func (s *session) atomic(ctx context.Context, c *syncml.Command) ([]*syncml.Command, bool) {
	var targets []string
	for _, ch := range c.Children {
		for _, it := range ch.Items {
			if it.Target != nil && it.Target.LocURI != "" {
				targets = append(targets, it.Target.LocURI)
			}
		}
	}
	refuse := func(code int) ([]*syncml.Command, bool) {
		out := []*syncml.Command{s.status(c, code, nil)}
		for _, ch := range c.Children {
			out = append(out, s.notExecuted(ch)...)
		}
		return out, true
	}
	if err := s.t.CheckAtomic(targets...); err != nil {
		s.log.Warn("Atomic refused", "err", err)
		return refuse(tree.StatusCode(err))
	}
	tx, err := s.t.Begin(ctx)
	if err != nil {
		return refuse(tree.StatusCode(err))
	}
	tctx := tx.Context(ctx)
	var (
		kids     []*syncml.Command
		executed []*syncml.Command // statuses of children that succeeded
		bad      bool
	)
	for _, ch := range c.Children {
		if bad {
			kids = append(kids, s.notExecuted(ch)...)
			continue
		}
		o, f := s.run1(tctx, ch, inAtomic)
		kids = append(kids, o...)
		if f {
			bad = true
		}
		for _, st := range o {
			if code, _ := st.StatusCode(); st.Kind == syncml.KindStatus && !failed(int(code)) {
				executed = append(executed, st)
			}
		}
	}
	// rollback undoes the children and turns the Status of each child that
	// had succeeded into 216 (516 if the rollback failed).
	rollback := func() {
		rb := codeRolledBack
		if err := tx.Rollback(ctx); err != nil {
			s.log.Error("Atomic rollback failed", "err", err)
			rb = codeRollbackFailed
		}
		for _, st := range executed {
			s.recode(st, rb)
		}
	}
	st := s.status(c, codeOK, nil)
	switch {
	case bad:
		rollback()
		s.recode(st, codeAtomicFailed)
	case !s.fitsOneMessage(append([]*syncml.Command{st}, kids...)):
		// RepPro §4.1.6.3: 517 when the answers cannot go in one message
		// (see doc.go, "Atomic").
		s.log.Warn("Atomic answers do not fit in one message: rolled back", "commands", len(c.Children), "server_max_msg_size", s.srvMaxMsg)
		rollback()
		s.recode(st, codeAtomicTooLarge)
	default:
		if err := tx.Commit(ctx); err != nil {
			s.log.Error("Atomic commit", "err", err)
			s.recode(st, tree.StatusCode(err))
		}
	}
	code, _ := st.StatusCode()
	return append([]*syncml.Command{st}, kids...), failed(int(code))
}

// devInfoItems reads every ./DevInfo leaf as the local principal.
func (s *session) devInfoItems(ctx context.Context) ([]*syncml.Item, error) {
	var items []*syncml.Item
	var walk func(u string, depth int) error
	walk = func(u string, depth int) error {
		r, err := s.t.Get(ctx, tree.LocalPrincipal, u)
		if err != nil {
			return err
		}
		if len(r.Items) != 1 {
			return nil
		}
		ti := r.Items[0]
		if ti.Format == tree.FormatNode {
			if depth > 8 || len(ti.Data) == 0 {
				return nil
			}
			for _, seg := range strings.Split(string(ti.Data), "/") {
				if err := walk(u+"/"+seg, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		it := &syncml.Item{Source: &syncml.Location{LocURI: u}}
		meta := &syncml.Meta{}
		if ti.Format != "" && ti.Format != tree.FormatChr {
			meta.Format = ti.Format
		}
		if ti.Type != "" && ti.Type != tree.TypeText {
			meta.Type = ti.Type
		}
		if ti.Format == tree.FormatBin || !utf8.Valid(ti.Data) || hasControl(ti.Data) {
			meta.Format = tree.FormatB64
			it.Data = syncml.TextData(base64.StdEncoding.EncodeToString(ti.Data))
		} else {
			it.Data = syncml.TextData(string(ti.Data))
		}
		if meta.Format != "" || meta.Type != "" {
			it.Meta = meta
		}
		items = append(items, it)
		return nil
	}
	if err := walk("./DevInfo", 0); err != nil {
		if errors.Is(err, tree.ErrNotFound) {
			return []*syncml.Item{{Source: &syncml.Location{LocURI: "./DevInfo/DevId"}, Data: syncml.TextData(s.devID)}}, nil
		}
		return nil, fmt.Errorf("reading ./DevInfo: %w", err)
	}
	return items, nil
}

// genericAlerts builds Alert 1226 commands from the outbox (or, without
// one, from the trigger).
func (s *session) genericAlerts() ([]*outCmd, error) {
	type pending struct {
		id string
		a  tree.Alert
	}
	var ps []pending
	if s.cfg.Outbox != nil {
		es, err := s.cfg.Outbox.Pending()
		if err != nil {
			s.log.Warn("outbox", "err", err)
		}
		for _, e := range es {
			if e.ServerID == s.trig.ServerID {
				ps = append(ps, pending{e.ID, e.Alert})
			}
		}
	} else {
		for _, a := range s.trig.Alerts {
			ps = append(ps, pending{"", a})
		}
	}
	var out []*outCmd
	for _, p := range ps {
		a := p.a
		meta := &syncml.Meta{Type: a.Type, Format: a.Format, Mark: a.Mark}
		data := string(a.Data)
		if a.Format == tree.FormatBin || !utf8.Valid(a.Data) || hasControl(a.Data) {
			meta.Format = tree.FormatB64
			data = base64.StdEncoding.EncodeToString(a.Data)
		}
		if meta.Format == tree.FormatChr {
			meta.Format = ""
		}
		it := &syncml.Item{Meta: meta, Data: syncml.TextData(data)}
		if a.Source != "" {
			it.Source = &syncml.Location{LocURI: string(a.Source)}
		}
		cmd := &syncml.Command{Kind: syncml.KindAlert, Data: syncml.AlertGeneric.Data(), Correlator: a.Correlator,
			Items: []*syncml.Item{it}}
		out = append(out, &outCmd{cmd: cmd, alertID: p.id})
	}
	return out, nil
}
