package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/agent/dmtest"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/modem/mm/mmtest"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
)

// agentBin is the omadm-agent binary built by TestMain.
var agentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "omadm-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "omadm-agent")
	// go test runs with the toolchain's bin directory first on PATH.
	gobin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: no go command on PATH to build omadm-agent: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	cmd := exec.Command(gobin, "build", "-o", agentBin, "github.com/omadm-agent/omadm-agent/agent/cmd/omadm-agent")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building omadm-agent failed: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Initial state of the D-Bus stand-ins in every test.
var (
	initialHostnames = dbusmockrun.Hostnames{Static: "gw-factory", Pretty: "Factory default"}
	initialTimedate  = dbusmockrun.Timedate{Timezone: "Etc/UTC", NTP: false, TimeUSec: 1_767_225_600_000_000}
	initialState     = rig.SystemState{Hostname: "gw-factory", StaticHostname: "gw-factory", PrettyHostname: "Factory default", Timezone: "Etc/UTC"}
)

// world is one end-to-end set-up: peers, test server, account, fake modem
// and the running agent process.
type world struct {
	t        *testing.T
	dir      string
	peers    *rig.Peers
	srv      *dmtest.Server
	acct     rig.Account
	fake     *modemtest.Fake
	mm       *mmtest.MM
	agent    *rig.Agent
	env      []string
	cfgPath  string
	stateDir string
}

// start brings up everything for one test and registers the cleanups that
// stop every process by PID (and print the agent's log and the DM
// transcript when the test failed). The account is rig.DemoAccount (MD5
// digest both ways) changed by the tweaks; the scenario gets the matching
// auth and server-cred directives.
func start(t *testing.T, name, scenario string, tweaks ...func(*rig.Account)) *world {
	t.Helper()
	return startWith(t, name, scenario, worldOpts{}, tweaks...)
}

// worldOpts change what start sets up.
type worldOpts struct {
	// extraConfig is appended to the agent's configuration file.
	extraConfig string
	// beforeAgent runs once the bus and its stand-ins are up, before the
	// agent starts (more D-Bus services for one test).
	beforeAgent func(w *world)
	// modemManager: the real ModemManager (test mode, fake AT modem on a
	// unix socket) owns the modem on the agent's bus, and the agent reads
	// pushes through it ([modem] backend = "modemmanager"); w.mm is set
	// and w.fake is nil.
	modemManager bool
}

