package dmtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// clientCfg configures the scripted test client. The zero value is a
// well-behaved client-initiated XML client without credentials.
type clientCfg struct {
	enc        syncml.Encoding
	alert      syncml.AlertCode // 0: 1201
	sessionID  string           // "": "1"
	authType   string           // none, basic, md5, hmac
	user, pass string
	nonce      []byte
	maxMsgSize int // advertised by the client
	chunk      int // send Results larger than this in chunks (0: only if needed)
	confirm    syncml.StatusCode
	timeout    time.Duration

	// misbehaviour
	noHdrStatus      bool
	badMsgRef        bool
	badCmdRef        bool
	skipStatusKind   string
	resultsFirst     bool
	ignoreMaxMsgSize bool
	contentType      string
	finalOnCont      bool
	answerEnd        bool
	badCred          bool
	msgIDSkip        bool
	noHeaders        bool
	badChunkSize     bool
}

type tclient struct {
	t      *testing.T
	cfg    clientCfg
	url    string
	hc     *http.Client
	msgID  int
	devID  string
	tree   map[string]string
	nodes  map[string]bool // interior nodes
	nonce  []byte
	authed bool
	srvMax int
	queue  []*syncml.Command
	lo     *strings.Builder // incoming chunked object
	loURI  string
	loSize int
	sent   int // messages sent
	cont   map[*syncml.Command]bool
	log    []string
}

func newClient(t *testing.T, s *Server, cfg clientCfg) *tclient {
	t.Helper()
	tr := &http.Transport{}
	if pem := s.CACertPEM(); len(pem) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("CA PEM does not parse")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	if cfg.timeout == 0 {
		cfg.timeout = 10 * time.Second
	}
	if cfg.authType == "" {
		cfg.authType = AuthNone
	}
	if cfg.confirm == 0 {
		cfg.confirm = syncml.StatusOK
	}
	c := &tclient{
		t: t, cfg: cfg, url: s.URL(),
		hc:    &http.Client{Transport: tr, Timeout: cfg.timeout},
		devID: "IMEI:493005100592800",
		nonce: append([]byte(nil), cfg.nonce...),
		tree: map[string]string{
			"./DevInfo/DevId": "IMEI:493005100592800", "./DevInfo/Man": "Acme", "./DevInfo/Mod": "GW-1",
			"./DevInfo/DmV": "1.2", "./DevInfo/Lang": "en-US", "./DevDetail/FwV": "1.4.2", "./DevDetail/SwV": "2.0",
			"./DevDetail/HwV": "B", "./DevDetail/LrgObj": "true", "./DevDetail/DevTyp": "gateway", "./DevDetail/OEM": "Acme",
		},
		nodes: map[string]bool{".": true, "./DevInfo": true, "./DevDetail": true, "./Vendor": true, "./Vendor/omadm": true,
			"./Vendor/omadm/Hostname": true, "./Vendor/omadm/Time": true},
	}
	return c
}

func (c *tclient) hdr() syncml.Header {
	sid := c.cfg.sessionID
	if sid == "" {
		sid = "1"
	}
	h := syncml.Header{VerDTD: "1.2", VerProto: "DM/1.2", SessionID: sid, MsgID: strconv.Itoa(c.msgID),
		Target: &syncml.Location{LocURI: c.url}, Source: &syncml.Location{LocURI: c.devID}}
	if c.cfg.maxMsgSize > 0 {
		h.Meta = &syncml.Meta{MaxMsgSize: strconv.Itoa(c.cfg.maxMsgSize)}
	}
	if c.cfg.user != "" {
		h.Source.LocName = c.cfg.user
	}
	if !c.authed {
		pass := c.cfg.pass
		if c.cfg.badCred {
			pass = "wrong"
		}
		switch c.cfg.authType {
		case AuthBasic:
			h.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeBasic, Format: "b64"}, Data: auth.Basic(c.cfg.user, pass)}
		case AuthMD5:
			h.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeMD5, Format: "b64"}, Data: auth.MD5Digest(c.cfg.user, pass, c.nonce)}
		}
	}
	return h
}

