package dmtest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// roundReply answers the complete package of round r: it evaluates the
// round, then sends the first message of the server's package.
func (e *engine) roundReply(r *round, m *syncml.Message, ex int) *response {
	s := e.sess
	e.completeRound(r, ex)
	s.pastPkg1 = true
	e.pkg = newPkg()
	e.ri++
	if r.maxMsgSize >= 0 {
		e.maxMsgSize = r.maxMsgSize
	}
	if r.respURI != "" {
		s.respURI = r.respURI
	}
	if r.abort {
		ab := &syncml.Command{Kind: syncml.KindAlert, Data: syncml.AlertSessionAbort.Data()}
		resp := e.build(ex, []*syncml.Command{ab}, false, true)
		s.ended = true
		e.note(ex, "the server aborts the session (Alert 1223)")
		return e.applyFault(r, resp, ex)
	}
	if r.fault == nil {
		for _, o := range r.out {
			q := &qItem{kind: o.kind, line: o.line, label: o.label, cmd: o.cmd, lo: o.lo}
			if o.kind == outLarge {
				q.loData = largeData(o.lo)
				e.sentValues[o.lo.uri] = q.loData
			}
			s.queue = append(s.queue, q)
		}
	}
	resp := e.build(ex, nil, true, false)
	if len(s.queue) == 0 && !s.awaitCont && countCommands(r) == 0 {
		s.ended = true
		// A Package #0 announces one session: once that session has ended
		// normally, the next one is client-initiated unless another
		// notification is sent (a session cut short by a fault is retried
		// and must still be the server-initiated one).
		e.expectSID = -1
	}
	return e.applyFault(r, resp, ex)
}

func (e *engine) applyFault(r *round, resp *response, ex int) *response {
	x := &e.transcript[ex]
	if r.stall > 0 {
		resp.stall = r.stall
		x.Fault = "stall " + r.stall.String()
	}
	f := r.fault
	if f == nil {
		return resp
	}
	switch f.kind {
	case "http":
		code := f.httpStatus
		resp = textResponse(code, fmt.Sprintf("scenario fault: HTTP %d %s", code, http.StatusText(code)))
		x.Response = nil
		x.Fault = appendFault(x.Fault, fmt.Sprintf("http %d", code))
	case "garbage":
		g := make([]byte, 96)
		_, _ = rand.Read(g)
		if e.sess != nil && e.sess.enc == syncml.WBXML {
			g = append([]byte{0x02, 0xa4, 0x01, 0x6a, 0x00, 0x6d, 0x6c, 0x71, 0xc3, 0xff}, g...)
		} else {
			g = append([]byte("<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><Garbage "), []byte(base64.StdEncoding.EncodeToString(g))...)
		}
		resp.body = g
		resp.header = nil
		x.Response = nil
		x.Fault = appendFault(x.Fault, "garbage")
	case "truncate":
		resp.body = resp.body[:len(resp.body)/2]
		resp.header = nil // an HMAC over the whole body would not match anyway
		x.Response = nil
		x.Fault = appendFault(x.Fault, "truncate")
	case "content-type":
		resp.contentType = f.contentType
		x.Fault = appendFault(x.Fault, "content-type "+f.contentType)
	case "close":
		resp.close = true
		x.Response = nil
		x.Fault = appendFault(x.Fault, "close")
	}
	e.note(ex, fmt.Sprintf("fault injected (line %d): %s; the session is broken, the next message must start a new session", f.line, x.Fault))
	e.sess = nil
	e.lastWasFault = true
	return resp
}

func appendFault(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

// askNext answers a client message without Final when the server has
// nothing more to send: Status + Alert 1222, no Final.
func (e *engine) askNext(m *syncml.Message, ex int) *response {
	next := &syncml.Command{Kind: syncml.KindAlert, Data: syncml.AlertNextMessage.Data()}
	return e.build(ex, []*syncml.Command{next}, false, false)
}

func (e *engine) sendNext(ex int) *response { return e.build(ex, nil, true, false) }

func (e *engine) sendStatusOnly(m *syncml.Message, ex int, final bool) *response {
	return e.build(ex, nil, false, final)
}

func (e *engine) reject(m *syncml.Message, ex int, why string) *response {
	e.note(ex, why)
	return textResponse(http.StatusBadRequest, why)
}

// emit sends the pending statuses (used for challenges).
func (e *engine) emit(ex int, final bool, extra []*syncml.Command) *response {
	return e.build(ex, extra, false, final)
}

func (e *engine) header() *syncml.Header {
	s := e.sess
	h := &syncml.Header{
		VerDTD:    syncml.VerDTD12,
		VerProto:  syncml.VerProtoDM,
		SessionID: s.id,
		MsgID:     strconv.Itoa(s.srvMsgID),
		Target:    &syncml.Location{LocURI: s.devID},
		Source:    &syncml.Location{LocURI: e.s.url},
	}
	if e.maxMsgSize > 0 || e.opts.MaxObjSize > 0 {
		h.Meta = &syncml.Meta{}
		if e.maxMsgSize > 0 {
			h.Meta.MaxMsgSize = strconv.Itoa(e.maxMsgSize)
		}
		if e.opts.MaxObjSize > 0 {
			h.Meta.MaxObjSize = strconv.Itoa(e.opts.MaxObjSize)
		}
	}
	if s.respURI != "" {
		abs := s.respURI
		if strings.HasPrefix(abs, "/") {
			u, _ := url.Parse(e.s.url)
			abs = u.Scheme + "://" + u.Host + abs
		}
		h.RespURI = abs
		if u, err := url.Parse(abs); err == nil {
			s.expectPath = u.Path
		}
	}
	if !s.serverAuthd {
		switch e.sc.serverCred {
		case AuthBasic:
			h.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeBasic, Format: "b64"}, Data: auth.Basic(e.opts.ServerID, e.opts.ServerPassword)}
		case AuthMD5:
			h.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeMD5, Format: "b64"}, Data: auth.MD5Digest(e.opts.ServerID, e.opts.ServerPassword, e.serverNonce)}
		}
		if h.Cred != nil {
			h.Source.LocName = e.opts.ServerID
		}
	}
	return h
}

