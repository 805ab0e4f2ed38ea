package bench

import (
	"context"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/device"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/agent/session"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
	"github.com/omadm-agent/omadm-agent/tree"
)

// BenchmarkCMTIToFirstRequest: one WAP-push SMS per iteration, stored on
// the fake modem outside the timed region, then the timed part: the fake
// writes `+CMTI: "SM",<idx>`, the agent reads the SMS (+CMGR), decodes the
// WAP push and the Package #0, verifies its digest, queues the trigger and
// the session engine opens a TLS connection and posts Package 1; timing
// stops when the server has seen that request. Between iterations (timer
// stopped) the session ends and the SMS is deleted.
//
// ns/op runs from StartTimer to the benchmark goroutine seeing the request
// (it includes the server's decoding of Package 1 and a goroutine wake-up).
// ms/cmti-to-request is the mean of the exact figure, from writing the +CMTI
// line to the server's handler being entered (before it reads the body);
// p95-ms/cmti-to-request and max-ms/cmti-to-request are its 95th
// percentile and maximum (the maximum mostly shows the machine's load).
// One push before the timed loop warms the process up; its figure is
// logged as "cold".
func BenchmarkCMTIToFirstRequest(b *testing.B) {
	r := newCMTIRig(b, b.N+1)
	cold := r.push(b, 0, nil)
	b.Logf("cold first push (not timed): %.2f ms", ms(cold))

	ds := make([]time.Duration, b.N)
	var sum time.Duration
	b.ResetTimer()
	b.StopTimer()
	for i := range ds {
		ds[i] = r.push(b, i+1, b)
		sum += ds[i]
	}
	slices.Sort(ds)
	b.ReportMetric(ms(sum)/float64(b.N), "ms/cmti-to-request")
	b.ReportMetric(ms(ds[(len(ds)*95+99)/100-1]), "p95-ms/cmti-to-request")
	b.ReportMetric(ms(ds[len(ds)-1]), "max-ms/cmti-to-request")
}

// TestCMTIRig checks the benchmark's set-up on a few pushes: each +CMTI
// starts exactly one server-initiated session with the Package #0's session
// id, the server sees one authenticated Package 1 per session and the
// session ends successfully, the SMS is deleted, and the SRVCRED nonce the
// pre-encoded Package #0s are signed with stays valid.
func TestCMTIRig(t *testing.T) {
	const n = 3
	r := newCMTIRig(t, n)
	for i := range n {
		d := r.push(t, i, nil)
		if d <= 0 || d > 10*time.Second {
			t.Errorf("push %d: +CMTI to first request took %v, want a positive duration within the wait", i, d)
		}
	}
	if got := r.srv.requests(); got != n {
		t.Errorf("server requests: got %d, want %d (one per session)", got, n)
	}
	st := r.agent.Stats()
	if st.Started != n || st.Finished != n || st.Failed != 0 {
		t.Errorf("agent stats: started %d finished %d failed %d, want %d %d 0", st.Started, st.Finished, st.Failed, n, n)
	}
	del := 0
	for _, c := range r.fake.Commands() {
		if strings.HasPrefix(c, "AT+CMGD=") {
			del++
		}
	}
	if del != n {
		t.Errorf("AT+CMGD commands: got %d, want %d (one per accepted push)", del, n)
	}
}

// cmtiRig is one agent with its modem, tree, session engine and DM server.
type cmtiRig struct {
	acct  rig.Account
	fake  *modemtest.Fake
	srv   *dmServer
	agent *agent.Agent
	obs   *observer
	log   *tailLog
	pdus  []string // SMS-DELIVER PDUs (hex), one per push
	sids  []string // the SyncHdr SessionID each push must start
}

