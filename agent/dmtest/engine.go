package dmtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// engine runs the scenario. It is owned by Server and only used under
// Server.mu.
type engine struct {
	s    *Server
	sc   *Scenario
	opts Options

	transcript []Exchange
	aggs       map[string]*agg
	aggOrder   []string
	expResults []Check
	fatal      []string

	ri           int  // current round
	finished     bool // the script ran to its end (or failed for good)
	lastWasFault bool

	sess *session

	authMode    string // required client auth (may change after "challenge")
	clientNonce []byte // nonce the client must use for md5 / its first HMAC
	serverNonce []byte // nonce for the server's own md5 Cred / HMAC
	maxMsgSize  int    // advertised by the server
	expectSID   int    // -1: none; else a server-initiated session is expected
	sentValues  map[string]string
	pkg         *pkgAcc
	challenged  string // "challenge" of the current round already issued
}

type session struct {
	id          string
	devID       string
	locName     string
	cliMsgID    int
	srvMsgID    int
	enc         syncml.Encoding
	clientMax   int
	authed      bool
	challenges  int
	hmacNonce   []byte
	expectPath  string
	srvMsgs     map[int]*srvMsg
	queue       []*qItem
	statuses    []*syncml.Command // to put first in the next server message
	awaitCont   bool              // the last server message had no Final and more is queued
	ended       bool              // the server ended the session (status-only package or 1223)
	respURI     string            // RespURI for the next server message
	chunk       *chunkIn
	serverAuthd bool // the client accepted the server's Cred
	pastPkg1    bool // the server has answered package 1
	idle        int  // consecutive client messages without Final that made no progress
	lastCred    string
}

type srvMsg struct {
	id    int
	cmds  map[string]*sentCmd
	order []*sentCmd
	final bool
}

type sentCmd struct {
	kind    string
	cmdID   string
	msgID   int
	labels  []string
	target  string // Target/LocURI of its first Item
	line    int
	ans     itemAnswers // the client's Statuses and the Items they name
	results bool
	chunk   int // 0: not a chunk; else 1-based chunk number
	last    bool
	desc    string
	next    bool // the server's Alert 1222 (its Status is no progress)
}

type qItem struct {
	kind   outKind
	line   int
	label  string
	cmd    *syncml.Command
	lo     *largeObject
	loData string
	loOff  int
	loN    int
}

type chunkIn struct {
	uri    string
	size   int
	hasSz  bool
	data   strings.Builder
	chunks int
	format string
	typ    string
}

type resultItem struct {
	data   string
	format string
	typ    string
	chunks int
}

// pkgAcc accumulates the client package of the current round.
type pkgAcc struct {
	msgs      []*syncml.Message
	encs      []syncml.Encoding
	credTypes []string
	results   map[string]*resultItem
	alerts    []*syncml.Command
	hdrStatus []int
	abort     bool
	replaces  []*syncml.Command
	// sent holds the commands of the previous server package, whose
	// statuses this package must carry.
	sent []*sentCmd
}

func newPkg() *pkgAcc { return &pkgAcc{results: map[string]*resultItem{}} }

func newEngine(s *Server) *engine {
	e := &engine{
		s:           s,
		sc:          s.sc,
		opts:        s.opts,
		aggs:        map[string]*agg{},
		authMode:    s.opts.Auth,
		clientNonce: append([]byte(nil), s.opts.ClientNonce...),
		serverNonce: append([]byte(nil), s.opts.ServerNonce...),
		maxMsgSize:  s.opts.MaxMsgSize,
		expectSID:   s.sc.sessionID,
		sentValues:  map[string]string{},
		pkg:         newPkg(),
	}
	return e
}

// ---- checks and report ----

func (e *engine) check(name string, ok bool, detail string) {
	a := e.aggs[name]
	if a == nil {
		a = &agg{name: name, advisory: isAdvisory(name)}
		e.aggs[name] = a
		e.aggOrder = append(e.aggOrder, name)
	}
	if ok {
		a.pass++
		return
	}
	a.nfail++
	if len(a.fails) < maxFailDetails {
		a.fails = append(a.fails, detail)
	}
	if len(e.transcript) > 0 {
		e.note(len(e.transcript)-1, "FAIL "+name+": "+detail)
	}
	e.opts.Logger.Warn("dmtest check failed", "check", name, "detail", detail)
}

func (e *engine) fail(name, detail string) { e.check(name, false, detail) }

func (e *engine) note(ex int, s string) {
	if ex >= 0 && ex < len(e.transcript) {
		e.transcript[ex].Notes = append(e.transcript[ex].Notes, s)
	}
}

func (e *engine) where() string {
	if e.finished {
		return "finished"
	}
	if e.ri >= len(e.sc.rounds) {
		return "after the last round"
	}
	r := e.sc.rounds[e.ri]
	line := r.line
	if line == 0 && len(r.expects) > 0 {
		line = r.expects[0].line
	}
	return fmt.Sprintf("waiting in round %d of %d (line %d) for the client's package", e.ri+1, len(e.sc.rounds), line)
}

func (e *engine) report() Report {
	r := Report{Scenario: e.sc.Name}
	for _, n := range e.aggOrder {
		r.Checks = append(r.Checks, e.aggs[n].result())
	}
	r.Checks = append(r.Checks, e.expResults...)
	c := Check{Name: "scenario.complete", Pass: e.finished && len(e.fatal) == 0}
	switch {
	case len(e.fatal) > 0:
		c.Detail = strings.Join(e.fatal, "; ")
	case e.finished:
		c.Detail = fmt.Sprintf("all %d rounds done", len(e.sc.rounds))
	default:
		c.Detail = e.where()
	}
	r.Checks = append(r.Checks, c)
	return r
}

func (e *engine) stop(reason string) {
	e.fatal = append(e.fatal, reason)
	e.finished = true
}

func (e *engine) expectServerInitiated(id uint16) { e.expectSID = int(id) }

func (e *engine) clientGaveUp(ex int) {
	e.sess = nil
	e.lastWasFault = true
}

// ---- request handling ----

