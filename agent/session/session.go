package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

// stateFn is one state of the session; it returns the next state (nil when
// the session is over).
type stateFn func(ctx context.Context, s *session) (stateFn, error)

// stateName names a state for logs.
func stateName(f stateFn) string {
	n := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		n = n[i+1:]
	}
	return n
}

func serverPrincipal(id string) tree.Principal { return tree.Server(id) }

// outCmd is a command waiting to be sent.
type outCmd struct {
	cmd     *syncml.Command
	alertID string // outbox id of a generic alert
	// chunk state of a large Results item (see fill).
	data    string // whole Data text of the single item
	off     int    // bytes of data already sent
	chunked bool
	// group > 1 marks the first of group commands that go out in one
	// message if they fit in one (the answers to an Atomic).
	group int
}

// largeObject is an incoming object being reassembled.
type largeObject struct {
	kind   string
	cmd    *syncml.Command
	item   *syncml.Item
	target string
	meta   syncml.Meta
	size   int64
	buf    []byte
}

// session is the state of one DM session. It is owned by the goroutine
// running Engine.Run.
type session struct {
	cfg       *Config
	log       *slog.Logger
	t         *tree.Tree
	acc       dmacc.Account
	trig      Trigger
	principal tree.Principal
	client    *http.Client
	tp        Transport
	enc       syncml.Encoding
	userAgent string
	rec       *recorder
	// adopt attributes unattributed outbox entries (Engine.AdoptUnattributed).
	adopt func(ctx context.Context) error

	maxMsg, maxObj       int // ours
	srvMaxMsg, srvMaxObj int // the server's (0: not announced)

	sessionID string
	devID     string
	url       string
	msgID     int // our last MsgID
	cmdID     int // our last CmdID (unique in the session)
	sentOnce  bool

	// client authentication (our Cred)
	clType   string // "", BASIC, DIGEST, HMAC
	clNonce  []byte
	clAuthed bool
	clRounds int
	credSent bool // the last message carried Cred (or HMAC)

	// server authentication
	srvRequired bool
	srvType     string
	srvAuthed   bool
	srvNonce    []byte
	// srvNoncePending is the nonce of a Chal not yet delivered to the server.
	srvNoncePending []byte
	srvChallenges   int
	msgAuthed       bool // the message being handled is authenticated

	// outgoing
	queue      []*outCmd
	hdrStatus  *syncml.Command
	alertIDs   map[string]string // "msgID/cmdID" → outbox id
	serverDone bool              // the server's current package is complete (Final seen)
	askedMore  bool              // our last message carried Alert 1222
	lastFinal  bool              // our last message carried Final

	// incoming
	srvMsgID string
	srvHdr   syncml.Header
	last     *exchange
	lo       *largeObject
	// together maps the first answer of an Atomic to the number of
	// answers that must share a message (see push and buildMessage).
	together map[*syncml.Command]int

	sum Summary
}