// newCMTIRig brings everything up for n pushes and registers the cleanups
// that stop it. The PDUs are encoded here, by one python3-gammu run.
func newCMTIRig(tb testing.TB, n int) *cmtiRig {
	tb.Helper()
	if n > 0xFFFF {
		tb.Fatalf("%d pushes: more than the 16-bit Package #0 session ids", n)
	}
	dir := tb.TempDir()
	r := &cmtiRig{acct: rig.DemoAccount(), log: &tailLog{}}
	log := slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("agent log (tail):\n%s", r.log.String())
		}
	})

	// The DM server on loopback HTTPS.
	r.srv = &dmServer{acct: r.acct, hits: make(chan hit, 16)}
	ts := httptest.NewUnstartedServer(r.srv)
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	r.srv.url = ts.URL
	r.acct.URL = ts.URL
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})

	// One Package #0 per push, each with its own session id, signed with the
	// account's SRVCRED secret and nonce, wrapped in a WSP push and encoded
	// as an SMS-DELIVER by python3-gammu.
	specs := make([]modemtest.PDUSpec, n)
	for i := range n {
		nt := notification.Notification{UIMode: notification.UIBackground, Initiator: notification.InitiatorServer,
			SessionID: uint16(i + 1), ServerID: r.acct.ServerID}
		pkg0, err := notification.Encode(nt, r.acct.ServerPassword, r.acct.ServerNonce)
		if err != nil {
			tb.Fatal(err)
		}
		specs[i] = modemtest.PDUSpec{UDH: rig.PushUDH, Data: hex.EncodeToString(rig.WSPPush(byte(i), pkg0)), Number: rig.Sender}
		r.sids = append(r.sids, nt.SessionIDHex())
	}
	var err error
	if r.pdus, err = modemtest.EncodeDeliver(specs...); err != nil {
		tb.Fatalf("encoding the SMS: %v", err) // says "run `make deps`" when python3-gammu is missing
	}

	// The configuration the daemon would run with, push rate limit raised.
	r.fake, err = modemtest.New(dir)
	if err != nil {
		tb.Fatalf("fake modem: %v", err)
	}
	tb.Cleanup(r.fake.Close)
	cfg := config.Default()
	cfg.Agent.StateDir = filepath.Join(dir, "state")
	cfg.Modem.Enabled, cfg.Modem.Device = true, r.fake.Path
	cfg.Push.RateLimit = 1 << 20 // per minute: never reached

	// The same parts, in the same order, as runDaemon.
	ctx, cancel := context.WithCancel(context.Background())
	octx, ocancel := context.WithTimeout(ctx, 20*time.Second)
	mdm, err := modem.Open(octx, modem.Config{Device: cfg.Modem.Device, Baud: cfg.Modem.Baud, Logger: log.With("component", "modem")})
	ocancel()
	if err != nil {
		cancel()
		tb.Fatalf("modem.Open: %v", err)
	}
	t, err := device.OpenTree(ctx, device.Options{StateDir: cfg.Agent.StateDir, Device: cfg.Device, Version: "bench", IMEI: mdm.IMEI})
	if err != nil {
		cancel()
		mdm.Close()
		tb.Fatalf("device tree: %v", err)
	}
	if rep, err := bootstrap.Apply(ctx, t, r.acct.BootstrapXML(), bootstrap.Options{Origin: "file"}); err != nil {
		tb.Fatalf("bootstrap: %v", err)
	} else if !slices.Contains(rep.Added, r.acct.ServerID) {
		tb.Fatalf("bootstrap added %v, want the account %q", rep.Added, r.acct.ServerID)
	}
	if err := t.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	accounts := dmacc.New(t)
	ob, err := outbox.Open(filepath.Join(cfg.Agent.StateDir, "outbox"))
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := session.NewEngine(engineConfig(cfg, t, accounts, ob, caPEM, log))
	if err != nil {
		tb.Fatalf("session engine: %v", err)
	}
	r.obs = &observer{done: make(chan finished, 16)}
	r.agent, err = agent.New(agent.Config{
		Config: cfg, Runner: engineRunner{eng}, Accounts: accounts,
		Bootstrap: agent.TreeBootstrapper{Tree: t}, SIM: mdm, Observer: r.obs,
		Logger: log, Version: "bench", ModemState: func() string { return "ready" },
	})
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.agent.Run(ctx) })
	wg.Go(func() { _ = mdm.Serve(ctx, r.agent.HandlePush) })
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		mdm.Close()
		if err := t.Flush(context.Background()); err != nil {
			tb.Errorf("flush the tree: %v", err)
		}
	})

	// Ready once the modem set-up ended with its storage sweep and +CNMI
	// routes new SMS to the storage with +CMTI.
	if !r.fake.WaitCommand("AT+CMGL=4", 1, 15*time.Second) {
		tb.Fatalf("the modem was not set up (no AT+CMGL=4); commands: %q", r.fake.Commands())
	}
	if mt := r.fake.MT(); mt != 1 {
		tb.Fatalf("+CNMI <mt>: got %d, want 1 (stored, announced with +CMTI)", mt)
	}
	waitUntil(tb, "agent idle", 10*time.Second, func() bool { return r.agent.Snapshot().State == "idle" })
	return r
}