func (e *engine) handle(req *request) *response {
	ex := Exchange{Time: time.Now(), Method: req.method, Path: req.path, RequestType: req.header.Get("Content-Type"), RequestSize: len(req.body)}
	e.transcript = append(e.transcript, ex)
	idx := len(e.transcript) - 1
	resp := e.process(req, idx)
	resp.ex = idx
	x := &e.transcript[idx]
	x.HTTPStatus = resp.status
	x.ResponseType = resp.contentType
	x.ResponseSize = len(resp.body)
	if resp.close {
		x.HTTPStatus = 0
	}
	return resp
}

func textResponse(code int, msg string) *response {
	return &response{status: code, contentType: "text/plain; charset=utf-8", body: []byte(msg + "\n")}
}

func (e *engine) process(req *request, ex int) *response {
	x := &e.transcript[ex]
	if req.err != nil {
		e.fail("msg.decode", "reading the request: "+req.err.Error())
		return textResponse(http.StatusBadRequest, "cannot read request")
	}
	if len(e.transcript) > maxExchanges && !e.finished {
		e.stop(fmt.Sprintf("more than %d requests: the client and the server seem to loop", maxExchanges))
		return &response{status: http.StatusServiceUnavailable, contentType: "text/plain", body: []byte("too many requests\n"), finish: true}
	}
	if e.finished {
		if e.lastWasFault || len(e.fatal) > 0 {
			e.note(ex, "the scenario is over; request refused")
			return textResponse(http.StatusServiceUnavailable, "scenario over")
		}
	}
	e.check("http.method", req.method == http.MethodPost, fmt.Sprintf("request %d used %s", ex+1, req.method))
	m, enc, err := syncml.Decode(req.body)
	if err != nil {
		x.RequestErr = err.Error()
		e.fail("msg.decode", fmt.Sprintf("request %d: %v", ex+1, err))
		return textResponse(http.StatusBadRequest, "malformed SyncML message")
	}
	e.check("msg.decode", true, "")
	x.Request, x.RequestEncoding = m, enc
	e.httpChecks(req, enc, ex)

	if e.finished || (e.sess != nil && e.sess.ended && !isSessionStart(m)) {
		if e.sess != nil && e.sess.ended && m.Hdr.SessionID == e.sess.id {
			e.fail("session.end", fmt.Sprintf("request %d: the client answered a server message that ended the session (MsgID %s)", ex+1, m.Hdr.MsgID))
		} else {
			e.fail("session.pkg1", fmt.Sprintf("request %d: a message that does not start a session (MsgID %s) after the session ended", ex+1, m.Hdr.MsgID))
		}
		if e.finished {
			return textResponse(http.StatusServiceUnavailable, "scenario over")
		}
		return e.reject(m, ex, "message after the end of the session")
	}
	newSession := e.sess == nil || e.sess.ended
	if !newSession && isSessionStart(m) && m.Hdr.SessionID != e.sess.id {
		e.note(ex, "the client started a new session while one was in progress")
		e.fail("session.pkg1", fmt.Sprintf("request %d: new session %s started before session %s ended", ex+1, m.Hdr.SessionID, e.sess.id))
		newSession = true
		e.pkg = newPkg()
	}
	if newSession {
		e.startSession(m, enc, req, ex)
	} else {
		e.headerChecks(m, req, ex)
	}
	sess := e.sess
	sess.enc = enc
	if e.opts.Encoding == "xml" {
		sess.enc = syncml.XML
	} else if e.opts.Encoding == "wbxml" {
		sess.enc = syncml.WBXML
	}
	if mm := m.Hdr.Meta; mm != nil {
		if v, ok := mm.MaxMsgSizeInt(); ok && v > 0 {
			sess.clientMax = int(v)
		}
	}
	if e.maxMsgSize > 0 {
		e.check("hdr.maxmsgsize", len(req.body) <= e.maxMsgSize,
			fmt.Sprintf("request %d is %d bytes, server MaxMsgSize is %d", ex+1, len(req.body), e.maxMsgSize))
	}
	// The SyncHdr Status for the previous server message.
	e.checkHdrStatus(m, ex)

	// Authentication.
	hdrCode, chal, ok := e.authenticate(m, req, ex)
	if !ok {
		return e.challengeReply(m, hdrCode, chal, ex)
	}
	sess.statuses = append(sess.statuses, e.hdrStatus(m, hdrCode, chal))

	e.pkg.msgs = append(e.pkg.msgs, m)
	e.pkg.encs = append(e.pkg.encs, enc)
	e.pkg.credTypes = append(e.pkg.credTypes, sess.lastCred)
	progress := e.processCommands(m, ex)

	r := e.currentRound()
	if e.pkg.abort {
		// Alert 1223: answer with statuses and Final, the session is over.
		sess.ended = true
		if r != nil && hasExpect(r, "abort") {
			e.completeRound(r, ex)
			e.ri++
		} else {
			e.stop(fmt.Sprintf("the client aborted the session (Alert 1223) in round %d", e.ri+1))
		}
		return e.finishIfLast(e.sendStatusOnly(m, ex, true))
	}
	if sess.awaitCont {
		// The server's package is unfinished: the client must answer
		// without Final, with 1222 or Results.
		if m.Final {
			e.fail("final.rules", fmt.Sprintf("request %d: the client closed its package with Final while the server's package was unfinished", ex+1))
		}
		e.check("final.rules", hasAlert(m, syncml.AlertNextMessage) || hasKind(m, syncml.KindResults),
			fmt.Sprintf("request %d answers a server message without Final but has neither Alert 1222 nor Results", ex+1))
		return e.sendNext(ex)
	}
	if !m.Final {
		// The client's package continues: Status + Alert 1222, no Final.
		// A message that answers something new is progress, however
		// many it takes (a long answer split under a small MaxMsgSize);
		// only messages that add nothing count towards the loop guard.
		if progress {
			sess.idle = 0
		} else {
			sess.idle++
			if sess.idle >= maxIdle {
				e.fail("final.rules", fmt.Sprintf("requests %d to %d carry no Final and nothing new (no new Status, no Results, no command but Alert 1222): the package never ends", ex+2-maxIdle, ex+1))
				e.stop("the client's package does not progress")
				resp := e.sendStatusOnly(m, ex, true)
				resp.finish = true
				return resp
			}
		}
		return e.askNext(m, ex)
	}
	sess.idle = 0
	if r == nil {
		e.stop("the client sent a package after the last round")
		return e.sendStatusOnly(m, ex, true)
	}
	return e.finishIfLast(e.roundReply(r, m, ex))
}