func (c *tclient) pkg1() []*syncml.Command {
	a := c.cfg.alert
	if a == 0 {
		a = syncml.AlertClientInitiatedMgmt
	}
	rep := &syncml.Command{Kind: syncml.KindReplace}
	for _, k := range []string{"DevId", "Man", "Mod", "DmV", "Lang"} {
		rep.Items = append(rep.Items, &syncml.Item{Source: &syncml.Location{LocURI: "./DevInfo/" + k}, Data: syncml.TextData(c.tree["./DevInfo/"+k])})
	}
	return []*syncml.Command{{Kind: syncml.KindAlert, Data: a.Data()}, rep}
}

// post sends one message and returns the decoded reply.
func (c *tclient) post(cmds []*syncml.Command, final bool) (*syncml.Message, error) {
	c.msgID++
	if c.cfg.msgIDSkip && c.msgID == 2 {
		c.msgID++
	}
	ids := 0
	for _, cmd := range cmds {
		ids++
		cmd.CmdID = strconv.Itoa(ids)
	}
	m := &syncml.Message{Hdr: c.hdr(), Body: cmds, Final: final}
	body, err := syncml.Encode(m, c.cfg.enc)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	target := c.url
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	ct := c.cfg.enc.ContentType()
	if c.cfg.contentType != "" {
		ct = c.cfg.contentType
	}
	req.Header.Set("Content-Type", ct)
	if !c.cfg.noHeaders {
		req.Header.Set("Accept", c.cfg.enc.ContentType())
		req.Header.Set("Accept-Charset", "utf-8")
		req.Header.Set("Accept-Language", "en")
		req.Header.Set("Cache-Control", "private")
		req.Header.Set("User-Agent", "dmtest-client/1")
	}
	if c.cfg.authType == AuthHMAC {
		pass := c.cfg.pass
		if c.cfg.badCred {
			pass = "wrong"
		}
		h, err := auth.SignHMAC(c.cfg.user, pass, c.nonce, body)
		if err != nil {
			return nil, err
		}
		req.Header.Set(auth.HMACHeaderName, h.String())
	}
	c.sent++
	c.log = append(c.log, fmt.Sprintf("-> %s %d bytes final=%v %s", target, len(body), final, kinds(cmds)))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	got := strings.Split(resp.Header.Get("Content-Type"), ";")[0]
	if got != syncml.ContentTypeXML && got != syncml.ContentTypeWBXML {
		return nil, fmt.Errorf("bad content type %q", got)
	}
	rm, _, err := syncml.Decode(rb)
	if err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	c.log = append(c.log, fmt.Sprintf("<- %d bytes final=%v %s", len(rb), rm.Final, kinds(rm.Body)))
	if rm.Hdr.RespURI != "" {
		c.url = rm.Hdr.RespURI
	}
	if rm.Hdr.Meta != nil {
		if v, ok := rm.Hdr.Meta.MaxMsgSizeInt(); ok {
			c.srvMax = int(v)
		}
	}
	return rm, nil
}

func kinds(cmds []*syncml.Command) string {
	var s []string
	for _, c := range cmds {
		k := c.Kind
		if c.Kind == syncml.KindAlert || c.Kind == syncml.KindStatus {
			k += "(" + c.Data + ")"
		}
		s = append(s, k)
	}
	return strings.Join(s, " ")
}

// run plays a whole session. It returns nil when the server ended it.
func (c *tclient) run() error {
	c.queue = c.pkg1()
	final := true
	for {
		m, err := c.flush(final)
		if err != nil {
			return err
		}
		again, fin, err := c.handle(m)
		if err != nil {
			return err
		}
		if !again {
			if c.cfg.answerEnd {
				c.queue = []*syncml.Command{c.hdrStatus(m, 200)}
				_, _ = c.flush(true)
			}
			return nil
		}
		final = fin
	}
}

// flush sends the queue, split into messages that fit the server's
// MaxMsgSize; it returns the reply to the last one.
func (c *tclient) flush(final bool) (*syncml.Message, error) {
	for {
		cmds, rest := c.split(c.queue)
		last := len(rest) == 0
		fin := final && last
		if c.cfg.finalOnCont {
			fin = true
		}
		m, err := c.post(cmds, fin)
		if err != nil {
			return nil, err
		}
		if last {
			return m, nil
		}
		// The server answers a message without Final with Status + 1222,
		// or with the rest of its own package.
		again, fin, err := c.handle(m)
		if err != nil {
			return nil, err
		}
		if !again {
			return m, nil
		}
		c.queue = append(c.queue, rest...)
		onlyNext := true
		for _, cmd := range m.Body {
			if cmd.Kind != syncml.KindStatus && !(cmd.Kind == syncml.KindAlert && cmd.Data == "1222") {
				onlyNext = false
			}
		}
		if !onlyNext {
			final = fin
		}
	}
}

