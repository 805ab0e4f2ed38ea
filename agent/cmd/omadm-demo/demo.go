package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/agent/dmtest"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
)

// The fixed inputs of the demo (it must be deterministic).
const (
	pushSessionID = 0x2A17
	pushTID       = 0x01
	stepTimeout   = 30 * time.Second
)

var (
	initialHostnames = dbusmockrun.Hostnames{Static: "gw-factory", Pretty: "Factory default"}
	initialTimedate  = dbusmockrun.Timedate{Timezone: "Etc/UTC", NTP: false, TimeUSec: 1_767_225_600_000_000}
	// What the scenario sets (testdata/demo/demo.dms).
	wantAfter = rig.SystemState{Hostname: "gw-lab-01", StaticHostname: "gw-lab-01", PrettyHostname: "Lab gateway 01", Timezone: "Europe/Berlin", NTP: true}
)

type stepError struct {
	n    int
	name string
	err  error
}

func (e *stepError) Error() string { return fmt.Sprintf("step %d (%s): %v", e.n, e.name, e.err) }
func (e *stepError) Unwrap() error { return e.err }

type demo struct {
	w     io.Writer
	opts  options
	start time.Time

	step     int
	stepName string

	dir      string
	agentBin string
	env      []string
	cfgPath  string
	stateDir string
	acct     rig.Account

	peers *rig.Peers
	srv   *dmtest.Server
	fake  *modemtest.Fake
	agent *rig.Agent
	watch *rig.Watcher

	before rig.SystemState
	shown  int // DM exchanges already printed

	// Marks taken when the push is sent.
	mark, watchMark, agentMark, exMark int
}

func (d *demo) elapsed() time.Duration { return time.Since(d.start) }

func (d *demo) begin(name string) {
	d.step++
	d.stepName = name
	fmt.Fprintf(d.w, "\n== %d. %s  [%.1fs]\n", d.step, name, d.elapsed().Seconds())
}

func (d *demo) fail(err error) error { return &stepError{n: d.step, name: d.stepName, err: err} }

func (d *demo) say(format string, a ...any) {
	fmt.Fprintf(d.w, "   "+format+"\n", a...)
}

// block prints a multi-line text indented.
func (d *demo) block(prefix, text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(d.w, "   %s%s\n", prefix, l)
	}
}

func (d *demo) run(ctx context.Context) error {
	d.start = time.Now()
	fmt.Fprintln(d.w, "omadm-demo: the real omadm-agent daemon, an SMS push, two OMA DM 1.2 sessions over HTTPS, D-Bus CSPs")
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"check the test peers and the agent binary", d.checkDeps},
		{"private D-Bus system bus with hostnamed and timedated stand-ins", d.startBus},
		{"DM test server (agent/dmtest) on loopback HTTPS", d.startServer},
		{"bootstrap the DM account into a fresh state directory", d.bootstrap},
		{"agent configuration", d.writeConfig},
		{"simulated modem on a pty", d.startModem},
		{"start the agent daemon: omadm-agent run", d.startAgent},
		{"the server sends a WAP-push SMS with Package #0", d.sendPush},
		{"the agent verifies the push and runs the server-initiated session", d.serverSession},
		{"system state read back over D-Bus", d.checkState},
		{"client-initiated session: omadm-agent session", d.clientSession},
		{"fleet metrics the daemon keeps for monitoring ([metrics] textfile)", d.metrics},
		{"the test server's verdict", d.verdict},
		{"stop everything by PID", d.stopAll},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return d.fail(fmt.Errorf("interrupted: %w", err))
		}
		d.begin(s.name)
		if err := s.fn(ctx); err != nil {
			var se *stepError
			if errors.As(err, &se) {
				return err
			}
			return d.fail(err)
		}
	}
	return nil
}

// ---- steps ----