// engineConfig mirrors the daemon's (cmd_run.go), with the test server's
// certificate as the only trusted root.
func engineConfig(cfg config.Config, t *tree.Tree, accs *dmacc.Store, ob *outbox.Outbox, caPEM []byte, log *slog.Logger) session.Config {
	tr := cfg.Transport
	return session.Config{
		Tree: t, Accounts: accs, Outbox: ob, Logger: log.With("component", "session"),
		UI: session.Headless{Confirm: cfg.UI.Confirm, Input: cfg.UI.Input, AskTimeout: cfg.UI.AskTimeout, OnTimeout: cfg.UI.OnTimeout},
		Transport: session.Transport{
			CAPEM: caPEM, ConnectTimeout: tr.ConnectTimeout, RequestTimeout: tr.RequestTimeout,
			ConnRetryFreq: -1, InitialBackoff: tr.InitialBackoff, MaxBackoff: tr.MaxBackoff,
		},
		XML:        tr.Encoding == "xml",
		MaxMsgSize: tr.MaxMsgSize, MaxObjSize: tr.MaxObjSize,
		Deadline: cfg.Agent.SessionDeadline, UserAgent: "omadm-agent/bench",
	}
}

// push delivers push i and returns the time from writing the +CMTI line to
// the server's handler being entered for Package 1 of its session. With b
// set, only that part runs with the benchmark timer on. It returns once the
// session ended successfully and the SMS was deleted.
func (r *cmtiRig) push(tb testing.TB, i int, b *testing.B) time.Duration {
	tb.Helper()
	select {
	case h := <-r.srv.hits:
		tb.Fatalf("push %d: the server got a request nobody expected (session %q, err %v)", i, h.sessionID, h.err)
	default:
	}
	idx, err := r.fake.Store(r.pdus[i])
	if err != nil {
		tb.Fatal(err)
	}
	cmti := fmt.Sprintf(`+CMTI: "SM",%d`, idx)
	if b != nil {
		b.StartTimer()
	}
	t0 := time.Now()
	if err := r.fake.Send(cmti); err != nil {
		tb.Fatal(err)
	}
	var h hit
	select {
	case h = <-r.srv.hits:
	case <-time.After(10 * time.Second):
		tb.Fatalf("push %d (session %s): no request within 10s; modem commands: %q", i, r.sids[i], r.fake.Commands())
	}
	if b != nil {
		b.StopTimer()
	}
	if h.err != nil || h.sessionID != r.sids[i] {
		tb.Fatalf("push %d: server got session %q (err %v), want Package 1 of session %s", i, h.sessionID, h.err, r.sids[i])
	}
	select {
	case f := <-r.obs.done:
		if f.err != nil || f.status != 0 || f.session != r.sids[i] {
			tb.Fatalf("push %d: session %s ended with status %d, err %v; want session %s ok", i, f.session, f.status, f.err, r.sids[i])
		}
	case <-time.After(10 * time.Second):
		tb.Fatalf("push %d: session %s did not end within 10s", i, r.sids[i])
	}
	waitUntil(tb, fmt.Sprintf("SMS %d deleted", idx), 5*time.Second, func() bool { return len(r.fake.Stored()) == 0 })
	return h.at.Sub(t0)
}

// engineRunner adapts the session engine to agent.SessionRunner as the
// daemon does.
type engineRunner struct{ e *session.Engine }

func (r engineRunner) RunSession(ctx context.Context, t agent.Trigger) (agent.Result, error) {
	trig := session.Trigger{ServerID: t.ServerID, Initiator: session.ClientInitiated, SessionID: t.Session, NonceReset: t.NonceReset}
	if t.ServerInitiated() {
		trig.Initiator = session.ServerInitiated
	}
	sum, err := r.e.Run(ctx, trig)
	res := agent.Result{SessionID: sum.SessionID, Commands: sum.Commands}
	switch {
	case err == nil:
	case errors.Is(err, session.ErrTransport):
		res.Status = -1
	case errors.Is(err, session.ErrAuth):
		res.Status = 401
	default:
		res.Status = 500
	}
	return res, err
}

// finished is one SessionFinished report.
type finished struct {
	session string
	status  int
	err     error
}

// observer reports the end of every session (called by the agent
// goroutine; it never blocks it).
type observer struct{ done chan finished }

func (o *observer) SessionStarted(agent.Trigger) {}
func (o *observer) SessionFinished(t agent.Trigger, r agent.Result, err error) {
	select {
	case o.done <- finished{session: t.Session, status: r.Status, err: err}:
	default:
	}
}
func (o *observer) StateChanged(agent.Snapshot) {}

// hit is the first request of a session as the server saw it.
type hit struct {
	at        time.Time // handler entered
	sessionID string
	err       error
}