// build assembles the next server message: pending statuses, then extra
// commands, then (if useQueue) queued commands as far as they fit in the
// client's MaxMsgSize. With useQueue the message is final when the queue
// is empty; otherwise final says.
func (e *engine) build(ex int, extra []*syncml.Command, useQueue, final bool) *response {
	s := e.sess
	s.srvMsgID++
	sm := &srvMsg{id: s.srvMsgID, cmds: map[string]*sentCmd{}}
	s.srvMsgs[sm.id] = sm
	b, err := syncml.NewBuilder(s.enc, e.header())
	if err != nil {
		e.stop("internal: cannot encode the server header: " + err.Error())
		return textResponse(http.StatusInternalServerError, "encoding failed")
	}
	ids := 0
	nextID := func() string { ids++; return strconv.Itoa(ids) }
	add := func(c *syncml.Command) {
		if err := b.Add(c); err != nil {
			e.note(ex, fmt.Sprintf("internal: cannot encode %s: %v", c.Kind, err))
		}
	}
	for _, st := range s.statuses {
		st.CmdID = nextID()
		add(st)
	}
	s.statuses = nil
	for _, c := range extra {
		c.CmdID = nextID()
		add(c)
		e.register(sm, c, nil, 0, false, 0)
	}
	max := s.clientMax
	base := b.Len()
	s.awaitCont = false
	if useQueue {
	loop:
		for len(s.queue) > 0 {
			q := s.queue[0]
			switch q.kind {
			case outBreak:
				s.queue = s.queue[1:]
				break loop
			case outCmd:
				saved := ids
				c := renumber(q.cmd, nextID)
				if max > 0 && b.Len() > base && !b.Fits(c, max) {
					ids = saved
					break loop
				}
				add(c)
				e.register(sm, c, q.cmd, q.line, true, 0)
				if q.label != "" {
					sm.order[len(sm.order)-1-countDesc(c)].labels = append(sm.order[len(sm.order)-1-countDesc(c)].labels, q.label)
				}
				s.queue = s.queue[1:]
			case outLarge:
				if q.loOff > 0 && b.Len() > base {
					break loop // chunks travel alone
				}
				c, n, last := e.chunkCmd(b, q, nextID(), max)
				if c == nil {
					ids--
					break loop
				}
				add(c)
				q.loN++
				sc := e.register(sm, c, nil, q.line, false, q.loN)
				sc.last = last
				if last && q.label != "" {
					sc.labels = append(sc.labels, q.label)
				}
				q.loOff += n
				if last {
					s.queue = s.queue[1:]
				} else {
					break loop
				}
			}
		}
		final = len(s.queue) == 0
		s.awaitCont = !final
	}
	sm.final = final
	body := b.Bytes(final)
	if max > 0 && len(body) > max {
		e.note(ex, fmt.Sprintf("server message %d is %d bytes, larger than the client's MaxMsgSize %d (one command does not fit)", sm.id, len(body), max))
	}
	return e.respond(ex, body)
}

func countDesc(c *syncml.Command) int {
	n := 0
	for _, ch := range c.Children {
		n += 1 + countDesc(ch)
	}
	return n
}

// renumber returns a deep-enough copy of c with fresh CmdIDs (children
// included). The CmdIDs written in the scenario stay as labels (see
// register, which reads them from orig).
func renumber(c *syncml.Command, next func() string) *syncml.Command {
	cp := *c
	cp.CmdID = next()
	if len(c.Children) > 0 {
		cp.Children = make([]*syncml.Command, len(c.Children))
		for i, ch := range c.Children {
			cp.Children[i] = renumber(ch, next)
		}
	}
	return &cp
}

