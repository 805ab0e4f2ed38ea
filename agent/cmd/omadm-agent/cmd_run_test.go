package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/dbusapi"
	"github.com/omadm-agent/omadm-agent/agent/dbusapi/dbusapitest"
	"github.com/omadm-agent/omadm-agent/agent/metrics"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/tree"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testRunner stands in for the session engine.
type testRunner struct {
	mu   sync.Mutex
	seen []agent.Trigger
}

func (r *testRunner) RunSession(_ context.Context, t agent.Trigger) (agent.Result, error) {
	r.mu.Lock()
	r.seen = append(r.seen, t)
	r.mu.Unlock()
	return agent.Result{Summary: "ok (test runner)", Commands: 1}, nil
}

func (r *testRunner) sessions() []agent.Trigger {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]agent.Trigger(nil), r.seen...)
}

type daemonEnv struct {
	dir, conf, state, spool string
	stderr                  *lockedBuf
	runner                  *testRunner
	agent                   *agent.Agent
	cancel                  context.CancelFunc
	done                    chan error
}

// writeConfig writes the main config file for the daemon under test.
func writeConfig(t *testing.T, path, state, bus string) {
	t.Helper()
	body := fmt.Sprintf("[agent]\nstate_dir = %q\nlog_level = \"info\"\n\n[dbus]\nbus = %q\n", state, bus)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func startDaemon(t *testing.T, bus string, opts daemonOptions) *daemonEnv {
	t.Helper()
	dir := t.TempDir()
	e := &daemonEnv{dir: dir, conf: filepath.Join(dir, "etc", "agent.toml"), state: filepath.Join(dir, "state"),
		stderr: &lockedBuf{}, runner: &testRunner{}, done: make(chan error, 1)}
	e.spool = filepath.Join(e.state, "spool")
	if err := os.MkdirAll(filepath.Dir(e.conf), 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, e.conf, e.state, bus)
	c := &cli{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: e.stderr, stateDir: defaultStateDir, config: e.conf}
	opts.runner = e.runner
	started := make(chan *agent.Agent, 1)
	opts.started = started
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- runDaemon(ctx, c, opts) }()
	select {
	case e.agent = <-started:
	case err := <-e.done:
		t.Fatalf("daemon exited early: %v\n%s", err, e.stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon not ready\n%s", e.stderr)
	}
	t.Cleanup(func() { e.stop(t) })
	return e
}

func (e *daemonEnv) stop(t *testing.T) {
	t.Helper()
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("daemon returned %v, want nil on shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("daemon did not stop")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dropFile puts a file in the spool the documented way: write a dot-file,
// then rename it.
func dropFile(t *testing.T, spool, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(spool, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(spool, name)); err != nil {
		t.Fatal(err)
	}
}

func readRepo(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cp-w7.xml provisions dm.example.com with SRVCRED secret "srvpass" and
// nonce base64("SrvNonce").
func cpPkg0(t *testing.T, session uint16, password string) []byte {
	t.Helper()
	b, err := notification.Encode(notification.Notification{UIMode: notification.UIBackground, Initiator: 1, SessionID: session, ServerID: "dm.example.com"}, password, []byte("SrvNonce"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type notifyMsg struct {
	at  time.Time
	msg string
}

// TestRunNotify: with NOTIFY_SOCKET and a watchdog, the daemon says READY,
// then STATUS lines with the last session's result, pings the watchdog while
// its main loop runs, stops pinging while the loop is stuck, and says
// STOPPING at the end. D-Bus is unavailable here and the agent runs anyway.
func TestRunNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	const wd = 400 * time.Millisecond
	t.Setenv("WATCHDOG_USEC", strconv.Itoa(int(wd/time.Microsecond)))
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))

	var (
		mu   sync.Mutex
		msgs []notifyMsg
	)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ln.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, notifyMsg{time.Now(), string(buf[:n])})
			mu.Unlock()
		}
	}()
	snapshot := func() []notifyMsg {
		mu.Lock()
		defer mu.Unlock()
		return append([]notifyMsg(nil), msgs...)
	}
	var stuck atomic.Bool
	unstuck := make(chan struct{})
	hook := func(ctx context.Context) {
		if stuck.Load() {
			select {
			case <-unstuck:
			case <-ctx.Done():
			}
		}
	}
	e := startDaemon(t, "session", daemonOptions{loopHook: hook})
	if !strings.Contains(e.stderr.String(), "D-Bus unavailable") {
		t.Errorf("no D-Bus warning in the log:\n%s", e.stderr)
	}
	// A session, so that STATUS carries a last result.
	dropFile(t, e.spool, "cp-w7.xml", readRepo(t, "bootstrap/cp-w7.xml"))
	waitUntil(t, "STATUS with the last session", func() bool {
		for _, m := range snapshot() {
			if strings.Contains(m.msg, "last session") && strings.Contains(m.msg, "dm.example.com") && strings.Contains(m.msg, "ok (test runner)") {
				return true
			}
		}
		return false
	})
	waitUntil(t, "watchdog pings", func() bool {
		n := 0
		for _, m := range snapshot() {
			if m.msg == "WATCHDOG=1" {
				n++
			}
		}
		return n >= 2
	})
	// Stick the main loop: pings must stop.
	e.agent.PollAll() // makes the loop iterate and enter the hook
	stuck.Store(true)
	e.agent.PollAll()
	stuckAt := time.Now()
	time.Sleep(4 * wd)
	close(unstuck)
	stuck.Store(false)
	unstuckAt := time.Now()
	waitUntil(t, "pings after recovery", func() bool {
		for _, m := range snapshot() {
			if m.msg == "WATCHDOG=1" && m.at.After(unstuckAt) {
				return true
			}
		}
		return false
	})
	e.stop(t)
	time.Sleep(50 * time.Millisecond)

	got := snapshot()
	var kinds []string
	for _, m := range got {
		k, _, _ := strings.Cut(m.msg, "\n")
		k, _, _ = strings.Cut(k, "=")
		kinds = append(kinds, k)
		if m.msg == "WATCHDOG=1" && m.at.After(stuckAt.Add(wd)) && m.at.Before(unstuckAt) {
			t.Errorf("watchdog ping at +%v while the loop was stuck (stuck at 0, recovered at +%v)", m.at.Sub(stuckAt), unstuckAt.Sub(stuckAt))
		}
	}
	idx := func(k string, from int) int {
		for i := from; i < len(kinds); i++ {
			if kinds[i] == k {
				return i
			}
		}
		return -1
	}
	ready := idx("READY", 0)
	status := idx("STATUS", ready+1)
	watchdog := idx("WATCHDOG", ready+1)
	stopping := idx("STOPPING", 0)
	if ready < 0 || status < 0 || watchdog < 0 || stopping != len(kinds)-1 || idx("WATCHDOG", stopping) >= 0 {
		t.Errorf("got sequence %v; want READY, then STATUS and WATCHDOG, STOPPING last", kinds)
	}
	for i := range ready {
		if kinds[i] != "STATUS" {
			t.Errorf("got %s before READY", kinds[i])
		}
	}
	t.Logf("sequence: %s", strings.Join(kinds, " "))
}

// TestRunSpoolAndConfig: files dropped in the spool go through the same
// router as pushes and end in done/ or failed/ with a .reason; config
// edits while the daemon runs change the log level live and a restart-only
// change is refused with a log line.
func TestRunSpoolAndConfig(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	e := startDaemon(t, "session", daemonOptions{})
	reason := func(sub, name string) string {
		b, err := os.ReadFile(filepath.Join(e.spool, sub, name+".reason"))
		if err != nil {
			return ""
		}
		return string(b)
	}
	waitReason := func(sub, name string) string {
		t.Helper()
		waitUntil(t, sub+"/"+name, func() bool { return reason(sub, name) != "" })
		if _, err := os.Stat(filepath.Join(e.spool, name)); err == nil {
			t.Errorf("%s still in the spool", name)
		}
		return reason(sub, name)
	}

	// A local bootstrap (root-owned file: no SEC/MAC needed).
	dropFile(t, e.spool, "cp-w7.xml", readRepo(t, "bootstrap/cp-w7.xml"))
	if r := waitReason("done", "cp-w7.xml"); !strings.Contains(r, "bootstrapped") || !strings.Contains(r, "1 new") {
		t.Errorf("bootstrap reason: %q", r)
	}
	// A valid Package #0 written in place (complete at close).
	if err := os.WriteFile(filepath.Join(e.spool, "n1.pkg0"), cpPkg0(t, 0x0ABC, "srvpass"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := waitReason("done", "n1.pkg0"); !strings.Contains(r, "queued") {
		t.Errorf("pkg0 reason: %q", r)
	}
	// A forged one, garbage, and a file the spool does not know.
	dropFile(t, e.spool, "forged.pkg0", cpPkg0(t, 0x0ABD, "wrong"))
	if r := waitReason("failed", "forged.pkg0"); !strings.Contains(r, "digest") {
		t.Errorf("forged reason: %q", r)
	}
	dropFile(t, e.spool, "junk.bin", []byte("not a package"))
	if r := waitReason("failed", "junk.bin"); !strings.Contains(r, "Package #0") {
		t.Errorf("junk reason: %q", r)
	}
	dropFile(t, e.spool, "notes.txt", []byte("x"))
	waitUntil(t, "sessions", func() bool { return len(e.runner.sessions()) == 2 })
	s := e.runner.sessions()
	if s[0].Source != agent.SourceBootstrap || s[1].Session != "ABC" || !s[1].ServerInitiated() {
		t.Errorf("got sessions %+v, want the bootstrap session then server-initiated ABC", s)
	}
	if _, err := os.Stat(filepath.Join(e.spool, "notes.txt")); err != nil {
		t.Errorf("unknown file touched: %v", err)
	}

	// Live log level.
	dropins := filepath.Join(filepath.Dir(e.conf), "conf.d")
	if err := os.MkdirAll(dropins, 0o755); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.stderr.String(), "level=DEBUG") {
		t.Fatal("debug lines before the change")
	}
	if err := os.WriteFile(filepath.Join(dropins, "10-debug.toml"), []byte("[agent]\nlog_level = \"debug\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "reload log line", func() bool {
		return strings.Contains(e.stderr.String(), `configuration reloaded: agent.log_level: \"info\" -> \"debug\"`)
	})
	e.agent.PollAll()
	waitUntil(t, "debug lines", func() bool { return strings.Contains(e.stderr.String(), "level=DEBUG") })

	// A restart-only change is refused with one clear line.
	if err := os.WriteFile(filepath.Join(dropins, "20-modem.toml"), []byte("[modem]\ndevice = \"/dev/ttyUSB5\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "restart-only refusal", func() bool {
		return strings.Contains(e.stderr.String(), "modem.device changed: needs a restart; ignored")
	})
	// A broken drop-in: refused, with the file and line.
	if err := os.WriteFile(filepath.Join(dropins, "30-bad.toml"), []byte("[agent]\nlog_lvl = \"warn\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "invalid config refusal", func() bool {
		out := e.stderr.String()
		return strings.Contains(out, "configuration reload refused") && strings.Contains(out, "30-bad.toml:2")
	})
	if st := e.agent.Snapshot(); st.State == "" {
		t.Error("agent not running after the refused reload")
	}
}

// TestRunSignals: SIGUSR1 polls every server; SIGHUP reloads.
func TestRunSignals(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	e := startDaemon(t, "session", daemonOptions{})
	dropFile(t, e.spool, "cp-w7.xml", readRepo(t, "bootstrap/cp-w7.xml"))
	waitUntil(t, "bootstrap session", func() bool { return len(e.runner.sessions()) == 1 })
	waitUntil(t, "idle", func() bool { return e.agent.Snapshot().State == "idle" })
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "poll after SIGUSR1", func() bool {
		s := e.runner.sessions()
		return len(s) == 2 && s[1].Source == agent.SourcePoll
	})
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "reload after SIGHUP", func() bool { return strings.Contains(e.stderr.String(), "configuration reloaded") })
}

func TestRunInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "agent.toml")
	body := "[agent]\nlog_level = \"loud\"\n\n[modem]\nbaudrate = 9600\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, nil, "--config", conf, "--state-dir", dir, "run")
	if code != 1 {
		t.Errorf("got exit %d, want 1", code)
	}
	for _, want := range []string{conf + ":2", conf + ":5", "did you mean", "2 problem(s)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestStatusStandalone(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "none.toml") // no file: defaults
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(dir, "no-bus"))
	if code, _, stderr := runCLI(t, nil, "--config", conf, "--state-dir", dir, "bootstrap", filepath.Join("..", "..", "..", "testdata", "bootstrap", "cp-w7.xml")); code != 0 {
		t.Fatalf("bootstrap: exit %d: %s", code, stderr)
	}
	ob, err := outbox.Open(filepath.Join(dir, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Add("dm.example.com", tree.Alert{Type: "org.openmobilealliance.dm.firmwareupdate.downloadandupdate", Data: []byte("200")}); err != nil {
		t.Fatal(err)
	}
	// The daemon kept the last success (metrics on).
	okAt := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	ls, _ := metrics.OpenLastSuccess(filepath.Join(dir, "metrics", metrics.LastSuccessFile))
	if err := ls.Record("dm.example.com", okAt); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, nil, "--config", conf, "--state-dir", dir, "status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"not running", "dm.example.com", "https://dm.example.com/dm", "pending alerts: 1",
		"last successful session " + okAt.Local().Format(time.RFC3339)} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "firmware:") || strings.Contains(out, "power:") {
		t.Errorf("status shows a firmware or power job where there is none:\n%s", out)
	}

	// A firmware update waiting for its reboot, and a reboot the server
	// ordered: both show, read from their state files.
	fw, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "fumo", "state-installed.json"))
	if err != nil {
		t.Fatal(err)
	}
	// ... whose download descriptor asked for an install notification.
	fw = bytes.Replace(fw, []byte(`}}`), []byte(`},"notify":{"uri":"https://fw.example.com/notify","status":900,"job":"2026-11-22T03:46:40Z","state":"pending","tries":1,"error":"connection refused"}}`), 1)
	for path, data := range map[string][]byte{
		filepath.Join(dir, "fumo", "fumo.json"):           fw,
		filepath.Join(dir, "system", "system-power.json"): []byte(`{"v":1,"op":"Reboot","phase":"scheduled","boot_id":"b1","requested":"2026-11-22T05:00:00Z","source":"./Vendor/omadm/System/Reboot","correlator":"rb-1","not_before":"2026-11-23T02:00:00Z"}`),
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, out, _ = runCLI(t, nil, "--config", conf, "--state-dir", dir, "status")
	for _, want := range []string{"firmware:       ./FUMO/1 State 60", "omadm-test 2026.11.1", "downloadandupdate installed", "power:          Reboot scheduled", "correlator rb-1", "install notify 900 pending (1 tries: connection refused)",
		"waits for the maintenance window at " + time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC).Local().Format(time.RFC3339)} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