// dmServer answers Package 1 of a server-initiated session with a Package 2
// that ends it: Status 212 for the SyncHdr (the client's MD5 Cred checked),
// Status 200 for every command, the server's own MD5 Cred, Final. It
// closes the connection after the reply, so every session starts with a
// new TCP and TLS handshake, as when pushes are minutes apart.
type dmServer struct {
	acct rig.Account
	url  string
	hits chan hit

	mu sync.Mutex
	n  int // requests served
}

func (s *dmServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *dmServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
	w.Header().Set("Connection", "close")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.report(hit{at: at, err: err})
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	m, enc, err := syncml.Decode(body)
	if err != nil {
		s.report(hit{at: at, err: fmt.Errorf("package 1 does not decode: %w", err)})
		http.Error(w, "not SyncML", http.StatusBadRequest)
		return
	}
	h := hit{at: at, sessionID: m.Hdr.SessionID}
	if err := s.checkPkg1(m); err != nil {
		h.err = err
	}
	s.report(h)
	reply, err := s.pkg2(m, enc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", enc.ContentType())
	_, _ = w.Write(reply)
}

func (s *dmServer) report(h hit) {
	select {
	case s.hits <- h:
	default: // nobody reads: push fails on the unexpected request first
	}
}

// checkPkg1 wants MsgID 1, Alert 1200 and a valid MD5 client Cred.
func (s *dmServer) checkPkg1(m *syncml.Message) error {
	if m.Hdr.MsgID != "1" {
		return fmt.Errorf("MsgID %q, want 1 (first message of a session)", m.Hdr.MsgID)
	}
	if !slices.ContainsFunc(m.Body, func(c *syncml.Command) bool {
		return c.Kind == syncml.KindAlert && c.Data == syncml.AlertServerInitiatedMgmt.Data()
	}) {
		return errors.New("no Alert 1200 in package 1")
	}
	c := m.Hdr.Cred
	if c == nil || c.Meta == nil || c.Meta.Type != auth.MetaTypeMD5 ||
		!auth.VerifyMD5(s.acct.ClientUser, s.acct.ClientPassword, s.acct.ClientNonce, strings.TrimSpace(c.Data)) {
		return errors.New("package 1 has no valid MD5 client credential")
	}
	return nil
}

func (s *dmServer) pkg2(m *syncml.Message, enc syncml.Encoding) ([]byte, error) {
	hdr := &syncml.Header{
		VerDTD: syncml.VerDTD12, VerProto: syncml.VerProtoDM, SessionID: m.Hdr.SessionID, MsgID: "1",
		Source: &syncml.Location{LocURI: s.url, LocName: s.acct.ServerID},
		Cred: &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeMD5, Format: "b64"},
			Data: auth.MD5Digest(s.acct.ServerID, s.acct.ServerPassword, s.acct.ServerNonce)},
	}
	if m.Hdr.Source != nil {
		hdr.Target = &syncml.Location{LocURI: m.Hdr.Source.LocURI}
	}
	b, err := syncml.NewBuilder(enc, hdr)
	if err != nil {
		return nil, err
	}
	id := 0
	next := func() string { id++; return fmt.Sprint(id) }
	st := &syncml.Command{Kind: syncml.KindStatus, CmdID: next(), MsgRef: m.Hdr.MsgID, CmdRef: "0", Cmd: "SyncHdr",
		Data: syncml.StatusAuthenticationAccepted.Data()}
	if m.Hdr.Target != nil {
		st.TargetRefs = []string{m.Hdr.Target.LocURI}
	}
	if m.Hdr.Source != nil {
		st.SourceRefs = []string{m.Hdr.Source.LocURI}
	}
	if err := b.Add(st); err != nil {
		return nil, err
	}
	for _, c := range m.Body {
		if c.Kind == syncml.KindStatus || c.Kind == syncml.KindResults {
			continue
		}
		st := &syncml.Command{Kind: syncml.KindStatus, CmdID: next(), MsgRef: m.Hdr.MsgID, CmdRef: c.CmdID, Cmd: c.Kind,
			Data: syncml.StatusOK.Data()}
		if err := b.Add(st); err != nil {
			return nil, err
		}
	}
	return b.Bytes(true), nil
}

// tailLog keeps the last 64 KiB of the agent's log (shown on failure).
type tailLog struct {
	mu  sync.Mutex
	buf []byte
}

func (l *tailLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if over := len(l.buf) - 64<<10; over > 0 {
		l.buf = append(l.buf[:0], l.buf[over:]...)
	}
	return len(p), nil
}

func (l *tailLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

func waitUntil(tb testing.TB, what string, timeout time.Duration, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