// register records a sent command (and its children) so the client's
// Status and Results can be matched to it.
func (e *engine) register(sm *srvMsg, c, orig *syncml.Command, line int, scripted bool, chunk int) *sentCmd {
	target := ""
	for _, it := range c.Items {
		if it.Target != nil {
			target = it.Target.LocURI
			break
		}
	}
	sc := &sentCmd{kind: c.Kind, cmdID: c.CmdID, msgID: sm.id, target: target, line: line, chunk: chunk, ans: itemAnswers{items: itemRefs(c)}}
	if orig != nil && orig.CmdID != "" {
		sc.labels = append(sc.labels, orig.CmdID)
	}
	desc := c.Kind
	if c.Kind == syncml.KindAlert {
		desc += " " + c.Data
		sc.next = c.Data == syncml.AlertNextMessage.Data()
	}
	if target != "" {
		desc += " " + target
	}
	if chunk > 0 {
		desc += fmt.Sprintf(" chunk %d", chunk)
	}
	if line > 0 {
		desc += fmt.Sprintf(" (line %d, MsgID %d CmdID %s)", line, sm.id, c.CmdID)
	} else {
		desc += fmt.Sprintf(" (MsgID %d CmdID %s)", sm.id, c.CmdID)
	}
	sc.desc = desc
	sm.cmds[c.CmdID] = sc
	sm.order = append(sm.order, sc)
	e.pkg.sent = append(e.pkg.sent, sc)
	if c.Kind == syncml.KindReplace || c.Kind == syncml.KindAdd {
		for _, it := range c.Items {
			if chunk == 0 && it.Target != nil && it.Data != nil && !it.Data.IsTree() {
				e.sentValues[it.Target.LocURI] = it.Data.Text
			}
		}
	}
	for i, ch := range c.Children {
		var o *syncml.Command
		if orig != nil && i < len(orig.Children) {
			o = orig.Children[i]
		}
		e.register(sm, ch, o, line, scripted, 0)
	}
	return sc
}

// chunkCmd makes the next chunk of a large object, as big as the scenario
// asks and the client's MaxMsgSize allows.
func (e *engine) chunkCmd(b *syncml.Builder, q *qItem, id string, max int) (*syncml.Command, int, bool) {
	rest := len(q.loData) - q.loOff
	n := q.lo.chunk
	if n > rest {
		n = rest
	}
	mk := func(n int) *syncml.Command {
		last := q.loOff+n >= len(q.loData)
		meta := &syncml.Meta{Format: q.lo.format, Type: q.lo.typ}
		if q.loOff == 0 {
			meta.Size = strconv.Itoa(len(q.loData))
		}
		return &syncml.Command{Kind: q.lo.kind, CmdID: id, Items: []*syncml.Item{{
			Target: &syncml.Location{LocURI: q.lo.uri}, Meta: meta,
			Data: syncml.TextData(q.loData[q.loOff : q.loOff+n]), MoreData: !last,
		}}}
	}
	c := mk(n)
	if max > 0 {
		for !b.Fits(c, max) {
			if n <= 16 {
				if b.Len() > 0 && q.loOff > 0 {
					return nil, 0, false
				}
				break
			}
			n = n * 3 / 4
			c = mk(n)
		}
	}
	return c, n, q.loOff+n >= len(q.loData)
}

// largeData returns the deterministic content of a large object: printable
// characters for chr, base64 of pseudo-random bytes for b64.
func largeData(lo *largeObject) string {
	h := fnv.New64a()
	h.Write([]byte(lo.uri))
	x := h.Sum64() | 1
	rnd := func() byte {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return byte(x)
	}
	if lo.format == "b64" {
		raw := make([]byte, (lo.size+3)/4*3)
		for i := range raw {
			raw[i] = rnd()
		}
		return base64.StdEncoding.EncodeToString(raw)[:lo.size]
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	out := make([]byte, lo.size)
	for i := range out {
		if i%64 == 63 {
			out[i] = '\n'
			continue
		}
		out[i] = alpha[rnd()&63]
	}
	return string(out)
}

// respond wraps a finished message body into a response and records it.
func (e *engine) respond(ex int, body []byte) *response {
	s := e.sess
	resp := &response{status: http.StatusOK, contentType: s.enc.ContentType(), body: body, header: http.Header{}}
	if e.sc.serverCred == AuthHMAC {
		h, err := auth.SignHMAC(e.opts.ServerID, e.opts.ServerPassword, e.serverNonce, body)
		if err == nil {
			resp.header.Set(auth.HMACHeaderName, h.String())
		}
	}
	x := &e.transcript[ex]
	if m, enc, err := syncml.Decode(body); err == nil {
		x.Response, x.ResponseEncoding = m, enc
	} else {
		e.note(ex, "internal: the server's own message does not decode: "+err.Error())
	}
	return resp
}