func (d *demo) checkDeps(ctx context.Context) error {
	if err := rig.CheckDeps(); err != nil {
		return err
	}
	d.say("dbus-daemon, /usr/bin/python3 with dbusmock and gammu: present")
	bin, err := filepath.Abs(d.opts.agentBin)
	if err != nil {
		return err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable (run `make build`)", bin)
	}
	d.agentBin = bin
	out, err := rig.RunCLI(ctx, bin, os.Environ(), "version")
	if err != nil {
		return err
	}
	d.say("agent binary: %s (%s)", d.opts.agentBin, strings.TrimSpace(out))
	d.dir, err = os.MkdirTemp("", "omadm-demo-")
	if err != nil {
		return err
	}
	d.say("temporary directory: %s", d.dir)
	return nil
}

func (d *demo) startBus(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	p, err := rig.StartPeers(sctx, d.dir, initialHostnames, initialTimedate)
	if err != nil {
		return err
	}
	d.peers = p
	d.env = rig.Env(p.Bus.Addr)
	d.say("dbus-daemon pid %d, address %s", p.Bus.PID(), shortAddr(p.Bus.Addr))
	d.say("hostnamed stand-in (python3-dbusmock) pid %d owns org.freedesktop.hostname1", p.Hostnamed.PID())
	d.say("timedated stand-in (python3-dbusmock) pid %d owns org.freedesktop.timedate1", p.Timedated.PID())
	d.before, err = rig.ReadState(sctx, p.Bus.Addr)
	if err != nil {
		return err
	}
	d.say("before: %s", d.before)
	return nil
}

func (d *demo) startServer(ctx context.Context) error {
	sc, err := dmtest.LoadScenario(d.opts.scenario)
	if err != nil {
		return err
	}
	d.acct = rig.DemoAccount()
	srv, err := dmtest.NewServer(sc, d.acct.ServerOptions(dmtest.Options{Timeout: 90 * time.Second}))
	if err != nil {
		return err
	}
	d.srv = srv
	d.acct.URL = srv.URL()
	ca := filepath.Join(d.dir, "dmserver-ca.pem")
	if err := os.WriteFile(ca, srv.CACertPEM(), 0o644); err != nil {
		return err
	}
	d.say("scenario %q (%s): %d client packages expected", sc.Name, d.opts.scenario, sc.Rounds())
	d.say("listening at %s (TLS, fresh ECDSA P-256 CA written to %s)", srv.URL(), filepath.Base(ca))
	d.say("ServerID %q; client authentication %s, server credentials %s (secrets are not printed)",
		d.acct.ServerID, d.acct.ClientAuth, d.acct.ServerAuth)
	return nil
}

func (d *demo) bootstrap(ctx context.Context) error {
	d.stateDir = filepath.Join(d.dir, "state")
	doc := filepath.Join(d.dir, "bootstrap.xml")
	if err := os.WriteFile(doc, d.acct.BootstrapXML(), 0o600); err != nil {
		return err
	}
	d.say("bootstrap.xml (0600): DM-profile bootstrap, SyncML DM 1.2: Add ./DMAcc/%s (AppAddr %s,", d.acct.Node, d.acct.URL)
	d.say("  CLCRED and SRVCRED DIGEST), and the operator's grant to the server of the vendor objects:")
	for _, g := range d.acct.Grants {
		if g.ACL != "" {
			d.say("  Replace %s?prop=ACL = %s", g.URI, g.ACL)
		}
	}
	d.say("$ omadm-agent --state-dir state bootstrap bootstrap.xml")
	out, err := rig.RunCLI(ctx, d.agentBin, d.env, "--state-dir", d.stateDir, "bootstrap", doc)
	if err != nil {
		return err
	}
	d.block("  ", strings.ReplaceAll(out, d.dir, "$TMP"))
	for _, uri := range []string{"./DMAcc/" + d.acct.Node + "/AppAddr/1/Addr", "./DMAcc/" + d.acct.Node + "/ServerID", "./Vendor/omadm?prop=ACL"} {
		out, err = rig.RunCLI(ctx, d.agentBin, d.env, "--state-dir", d.stateDir, "tree", "get", uri)
		if err != nil {
			return err
		}
		d.say("$ omadm-agent tree get %s  ->  %s", uri, strings.TrimSpace(out))
	}
	return nil
}