// split takes the commands that fit in one message of the server's
// MaxMsgSize, cutting a big Results into chunks.
func (c *tclient) split(q []*syncml.Command) ([]*syncml.Command, []*syncml.Command) {
	max := c.srvMax
	if c.cfg.ignoreMaxMsgSize {
		max = 0
	}
	var out []*syncml.Command
	for i := 0; i < len(q); i++ {
		cmd := q[i]
		if c.cfg.chunk > 0 && cmd.Kind == syncml.KindResults && len(cmd.Items) == 1 && cmd.Items[0].Data != nil && len(cmd.Items[0].Data.Text) > c.cfg.chunk {
			first, rest := c.cut(cmd, c.cfg.chunk)
			return append(out, first), append([]*syncml.Command{rest}, q[i+1:]...)
		}
		if max == 0 {
			out = append(out, cmd)
			continue
		}
		h := c.hdr()
		h.MsgID = strconv.Itoa(c.msgID + 1)
		b, _ := syncml.NewBuilder(c.cfg.enc, &h)
		for j, o := range append(append([]*syncml.Command(nil), out...), cmd) {
			o.CmdID = strconv.Itoa(j + 1)
			_ = j
		}
		for _, o := range out {
			_ = b.Add(o)
		}
		if b.Fits(cmd, max-60) {
			out = append(out, cmd)
			continue
		}
		if cmd.Kind == syncml.KindResults && len(cmd.Items) == 1 && cmd.Items[0].Data != nil && len(cmd.Items[0].Data.Text) > 256 {
			n := len(cmd.Items[0].Data.Text)
			for n > 16 {
				n = n * 3 / 4
				first, _ := c.cut(cmd, n)
				first.CmdID = strconv.Itoa(len(out) + 1)
				if b.Fits(first, max-60) {
					break
				}
			}
			first, rest := c.cut(cmd, n)
			return append(out, first), append([]*syncml.Command{rest}, q[i+1:]...)
		}
		if len(out) == 0 {
			return []*syncml.Command{cmd}, q[i+1:]
		}
		return out, q[i:]
	}
	return out, nil
}

// cut splits a one-item Results into a first chunk of n bytes and the rest.
func (c *tclient) cut(cmd *syncml.Command, n int) (*syncml.Command, *syncml.Command) {
	it := cmd.Items[0]
	data := it.Data.Text
	first := *cmd
	fi := *it
	fi.Meta = &syncml.Meta{}
	if it.Meta != nil {
		m := *it.Meta
		fi.Meta = &m
	}
	if !c.cont[cmd] {
		sz := len(data)
		if c.cfg.badChunkSize {
			sz += 10
		}
		fi.Meta.Size = strconv.Itoa(sz)
	}
	fi.Data = syncml.TextData(data[:n])
	fi.MoreData = true
	first.Items = []*syncml.Item{&fi}
	rest := *cmd
	ri := *it
	if it.Meta != nil {
		m := *it.Meta
		m.Size = ""
		ri.Meta = &m
	}
	ri.Data = syncml.TextData(data[n:])
	rest.Items = []*syncml.Item{&ri}
	if c.cont == nil {
		c.cont = map[*syncml.Command]bool{}
	}
	c.cont[&rest] = true
	return &first, &rest
}

func (c *tclient) hdrStatus(m *syncml.Message, code int) *syncml.Command {
	return &syncml.Command{Kind: syncml.KindStatus, MsgRef: m.Hdr.MsgID, CmdRef: "0", Cmd: "SyncHdr", Data: strconv.Itoa(code),
		TargetRefs: []string{c.devID}, SourceRefs: []string{m.Hdr.Source.LocURI}}
}