// run drives the state machine.
func (s *session) run(ctx context.Context) (sum Summary, err error) {
	if s.cfg.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Deadline)
		defer cancel()
	}
	if s.cfg.RecordDir != "" {
		r, rerr := newRecorder(s.cfg.RecordDir, s.trig.ServerID, s.sessionID, s.sum.Started)
		if rerr != nil {
			s.log.Warn("session records disabled", "err", rerr)
		} else {
			s.rec = r
			s.sum.RecordDir = r.dir
			defer r.close()
		}
	}
	s.log.Info("session starting", "initiator", s.trig.Initiator.String(), "url", redactURL(s.url))
	st := stateFn(stateSetup)
	for st != nil {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("%w: %w", ErrAborted, cerr)
			break
		}
		name := stateName(st)
		s.log.Debug("state", "state", name)
		st, err = st(ctx, s)
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
			break
		}
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrServerAbort) {
		s.abort(ctx)
		if !errors.Is(err, ErrAborted) {
			err = fmt.Errorf("%w: %w", ErrAborted, err)
		}
	}
	if ferr := s.t.Flush(context.WithoutCancel(ctx)); ferr != nil {
		s.log.Error("flushing the tree", "err", ferr)
		if err == nil {
			err = fmt.Errorf("session: flushing the tree: %w", ferr)
		}
	}
	s.sum.Duration = time.Since(s.sum.Started)
	switch {
	case err == nil:
		s.sum.Result = "ok"
	case errors.Is(err, ErrServerAbort):
		s.sum.Result = "aborted by server"
	case errors.Is(err, ErrAborted):
		s.sum.Result = "aborted"
	default:
		s.sum.Result = "failed"
	}
	s.rec.note("result %s", s.sum.Result)
	lvl := slog.LevelInfo
	if err != nil {
		lvl = slog.LevelWarn
	}
	s.log.Log(ctx, lvl, "session finished", "result", s.sum.Result, "messages_sent", s.sum.MessagesSent,
		"messages_received", s.sum.MessagesReceived, "commands", s.sum.Commands, "duration", s.sum.Duration, "err", err)
	return s.sum, err
}