func (d *demo) writeConfig(ctx context.Context) error {
	d.cfgPath = filepath.Join(d.dir, "agent.toml")
	// The modem path is known only once the fake exists; it is created in
	// the next step at a fixed name, so the config can name it now.
	c := rig.AgentConfig{
		StateDir:    d.stateDir,
		ModemDevice: filepath.Join(d.dir, "modem"),
		CAFile:      filepath.Join(d.dir, "dmserver-ca.pem"),
		LogLevel:    "debug",
		DevID:       d.acct.DevID,
		Extra:       fmt.Sprintf("[metrics]\ntextfile = %q\ninterval = \"200ms\"\n", d.metricsPath()),
	}
	if err := os.MkdirAll(filepath.Dir(d.metricsPath()), 0o755); err != nil {
		return err
	}
	if err := c.WriteConfig(d.cfgPath); err != nil {
		return err
	}
	d.say("agent.toml (checked with agent/config; the D-Bus bus is the private one through DBUS_SYSTEM_BUS_ADDRESS):")
	d.block("  | ", strings.ReplaceAll(string(c.TOML()), d.dir, "$TMP"))
	return nil
}

func (d *demo) startModem(ctx context.Context) error {
	f, err := modemtest.New(d.dir)
	if err != nil {
		return err
	}
	d.fake = f
	target, _ := os.Readlink(f.Path)
	d.say("fake AT modem (modem/modemtest) on %s -> %s; IMEI %s", "$TMP/"+filepath.Base(f.Path), target, modemtest.IMEI)
	return nil
}

func (d *demo) startAgent(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	var err error
	if d.watch, err = rig.WatchSignals(sctx, d.peers.Bus.Addr); err != nil {
		return err
	}
	var tee io.Writer
	if d.opts.verbose {
		tee = prefixWriter{d.w, "   agent| "}
	}
	d.say("$ omadm-agent --config agent.toml --state-dir state run   (DBUS_SYSTEM_BUS_ADDRESS=private bus)")
	d.agent, err = rig.StartAgent(d.agentBin, d.env, tee, "--config", d.cfgPath, "--state-dir", d.stateDir, "run")
	if err != nil {
		return err
	}
	d.say("agent pid %d", d.agent.PID())
	if err := d.waitAgent(sctx, func(c context.Context) error { return rig.WaitName(c, d.peers.Bus.Addr, rig.AgentBusName) }); err != nil {
		return fmt.Errorf("waiting for %s on the bus: %w", rig.AgentBusName, err)
	}
	d.say("the agent owns %s on the private bus", rig.AgentBusName)
	if err := d.waitAgent(sctx, func(c context.Context) error {
		if !d.fake.WaitCommand("AT+CMGL=4", 1, time.Until(deadline(c))) {
			return errors.New("the agent did not set up the modem (no AT+CMGL=4 sweep)")
		}
		return nil
	}); err != nil {
		return err
	}
	d.say("agent -> modem: %s", strings.Join(d.fake.Commands(), "  "))
	return nil
}

func (d *demo) sendPush(ctx context.Context) error {
	pkg0, err := d.srv.Notification(pushSessionID, notification.UIBackground)
	if err != nil {
		return err
	}
	pdu, err := rig.PushSMS(pushTID, pkg0)
	if err != nil {
		return err
	}
	d.say("server: Package #0 of %d octets, digest = MD5 over the account's server password and nonce (agent/notification.Encode)", len(pkg0))
	d.say("network -> modem: SMS encoded by python3-gammu")
	d.block("", rig.DescribeSMS(pdu))
	d.mark = d.fake.Mark()
	d.watchMark = d.watch.Mark()
	d.agentMark = d.agent.Mark()
	d.exMark = len(d.srv.Transcript())
	idx, err := d.fake.Deliver(pdu)
	if err != nil {
		return err
	}
	d.say("modem -> agent: +CMTI: \"SM\",%d", idx)
	return nil
}