func (c *tclient) status(m *syncml.Message, cmd *syncml.Command, code int) *syncml.Command {
	ref := m.Hdr.MsgID
	if c.cfg.badMsgRef {
		n, _ := strconv.Atoi(ref)
		ref = strconv.Itoa(n + 7)
	}
	cref := cmd.CmdID
	if c.cfg.badCmdRef {
		cref = "99"
	}
	st := &syncml.Command{Kind: syncml.KindStatus, MsgRef: ref, CmdRef: cref, Cmd: cmd.Kind, Data: strconv.Itoa(code)}
	for _, it := range cmd.Items {
		if it.Target != nil {
			st.TargetRefs = append(st.TargetRefs, it.Target.LocURI)
		}
	}
	return st
}

// handle processes a server message. again: the client must answer;
// final: its answer closes its package.
func (c *tclient) handle(m *syncml.Message) (again, final bool, err error) {
	var out, results []*syncml.Command
	hdrCode := 200
	if m.Hdr.Cred != nil {
		hdrCode = 212
	}
	if !c.cfg.noHdrStatus {
		out = append(out, c.hdrStatus(m, hdrCode))
	}
	commands := false
	for _, cmd := range m.Body {
		if cmd.Kind == syncml.KindStatus {
			if cmd.CmdRef == "0" {
				code, _ := cmd.StatusCode()
				if cmd.Chal != nil && cmd.Chal.Meta != nil && cmd.Chal.Meta.NextNonce != "" {
					c.nonce, _ = base64.StdEncoding.DecodeString(cmd.Chal.Meta.NextNonce)
				}
				switch code {
				case 212:
					c.authed = true
				case 401, 407:
					if cmd.Chal != nil && cmd.Chal.Meta != nil {
						s, _ := auth.ParseMetaType(cmd.Chal.Meta.Type)
						c.cfg.authType = map[auth.Scheme]string{auth.SchemeBasic: AuthBasic, auth.SchemeMD5: AuthMD5, auth.SchemeHMAC: AuthHMAC}[s]
					}
					c.authed = false
					c.queue = append([]*syncml.Command{c.hdrStatus(m, 200)}, c.pkg1()...)
					return true, true, nil
				}
			}
			continue
		}
		commands = true
		if cmd.Kind == syncml.KindAlert {
			if a, _ := cmd.AlertCode(); a == syncml.AlertSessionAbort {
				return false, false, nil
			}
		}
		st, res := c.exec(m, cmd, false)
		if c.cfg.skipStatusKind != cmd.Kind {
			out = append(out, st...)
		}
		results = append(results, res...)
	}
	if !commands && m.Final {
		return false, false, nil
	}
	if c.cfg.resultsFirst {
		out = append(results, out...)
	} else {
		out = append(out, results...)
	}
	if !m.Final && !hasAlert(m, syncml.AlertNextMessage) && len(out) > 0 {
		next := &syncml.Command{Kind: syncml.KindAlert, Data: syncml.AlertNextMessage.Data()}
		out = append(out[:1], append([]*syncml.Command{next}, out[1:]...)...)
	}
	c.queue = out
	return true, m.Final, nil
}

func parent(uri string) string {
	i := strings.LastIndex(uri, "/")
	if i <= 0 {
		return "."
	}
	return uri[:i]
}