// abort sends Alert 1223 with the collected statuses and Final, best
// effort, with a short timeout of its own.
func (s *session) abort(ctx context.Context) {
	if !s.sentOnce {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	ab := &outCmd{cmd: &syncml.Command{Kind: syncml.KindAlert, Data: syncml.AlertSessionAbort.Data()}}
	s.queue = append([]*outCmd{ab}, s.queue...)
	s.serverDone = true
	body, hm, _, err := s.buildMessage(true)
	if err != nil {
		return
	}
	s.sum.MessagesSent++
	s.recordOut(body, hm, "abort")
	if _, err := s.postOnce(actx, s.url, body, hm); err != nil {
		s.log.Debug("abort message not delivered", "err", err)
	}
}

// stateSetup reads the device id and the account's authentication.
func stateSetup(ctx context.Context, s *session) (stateFn, error) {
	if s.cfg.DevID != nil {
		id, err := s.cfg.DevID(ctx)
		if err != nil {
			return nil, fmt.Errorf("device id: %w", err)
		}
		s.devID = id
	} else {
		r, err := s.t.Get(ctx, tree.LocalPrincipal, "./DevInfo/DevId")
		if err != nil || len(r.Items) != 1 {
			return nil, fmt.Errorf("device id: ./DevInfo/DevId: %w", err)
		}
		s.devID = string(r.Items[0].Data)
	}
	if s.devID == "" {
		return nil, errors.New("device id is empty")
	}
	if s.url == "" {
		return nil, fmt.Errorf("account %s has no server address", s.acc.Node)
	}
	// Client credentials: AAuthPref first, else the CLCRED type.
	for _, t := range []string{s.acc.AuthPref, s.acc.Client.Type} {
		if supportedAuth(t) && s.acc.Client.Node != "" {
			s.clType = t
			break
		}
	}
	s.clNonce = s.acc.Client.Nonce
	if s.trig.NonceReset {
		s.clNonce = []byte{0, 0, 0, 0}
	}
	if supportedAuth(s.acc.Server.Type) && s.acc.Server.Node != "" {
		s.srvRequired = true
		s.srvType = s.acc.Server.Type
		s.srvNonce = s.acc.Server.Nonce
	}
	// Generic alerts: persist the trigger's for this server, attribute
	// entries an older version left without a server, then send this
	// server's pending ones (genericAlerts).
	if s.cfg.Outbox != nil {
		for _, a := range s.trig.Alerts {
			if _, err := s.cfg.Outbox.Add(s.trig.ServerID, a); err != nil {
				return nil, fmt.Errorf("outbox: %w", err)
			}
		}
		if s.adopt != nil {
			if err := s.adopt(ctx); err != nil {
				s.log.Warn("outbox: unattributed alerts", "err", err)
			}
		}
	}
	return statePkg1, nil
}

// statePkg1 queues Package 1: Alert 1200/1201, Replace with ./DevInfo and
// the pending generic alerts. It is entered again after a challenge.
func statePkg1(ctx context.Context, s *session) (stateFn, error) {
	pkg := []*outCmd{{cmd: &syncml.Command{Kind: syncml.KindAlert, Data: s.trig.Initiator.alert().Data()}}}
	items, err := s.devInfoItems(ctx)
	if err != nil {
		return nil, err
	}
	pkg = append(pkg, &outCmd{cmd: &syncml.Command{Kind: syncml.KindReplace, Items: items}})
	alerts, err := s.genericAlerts()
	if err != nil {
		return nil, err
	}
	pkg = append(pkg, alerts...)
	s.queue = append(pkg, s.queue...)
	s.serverDone = true
	return stateSend, nil
}

// stateSend sends the next message and receives the answer.
func stateSend(ctx context.Context, s *session) (stateFn, error) {
	body, hm, final, err := s.buildMessage(false)
	if err != nil {
		return nil, err
	}
	s.sum.MessagesSent++
	s.recordOut(body, hm, "")
	ex, err := s.post(ctx, s.url, body, hm, true)
	s.sentOnce = true
	if err != nil {
		return nil, err
	}
	if err := s.commitServerNonce(ctx); err != nil {
		return nil, err
	}
	s.lastFinal = final
	s.sum.RoundTrips++
	s.sum.MessagesReceived++
	s.last = ex
	return stateHandle, nil
}

func (s *session) firstExchange() bool { return s.sum.RoundTrips == 0 }

// stateHandle processes a server message and decides what comes next.
func stateHandle(ctx context.Context, s *session) (stateFn, error) {
	ex := s.last
	m := ex.msg
	h := &m.Hdr
	if h.SessionID != s.sessionID {
		return nil, fmt.Errorf("%w: SessionID %q, want %q", ErrProtocol, h.SessionID, s.sessionID)
	}
	if h.VerProto != "" && !strings.HasPrefix(h.VerProto, "DM/1.") {
		return nil, fmt.Errorf("%w: VerProto %q", ErrProtocol, h.VerProto)
	}
	s.srvMsgID = h.MsgID
	s.srvHdr = *h
	if h.RespURI != "" {
		if err := s.setRespURI(h.RespURI); err != nil {
			return nil, err
		}
	}
	if h.Meta != nil {
		if v, ok := h.Meta.MaxMsgSizeInt(); ok && v > 0 {
			s.srvMaxMsg = int(min(v, 1<<30))
		}
		if v, ok := h.Meta.MaxObjSizeInt(); ok && v > 0 {
			s.srvMaxObj = int(min(v, 1<<30))
		}
	}
	// 1223 from the server: stop, no reply.
	for _, c := range m.Body {
		if a, ok := c.AlertCode(); ok && c.Kind == syncml.KindAlert && a == syncml.AlertSessionAbort {
			return nil, ErrServerAbort
		}
	}

	// Who is the server?
	code, chal, err := s.authenticateServer(ctx, ex)
	if err != nil {
		return nil, err
	}
	s.hdrStatus = s.syncHdrStatus(code, chal)

	// Statuses for our commands (incl. the verdict on our credentials).
	reauth := false
	realCmds := false
	for _, c := range m.Body {
		switch {
		case c.Kind == syncml.KindStatus && c.Problem == nil:
			r, err := s.handleStatus(ctx, c)
			if err != nil {
				return nil, err
			}
			reauth = reauth || r
		case c.Kind == syncml.KindAlert && isAlert(c, syncml.AlertNextMessage):
		default:
			realCmds = true
		}
	}

	// The server's package state.
	switch {
	case m.Final:
		s.serverDone = true
	case !realCmds && !s.askedMore && !s.lastFinal:
		// "Next message" answer to our unfinished package.
	default:
		s.serverDone = false
	}

	// Execute (or refuse) the server's commands.
	switch {
	case reauth:
		s.refuseAll(m.Body, codeNotExecuted)
	case !s.msgAuthed:
		s.refuseAll(m.Body, code)
	default:
		s.execute(ctx, m)
	}

	if reauth {
		return statePkg1, nil
	}
	// A server message with Final and no command closes the session (no
	// reply), even when we would have challenged it: nothing of it was
	// executed, and a challenge alone would keep the session going.
	if m.Final && !realCmds && len(s.queue) == 0 && s.lo == nil {
		return nil, nil
	}
	return stateSend, nil
}

func isAlert(c *syncml.Command, code syncml.AlertCode) bool {
	a, ok := c.AlertCode()
	return ok && a == code
}

func (s *session) setRespURI(u string) error {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return fmt.Errorf("%w: bad RespURI", ErrProtocol)
	}
	if cur, err := url.Parse(s.url); err == nil && cur.Scheme == "https" && pu.Scheme != "https" {
		return fmt.Errorf("%w: RespURI downgrades https to %s", ErrProtocol, pu.Scheme)
	}
	s.url = u
	return nil
}

