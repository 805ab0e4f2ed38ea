package dbusapi

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/dbusapi/dbusapitest"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
)

type accounts map[string]dmacc.Account

func (a accounts) Account(_ context.Context, id string) (dmacc.Account, error) {
	acc, ok := a[id]
	if !ok {
		return dmacc.Account{}, fmt.Errorf("%w: %q", dmacc.ErrUnknownServer, id)
	}
	return acc, nil
}

func (a accounts) Accounts(context.Context) ([]dmacc.Account, error) {
	var out []dmacc.Account
	for _, acc := range a {
		out = append(out, acc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServerID < out[j].ServerID })
	return out, nil
}

func account(id string) dmacc.Account {
	return dmacc.Account{ServerID: id, Addr: "https://" + id,
		Server: dmacc.Credential{Node: "./DMAcc/x/AppAuth/1", Name: id, Secret: "serverpassword", Nonce: []byte("srvnonce")}}
}

type runner struct {
	mu   sync.Mutex
	seen []agent.Trigger
	hold chan struct{} // nil: sessions end at once
	fail map[string]bool
}

func (r *runner) RunSession(ctx context.Context, t agent.Trigger) (agent.Result, error) {
	r.mu.Lock()
	r.seen = append(r.seen, t)
	hold, fail := r.hold, r.fail[t.ServerID]
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return agent.Result{Status: -1, Summary: "aborted"}, ctx.Err()
		}
	}
	if fail {
		return agent.Result{Status: 401, Summary: "authentication failed"}, errors.New("authentication failed")
	}
	return agent.Result{Summary: "ok", Commands: 2}, nil
}

func (r *runner) triggers() []agent.Trigger {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]agent.Trigger(nil), r.seen...)
}

// fanout lets the test wire the Server as the agent's observer after both
// exist.
type fanout struct {
	mu sync.Mutex
	o  agent.Observer
}

func (f *fanout) get() agent.Observer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.o
}
func (f *fanout) SessionStarted(t agent.Trigger) {
	if o := f.get(); o != nil {
		o.SessionStarted(t)
	}
}
func (f *fanout) SessionFinished(t agent.Trigger, r agent.Result, err error) {
	if o := f.get(); o != nil {
		o.SessionFinished(t, r, err)
	}
}
func (f *fanout) StateChanged(s agent.Snapshot) {
	if o := f.get(); o != nil {
		o.StateChanged(s)
	}
}

// fakeDir puts uid 65534 (nobody) in group "omadm-test" (gid 4242) without
// touching /etc/group.
type fakeDir struct{}

func (fakeDir) GroupIDs(uid uint32) ([]string, error) {
	switch uid {
	case 65534:
		return []string{"65534", "4242"}, nil
	case 1000:
		return []string{"1000"}, nil
	}
	return nil, errors.New("no such user")
}

func (fakeDir) GroupID(name string) (string, error) {
	if name == "omadm-test" {
		return "4242", nil
	}
	return "", errors.New("no such group")
}