func (e *engine) finishIfLast(resp *response) *response {
	if e.ri >= len(e.sc.rounds) && !e.finished {
		e.finished = true
	}
	if e.finished {
		resp.finish = true
	}
	return resp
}

func isSessionStart(m *syncml.Message) bool {
	if m.Hdr.MsgID != "1" {
		return false
	}
	return hasAlert(m, syncml.AlertClientInitiatedMgmt) || hasAlert(m, syncml.AlertServerInitiatedMgmt)
}

func hasAlert(m *syncml.Message, code syncml.AlertCode) bool {
	for _, c := range m.Body {
		if c.Kind == syncml.KindAlert {
			if a, ok := c.AlertCode(); ok && a == code {
				return true
			}
		}
	}
	return false
}

func hasKind(m *syncml.Message, kind string) bool {
	for _, c := range m.Body {
		if c.Kind == kind {
			return true
		}
	}
	return false
}

func hasExpect(r *round, kind string) bool {
	for _, x := range r.expects {
		if x.kind == kind {
			return true
		}
	}
	return false
}

func (e *engine) currentRound() *round {
	if e.ri < len(e.sc.rounds) {
		return e.sc.rounds[e.ri]
	}
	return nil
}

func (e *engine) httpChecks(req *request, enc syncml.Encoding, ex int) {
	ct := req.header.Get("Content-Type")
	mt := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	e.check("http.content-type", mt == enc.ContentType(),
		fmt.Sprintf("request %d: Content-Type %q for a %s body, want %s", ex+1, ct, enc, enc.ContentType()))
	acc := strings.ToLower(strings.Join(req.header.Values("Accept"), ","))
	e.check("http.accept", strings.Contains(acc, "application/vnd.syncml.dm+"),
		fmt.Sprintf("request %d: Accept %q does not name a SyncML DM type", ex+1, acc))
	var missing []string
	if req.header.Get("User-Agent") == "" {
		missing = append(missing, "User-Agent")
	}
	if !strings.Contains(strings.ToLower(req.header.Get("Accept-Charset")), "utf-8") {
		missing = append(missing, "Accept-Charset: utf-8")
	}
	if !strings.Contains(strings.ToLower(req.header.Get("Cache-Control")), "private") {
		missing = append(missing, "Cache-Control: private")
	}
	e.check("http.headers", len(missing) == 0, fmt.Sprintf("request %d lacks %s", ex+1, strings.Join(missing, ", ")))
	want := e.opts.Path
	if e.sess != nil && !e.sess.ended && e.sess.expectPath != "" {
		want = e.sess.expectPath
	}
	e.check("http.path", req.path == want, fmt.Sprintf("request %d posted to %s, want %s", ex+1, req.path, want))
}

func (e *engine) startSession(m *syncml.Message, enc syncml.Encoding, req *request, ex int) {
	e.sess = &session{
		id:        m.Hdr.SessionID,
		srvMsgs:   map[int]*srvMsg{},
		enc:       enc,
		hmacNonce: append([]byte(nil), e.clientNonce...),
	}
	e.lastWasFault = false
	if m.Hdr.Source != nil {
		e.sess.devID = m.Hdr.Source.LocURI
		e.sess.locName = m.Hdr.Source.LocName
	}
	n, _ := strconv.Atoi(m.Hdr.MsgID)
	e.sess.cliMsgID = n
	e.note(ex, fmt.Sprintf("new session %s from %s", m.Hdr.SessionID, e.sess.devID))
	e.check("hdr.msgid", m.Hdr.MsgID == "1", fmt.Sprintf("request %d: first message of session has MsgID %q, want 1", ex+1, m.Hdr.MsgID))
	e.commonHeader(m, ex)
	code := syncml.AlertClientInitiatedMgmt
	if e.expectSID >= 0 {
		code = syncml.AlertServerInitiatedMgmt
		want := strings.ToUpper(strconv.FormatUint(uint64(e.expectSID), 16))
		e.check("hdr.sessionid", strings.EqualFold(m.Hdr.SessionID, want),
			fmt.Sprintf("request %d: SessionID %q, want %q from Package #0 session id %d", ex+1, m.Hdr.SessionID, want, e.expectSID))
	}
	if e.sc.initiated == "client" && e.expectSID < 0 {
		code = syncml.AlertClientInitiatedMgmt
	}
	e.check("session.pkg1", hasAlert(m, code), fmt.Sprintf("request %d: package 1 has no Alert %d", ex+1, code))
}

func (e *engine) commonHeader(m *syncml.Message, ex int) {
	e.check("hdr.verdtd", m.Hdr.VerDTD == syncml.VerDTD12, fmt.Sprintf("request %d: VerDTD %q, want 1.2", ex+1, m.Hdr.VerDTD))
	e.check("hdr.verproto", m.Hdr.VerProto == syncml.VerProtoDM, fmt.Sprintf("request %d: VerProto %q, want DM/1.2", ex+1, m.Hdr.VerProto))
	e.check("hdr.sessionid", m.Hdr.SessionID != "", fmt.Sprintf("request %d: no SessionID", ex+1))
	tgt := ""
	if m.Hdr.Target != nil {
		tgt = m.Hdr.Target.LocURI
	}
	okT := tgt == e.s.url
	if !okT && e.sess != nil && e.sess.expectPath != "" {
		if u, err := url.Parse(tgt); err == nil && u.Path == e.sess.expectPath {
			okT = true
		}
	}
	e.check("hdr.target", okT, fmt.Sprintf("request %d: Target/LocURI %q, want %q", ex+1, tgt, e.s.url))
	src := ""
	if m.Hdr.Source != nil {
		src = m.Hdr.Source.LocURI
	}
	e.check("hdr.source", src != "" && (e.sess == nil || src == e.sess.devID),
		fmt.Sprintf("request %d: Source/LocURI %q (session started with %q)", ex+1, src, e.sess.devID))
	e.check("msg.problems", m.Hdr.Problem == nil, fmt.Sprintf("request %d: SyncHdr: %v", ex+1, m.Hdr.Problem))
}