// TestStatusRunning: with a daemon on a private bus, "status" asks it over
// D-Bus, and the control API starts a session.
func TestStatusRunning(t *testing.T) {
	bus := dbusapitest.Start(t) // sets DBUS_SYSTEM_BUS_ADDRESS
	_ = bus
	e := startDaemon(t, "system", daemonOptions{})
	dropFile(t, e.spool, "cp-w7.xml", readRepo(t, "bootstrap/cp-w7.xml"))
	waitUntil(t, "bootstrap session", func() bool { return len(e.runner.sessions()) == 1 })
	ctx := context.Background()
	cl, err := dbusapi.Connect(ctx, "system")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if !cl.Running(ctx) {
		t.Fatal("agent not on the bus")
	}
	if _, err := cl.StartSession(ctx, "dm.example.com"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "D-Bus session", func() bool { return len(e.runner.sessions()) == 2 })
	waitUntil(t, "idle", func() bool { return e.agent.Snapshot().State == "idle" })
	code, out, stderr := runCLI(t, nil, "--config", e.conf, "status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"running (version", "state idle", "dm.example.com", "ok (test runner)", "modem:          disabled",
		"sessions since start: 2 ok; last success "} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

// TestRunIdleWakeups measures the daemon's main-loop wakeups while idle
// without a watchdog (no heartbeat) and with one (heartbeat = watchdog/4).
// Target: at most one per second.
func TestRunIdleWakeups(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	e := startDaemon(t, "session", daemonOptions{})
	time.Sleep(100 * time.Millisecond)
	before := e.agent.Stats().Wakeups
	cs0 := ctxSwitches(t)
	const period = 2 * time.Second
	time.Sleep(period)
	n := e.agent.Stats().Wakeups - before
	cs := ctxSwitches(t) - cs0
	t.Logf("idle main-loop wakeups without watchdog: %d in %v; whole test process: %d context switches (all threads, Go runtime included)", n, period, cs)
	if float64(n) > period.Seconds() {
		t.Errorf("got %d wakeups in %v, want at most 1/s", n, period)
	}
}

// ctxSwitches sums voluntary and involuntary context switches of every
// thread of this process (/proc/self/task/*/status).
func ctxSwitches(t *testing.T) int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // thread gone
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				total += n
			}
		}
	}
	return total
}