func TestAccessAllowed(t *testing.T) {
	tests := []struct {
		name  string
		group string
		uid   uint32
		want  bool
	}{
		{"root", "omadm-test", 0, true},
		{"root without group", "", 0, true},
		{"member", "omadm-test", 65534, true},
		{"not a member", "omadm-test", 1000, false},
		{"unknown user", "omadm-test", 4711, false},
		{"unknown group", "nogroup-xyz", 65534, false},
		{"no control group", "", 65534, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Access{Group: tc.group, Dir: fakeDir{}}).Allowed(tc.uid); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// The real directory: root is always allowed, a group that does not
	// exist allows nobody else.
	if !(Access{Group: "omadm-no-such-group"}).Allowed(0) || (Access{Group: "omadm-no-such-group"}).Allowed(65534) {
		t.Error("OSDirectory: want root allowed and nobody denied")
	}
}

// TestContract: our introspection data has exactly the methods, signals
// and properties of packaging/dbus/org.omadm.Agent1.xml (names, types,
// directions, order-insensitive).
func TestContract(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "packaging", "dbus", "org.omadm.Agent1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var want, got introspect.Node
	if err := xml.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal([]byte(IntrospectXML()), &got); err != nil {
		t.Fatal(err)
	}
	sig := func(n introspect.Node) map[string]string {
		out := map[string]string{}
		for _, i := range n.Interfaces {
			for _, m := range i.Methods {
				var a []string
				for _, x := range m.Args {
					a = append(a, x.Name+":"+x.Type+":"+x.Direction)
				}
				out[i.Name+".method."+m.Name] = strings.Join(a, ",")
			}
			for _, s := range i.Signals {
				var a []string
				for _, x := range s.Args {
					a = append(a, x.Name+":"+x.Type)
				}
				out[i.Name+".signal."+s.Name] = strings.Join(a, ",")
			}
			for _, p := range i.Properties {
				out[i.Name+".prop."+p.Name] = p.Type + ":" + p.Access
			}
		}
		return out
	}
	w, g := sig(want), sig(got)
	for k, v := range w {
		if g[k] != v {
			t.Errorf("%s: got %q, want %q", k, g[k], v)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Errorf("%s: not in the contract", k)
		}
	}
}

type env struct {
	bus    *dbusapitest.Bus
	agent  *agent.Agent
	runner *runner
	srv    *Server
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{bus: dbusapitest.Start(t), runner: &runner{}}
	fo := &fanout{}
	cfg := config.Default()
	next := cfg
	next.Agent.LogLevel = "debug"
	next.Modem.Device = "/dev/ttyUSB7"
	a, err := agent.New(agent.Config{
		Config: cfg, Runner: e.runner, Accounts: accounts{"dm.example.com": account("dm.example.com"), "com.mgmtsrv.manage": account("com.mgmtsrv.manage")},
		Observer: fo, Version: "1.2.3-test",
		Load: func() (config.Config, config.Sources, error) {
			return next, config.Sources{Files: []string{"/etc/omadm-agent/agent.toml"}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.agent = a
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := dbus.Connect(e.bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	srv, err := Export(conn, a, Options{Access: Access{Group: "omadm-test", Dir: fakeDir{}},
		Planner: func(_ context.Context, serverID string, pkg []byte) (string, error) {
			if string(pkg) == "bad" {
				return "", errors.New("decode: not SyncML\nsecond line")
			}
			return fmt.Sprintf("plan for %q: %d bytes", serverID, len(pkg)), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	fo.mu.Lock()
	fo.o = srv
	fo.mu.Unlock()
	return e
}

// run runs a command as uid (0: as is) and returns its combined output.
func run(t *testing.T, uid int, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAPIEndToEnd: another process (busctl, dbus-send) calls the API on a
// private bus; signals reach a second connection; callers that are neither
// root nor in the control group are refused by the agent.
func TestAPIEndToEnd(t *testing.T) {
	dbusapitest.Need(t, "busctl", "dbus-send")
	e := setup(t)
	if os.Getuid() != 0 {
		t.Fatal("this test switches users for the unprivileged caller and needs root")
	}

	// A listener on a second connection.
	lc, err := dbus.Connect(e.bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	if err := lc.AddMatchSignal(dbus.WithMatchObjectPath(ObjectPath)); err != nil {
		t.Fatal(err)
	}
	sigs := make(chan *dbus.Signal, 32)
	lc.Signal(sigs)

	// StartSession from busctl (root).
	out, err := run(t, 0, "busctl", "--address="+e.bus.Addr, "call", BusName, string(ObjectPath), Interface, "StartSession", "s", "dm.example.com")
	if err != nil || !strings.HasPrefix(out, `s "t`) {
		t.Fatalf("busctl StartSession: %q, %v; want a trigger id", out, err)
	}
	var started, finished []any
	deadline := time.After(10 * time.Second)
	for finished == nil {
		select {
		case s := <-sigs:
			switch s.Name {
			case Interface + ".SessionStarted":
				started = s.Body
			case Interface + ".SessionFinished":
				finished = s.Body
			}
		case <-deadline:
			t.Fatal("no SessionFinished signal")
		}
	}
	if len(started) != 2 || started[0] != "dm.example.com" || started[1] == "" {
		t.Errorf("got SessionStarted %v, want (dm.example.com, session id)", started)
	}
	if len(finished) != 4 || finished[0] != "dm.example.com" || finished[1] != started[1] || finished[2] != int32(0) || finished[3] != "ok" {
		t.Errorf("got SessionFinished %v, want (dm.example.com, %v, 0, ok)", finished, started[1])
	}
	if tr := e.runner.triggers(); len(tr) != 1 || tr[0].Source != agent.SourceLocal {
		t.Errorf("got sessions %v, want one local session", tr)
	}

	// GetState from busctl and from the Go client.
	out, err = run(t, 0, "busctl", "--address="+e.bus.Addr, "call", BusName, string(ObjectPath), Interface, "GetState")
	if err != nil || !strings.Contains(out, `"Version" s "1.2.3-test"`) || !strings.Contains(out, `"Servers" a(sxsx) 2 "com.mgmtsrv.manage"`) {
		t.Errorf("busctl GetState: %q, %v", out, err)
	}
	c := NewClient(lc)
	ctx := context.Background()
	if !c.Running(ctx) {
		t.Fatal("Running: got false")
	}
	st, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "1.2.3-test" || st.State != "idle" || len(st.Servers) != 2 || st.ModemState != "disabled" {
		t.Errorf("got state %+v", st)
	}
	for _, s := range st.Servers {
		if s.ServerID == "dm.example.com" && (s.LastEnd == 0 || s.LastResult != "ok") {
			t.Errorf("got %+v, want the finished session recorded", s)
		}
	}
	// Properties.
	out, err = run(t, 0, "busctl", "--address="+e.bus.Addr, "get-property", BusName, string(ObjectPath), Interface, "State")
	if err != nil || strings.TrimSpace(out) != `s "idle"` {
		t.Errorf("get-property State: %q, %v", out, err)
	}

	// Introspection over the bus: what busctl sees is the contract.
	out, err = run(t, 0, "busctl", "--address="+e.bus.Addr, "introspect", "--xml-interface", BusName, string(ObjectPath))
	if err != nil || strings.TrimSpace(out) != strings.TrimSpace(IntrospectXML()) {
		t.Errorf("busctl introspect: %v; got %q, want IntrospectXML()", err, out)
	}
	out, err = run(t, 0, "busctl", "--address="+e.bus.Addr, "introspect", BusName, string(ObjectPath), Interface)
	for _, want := range []string{".StartSession", ".ProcessFile", ".Version", ".SessionFinished"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("busctl introspect %s: %v; %q lacks %s", Interface, err, out, want)
		}
	}

	// Unknown server: a named error.
	if _, err := c.StartSession(ctx, "nobody.example"); err == nil || !strings.Contains(err.Error(), "UnknownServer") {
		t.Errorf("got %v, want UnknownServer", err)
	}

	// Reload: live change applied, restart-only change reported.
	keys, err := c.Reload(ctx)
	if err != nil || len(keys) != 1 || keys[0] != "modem.device" {
		t.Errorf("Reload: got %v, %v; want [modem.device]", keys, err)
	}

	// Unprivileged callers: uid 1000 (not in the group) is refused by the
	// agent, nobody (a member through fakeDir) is allowed; both may read.
	send := func(uid int, method string, args ...string) (string, error) {
		a := append([]string{"--bus=" + e.bus.Addr, "--print-reply", "--reply-timeout=5000", "--dest=" + BusName, string(ObjectPath), Interface + "." + method}, args...)
		return run(t, uid, "dbus-send", a...)
	}
	if out, err := send(1000, "StartSession", "string:dm.example.com"); err == nil || !strings.Contains(out, "AccessDenied") || !strings.Contains(out, "omadm-test") {
		t.Errorf("uid 1000 StartSession: got %q, %v; want AccessDenied", out, err)
	}
	if out, err := send(1000, "Reload"); err == nil || !strings.Contains(out, "AccessDenied") {
		t.Errorf("uid 1000 Reload: got %q, %v; want AccessDenied", out, err)
	}
	if out, err := send(1000, "GetState"); err != nil || !strings.Contains(out, "1.2.3-test") {
		t.Errorf("uid 1000 GetState: got %q, %v; want the state", out, err)
	}
	if out, err := send(65534, "StartSession", "string:com.mgmtsrv.manage"); err != nil || !strings.Contains(out, `string "t`) {
		t.Errorf("group member StartSession: got %q, %v; want a trigger id", out, err)
	}
	if n := len(e.runner.triggers()); n > 3 {
		t.Errorf("got %d sessions, want at most 3", n)
	}
}

// TestPlanFile: the package is read from the descriptor and handed to the
// Planner with the ServerID; a Planner error is BadInput on one line.
func TestPlanFile(t *testing.T) {
	e := setup(t)
	conn, err := dbus.Connect(e.bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := NewClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct{ data, server, want, wantErr string }{
		{"<SyncML/>", "dm.example.com", `plan for "dm.example.com": 9 bytes`, ""},
		{"bad", "", "", "BadInput"},
	} {
		f, err := os.CreateTemp(t.TempDir(), "pkg")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(tt.data)
		f.Seek(0, 0)
		got, err := c.PlanFile(ctx, f, tt.server)
		f.Close()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Errorf("PlanFile(%q): got %q, %v; want a one-line %s", tt.data, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PlanFile(%q): got %q, %v; want %q", tt.data, got, err, tt.want)
		}
	}
}

// TestProcessFile: a Package #0 passed as a file descriptor is verified
// and queued; garbage and an unauthenticated non-root bootstrap are
// BadInput.
func TestProcessFile(t *testing.T) {
	e := setup(t)
	conn, err := dbus.Connect(e.bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !conn.SupportsUnixFDs() {
		t.Fatal("connection does not support unix fd passing")
	}
	c := NewClient(conn)
	dir := t.TempDir()
	write := func(name string, b []byte) *os.File {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	pkg0, err := notification.Encode(notification.Notification{UIMode: 1, Initiator: 1, SessionID: 0x1234, ServerID: "com.mgmtsrv.manage"}, "serverpassword", []byte("srvnonce"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := c.ProcessFile(ctx, write("n.pkg0", pkg0), "notification")
	if err != nil || !strings.HasPrefix(id, "t") {
		t.Fatalf("ProcessFile: %q, %v", id, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.runner.triggers()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if tr := e.runner.triggers(); len(tr) != 1 || tr[0].Session != "1234" || !tr[0].ServerInitiated() {
		t.Errorf("got sessions %+v, want server-initiated 1234", tr)
	}
	forged := append([]byte(nil), pkg0...)
	forged[0] ^= 1
	if _, err := c.ProcessFile(ctx, write("f.pkg0", forged), ""); err == nil || !strings.Contains(err.Error(), "BadInput") || !strings.Contains(err.Error(), "digest") {
		t.Errorf("forged: got %v, want BadInput (digest)", err)
	}
	if _, err := c.ProcessFile(ctx, write("x.bin", []byte("garbage")), "notification"); err == nil || !strings.Contains(err.Error(), "BadInput") {
		t.Errorf("garbage: got %v, want BadInput", err)
	}
}

// TestClientRunSession: the client asks for a session and gets the
// SessionFinished of exactly the session that served it, also when a
// session with that server was running at the time; a failing session
// reports its status; a vanishing agent ends the wait.
func TestClientRunSession(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Connect(ctx, "system")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	got, err := c.RunSession(ctx, "")
	if err != nil || len(got) != 2 {
		t.Fatalf("RunSession(all): got %+v, %v; want 2 results", got, err)
	}
	servers := map[string]bool{}
	for _, f := range got {
		servers[f.ServerID] = f.OK()
	}
	if !servers["dm.example.com"] || !servers["com.mgmtsrv.manage"] {
		t.Errorf("got %+v, want both servers ok", got)
	}

	// A session with the server is running (held) when we ask: ours is
	// the next one, not the running one.
	e.runner.mu.Lock()
	e.runner.hold = make(chan struct{})
	e.runner.fail = map[string]bool{"dm.example.com": true}
	hold := e.runner.hold
	e.runner.mu.Unlock()
	if _, err := c.StartSession(ctx, "dm.example.com"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the dm.example.com session running", func() bool { return running(e.agent, "dm.example.com") })
	first := e.runner.triggers()[len(e.runner.triggers())-1]
	type res struct {
		f   []Finished
		err error
	}
	rc := make(chan res, 1)
	go func() { f, err := c.RunSession(ctx, "dm.example.com"); rc <- res{f, err} }()
	waitUntil(t, "RunSession's request queued", func() bool { return e.agent.Snapshot().Queued != 0 })
	close(hold) // the running session and then ours end (both fail)
	r := <-rc
	if r.err != nil || len(r.f) != 1 {
		t.Fatalf("got %+v, %v; want one result", r.f, r.err)
	}
	if r.f[0].SessionID == first.Session {
		t.Errorf("got the running session %s, want the next one", first.Session)
	}
	last := e.runner.triggers()[len(e.runner.triggers())-1]
	if r.f[0].SessionID != last.Session || r.f[0].OK() || r.f[0].Status != 401 || r.f[0].Result != "authentication failed" {
		t.Errorf("got %+v, want session %s failed with 401", r.f[0], last.Session)
	}

	// A push for the server replaces our still-pending request: the push's
	// session serves it, and our wait ends with that session's outcome
	// under the SessionID we were promised.
	e.runner.mu.Lock()
	e.runner.hold = make(chan struct{})
	hold = e.runner.hold
	e.runner.mu.Unlock()
	if _, err := c.StartSession(ctx, "dm.example.com"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the dm.example.com session running", func() bool { return running(e.agent, "dm.example.com") })
	go func() { f, err := c.RunSession(ctx, "dm.example.com"); rc <- res{f, err} }()
	waitUntil(t, "RunSession's request queued", func() bool { return e.agent.Snapshot().Queued != 0 })
	if _, err := e.agent.Enqueue(ctx, agent.Trigger{ServerID: "dm.example.com", Source: agent.SourcePush, SessionID: "BEEF"}); err != nil {
		t.Fatal(err)
	}
	close(hold)
	r = <-rc
	if r.err != nil || len(r.f) != 1 {
		t.Fatalf("replaced request: got %+v, %v; want one result", r.f, r.err)
	}
	last = e.runner.triggers()[len(e.runner.triggers())-1]
	if last.SessionID != "BEEF" || len(last.Promised) != 1 || r.f[0].SessionID != last.Promised[0] || r.f[0].Status != 401 {
		t.Errorf("replaced request: got %+v after session %+v, want the push session's outcome (401) under the promised SessionID", r.f[0], last)
	}

	// The agent leaves the bus while we wait.
	e.runner.mu.Lock()
	e.runner.hold = make(chan struct{})
	e.runner.mu.Unlock()
	go func() {
		for !running(e.agent, "com.mgmtsrv.manage") {
			time.Sleep(5 * time.Millisecond)
		}
		e.srv.Close()
	}()
	if _, err := c.RunSession(ctx, "com.mgmtsrv.manage"); !errors.Is(err, ErrAgentGone) {
		t.Errorf("got %v, want ErrAgentGone", err)
	}
	e.runner.mu.Lock()
	close(e.runner.hold)
	e.runner.mu.Unlock()
}

// waitUntil polls cond with a deadline of its own and fails the test when
// it passes (a loop that fell through silently would let the test go on in
// the wrong state).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func running(a *agent.Agent, id string) bool {
	for _, s := range a.Snapshot().Servers {
		if s.ServerID == id && s.Running {
			return true
		}
	}
	return false
}

func TestSplitRef(t *testing.T) {
	tests := []struct {
		in, trig, sid string
		ok            bool
	}{
		{"t5/1A2B", "t5", "1A2B", true},
		{"t5", "t5", "", false},
		{"/1A2B", "", "1A2B", false},
		{"t5/", "t5", "", false},
	}
	for _, tt := range tests {
		tr, sid, ok := SplitRef(tt.in)
		if tr != tt.trig || sid != tt.sid || ok != tt.ok {
			t.Errorf("SplitRef(%q): got %q %q %v, want %q %q %v", tt.in, tr, sid, ok, tt.trig, tt.sid, tt.ok)
		}
	}
}