// refuseAll answers every command of body with code (nothing executed).
func (s *session) refuseAll(body []*syncml.Command, code int) {
	for _, c := range body {
		if c.Kind == syncml.KindStatus || c.Kind == syncml.KindResults {
			continue
		}
		s.sum.Commands++
		s.push(s.status(c, code, nil))
	}
}

// syncHdrStatus is the Status for the server's SyncHdr.
func (s *session) syncHdrStatus(code int, chal *syncml.Chal) *syncml.Command {
	st := &syncml.Command{Kind: syncml.KindStatus, MsgRef: s.srvMsgID, CmdRef: "0", Cmd: "SyncHdr",
		Data: strconv.Itoa(code), Chal: chal}
	if s.srvHdr.Target != nil {
		st.TargetRefs = []string{s.srvHdr.Target.LocURI}
	}
	if s.srvHdr.Source != nil {
		st.SourceRefs = []string{s.srvHdr.Source.LocURI}
	}
	s.sum.Statuses[code]++
	return st
}

// status builds the Status of command c (for item it, if given).
func (s *session) status(c *syncml.Command, code int, it *syncml.Item) *syncml.Command {
	st := &syncml.Command{Kind: syncml.KindStatus, MsgRef: s.srvMsgID, CmdRef: c.CmdID, Cmd: c.Kind, Data: strconv.Itoa(code)}
	if errors.Is(c.Problem, syncml.ErrMissingCmdID) {
		st.CmdRef = ""
	}
	if it != nil {
		if it.Target != nil && it.Target.LocURI != "" {
			st.TargetRefs = []string{it.Target.LocURI}
		}
		if it.Source != nil && it.Source.LocURI != "" {
			st.SourceRefs = []string{it.Source.LocURI}
		}
	}
	s.sum.Statuses[code]++
	return st
}

func (s *session) push(cmds ...*syncml.Command) {
	for _, c := range cmds {
		oc := &outCmd{cmd: c}
		if n, ok := s.together[c]; ok {
			oc.group = n
			delete(s.together, c)
		}
		s.queue = append(s.queue, oc)
	}
}

// keepTogether marks cmds (the answers to one Atomic) as going out in one
// message: buildMessage starts a new message rather than split them, unless
// they do not fit even in an otherwise empty one.
func (s *session) keepTogether(cmds []*syncml.Command) {
	if len(cmds) < 2 {
		return
	}
	if s.together == nil {
		s.together = map[*syncml.Command]int{}
	}
	s.together[cmds[0]] = len(cmds)
}

// recode changes the code of the Status st, keeping the summary right.
func (s *session) recode(st *syncml.Command, code int) {
	if old, ok := st.StatusCode(); ok {
		s.sum.Statuses[int(old)]--
	}
	st.Data = strconv.Itoa(code)
	s.sum.Statuses[code]++
}