func (e *engine) headerChecks(m *syncml.Message, req *request, ex int) {
	s := e.sess
	e.check("hdr.sessionid", m.Hdr.SessionID == s.id, fmt.Sprintf("request %d: SessionID %q, the session is %q", ex+1, m.Hdr.SessionID, s.id))
	n, err := strconv.Atoi(m.Hdr.MsgID)
	e.check("hdr.msgid", err == nil && n == s.cliMsgID+1, fmt.Sprintf("request %d: MsgID %q, want %d", ex+1, m.Hdr.MsgID, s.cliMsgID+1))
	if err == nil {
		s.cliMsgID = n
	} else {
		s.cliMsgID++
	}
	e.commonHeader(m, ex)
}

// checkHdrStatus checks the SyncHdr Status the client owes for the last
// server message, and handles the client's answer to the server's Cred.
func (e *engine) checkHdrStatus(m *syncml.Message, ex int) {
	s := e.sess
	if s.srvMsgID == 0 {
		return
	}
	want := strconv.Itoa(s.srvMsgID)
	found := false
	for i, c := range m.Body {
		if c.Kind != syncml.KindStatus || c.CmdRef != "0" {
			continue
		}
		found = true
		e.check("status.synchdr", c.Cmd == "SyncHdr" && c.MsgRef == want,
			fmt.Sprintf("request %d: SyncHdr Status has Cmd %q MsgRef %q, want SyncHdr and %s", ex+1, c.Cmd, c.MsgRef, want))
		e.check("status.synchdr-first", i == 0, fmt.Sprintf("request %d: the SyncHdr Status is command %d, not the first", ex+1, i+1))
		code, _ := c.StatusCode()
		e.pkg.hdrStatus = append(e.pkg.hdrStatus, int(code))
		if e.sc.serverCred != "" && e.sc.serverCred != AuthNone && !s.serverAuthd {
			ok := code == syncml.StatusAuthenticationAccepted || code == syncml.StatusOK
			e.check("auth.server-cred", ok, fmt.Sprintf("request %d: the client answered the server's Cred with %d", ex+1, code))
			if ok && code == syncml.StatusAuthenticationAccepted {
				s.serverAuthd = true
			}
		}
		if c.Chal != nil && c.Chal.Meta != nil && c.Chal.Meta.NextNonce != "" {
			if nn, err := base64.StdEncoding.DecodeString(c.Chal.Meta.NextNonce); err == nil {
				e.serverNonce = nn
				e.note(ex, "the client sent a new server nonce in its Chal")
			}
		}
		break
	}
	if !found {
		e.fail("status.synchdr", fmt.Sprintf("request %d has no Status for the SyncHdr of server message %s", ex+1, want))
	}
}

// authenticate checks the client's credentials for message m. It returns
// the SyncHdr status to answer, the challenge to include, and whether the
// message is authenticated.
func (e *engine) authenticate(m *syncml.Message, req *request, ex int) (syncml.StatusCode, *syncml.Chal, bool) {
	s := e.sess
	r := e.currentRound()
	hmacHdr := req.header.Get(auth.HMACHeaderName)
	s.lastCred = AuthNone
	credType := ""
	if m.Hdr.Cred != nil && m.Hdr.Cred.Meta != nil {
		if sch, err := auth.ParseMetaType(m.Hdr.Cred.Meta.Type); err == nil {
			credType = strings.ToLower(sch.String())
		}
	} else if m.Hdr.Cred != nil {
		credType = AuthBasic // Meta absent: basic is the default (RepPro)
	}
	switch credType {
	case "basic":
		s.lastCred = AuthBasic
	case "digest":
		s.lastCred = AuthMD5
	}
	if hmacHdr != "" {
		s.lastCred = AuthHMAC
	}
	// A "challenge" directive answers the first package of the round
	// with 401 whatever the credentials.
	if r != nil && r.challenge != "" && e.challenged != fmt.Sprint(e.ri) && len(e.pkg.msgs) == 0 {
		e.challenged = fmt.Sprint(e.ri)
		e.authMode = r.challenge
		s.authed = false
		e.note(ex, "scenario challenge (line "+strconv.Itoa(r.challengeLine)+"): "+r.challenge)
		s.challenges++
		code := syncml.StatusInvalidCredentials
		if s.lastCred == AuthNone {
			code = syncml.StatusMissingCredentials
		}
		return code, e.newChal(r.challenge), false
	}
	switch e.authMode {
	case AuthNone:
		return syncml.StatusOK, nil, true
	case AuthHMAC:
		if hmacHdr == "" {
			if !s.authed && s.challenges == 0 && len(e.clientNonce) == 0 {
				// No nonce to start with: challenge is the normal path.
				return e.authFail(ex, syncml.StatusMissingCredentials, "no x-syncml-hmac header")
			}
			return e.authFail(ex, syncml.StatusMissingCredentials, "no x-syncml-hmac header")
		}
		h, err := auth.ParseHMACHeader(hmacHdr)
		if err != nil {
			return e.authFail(ex, syncml.StatusInvalidCredentials, "x-syncml-hmac: "+err.Error())
		}
		if err := auth.VerifyHMAC(h, e.opts.ClientUser, e.opts.ClientPassword, s.hmacNonce, req.body); err != nil {
			return e.authFail(ex, syncml.StatusInvalidCredentials, "x-syncml-hmac does not verify with the current nonce")
		}
		loc := ""
		if m.Hdr.Source != nil {
			loc = m.Hdr.Source.LocName
		}
		e.check("auth.hmac", loc == "" || loc == h.Username, fmt.Sprintf("request %d: x-syncml-hmac username differs from Source/LocName", ex+1))
		e.check("auth.hmac", true, "")
		wasChallenged := s.challenges > 0
		s.authed = true
		s.challenges = 0
		if wasChallenged {
			e.check("auth.challenge", true, "")
		}
		// HMAC: Status 200 and a new nonce on every message.
		return syncml.StatusOK, e.newChal(AuthHMAC), true
	}
	// basic / md5: once accepted (212), the session is authenticated.
	if s.authed {
		return syncml.StatusOK, nil, true
	}
	if m.Hdr.Cred == nil {
		return e.authFail(ex, syncml.StatusMissingCredentials, "no Cred")
	}
	if s.lastCred != e.authMode {
		return e.authFail(ex, syncml.StatusInvalidCredentials, fmt.Sprintf("Cred type %q, want %s", m.Hdr.Cred.Meta.Type, e.authMode))
	}
	var ok bool
	switch e.authMode {
	case AuthBasic:
		ok = auth.VerifyBasic(e.opts.ClientUser, e.opts.ClientPassword, strings.TrimSpace(m.Hdr.Cred.Data))
	case AuthMD5:
		ok = auth.VerifyMD5(e.opts.ClientUser, e.opts.ClientPassword, e.clientNonce, m.Hdr.Cred.Data)
		if m.Hdr.Cred.Meta != nil && m.Hdr.Cred.Meta.Format != "b64" {
			e.fail("auth.cred", fmt.Sprintf("request %d: md5 Cred Format %q, want b64", ex+1, m.Hdr.Cred.Meta.Format))
		}
		if s.locName != "" && s.locName != e.opts.ClientUser {
			e.fail("auth.cred", fmt.Sprintf("request %d: Source/LocName is not the configured client user", ex+1))
		}
	}
	if !ok {
		return e.authFail(ex, syncml.StatusInvalidCredentials, "Cred does not verify")
	}
	e.check("auth.cred", true, "")
	if s.challenges > 0 {
		e.check("auth.challenge", true, "")
	}
	s.authed = true
	s.challenges = 0
	var chal *syncml.Chal
	if e.authMode == AuthMD5 {
		chal = e.newChal(AuthMD5) // nonce for the next session
	}
	return syncml.StatusAuthenticationAccepted, chal, true
}