// startWith is start with opts.
func startWith(t *testing.T, name, scenario string, opts worldOpts, tweaks ...func(*rig.Account)) *world {
	t.Helper()
	if err := rig.CheckDeps(); err != nil {
		t.Fatalf("%v", err) // the message says "run `make deps`"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := &world{t: t, dir: t.TempDir()}
	// Unix socket paths must stay short: t.TempDir() names can be long.
	short, err := os.MkdirTemp("", "e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })

	w.peers, err = rig.StartPeers(ctx, short, initialHostnames, initialTimedate)
	if err != nil {
		t.Fatalf("D-Bus peers: %v", err)
	}
	t.Cleanup(func() { w.peers.Stop() })
	w.env = rig.Env(w.peers.Bus.Addr)

	w.acct = rig.DemoAccount()
	for _, f := range tweaks {
		f(&w.acct)
	}
	header := fmt.Sprintf("name %s\nauth %s\nserver-cred %s\ntimeout 60s\n", name, w.acct.ClientAuthMode(), w.acct.ServerAuthMode())
	sc, err := dmtest.ParseScenario(name, strings.NewReader(header+scenario))
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	w.srv, err = dmtest.NewServer(sc, w.acct.ServerOptions(dmtest.Options{Timeout: 90 * time.Second}))
	if err != nil {
		t.Fatalf("dmtest server: %v", err)
	}
	t.Cleanup(func() { w.srv.Close() })
	w.acct.URL = w.srv.URL()
	ca := filepath.Join(w.dir, "ca.pem")
	if err := os.WriteFile(ca, w.srv.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}

	w.stateDir = filepath.Join(w.dir, "state")
	doc := filepath.Join(w.dir, "bootstrap.xml")
	if err := os.WriteFile(doc, w.acct.BootstrapXML(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := rig.RunCLI(ctx, agentBin, w.env, "--state-dir", w.stateDir, "bootstrap", doc); err != nil {
		t.Fatalf("bootstrap: %v", err)
	} else if !strings.Contains(out, "added account "+w.acct.ServerID) {
		t.Fatalf("bootstrap output %q does not report the account", out)
	}

	c := rig.AgentConfig{StateDir: w.stateDir, CAFile: ca, DevID: w.acct.DevID, Extra: opts.extraConfig}
	if opts.modemManager {
		mctx, mcancel := context.WithTimeout(context.Background(), 60*time.Second)
		w.mm, err = mmtest.StartOn(mctx, short, w.peers.Bus.Addr)
		mcancel()
		if err != nil {
			t.Fatalf("ModemManager: %v", err)
		}
		t.Cleanup(func() { w.mm.Stop() })
		c.ModemManager = true
	} else {
		w.fake, err = modemtest.New(short)
		if err != nil {
			t.Fatalf("fake modem: %v", err)
		}
		t.Cleanup(w.fake.Close)
		c.ModemDevice = w.fake.Path
	}

	w.cfgPath = filepath.Join(w.dir, "agent.toml")
	if err := c.WriteConfig(w.cfgPath); err != nil {
		t.Fatal(err)
	}

	if opts.beforeAgent != nil {
		opts.beforeAgent(w)
	}
	w.agent, err = rig.StartAgent(agentBin, w.env, nil, "--config", w.cfgPath, "--state-dir", w.stateDir, "run")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.agent.Stop(10 * time.Second); err != nil {
			t.Errorf("agent pid %d: %v", w.agent.PID(), err)
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", strings.Join(w.agent.Lines(), "\n"))
			var b strings.Builder
			dmtest.FormatTranscript(&b, w.srv.Transcript())
			t.Logf("DM transcript:\n%s", b.String())
		}
	})
	if err := rig.WaitName(ctx, w.peers.Bus.Addr, rig.AgentBusName); err != nil {
		t.Fatalf("agent not on the bus: %v", err)
	}
	if !opts.modemManager {
		w.waitModemReady(1)
	}
	return w
}

// waitModemReady waits until the agent has swept the modem storage n times
// in all (AT+CMGL=4 ends the modem set-up).
func (w *world) waitModemReady(n int) {
	w.t.Helper()
	if !w.fake.WaitCommand("AT+CMGL=4", n, 15*time.Second) {
		w.t.Fatalf("the agent did not set up the modem (AT+CMGL=4 seen %d times, want %d); commands: %q",
			w.fake.Count("AT+CMGL=4"), n, w.fake.Commands())
	}
}

// notify returns a Package #0 for sessionID signed with the account's
// server password and nonce, and makes the test server expect that
// server-initiated session.
func (w *world) notify(sessionID uint16) []byte {
	w.t.Helper()
	pkg0, err := w.srv.Notification(sessionID, notification.UIBackground)
	if err != nil {
		w.t.Fatal(err)
	}
	return pkg0
}

// sms encodes pkg0 as a WAP-push SMS-DELIVER PDU (python3-gammu).
func (w *world) sms(pkg0 []byte) string {
	w.t.Helper()
	pdu, err := rig.PushSMS(0x01, pkg0)
	if err != nil {
		w.t.Fatalf("encoding the SMS: %v", err)
	}
	return pdu
}

// deliver makes the fake modem receive pdu (stored, announced with +CMTI)
// and returns its storage index.
func (w *world) deliver(pdu string) int {
	w.t.Helper()
	idx, err := w.fake.Deliver(pdu)
	if err != nil {
		w.t.Fatal(err)
	}
	if idx < 0 {
		w.t.Fatalf("the fake delivered with +CMT, want storage and +CMTI (agent set +CNMI mt=%d)", w.fake.MT())
	}
	return idx
}

// routed waits for the agent's "push routed" log line after mark and
// returns it.
func (w *world) routed(mark int) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	l, err := w.agent.WaitLine(ctx, mark, rig.Contains(`msg="push routed"`))
	if err != nil {
		w.t.Fatalf("no \"push routed\" log line: %v", err)
	}
	return l
}

// waitDone waits for the scenario to end and fails the test with the
// report unless it passed.
func (w *world) waitDone() {
	w.t.Helper()
	select {
	case <-w.srv.Done():
	case <-w.agent.Done():
		w.t.Fatalf("the agent exited: %v", w.agent.ExitErr())
	case <-time.After(45 * time.Second):
		w.t.Fatalf("the scenario did not finish in time:\n%s", w.srv.Report())
	}
	if rep := w.srv.Report(); !rep.Passed() {
		w.t.Fatalf("the test server's report failed:\n%s", rep)
	}
}

// quiet checks that the test server receives no request for d after n
// exchanges.
func (w *world) quiet(n int, d time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if exs := w.srv.Transcript(); len(exs) > n {
			w.t.Fatalf("the test server got a request (%d exchanges, want %d): %s %s", len(exs), n, exs[n].Method, exs[n].Path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sessionStart returns the SessionID and the Alert codes of package 1 of
// the session whose first request is exchange i.
func sessionStart(t *testing.T, exs []dmtest.Exchange, i int) (string, []syncml.AlertCode) {
	t.Helper()
	if i >= len(exs) {
		t.Fatalf("exchange %d missing (%d in all)", i+1, len(exs))
	}
	m := exs[i].Request
	if m == nil {
		t.Fatalf("request %d does not decode: %s", i+1, exs[i].RequestErr)
	}
	var codes []syncml.AlertCode
	for _, c := range m.Body {
		if c.Kind == syncml.KindAlert {
			if code, ok := c.AlertCode(); ok {
				codes = append(codes, code)
			}
		}
	}
	return m.Hdr.SessionID, codes
}

// lastServerNonce returns the newest server nonce the agent issued in a
// Chal (the SRVCRED nonce it now holds), as a real server would remember
// it; nil if the agent issued none.
func lastServerNonce(t *testing.T, exs []dmtest.Exchange) []byte {
	t.Helper()
	var nonce []byte
	for _, x := range exs {
		if x.Request == nil {
			continue
		}
		for _, c := range x.Request.Body {
			if c.Kind != syncml.KindStatus || c.CmdRef != "0" || c.Chal == nil || c.Chal.Meta == nil || c.Chal.Meta.NextNonce == "" {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(c.Chal.Meta.NextNonce))
			if err != nil {
				t.Fatalf("agent's NextNonce %q is not base64: %v", c.Chal.Meta.NextNonce, err)
			}
			nonce = b
		}
	}
	return nonce
}

// state reads hostnamed and timedated over D-Bus.
func (w *world) state() rig.SystemState {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := rig.ReadState(ctx, w.peers.Bus.Addr)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// modemState reads the agent's ModemState property over D-Bus.
func (w *world) modemState() string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := rig.AgentProperty(ctx, w.peers.Bus.Addr, "ModemState")
	if err != nil {
		w.t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

// waitModemState polls ModemState until want(state) or the timeout.
func (w *world) waitModemState(desc string, want func(string) bool) string {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		if s = w.modemState(); want(s) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("ModemState: got %q, want %s", s, desc)
	return s
}

// waitStored waits up to 5 s until SMS idx is (want true) or is not (want
// false) in the modem's storage, and returns whether it is. The agent
// deletes an SMS (AT+CMGD) once it has taken it, which may come a moment
// after the routing decision or the session.
func (w *world) waitStored(idx int, want bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, stored := w.fake.Stored()[idx]
		if stored == want || time.Now().After(deadline) {
			return stored
		}
		time.Sleep(50 * time.Millisecond)
	}
}