// header builds our SyncHdr for the next message.
func (s *session) header() *syncml.Header {
	h := &syncml.Header{
		VerDTD: syncml.VerDTD12, VerProto: syncml.VerProtoDM, SessionID: s.sessionID,
		MsgID:  strconv.Itoa(s.msgID),
		Target: &syncml.Location{LocURI: s.acc.Addr},
		Source: &syncml.Location{LocURI: s.devID},
		Meta:   &syncml.Meta{MaxMsgSize: strconv.Itoa(s.maxMsg), MaxObjSize: strconv.Itoa(s.maxObj)},
	}
	if s.clType == "DIGEST" || s.clType == "HMAC" {
		h.Source.LocName = s.acc.Client.Name
	}
	h.Cred = s.cred()
	return h
}

// buildMessage assembles the next message from the header status and the
// queue, within the server's MaxMsgSize. It returns the body, the
// x-syncml-hmac header value ("" when not used) and whether it has Final.
func (s *session) buildMessage(forceFinal bool) ([]byte, string, bool, error) {
	s.msgID++
	h := s.header()
	b, err := syncml.NewBuilder(s.enc, h)
	if err != nil {
		return nil, "", false, err
	}
	max := s.srvMaxMsg
	if max <= 0 {
		max = 1 << 30
	}
	var added []*syncml.Command // in this message, to measure groups
	if s.hdrStatus != nil {
		s.hdrStatus.CmdID = s.nextCmdID()
		if err := b.Add(s.hdrStatus); err != nil {
			return nil, "", false, err
		}
		added = append(added, s.hdrStatus)
		s.hdrStatus = nil
	}
	needMore := (!s.serverDone || s.lo != nil) && !forceFinal
	s.askedMore = false
	if needMore {
		a := &syncml.Command{Kind: syncml.KindAlert, CmdID: s.nextCmdID(), Data: syncml.AlertNextMessage.Data()}
		if err := b.Add(a); err != nil {
			return nil, "", false, err
		}
		added = append(added, a)
		s.askedMore = true
	}
	fixed := b.Len()
	for len(s.queue) > 0 {
		oc := s.queue[0]
		c := oc.cmd
		if oc.group > 1 && b.Len() > fixed && oc.group <= len(s.queue) {
			fits, err := s.groupFits(h, added, s.queue[:oc.group], max)
			if err != nil {
				return nil, "", false, err
			}
			if !fits {
				break // the Atomic's answers start the next message
			}
		}
		c.CmdID = strconv.Itoa(s.cmdID + 1)
		if oc.chunked || (c.Kind == syncml.KindResults && b.Len() == fixed && !b.Fits(c, max)) {
			done, err := s.addChunk(b, oc, max)
			if err != nil {
				return nil, "", false, err
			}
			if !done {
				break
			}
			s.queue = s.queue[1:]
			continue
		}
		if !b.Fits(c, max) {
			if b.Len() == fixed {
				return nil, "", false, fmt.Errorf("session: a %s does not fit in the server's MaxMsgSize %d", c.Kind, max)
			}
			break
		}
		if err := b.Add(c); err != nil {
			return nil, "", false, err
		}
		added = append(added, c)
		s.cmdID++
		if oc.alertID != "" {
			s.alertIDs[strconv.Itoa(s.msgID)+"/"+c.CmdID] = oc.alertID
			s.sum.AlertsSent++
		}
		s.queue = s.queue[1:]
	}
	final := forceFinal || (len(s.queue) == 0 && !needMore)
	body := b.Bytes(final)
	if len(body) > max {
		return nil, "", false, fmt.Errorf("session: message of %d bytes exceeds the server's MaxMsgSize %d", len(body), max)
	}
	return body, s.hmacHeader(body), final, nil
}

