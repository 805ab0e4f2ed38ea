package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

const (
	testDevID  = "IMEI:493005100592800"
	testServer = "srv1"
	allACL     = "Add=*&Get=*&Replace=*&Delete=*&Exec=*"
)

var bg = context.Background()

// acct describes the test account.
type acct struct {
	authPref                    string
	clType, clName, clSecret    string
	clNonce                     []byte
	srvType, srvName, srvSecret string
	srvNonce                    []byte
}

// fixture is a tree with DevInfo, an account for srv1 and a test subtree
// ./Vendor (stored) plus ./Mem (a treetest.Mem provider).
type fixture struct {
	t   *tree.Tree
	mem *treetest.Mem
	acc *dmacc.Store
}

func newFixture(t testing.TB, url string, a acct) *fixture {
	t.Helper()
	tr := tree.New()
	set := func(u, v string) {
		t.Helper()
		if err := tr.Add(bg, tree.LocalPrincipal, u, tree.Value{Data: []byte(v)}); err != nil {
			t.Fatalf("add %s: %v", u, err)
		}
	}
	setBin := func(u string, v []byte) {
		t.Helper()
		if err := tr.Add(bg, tree.LocalPrincipal, u, tree.Value{Data: v, Format: tree.FormatBin}); err != nil {
			t.Fatalf("add %s: %v", u, err)
		}
	}
	set("./DevInfo/DevId", testDevID)
	set("./DevInfo/Man", "Acme")
	set("./DevInfo/Mod", "GW-1")
	set("./DevInfo/DmV", "1.2")
	set("./DevInfo/Lang", "en-US")
	acc := "./DMAcc/s1"
	set(acc+"/AppID", "w7")
	set(acc+"/ServerID", testServer)
	set(acc+"/Name", "Test server")
	set(acc+"/AppAddr/1/Addr", url)
	set(acc+"/AppAddr/1/AddrType", "URI")
	if a.authPref != "" {
		set(acc+"/AAuthPref", a.authPref)
	}
	if a.clType != "" {
		set(acc+"/AppAuth/1/AAuthLevel", "CLCRED")
		set(acc+"/AppAuth/1/AAuthType", a.clType)
		set(acc+"/AppAuth/1/AAuthName", a.clName)
		set(acc+"/AppAuth/1/AAuthSecret", a.clSecret)
		if a.clNonce != nil {
			setBin(acc+"/AppAuth/1/AAuthData", a.clNonce)
		}
	}
	if a.srvType != "" {
		set(acc+"/AppAuth/2/AAuthLevel", "SRVCRED")
		set(acc+"/AppAuth/2/AAuthType", a.srvType)
		set(acc+"/AppAuth/2/AAuthName", a.srvName)
		set(acc+"/AppAuth/2/AAuthSecret", a.srvSecret)
		if a.srvNonce != nil {
			setBin(acc+"/AppAuth/2/AAuthData", a.srvNonce)
		}
	}
	set("./Vendor/A", "a")
	set("./Vendor/B", "b")
	if err := tr.Replace(bg, tree.LocalPrincipal, "./Vendor?prop=ACL", tree.Value{Data: []byte(allACL)}); err != nil {
		t.Fatal(err)
	}
	m := treetest.NewMem("./Mem")
	m.Set("./Mem/X", false, "x", "chr", "", allACL)
	m.Set("./Mem", true, "", "node", "", allACL)
	if err := tr.Mount("./Mem", m); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: tr, mem: m, acc: dmacc.New(tr)}
}

func (f *fixture) get(t testing.TB, u string) (string, bool) {
	t.Helper()
	r, err := f.t.Get(bg, tree.LocalPrincipal, u)
	if err != nil || len(r.Items) != 1 {
		return "", false
	}
	return string(r.Items[0].Data), true
}

// reply is what a scripted server answers.
type reply struct {
	msg    *syncml.Message
	raw    []byte // sent as is when set
	ctype  string // overrides the Content-Type
	status int    // HTTP status (default 200)
	hmac   string
	hijack bool // close the connection without answering
}

// step handles request n (0-based).
type step func(n int, req *syncml.Message, r *http.Request, body []byte) reply

// dmServer is a scripted DM server over HTTPS.
type dmServer struct {
	*httptest.Server
	t      testing.TB
	mu     sync.Mutex
	steps  []step
	reqs   []*syncml.Message
	hdrs   []http.Header
	bodies [][]byte
	n      int
	enc    syncml.Encoding
}