func (d *demo) serverSession(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	ev, err := d.waitFinished(sctx, d.watchMark, d.agentMark)
	if err != nil {
		return err
	}
	// The agent deletes the SMS (AT+CMGD) once it has taken the push; under
	// load that may come a moment after the session.
	for deadline := time.Now().Add(5 * time.Second); len(d.fake.Stored()) != 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	d.say("agent -> modem: %s", strings.Join(d.fake.CommandsSince(d.mark), "  "))
	d.printAgentLog(d.agentMark)
	exs := d.srv.Transcript()
	d.printExchanges(exs)
	d.say("D-Bus signal from the agent: %s", ev)
	if err := checkPkg1(exs, d.exMark, syncml.AlertServerInitiatedMgmt, fmt.Sprintf("%X", pushSessionID)); err != nil {
		return err
	}
	if ev.Status != 0 {
		return fmt.Errorf("the session failed: %s", ev)
	}
	if n := len(d.fake.Stored()); n != 0 {
		return fmt.Errorf("%d SMS still stored on the modem after the session (want the push deleted)", n)
	}
	d.say("check: package 1 carried Alert 1200 and SessionID %X (from Package #0); the push SMS was deleted from the modem", pushSessionID)
	return nil
}

func (d *demo) checkState(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	after, err := rig.ReadState(sctx, d.peers.Bus.Addr)
	if err != nil {
		return err
	}
	d.say("%-16s %-22s %s", "property", "before", "after")
	rows := [][3]string{
		{"Hostname", d.before.Hostname, after.Hostname},
		{"StaticHostname", d.before.StaticHostname, after.StaticHostname},
		{"PrettyHostname", d.before.PrettyHostname, after.PrettyHostname},
		{"Timezone", d.before.Timezone, after.Timezone},
		{"NTP", fmt.Sprint(d.before.NTP), fmt.Sprint(after.NTP)},
	}
	for _, r := range rows {
		d.say("%-16s %-22q %q", r[0], r[1], r[2])
	}
	if after != wantAfter {
		return fmt.Errorf("state after the session: got %s, want %s", after, wantAfter)
	}
	hc, err1 := d.peers.Hostnamed.MethodCalls(sctx, "SetStaticHostname")
	tc, err2 := d.peers.Timedated.MethodCalls(sctx, "SetTimezone")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	d.say("the stand-ins logged %d SetStaticHostname and %d SetTimezone call(s) from the agent", len(hc), len(tc))
	return nil
}

func (d *demo) clientSession(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	wm, am, xm := d.watch.Mark(), d.agent.Mark(), len(d.srv.Transcript())
	d.say("$ omadm-agent --config agent.toml --state-dir state session")
	out, err := rig.RunCLI(sctx, d.agentBin, d.env, "--config", d.cfgPath, "--state-dir", d.stateDir, "session")
	d.block("  ", out)
	if err != nil {
		return err
	}
	// Which process ran the session? The daemon announces its sessions
	// with SessionStarted; a CLI that ran the session itself has finished
	// it by now without any signal from the daemon.
	gctx, gcancel := context.WithTimeout(sctx, 1500*time.Millisecond)
	_, started := d.watch.WaitStarted(gctx, wm)
	gcancel()
	var ev rig.SessionEvent
	if started == nil {
		d.say("mode: the CLI asked the running daemon over D-Bus (org.omadm.Agent1.StartSession); the daemon ran the session")
		if ev, err = d.waitFinished(sctx, wm, am); err != nil {
			return err
		}
	} else {
		d.say("mode: STANDALONE: the CLI ran the session in its own process (no SessionStarted signal from the daemon);")
		d.say("      it did not use the running daemon's D-Bus API, and both processes opened the same state directory")
	}
	d.printAgentLog(am)
	exs := d.srv.Transcript()
	d.printExchanges(exs)
	if started == nil {
		d.say("D-Bus signal from the agent: %s", ev)
	}
	if err := checkPkg1(exs, xm, syncml.AlertClientInitiatedMgmt, ""); err != nil {
		return err
	}
	if started == nil && ev.Status != 0 {
		return fmt.Errorf("the session failed: %s", ev)
	}
	d.say("check: package 1 carried Alert 1201 with a fresh SessionID %s", exs[xm].Request.Hdr.SessionID)
	return nil
}