func (e *engine) authFail(ex int, code syncml.StatusCode, why string) (syncml.StatusCode, *syncml.Chal, bool) {
	s := e.sess
	if s.challenges > 0 {
		e.fail("auth.challenge", fmt.Sprintf("request %d: after a challenge: %s", ex+1, why))
	} else if code == syncml.StatusInvalidCredentials {
		e.fail("auth.cred", fmt.Sprintf("request %d: %s", ex+1, why))
	} else if e.authMode == AuthHMAC && s.authed {
		e.fail("auth.hmac", fmt.Sprintf("request %d: %s", ex+1, why))
	}
	s.authed = false
	s.challenges++
	e.note(ex, fmt.Sprintf("authentication failed (%s): %d with a new challenge", why, code))
	return code, e.newChal(e.authMode), false
}

// newChal makes a challenge of the given type with a fresh nonce (except
// basic, which has none) and records the nonce the client must use next.
func (e *engine) newChal(mode string) *syncml.Chal {
	meta := &syncml.Meta{Format: "b64"}
	switch mode {
	case AuthBasic:
		meta.Type = auth.MetaTypeBasic
		return &syncml.Chal{Meta: meta}
	case AuthMD5:
		meta.Type = auth.MetaTypeMD5
	case AuthHMAC:
		meta.Type = auth.MetaTypeMAC
	}
	n := newNonce()
	meta.NextNonce = base64.StdEncoding.EncodeToString(n)
	e.clientNonce = n
	if e.sess != nil {
		e.sess.hmacNonce = n
	}
	return &syncml.Chal{Meta: meta}
}

const maxChallenges = 3

// maxIdle is how many client messages in a row without Final that make
// no progress (see processCommands) the server answers with 1222 before it
// gives up: a guard against a client that never ends its package. A
// message with a new Status or with Results is progress, so a client
// splitting a long answer under a small MaxMsgSize never trips it (each
// of its messages answers something new, and there are only so many
// commands to answer); a client that resends nothing new or the same
// Statuses again does.
const maxIdle = 5

// maxExchanges bounds a scenario run, so a client and the server cannot
// ping-pong forever.
const maxExchanges = 2000

// challengeReply answers an unauthenticated message: a Status for the
// SyncHdr (401/407 with Chal) and one for every command, then Final. The
// client must resend package 1.
func (e *engine) challengeReply(m *syncml.Message, code syncml.StatusCode, chal *syncml.Chal, ex int) *response {
	s := e.sess
	e.pkg = newPkg()
	s.statuses = append(s.statuses[:0], e.hdrStatus(m, code, chal))
	for _, c := range m.Body {
		if c.Kind == syncml.KindStatus || c.Kind == syncml.KindResults {
			continue
		}
		s.statuses = append(s.statuses, e.cmdStatus(m, c, code))
	}
	if s.challenges > maxChallenges {
		e.stop(fmt.Sprintf("the client failed authentication %d times", s.challenges))
		resp := e.sendStatusOnly(m, ex, true)
		resp.finish = true
		return resp
	}
	return e.emit(ex, true, nil)
}

func (e *engine) hdrStatus(m *syncml.Message, code syncml.StatusCode, chal *syncml.Chal) *syncml.Command {
	st := &syncml.Command{Kind: syncml.KindStatus, MsgRef: m.Hdr.MsgID, CmdRef: "0", Cmd: "SyncHdr", Data: code.Data(), Chal: chal}
	if m.Hdr.Target != nil {
		st.TargetRefs = []string{m.Hdr.Target.LocURI}
	}
	if m.Hdr.Source != nil {
		st.SourceRefs = []string{m.Hdr.Source.LocURI}
	}
	return st
}