func newDMServer(t testing.TB, steps ...step) *dmServer {
	s := &dmServer{t: t, steps: steps}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Server.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *dmServer) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := s.n
	s.n++
	var req *syncml.Message
	m, enc, err := syncml.Decode(body)
	if err == nil {
		req = m
		s.enc = enc
	} else {
		s.t.Errorf("server: request %d undecodable: %v", n, err)
	}
	s.reqs = append(s.reqs, req)
	s.hdrs = append(s.hdrs, r.Header.Clone())
	s.bodies = append(s.bodies, body)
	var st step
	if n < len(s.steps) {
		st = s.steps[n]
	}
	enc = s.enc
	s.mu.Unlock()
	if st == nil || req == nil {
		s.t.Errorf("server: unexpected request %d", n)
		http.Error(w, "unexpected", http.StatusInternalServerError)
		return
	}
	rp := st(n, req, r, body)
	if rp.hijack {
		hj, ok := w.(http.Hijacker)
		if ok {
			c, _, _ := hj.Hijack()
			c.Close()
		}
		return
	}
	out := rp.raw
	if out == nil && rp.msg != nil {
		out, err = syncml.Encode(rp.msg, enc)
		if err != nil {
			s.t.Errorf("server: encode: %v", err)
		}
	}
	ct := rp.ctype
	if ct == "" {
		ct = enc.ContentType()
	}
	w.Header().Set("Content-Type", ct)
	if rp.hmac != "" {
		w.Header().Set("x-syncml-hmac", rp.hmac)
	}
	if rp.status != 0 {
		w.WriteHeader(rp.status)
	}
	w.Write(out)
}

func (s *dmServer) requests() []*syncml.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*syncml.Message(nil), s.reqs...)
}

// answer builds a server message answering req: Status for its SyncHdr
// (hdrCode), 200 for each of its commands (Status and Results excepted),
// then cmds, with CmdIDs numbered from 1.
func answer(n int, req *syncml.Message, hdrCode int, final bool, cmds ...*syncml.Command) *syncml.Message {
	m := &syncml.Message{Final: final}
	m.Hdr = syncml.Header{VerDTD: "1.2", VerProto: "DM/1.2", SessionID: req.Hdr.SessionID, MsgID: strconv.Itoa(n + 1),
		Target: &syncml.Location{LocURI: req.Hdr.Source.LocURI}, Source: &syncml.Location{LocURI: "https://dm.example/dm"}}
	id := 0
	next := func() string { id++; return strconv.Itoa(id) }
	m.Body = append(m.Body, &syncml.Command{Kind: "Status", CmdID: next(), MsgRef: req.Hdr.MsgID, CmdRef: "0", Cmd: "SyncHdr", Data: strconv.Itoa(hdrCode)})
	for _, c := range req.Body {
		if c.Kind == "Status" || c.Kind == "Results" {
			continue
		}
		m.Body = append(m.Body, &syncml.Command{Kind: "Status", CmdID: next(), MsgRef: req.Hdr.MsgID, CmdRef: c.CmdID, Cmd: c.Kind, Data: "200"})
	}
	for _, c := range cmds {
		numberCmd(c, next)
		m.Body = append(m.Body, c)
	}
	return m
}

func numberCmd(c *syncml.Command, next func() string) {
	if c.CmdID == "" {
		c.CmdID = next()
	}
	for _, ch := range c.Children {
		numberCmd(ch, next)
	}
}

// done is the closing server message: statuses only, Final.
func done(n int, req *syncml.Message, r *http.Request, body []byte) reply {
	return reply{msg: answer(n, req, 200, true)}
}

func cmd(kind, target, data string) *syncml.Command {
	c := &syncml.Command{Kind: kind}
	it := &syncml.Item{Target: &syncml.Location{LocURI: target}}
	if data != "" || kind == "Add" || kind == "Replace" {
		it.Data = syncml.TextData(data)
	}
	c.Items = []*syncml.Item{it}
	return c
}

// statusesOf maps "Cmd CmdRef [TargetRef]" to the status code in m.
func codesFor(m *syncml.Message, cmdRef string) []string {
	var out []string
	for _, c := range m.Body {
		if c.Kind == "Status" && c.CmdRef == cmdRef {
			out = append(out, c.Data)
		}
	}
	return out
}

func findStatus(m *syncml.Message, cmdRef string) *syncml.Command {
	for _, c := range m.Body {
		if c.Kind == "Status" && c.CmdRef == cmdRef {
			return c
		}
	}
	return nil
}

func findResults(m *syncml.Message, cmdRef string) []*syncml.Command {
	var out []*syncml.Command
	for _, c := range m.Body {
		if c.Kind == "Results" && c.CmdRef == cmdRef {
			out = append(out, c)
		}
	}
	return out
}

// engine returns an Engine for the fixture trusting srv.
func (f *fixture) engine(t testing.TB, srv *dmServer, mod func(*Config)) *Engine {
	t.Helper()
	cfg := Config{Tree: f.t, Accounts: f.acc, HTTPClient: srv.Client(), Deadline: 20 * time.Second,
		Transport: Transport{ConnRetryFreq: -1}}
	if os.Getenv("SESSION_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var encodings = []struct {
	name string
	xml  bool
	enc  syncml.Encoding
}{{"xml", true, syncml.XML}, {"wbxml", false, syncml.WBXML}}

type xmlNameT = xml.Name

type contextForUI = context.Context

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var netOpErr = net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func pemEncode(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func timeAfter(ms int) <-chan time.Time { return time.After(time.Duration(ms) * time.Millisecond) }