func (d *demo) metricsPath() string { return filepath.Join(d.dir, "metrics", "omadm.prom") }

// metrics shows the Prometheus text file the daemon keeps current (what
// node_exporter's textfile collector would serve) and checks that it
// counted both sessions and the push.
func (d *demo) metrics(ctx context.Context) error {
	want := fmt.Sprintf(`omadm_sessions_total{outcome="ok",server=%q} 2`, d.acct.ServerID)
	deadline := time.Now().Add(10 * time.Second)
	var text string
	for {
		b, err := os.ReadFile(d.metricsPath())
		text = string(b)
		if err == nil && strings.Contains(text, want+"\n") {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the metrics file does not say %s:\n%s", want, text)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	d.say("$ grep -E 'sessions_total|pushes_total|last_success' $TMP/metrics/omadm.prom   (excerpt)")
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "#") || !(strings.Contains(l, "sessions_total") || strings.Contains(l, "pushes_total") || strings.Contains(l, "last_success")) {
			continue
		}
		if strings.HasSuffix(l, " 0") {
			continue // the zero-filled outcomes and verdicts
		}
		d.say("  %s", l)
	}
	d.say("check: 2 sessions with outcome ok (the pushed one and the client-initiated one) and 1 push queued")
	if !strings.Contains(text, `omadm_pushes_total{verdict="queued"} 1`+"\n") {
		return fmt.Errorf("the metrics file does not count the push as queued:\n%s", text)
	}
	return nil
}

func (d *demo) verdict(ctx context.Context) error {
	select {
	case <-d.srv.Done():
	case <-time.After(5 * time.Second):
	}
	rep := d.srv.Report()
	d.block("", rep.String())
	if !rep.Passed() {
		var names []string
		for _, c := range rep.Failed() {
			if !c.Advisory {
				names = append(names, c.Name)
			}
		}
		return fmt.Errorf("the test server's checks failed: %s", strings.Join(names, ", "))
	}
	return nil
}

func (d *demo) stopAll(ctx context.Context) error {
	pid := d.agent.PID()
	err := d.agent.Stop(10 * time.Second)
	d.say("agent pid %d stopped with SIGTERM (exit: %s)", pid, exitText(err))
	if err != nil {
		return fmt.Errorf("the agent did not exit cleanly: %w", err)
	}
	d.agent = nil
	d.say("stopping the modem, the DM server, the stand-ins (pids %d, %d) and dbus-daemon (pid %d)",
		d.peers.Hostnamed.PID(), d.peers.Timedated.PID(), d.peers.Bus.PID())
	errs := d.cleanup()
	if errs != nil {
		return errs
	}
	d.say("temporary directory removed")
	return nil
}

// ---- helpers ----

// waitAgent runs wait, failing early (with the agent's last lines) if the
// agent process exits meanwhile.
func (d *demo) waitAgent(ctx context.Context, wait func(context.Context) error) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- wait(wctx) }()
	select {
	case err := <-res:
		return err
	case <-d.agent.Done():
		cancel()
		<-res
		return d.agentExited()
	}
}