func (e *engine) cmdStatus(m *syncml.Message, c *syncml.Command, code syncml.StatusCode) *syncml.Command {
	return &syncml.Command{Kind: syncml.KindStatus, MsgRef: m.Hdr.MsgID, CmdRef: c.CmdID, Cmd: c.Kind, Data: code.Data()}
}

// ---- client commands ----

// processCommands handles the commands of client message m. It reports
// whether the message made progress: a Status that answers a command (or
// an Item) no earlier Status answered, Results, an Alert other than 1222
// or a Replace (commands a client must not send are no progress).
func (e *engine) processCommands(m *syncml.Message, ex int) (progress bool) {
	s := e.sess
	for _, c := range m.Body {
		if c.Problem != nil {
			e.fail("msg.problems", fmt.Sprintf("request %d: %s at %s: %v", ex+1, c.Kind, c.Pos, c.Problem))
			if c.Kind != syncml.KindStatus && c.Kind != syncml.KindResults {
				s.statuses = append(s.statuses, e.cmdStatus(m, c, syncml.ProblemStatus(c.Problem)))
			}
			continue
		}
		switch c.Kind {
		case syncml.KindStatus:
			if c.CmdRef != "0" && e.clientStatus(m, c, ex) {
				progress = true
			}
		case syncml.KindResults:
			progress = true
			e.clientResults(m, c, ex)
		case syncml.KindAlert:
			e.pkg.alerts = append(e.pkg.alerts, c)
			code, _ := c.AlertCode()
			if code != syncml.AlertNextMessage {
				progress = true
			}
			st := syncml.StatusOK
			switch {
			case code == syncml.AlertSessionAbort:
				e.pkg.abort = true
				e.note(ex, "the client aborted the session (Alert 1223)")
			case code.IsUI() || (code >= 1105 && code < 1200):
				e.fail("cmd.allowed", fmt.Sprintf("request %d: the client sent UI Alert %d", ex+1, code))
				st = syncml.StatusOptionalFeatureNotSupported
			case code == syncml.AlertClientInitiatedMgmt || code == syncml.AlertServerInitiatedMgmt:
				e.check("session.pkg1", !s.pastPkg1,
					fmt.Sprintf("request %d: Alert %d outside package 1", ex+1, code))
			case code == syncml.AlertNoEndOfData:
				e.note(ex, "the client reported Alert 1225 (no end of data)")
			}
			s.statuses = append(s.statuses, e.cmdStatus(m, c, st))
		case syncml.KindReplace:
			devinfo := len(c.Items) > 0
			for _, it := range c.Items {
				if it.Source == nil || !strings.HasPrefix(it.Source.LocURI, "./DevInfo/") {
					devinfo = false
				}
			}
			e.check("cmd.allowed", devinfo, fmt.Sprintf("request %d: the client sent a Replace that does not carry ./DevInfo", ex+1))
			e.pkg.replaces = append(e.pkg.replaces, c)
			progress = true
			st := syncml.StatusOK
			if !devinfo {
				st = syncml.StatusOptionalFeatureNotSupported
			}
			s.statuses = append(s.statuses, e.cmdStatus(m, c, st))
		default:
			e.fail("cmd.allowed", fmt.Sprintf("request %d: the client sent %s, which a DM client must not send", ex+1, c.Kind))
			s.statuses = append(s.statuses, e.cmdStatus(m, c, syncml.StatusOptionalFeatureNotSupported))
		}
	}
	return progress
}

func (e *engine) lookup(msgRef, cmdRef string, ex int, what string) (*sentCmd, bool) {
	n, err := strconv.Atoi(msgRef)
	sm := e.sess.srvMsgs[n]
	if err != nil || sm == nil {
		e.fail("status.msgref", fmt.Sprintf("request %d: %s has MsgRef %q, which is no server message of this session", ex+1, what, msgRef))
		return nil, false
	}
	e.check("status.msgref", true, "")
	sc := sm.cmds[cmdRef]
	if sc == nil {
		e.fail("status.cmdref", fmt.Sprintf("request %d: %s has CmdRef %q, which is no command of server message %s", ex+1, what, cmdRef, msgRef))
		return nil, false
	}
	return sc, true
}

// clientStatus matches a client Status to the command it answers. It
// reports whether the Status answered something no earlier Status had
// answered (progress); the Status of the server's own Alert 1222, which
// every continuation message carries, is none.
func (e *engine) clientStatus(m *syncml.Message, c *syncml.Command, ex int) bool {
	sc, ok := e.lookup(c.MsgRef, c.CmdRef, ex, "Status")
	if !ok {
		return false
	}
	e.check("status.cmdref", c.Cmd == sc.kind, fmt.Sprintf("request %d: Status for %s (MsgRef %s CmdRef %s) says Cmd %q", ex+1, sc.kind, c.MsgRef, c.CmdRef, c.Cmd))
	code, okc := c.StatusCode()
	if !okc {
		e.fail("status.cmdref", fmt.Sprintf("request %d: Status for %s CmdRef %s has Data %q, not a status code", ex+1, sc.kind, c.CmdRef, c.Data))
	}
	n := len(sc.ans.answers)
	why := sc.ans.add(c, int(code))
	if why != "" {
		e.fail("status.complete", fmt.Sprintf("request %d: Status %d of %s (MsgRef %s CmdRef %s) is a duplicate: %s", ex+1, n+1, sc.desc, c.MsgRef, c.CmdRef, why))
	}
	if sc.chunk > 0 {
		if !sc.last {
			e.check("largeobject.out", code == syncml.StatusChunkAccepted,
				fmt.Sprintf("request %d: chunk %d of %s got %d, want 213", ex+1, sc.chunk, sc.target, code))
		} else {
			e.check("largeobject.out", code != syncml.StatusChunkAccepted,
				fmt.Sprintf("request %d: the last chunk of %s got 213, want its final status", ex+1, sc.target))
		}
	}
	return why == "" && !sc.next
}