// groupFits reports whether the commands of group, numbered from the next
// CmdID on, fit after the commands already added to a message with header h.
// It measures them in a Builder of its own, so nothing is added to the
// message being built.
func (s *session) groupFits(h *syncml.Header, added []*syncml.Command, group []*outCmd, max int) (bool, error) {
	b, err := syncml.NewBuilder(s.enc, h)
	if err != nil {
		return false, err
	}
	for _, c := range added {
		if err := b.Add(c); err != nil {
			return false, err
		}
	}
	for i, oc := range group {
		c := *oc.cmd
		c.CmdID = strconv.Itoa(s.cmdID + 1 + i)
		if err := b.Add(&c); err != nil {
			return false, err
		}
	}
	return b.Size() <= max, nil
}

// atomicSlack is what fitsOneMessage keeps free of the server's
// MaxMsgSize for the message that will carry the answers to differ from
// the one measured: a MsgID, the SyncHdr Status's MsgRef or CmdIDs a
// digit longer.
const atomicSlack = 16

// fitsOneMessage reports whether cmds (the answers to an Atomic, not yet
// queued) fit in one message to the server within its MaxMsgSize, alone
// with the header, the SyncHdr Status and an Alert 1222. The CmdIDs are
// estimated on the high side (the answers queued before these may take
// some and each message adds up to two), and atomicSlack bytes are kept
// free, so that answers found to fit do go out in one message. An encoding
// error counts as fitting: buildMessage reports it.
func (s *session) fitsOneMessage(cmds []*syncml.Command) bool {
	max := s.srvMaxMsg
	if max <= 0 {
		return true
	}
	credSent := s.credSent
	h := s.header()
	s.credSent = credSent // header() records a Cred as sent
	h.MsgID = strconv.Itoa(s.msgID + 1)
	b, err := syncml.NewBuilder(s.enc, h)
	if err != nil {
		return true
	}
	id := s.cmdID + 3*len(s.queue) + 3
	var all []*syncml.Command
	if s.hdrStatus != nil {
		all = append(all, s.hdrStatus)
	}
	all = append(all, &syncml.Command{Kind: syncml.KindAlert, Data: syncml.AlertNextMessage.Data()})
	all = append(all, cmds...)
	for _, c := range all {
		cc := *c
		id++
		cc.CmdID = strconv.Itoa(id)
		if err := b.Add(&cc); err != nil {
			return true
		}
	}
	return b.Size()+atomicSlack <= max
}

func (s *session) nextCmdID() string {
	s.cmdID++
	return strconv.Itoa(s.cmdID)
}

// addChunk adds the next chunk of a large Results item (protocol.md §5.5):
// Size in the first chunk, MoreData on all but the last. It reports
// whether the item is complete.
func (s *session) addChunk(b *syncml.Builder, oc *outCmd, max int) (bool, error) {
	c := oc.cmd
	if !oc.chunked {
		oc.chunked = true
		oc.data = c.Items[0].Data.Text
	}
	rest := oc.data[oc.off:]
	mk := func(n int) *syncml.Command {
		it := *c.Items[0]
		var meta syncml.Meta
		if it.Meta != nil {
			meta = *it.Meta
		}
		meta.Size = ""
		if oc.off == 0 {
			meta.Size = strconv.Itoa(len(oc.data))
		}
		it.Meta = &meta
		it.Data = syncml.TextData(rest[:n])
		it.MoreData = n < len(rest)
		cc := *c
		cc.Items = []*syncml.Item{&it}
		return &cc
	}
	// Largest n that fits (binary search; the size grows with n).
	lo, hi := 0, len(rest)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if b.Fits(mk(mid), max) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return false, nil // nothing fits in this message; try the next one
	}
	cc := mk(lo)
	if err := b.Add(cc); err != nil {
		return false, err
	}
	s.cmdID++
	oc.off += lo
	return oc.off == len(oc.data), nil
}

func redactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	pu.User = nil
	pu.RawQuery = ""
	return pu.String()
}

func (s *session) recordOut(body []byte, hm, note string) {
	s.rec.write("client", body, hm, note)
}

func (s *session) recordIn(body []byte, hm string) {
	s.rec.write("server", body, hm, "")
}