// TestRunAlertsGoToTheirServer: two accounts. A provider's alert for the
// server whose Exec it answers triggers a session with that server only;
// an entry from an older outbox (schema 1, no server) on a node only the
// other server may Exec triggers a session with that one.
func TestRunAlertsGoToTheirServer(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	sinks := make(chan func(tree.Alert), 1)
	e := startDaemon(t, "session", daemonOptions{alertSink: sinks})
	sink := <-sinks
	const srvA, srvB = "dm.example.com", "dm2.example.org"
	cp := readRepo(t, "bootstrap/cp-w7.xml")
	dropFile(t, e.spool, "a.xml", cp)
	waitUntil(t, "bootstrap session A", func() bool { return len(e.runner.sessions()) == 1 })
	dropFile(t, e.spool, "b.xml", bytes.ReplaceAll(cp, []byte(srvA), []byte(srvB)))
	waitUntil(t, "bootstrap session B", func() bool { return len(e.runner.sessions()) == 2 })
	waitUntil(t, "idle", func() bool { s := e.agent.Snapshot(); return s.State == "idle" && s.Queued == 0 })

	ob, err := outbox.Open(filepath.Join(e.state, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	// srvB's Exec of ./Vendor/fw was answered 202 (the engine records it).
	if err := ob.Expect(srvB, "./Vendor/fw", "corr-B"); err != nil {
		t.Fatal(err)
	}
	sink(tree.Alert{Type: "urn:x:fw", Source: "./Vendor/fw", Correlator: "corr-B", Data: []byte("200")})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", e.stderr)
		}
	})
	waitUntil(t, "alert session", func() bool { return len(e.runner.sessions()) == 3 || strings.Contains(e.stderr.String(), "not stored") })
	if strings.Contains(e.stderr.String(), "not stored") {
		t.Fatalf("alert not stored:\n%s", e.stderr)
	}
	got := e.runner.sessions()[2]
	if got.ServerID != srvB || got.Source != agent.SourceAlert {
		t.Errorf("alert session: got %s from %s, want %s from %s", got.ServerID, got.Source, srvB, agent.SourceAlert)
	}
	p, _ := ob.Pending()
	if len(p) != 1 || p[0].ServerID != srvB {
		t.Fatalf("outbox: got %+v, want one entry for %s", p, srvB)
	}
	// The test runner acknowledges nothing: a session with srvA must not
	// have happened, and the alert stays for srvB.
	if err := ob.Ack(p[0].ID); err != nil {
		t.Fatal(err)
	}

	// A schema-1 entry whose node only srvA may Exec.
	id := "0000000000000001-00000001-00000000"
	v1 := `{"v":1,"id":"` + id + `","added":"2025-01-02T03:04:05Z","type":"urn:x:old","source":"./Vendor/fw"}`
	if err := ob.Expect(srvA, "./Vendor/fw", ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.state, "outbox", id+".alert"), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	e.agent.AlertsChanged()
	waitUntil(t, "second alert session", func() bool { return len(e.runner.sessions()) == 4 })
	if got := e.runner.sessions()[3]; got.ServerID != srvA {
		t.Errorf("old entry's session: got %s, want %s", got.ServerID, srvA)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(e.runner.sessions()); n != 4 {
		t.Errorf("got %d sessions, want 4 (no session with the other server)", n)
	}
}

func TestIMEICache(t *testing.T) {
	calls := 0
	fail := false
	c := &imeiCache{ttl: time.Hour, get: func(context.Context) (string, error) {
		calls++
		if fail {
			return "", errors.New("modem gone")
		}
		return "490154203237518", nil
	}}
	for i := 0; i < 3; i++ {
		if got, err := c.IMEI(context.Background()); err != nil || got != "490154203237518" {
			t.Fatalf("IMEI: got %q, %v", got, err)
		}
	}
	if calls != 1 {
		t.Errorf("modem asked %d times within the ttl, want 1", calls)
	}
	c.at = time.Now().Add(-2 * time.Hour)
	fail = true
	if _, err := c.IMEI(context.Background()); err == nil {
		t.Errorf("expired entry: want the modem's error, got none")
	}
	if calls != 2 {
		t.Errorf("modem asked %d times after expiry, want 2", calls)
	}
}