func (e *engine) clientResults(m *syncml.Message, c *syncml.Command, ex int) {
	s := e.sess
	sc, ok := e.lookup(c.MsgRef, c.CmdRef, ex, "Results")
	if ok {
		e.check("results.ref", sc.kind == syncml.KindGet, fmt.Sprintf("request %d: Results refer to %s, not a Get", ex+1, sc.desc))
		e.check("results.order", len(sc.ans.answers) > 0, fmt.Sprintf("request %d: Results for %s come before its Status", ex+1, sc.desc))
		sc.results = true
	}
	for _, it := range c.Items {
		uri := ""
		if it.Source != nil {
			uri = it.Source.LocURI
		}
		e.check("results.ref", uri != "", fmt.Sprintf("request %d: a Results Item has no Source/LocURI", ex+1))
		format, typ, data := "", "", ""
		if it.Meta != nil {
			format, typ = it.Meta.Format, it.Meta.Type
		}
		if c.Meta != nil {
			if format == "" {
				format = c.Meta.Format
			}
			if typ == "" {
				typ = c.Meta.Type
			}
		}
		if it.Data != nil {
			if it.Data.IsTree() {
				data = string(it.Data.Tree)
			} else {
				data = it.Data.Text
			}
		}
		if s.chunk != nil && s.chunk.uri != uri {
			e.fail("largeobject.in", fmt.Sprintf("request %d: Results for %s arrived before the chunked %s was complete", ex+1, uri, s.chunk.uri))
			s.chunk = nil
		}
		if it.MoreData || s.chunk != nil {
			if s.chunk == nil {
				s.chunk = &chunkIn{uri: uri, format: format, typ: typ}
				var sz int64
				var has bool
				if it.Meta != nil {
					sz, has = it.Meta.SizeInt()
				}
				if !has && c.Meta != nil {
					sz, has = c.Meta.SizeInt()
				}
				s.chunk.size, s.chunk.hasSz = int(sz), has
				e.check("largeobject.in", has, fmt.Sprintf("request %d: the first chunk of %s has no Meta Size", ex+1, uri))
			}
			s.chunk.data.WriteString(data)
			s.chunk.chunks++
			if it.MoreData {
				e.note(ex, fmt.Sprintf("chunk %d of %s: %d bytes, %d so far", s.chunk.chunks, uri, len(data), s.chunk.data.Len()))
				s.statuses = append(s.statuses, e.cmdStatus(m, c, syncml.StatusChunkAccepted))
				continue
			}
			ch := s.chunk
			s.chunk = nil
			got := ch.data.Len()
			okSize := !ch.hasSz || got == ch.size
			e.check("largeobject.in", okSize, fmt.Sprintf("request %d: %s reassembled to %d bytes, Meta Size said %d", ex+1, uri, got, ch.size))
			e.note(ex, fmt.Sprintf("large object %s reassembled from %d chunks: %d bytes", uri, ch.chunks, got))
			if !okSize {
				s.statuses = append(s.statuses, e.cmdStatus(m, c, syncml.StatusSizeMismatch))
			}
			e.pkg.results[uri] = &resultItem{data: ch.data.String(), format: ch.format, typ: ch.typ, chunks: ch.chunks}
			continue
		}
		e.pkg.results[uri] = &resultItem{data: data, format: format, typ: typ, chunks: 1}
	}
}

// ---- round completion ----

// completeRound checks the commands of the previous server package and
// evaluates the expectations of round r against the package.
func (e *engine) completeRound(r *round, ex int) {
	for _, sc := range e.pkg.sent {
		if len(sc.ans.answers) == 0 {
			e.fail("status.complete", fmt.Sprintf("no Status for %s", sc.desc))
		} else if miss := sc.ans.missing(); len(miss) > 0 {
			e.fail("status.complete", fmt.Sprintf("%s was answered per Item, but no Status names Item %s", sc.desc, strings.Join(miss, ", ")))
		} else {
			e.check("status.complete", true, "")
		}
		if sc.kind == syncml.KindGet && slices.Contains(sc.ans.codes(), 200) {
			e.check("results.for-get", sc.results, fmt.Sprintf("%s was answered 200 but no Results came", sc.desc))
		}
	}
	for _, x := range r.expects {
		ok, detail := e.evalExpect(x)
		e.expResults = append(e.expResults, Check{Name: fmt.Sprintf("line %d: %s", x.line, x.text), Pass: ok, Detail: detail})
		if !ok {
			e.note(ex, fmt.Sprintf("FAIL line %d: %s: %s", x.line, x.text, detail))
		}
	}
}

func (e *engine) findSent(ref string) *sentCmd {
	var best *sentCmd
	for _, id := range sortedKeys(e.sess.srvMsgs) {
		for _, sc := range e.sess.srvMsgs[id].order {
			for _, l := range sc.labels {
				if l == ref {
					best = sc
				}
			}
			if best != sc && strings.HasPrefix(ref, ".") && (sc.chunk == 0 || sc.last) && sc.hasTarget(ref) {
				best = sc
			}
		}
	}
	return best
}

// hasTarget reports whether an Item of the command targets uri.
func (sc *sentCmd) hasTarget(uri string) bool {
	for _, it := range sc.ans.items {
		if it.target != "" && sameURI(it.target, uri) {
			return true
		}
	}
	return false
}

// evalStatus evaluates "expect status REF CODES [ITEM]" on command sc:
// every Status of the command must match CODES, or with ITEM (or a ./URI
// REF, which names the Item too) every Status that answers that Item (the
// Statuses naming it, or the command's only Status).
func evalStatus(x *expect, sc *sentCmd) (bool, string) {
	a := &sc.ans
	if len(a.answers) == 0 {
		return false, fmt.Sprintf("no Status for %s", sc.desc)
	}
	item := x.item
	if item == "" && strings.HasPrefix(x.ref, ".") {
		item = x.ref
	}
	what, codes := sc.desc, a.codes()
	if item != "" {
		c, ok := a.codesFor(item)
		if !ok {
			return false, fmt.Sprintf("%s has no Item %s", sc.desc, item)
		}
		if len(c) == 0 {
			return false, fmt.Sprintf("%s: no Status names Item %s (the command got %s)", sc.desc, item, fmtCodes(codes))
		}
		what, codes = fmt.Sprintf("%s, Item %s", sc.desc, item), c
	}
	for _, c := range codes {
		if !matchCodes(x.codes, c) {
			return false, fmt.Sprintf("%s: got %s", what, fmtCodes(codes))
		}
	}
	return true, fmt.Sprintf("%s: %s", what, fmtCodes(codes))
}