// exec runs one server command against the toy tree.
func (c *tclient) exec(m *syncml.Message, cmd *syncml.Command, inAtomic bool) ([]*syncml.Command, []*syncml.Command) {
	one := func(code int) []*syncml.Command { return []*syncml.Command{c.status(m, cmd, code)} }
	target := ""
	var it *syncml.Item
	if len(cmd.Items) > 0 {
		it = cmd.Items[0]
		if it.Target != nil {
			target = it.Target.LocURI
		}
	}
	switch cmd.Kind {
	case syncml.KindAdd, syncml.KindReplace:
		if strings.HasPrefix(target, "./Nope") {
			return one(404), nil
		}
		data := ""
		if it.Data != nil {
			data = it.Data.Text
		}
		if it.MoreData {
			if c.lo == nil {
				c.lo = &strings.Builder{}
				c.loURI = target
				if it.Meta != nil {
					n, _ := it.Meta.SizeInt()
					c.loSize = int(n)
				}
			}
			c.lo.WriteString(data)
			return one(213), nil
		}
		if c.lo != nil {
			c.lo.WriteString(data)
			data = c.lo.String()
			size := c.loSize
			c.lo = nil
			if len(data) != size {
				return one(424), nil
			}
		}
		if cmd.Kind == syncml.KindAdd {
			if _, ok := c.tree[target]; ok || c.nodes[target] {
				return one(418), nil
			}
			if it.Meta != nil && it.Meta.Format == "node" {
				c.nodes[target] = true
				return one(200), nil
			}
		}
		c.tree[target] = data
		return one(200), nil
	case syncml.KindDelete:
		if _, ok := c.tree[target]; ok {
			delete(c.tree, target)
			return one(200), nil
		}
		if c.nodes[target] {
			delete(c.nodes, target)
			return one(200), nil
		}
		return one(404), nil
	case syncml.KindCopy:
		src := ""
		if it != nil && it.Source != nil {
			src = it.Source.LocURI
		}
		v, ok := c.tree[src]
		if !ok {
			return one(404), nil
		}
		c.tree[target] = v
		return one(200), nil
	case syncml.KindExec:
		return one(202), nil
	case syncml.KindGet:
		if inAtomic {
			return one(500), nil
		}
		uri, q, _ := strings.Cut(target, "?")
		var data, format string
		if v, ok := c.tree[uri]; ok {
			data, format = v, "chr"
			if q == "prop=Format" {
				data = "chr"
			}
		} else if c.nodes[uri] {
			format = "node"
			var kids []string
			for k := range c.tree {
				if parent(k) == uri {
					kids = append(kids, k[len(uri)+1:])
				}
			}
			sort.Strings(kids)
			data = strings.Join(kids, "/")
		} else {
			return one(404), nil
		}
		res := &syncml.Command{Kind: syncml.KindResults, MsgRef: m.Hdr.MsgID, CmdRef: cmd.CmdID,
			Items: []*syncml.Item{{Source: &syncml.Location{LocURI: target}, Meta: &syncml.Meta{Format: format}, Data: syncml.TextData(data)}}}
		return one(200), []*syncml.Command{res}
	case syncml.KindAlert:
		code, _ := cmd.AlertCode()
		switch code {
		case syncml.AlertDisplay:
			return one(200), nil
		case syncml.AlertConfirmOrReject:
			dr := ""
			if len(cmd.Items) > 0 && cmd.Items[0].Data != nil {
				if v, err := url.ParseQuery(cmd.Items[0].Data.Text); err == nil {
					dr = v.Get("DR")
				}
			}
			if dr == "0" {
				return one(304), nil
			}
			return one(int(c.cfg.confirm)), nil
		case syncml.AlertNextMessage:
			return one(200), nil
		}
		return one(406), nil
	case syncml.KindAtomic:
		var sts []*syncml.Command
		failed := false
		snapTree, snapNodes := map[string]string{}, map[string]bool{}
		for k, v := range c.tree {
			snapTree[k] = v
		}
		for k, v := range c.nodes {
			snapNodes[k] = v
		}
		for _, ch := range cmd.Children {
			s, _ := c.exec(m, ch, true)
			code, _ := s[0].StatusCode()
			if !code.Success() || code == 304 {
				failed = true
			}
			sts = append(sts, s...)
		}
		if failed {
			c.tree, c.nodes = snapTree, snapNodes
			for _, s := range sts {
				if code, _ := s.StatusCode(); code.Success() {
					s.Data = "216"
				}
			}
			return append([]*syncml.Command{c.status(m, cmd, 507)}, sts...), nil
		}
		return append([]*syncml.Command{c.status(m, cmd, 200)}, sts...), nil
	case syncml.KindSequence:
		sts := []*syncml.Command{c.status(m, cmd, 200)}
		var res []*syncml.Command
		stop := false
		for _, ch := range cmd.Children {
			if stop {
				sts = append(sts, c.status(m, ch, 215))
				continue
			}
			s, r := c.exec(m, ch, false)
			sts = append(sts, s...)
			res = append(res, r...)
			if code, _ := s[0].StatusCode(); ch.Kind == syncml.KindAlert && code == 304 {
				stop = true
			}
		}
		return sts, res
	}
	return one(406), nil
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

func httpPost(u, ct string, body []byte) (int, error) {
	resp, err := http.Post(u, ct, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