func (d *demo) agentExited() error {
	lines := d.agent.Lines()
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	d.say("the agent exited; its last output:")
	for _, l := range lines {
		d.say("  agent| %s", l)
	}
	last := ""
	if len(lines) > 0 {
		last = ": " + lines[len(lines)-1]
	}
	return fmt.Errorf("the agent (pid %d) exited (%v)%s", d.agent.PID(), d.agent.ExitErr(), last)
}

// waitFinished waits for the daemon's SessionFinished signal after the
// watcher mark; on failure it prints what the agent logged since logMark and
// the DM exchanges so far.
func (d *demo) waitFinished(ctx context.Context, mark, logMark int) (rig.SessionEvent, error) {
	var ev rig.SessionEvent
	err := d.waitAgent(ctx, func(c context.Context) error {
		var err error
		ev, err = d.watch.WaitFinished(c, mark)
		return err
	})
	if err != nil {
		d.printAgentLog(logMark)
		d.printExchanges(d.srv.Transcript())
	}
	return ev, err
}

// printAgentLog prints the agent's log lines after mark, without the
// debug ones (all of them with -v).
func (d *demo) printAgentLog(mark int) {
	if d.opts.verbose {
		return
	}
	lines := d.agent.LinesSince(mark)
	n := 0
	for _, l := range lines {
		if strings.Contains(l, "level=DEBUG") {
			continue
		}
		if n == 0 {
			d.say("agent log (info and above):")
		}
		n++
		d.say("  agent| %s", l)
	}
}

// printExchanges prints the DM exchanges not printed yet.
func (d *demo) printExchanges(exs []dmtest.Exchange) {
	if d.shown >= len(exs) {
		return
	}
	var b strings.Builder
	dmtest.FormatTranscript(&b, exs[d.shown:])
	d.say("DM messages (HTTPS, as the test server saw them; numbering continues across sessions):")
	// FormatTranscript numbers from 1 for the slice it is given.
	d.block("  ", renumber(b.String(), d.shown))
	d.shown = len(exs)
}

// checkPkg1 checks package 1 of the session that starts at exchange from.
func checkPkg1(exs []dmtest.Exchange, from int, alert syncml.AlertCode, sessionID string) error {
	if from >= len(exs) {
		return errors.New("the test server received no request")
	}
	m := exs[from].Request
	if m == nil {
		return fmt.Errorf("the first request does not decode: %s", exs[from].RequestErr)
	}
	found := false
	for _, c := range m.Body {
		if c.Kind != syncml.KindAlert {
			continue
		}
		if code, ok := c.AlertCode(); ok && code == alert {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("package 1 has no Alert %d", alert)
	}
	if sessionID != "" && !strings.EqualFold(m.Hdr.SessionID, sessionID) {
		return fmt.Errorf("package 1 SessionID %q, want %q", m.Hdr.SessionID, sessionID)
	}
	return nil
}

// cleanup stops whatever is still running, by PID, and removes the
// temporary directory (unless -keep). It is idempotent.
func (d *demo) cleanup() error {
	var errs []error
	if d.agent != nil {
		if err := d.agent.Stop(10 * time.Second); err != nil && !isSignalExit(err) {
			errs = append(errs, fmt.Errorf("agent: %w", err))
		}
		d.agent = nil
	}
	if d.watch != nil {
		d.watch.Close()
		d.watch = nil
	}
	if d.fake != nil {
		d.fake.Close()
		d.fake = nil
	}
	if d.srv != nil {
		d.srv.Close()
		d.srv = nil
	}
	if d.peers != nil {
		if err := d.peers.Stop(); err != nil {
			errs = append(errs, err)
		}
		d.peers = nil
	}
	if d.dir != "" {
		if d.opts.keep {
			fmt.Fprintf(d.w, "   (kept %s)\n", d.dir)
		} else if err := os.RemoveAll(d.dir); err != nil {
			errs = append(errs, err)
		}
		d.dir = ""
	}
	return errors.Join(errs...)
}