func fmtCodes(codes []int) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = syncml.StatusCode(c).String()
	}
	return strings.Join(s, ", ")
}

func sortedKeys(m map[int]*srvMsg) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func matchCodes(codes []codeMatch, c int) bool {
	for _, m := range codes {
		if m.match(c) {
			return true
		}
	}
	return false
}

func (e *engine) evalExpect(x *expect) (bool, string) {
	p := e.pkg
	switch x.kind {
	case "alert":
		var seen []string
		for _, a := range p.alerts {
			code, _ := a.AlertCode()
			seen = append(seen, a.Data)
			if int(code) != x.code {
				continue
			}
			if x.correlator != "" && a.Correlator != x.correlator {
				continue
			}
			if x.typ != "" || x.hasData {
				okItem := false
				for _, it := range a.Items {
					t := ""
					if it.Meta != nil {
						t = it.Meta.Type
					}
					d := ""
					if it.Data != nil {
						d = it.Data.Text
					}
					if (x.typ == "" || t == x.typ) && (!x.hasData || d == x.data) {
						okItem = true
					}
				}
				if !okItem {
					continue
				}
			}
			return true, fmt.Sprintf("Alert %d received", x.code)
		}
		return false, fmt.Sprintf("no matching Alert %d (alerts received: %s)", x.code, orNone(seen))
	case "devinfo":
		want := []string{"DevId", "Man", "Mod", "DmV", "Lang"}
		have := map[string]string{}
		for _, r := range p.replaces {
			for _, it := range r.Items {
				if it.Source != nil && it.Data != nil {
					have[strings.TrimPrefix(it.Source.LocURI, "./DevInfo/")] = it.Data.Text
				}
			}
		}
		var missing []string
		for _, w := range want {
			if _, ok := have[w]; !ok {
				missing = append(missing, w)
			}
		}
		if len(missing) > 0 {
			return false, "Replace of ./DevInfo lacks " + strings.Join(missing, ", ")
		}
		if e.sess != nil && have["DevId"] != e.sess.devID {
			return false, fmt.Sprintf("DevInfo/DevId %q differs from SyncHdr Source %q", have["DevId"], e.sess.devID)
		}
		return true, fmt.Sprintf("DevId %s, Man %s, Mod %s, DmV %s", have["DevId"], have["Man"], have["Mod"], have["DmV"])
	case "status":
		if x.ref == "hdr" {
			for _, c := range p.hdrStatus {
				if matchCodes(x.codes, c) {
					return true, fmt.Sprintf("SyncHdr status %d", c)
				}
			}
			return false, fmt.Sprintf("SyncHdr statuses received: %v", p.hdrStatus)
		}
		if e.sess == nil {
			return false, "no session"
		}
		sc := e.findSent(x.ref)
		if sc == nil {
			return false, fmt.Sprintf("no command %s was sent in this session", x.ref)
		}
		return evalStatus(x, sc)
	case "results", "no-results":
		ri := p.results[x.uri]
		if x.kind == "no-results" {
			if ri != nil {
				return false, fmt.Sprintf("Results for %s received", x.uri)
			}
			return true, "none received"
		}
		if ri == nil {
			var have []string
			for k := range p.results {
				have = append(have, k)
			}
			sort.Strings(have)
			return false, fmt.Sprintf("no Results for %s (Results received for: %s)", x.uri, orNone(have))
		}
		switch x.op {
		case "":
			return true, fmt.Sprintf("%s = %s", x.uri, short(ri.data))
		case "=":
			return ri.data == x.value, fmt.Sprintf("%s = %s, want %s", x.uri, short(ri.data), short(x.value))
		case "~":
			return x.re.MatchString(ri.data), fmt.Sprintf("%s = %s, want a match of %s", x.uri, short(ri.data), x.re)
		case "size":
			return len(ri.data) == x.size, fmt.Sprintf("%s: %d bytes in %d chunk(s), want %d", x.uri, len(ri.data), ri.chunks, x.size)
		case "sent":
			v, ok := e.sentValues[x.uri]
			if !ok {
				return false, fmt.Sprintf("the scenario sent no value to %s", x.uri)
			}
			return ri.data == v, fmt.Sprintf("%s = %s (%d bytes), sent %s (%d bytes)", x.uri, short(ri.data), len(ri.data), short(v), len(v))
		case "format":
			f := ri.format
			if f == "" {
				f = "chr"
			}
			return f == x.value, fmt.Sprintf("%s Format %s, want %s", x.uri, f, x.value)
		case "type":
			t := ri.typ
			if t == "" {
				t = "text/plain"
			}
			return t == x.value, fmt.Sprintf("%s Type %s, want %s", x.uri, t, x.value)
		}
	case "cred":
		for _, t := range p.credTypes {
			if t == x.value {
				return true, "client used " + t
			}
		}
		return false, fmt.Sprintf("client credentials per message: %v", p.credTypes)
	case "sessionid":
		if len(p.msgs) == 0 {
			return false, "no message"
		}
		got := p.msgs[0].Hdr.SessionID
		return got == x.value, fmt.Sprintf("SessionID %q, want %q", got, x.value)
	case "encoding":
		for _, enc := range p.encs {
			if enc.String() != x.value {
				return false, fmt.Sprintf("a message of the package was %s", enc)
			}
		}
		return true, "all messages " + x.value
	case "abort":
		return p.abort, map[bool]string{true: "the client sent Alert 1223", false: "no Alert 1223"}[p.abort]
	case "messages":
		return len(p.msgs) >= x.size, fmt.Sprintf("the package came in %d message(s), want at least %d", len(p.msgs), x.size)
	}
	return false, "unknown expectation"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func short(s string) string {
	if len(s) > 60 {
		return strconv.Quote(s[:40]) + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return strconv.Quote(s)
}
