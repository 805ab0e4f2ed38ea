package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/dbusapi/dbusapitest"
	"github.com/omadm-agent/omadm-agent/agent/device"
	"github.com/omadm-agent/omadm-agent/agent/dmtest"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/tree"
)

// sessionEnv is a state dir with a device tree holding accounts for the
// given dmtest servers, and a config file trusting their CA.
type sessionEnv struct {
	state, conf string
}

func newSessionEnv(t *testing.T, srvs map[string]*dmtest.Server) *sessionEnv {
	t.Helper()
	ctx := context.Background()
	env := &sessionEnv{state: filepath.Join(t.TempDir(), "state"), conf: filepath.Join(t.TempDir(), "agent.toml")}
	dev := config.Default().Device
	dev.DevID = "IMEI:490154203237518"
	tr, err := device.OpenTree(ctx, device.Options{StateDir: env.state, Device: dev, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	var cas []byte
	i := 0
	for id, srv := range srvs {
		i++
		a := fmt.Sprintf("./DMAcc/a%d", i)
		for u, v := range map[string]string{a + "/AppID": "w7", a + "/ServerID": id, a + "/AppAddr/1/Addr": srv.URL(),
			a + "/AppAuth/2/AAuthLevel": "SRVCRED", a + "/AppAuth/2/AAuthType": "TRANSPORT", a + "/AppAuth/2/AAuthName": id,
			a + "/AppAuth/2/AAuthSecret": "srv-secret"} {
			if err := tr.Add(ctx, tree.LocalPrincipal, u, tree.Value{Data: []byte(v)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.Add(ctx, tree.LocalPrincipal, a+"/AppAuth/2/AAuthData", tree.Value{Data: []byte("server-nonce-16b"), Format: "bin"}); err != nil {
			t.Fatal(err)
		}
		cas = append(cas, srv.CACertPEM()...)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, cas, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[device]\ndev_id = %q\n\n[transport]\nca_file = %q\nconn_retry_freq = 0\n", dev.DevID, ca)
	if err := os.WriteFile(env.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return env
}

func (e *sessionEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, nil, append([]string{"--state-dir", e.state, "--config", e.conf}, args...)...)
}

func startScenario(t *testing.T, name, serverID string) *dmtest.Server {
	t.Helper()
	sc, err := dmtest.LoadScenario(filepath.Join("../../../testdata/scenarios", name+".dms"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dmtest.NewServer(sc, dmtest.Options{ServerID: serverID, ServerPassword: "srv-secret", ServerNonce: []byte("server-nonce-16b")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestCLISession(t *testing.T) {
	for _, enc := range []string{"wbxml", "xml"} {
		t.Run(enc, func(t *testing.T) {
			srv := startScenario(t, "plain-1201", "dmtest")
			env := newSessionEnv(t, map[string]*dmtest.Server{"dmtest": srv})
			rec := filepath.Join(t.TempDir(), "rec")
			args := []string{"session", "--record", rec}
			if enc == "xml" {
				args = append(args, "--xml")
			}
			code, out, errOut := env.run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
			if !strings.Contains(out, "with dmtest (client-initiated): ok") || !strings.Contains(out, "2 round trips") {
				t.Errorf("summary: %s", out)
			}
			if rep := srv.Report(); !rep.Passed() {
				t.Errorf("scenario: %s", rep)
			}
			dirs, _ := filepath.Glob(filepath.Join(rec, "*", "0001-client."+enc))
			if len(dirs) != 1 {
				t.Errorf("no record 0001-client.%s under %s", enc, rec)
			} else if code, out, errOut := runCLI(t, nil, "syncml", "decode", dirs[0]); code != 0 || !strings.Contains(out, "1201") {
				t.Errorf("syncml decode of the record: exit %d %s %s", code, out, errOut)
			}
		})
	}
}

func TestCLISessionErrors(t *testing.T) {
	a := startScenario(t, "plain-1201", "one")
	b := startScenario(t, "plain-1201", "two")
	env := newSessionEnv(t, map[string]*dmtest.Server{"one": a, "two": b})
	if code, _, errOut := env.run(t, "session"); code != 2 || !strings.Contains(errOut, "one, two") {
		t.Errorf("two accounts without --server: exit %d, %q", code, errOut)
	}
	if code, _, errOut := env.run(t, "session", "--server", "nope"); code != 1 || !strings.Contains(errOut, `"nope"`) {
		t.Errorf("unknown server: exit %d, %q", code, errOut)
	}
	// A server that answers garbage: exit 1 with one line.
	srv := startScenario(t, "garbage", "bad")
	env2 := newSessionEnv(t, map[string]*dmtest.Server{"bad": srv})
	code, _, errOut := env2.run(t, "session")
	if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "omadm-agent session:") {
		t.Errorf("garbage: exit %d, stderr %q", code, errOut)
	}
}

func TestCLINotify(t *testing.T) {
	srv := startScenario(t, "plain-1200", "dmtest")
	env := newSessionEnv(t, map[string]*dmtest.Server{"dmtest": srv})
	pkg0, err := srv.Notification(0x1A2B, notification.UIBackground)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "pkg0.hex")
	os.WriteFile(file, []byte(hex.EncodeToString(pkg0)+"\n"), 0o600)
	code, out, errOut := env.run(t, "notify", file)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "session 1A2B") || !strings.Contains(out, "(server-initiated): ok") {
		t.Errorf("output: %s", out)
	}
	if rep := srv.Report(); !rep.Passed() {
		t.Errorf("scenario: %s", rep)
	}

	// A tampered digest and an unknown server are refused before any session.
	bad := append([]byte(nil), pkg0...)
	bad[0] ^= 1
	badFile := filepath.Join(dir, "bad.bin")
	os.WriteFile(badFile, bad, 0o600)
	if code, _, errOut := env.run(t, "notify", badFile); code != 1 || !strings.Contains(errOut, "digest does not verify") {
		t.Errorf("bad digest: exit %d %q", code, errOut)
	}
	n, _ := notification.Decode(pkg0)
	n.ServerID = "stranger"
	other, _ := notification.Encode(*n, "x", nil)
	otherFile := filepath.Join(dir, "other.bin")
	os.WriteFile(otherFile, other, 0o600)
	if code, _, errOut := env.run(t, "notify", otherFile); code != 1 || !strings.Contains(errOut, "unknown server") {
		t.Errorf("unknown server: exit %d %q", code, errOut)
	}
}

// daemonFor runs the real daemon (real session engine) in-process on env's
// state directory with [dbus] bus = bus, until the test ends.
func daemonFor(t *testing.T, env *sessionEnv, bus string) (*agent.Agent, *lockedBuf) {
	t.Helper()
	extra := fmt.Sprintf("\n[agent]\nstate_dir = %q\nlog_level = \"debug\"\n\n[dbus]\nbus = %q\n", env.state, bus)
	f, err := os.OpenFile(env.conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(extra)
	f.Close()
	stderr := &lockedBuf{}
	c := &cli{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: stderr, stateDir: defaultStateDir, config: env.conf}
	started := make(chan *agent.Agent, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, c, daemonOptions{started: started}) }()
	var a *agent.Agent
	select {
	case a = <-started:
	case err := <-done:
		t.Fatalf("daemon exited: %v\n%s", err, stderr)
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon not ready\n%s", stderr)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("daemon did not stop")
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", stderr)
		}
	})
	return a, stderr
}

// TestCLISessionViaDaemon: with the daemon on a private bus, "session"
// and "notify" are run by the daemon (its engine talks to dmtest, the CLI
// waits for SessionFinished), a failing session exits 1 with one line, and
// --timeout bounds the wait. Standalone-only flags are refused.
func TestCLISessionViaDaemon(t *testing.T) {
	dbusapitest.Start(t) // sets DBUS_SYSTEM_BUS_ADDRESS
	srv := startScenario(t, "plain-1201", "dmtest")
	slow := startScenario(t, "stall", "slow")
	push := startScenario(t, "plain-1200", "pushy")
	env := newSessionEnv(t, map[string]*dmtest.Server{"dmtest": srv, "slow": slow, "pushy": push})
	a, dlog := daemonFor(t, env, "system")

	code, out, errOut := env.run(t, "session", "--server", "dmtest")
	if code != 0 || !strings.Contains(out, "with dmtest (run by the agent daemon): ok") {
		t.Fatalf("session via daemon: exit %d, out %q, err %q", code, out, errOut)
	}
	if rep := srv.Report(); !rep.Passed() {
		t.Errorf("scenario: %s", rep)
	}
	if !strings.Contains(dlog.String(), `msg="session starting" server_id=dmtest`) {
		t.Errorf("the daemon did not run the session:\n%s", dlog)
	}

	// --timeout: the stalling server needs 2 s; we wait 300 ms. Only the
	// timeout path prints this message and exits 1 (a wait that ignored
	// --timeout would end with the session, successfully); no wall-clock
	// bound, which a loaded machine can exceed.
	code, _, errOut = env.run(t, "session", "--server", "slow", "--timeout", "300ms")
	if code != 1 || !strings.Contains(errOut, "did not finish the session within 300ms") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("timeout: exit %d, stderr %q", code, errOut)
	}
	waitUntil(t, "slow session end", func() bool { return a.Stats().Finished == 2 })
	if rep := slow.Report(); !rep.Passed() {
		t.Errorf("stall scenario (finished by the daemon): %s", rep)
	}

	// Package #0 through the daemon.
	pkg0, err := push.Notification(0x1A2B, notification.UIBackground)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pkg0.bin")
	os.WriteFile(file, pkg0, 0o600)
	code, out, errOut = env.run(t, "notify", file)
	if code != 0 || !strings.Contains(out, "session 1A2B with pushy (run by the agent daemon): ok") {
		t.Errorf("notify via daemon: exit %d, out %q, err %q", code, out, errOut)
	}
	if rep := push.Report(); !rep.Passed() {
		t.Errorf("plain-1200 scenario: %s", rep)
	}

	// A failing session: dmtest is done with its one scenario session.
	code, out, errOut = env.run(t, "session", "--server", "dmtest", "--timeout", "20s")
	if code != 1 || !strings.Contains(errOut, "failed (status") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("failing session: exit %d, out %q, stderr %q", code, out, errOut)
	}

	if code, _, errOut := env.run(t, "session", "--server", "dmtest", "--record", t.TempDir()); code != 2 || !strings.Contains(errOut, "standalone") {
		t.Errorf("--record with the daemon: exit %d %q", code, errOut)
	}
}

// TestCLISessionDaemonWithoutBus: the daemon runs but is not reachable
// over D-Bus; the CLI must not run a second engine on the same state.
func TestCLISessionDaemonWithoutBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	srv := startScenario(t, "plain-1201", "dmtest")
	env := newSessionEnv(t, map[string]*dmtest.Server{"dmtest": srv})
	daemonFor(t, env, "session")
	code, _, errOut := env.run(t, "session")
	if code != 1 || !strings.Contains(errOut, "state directory in use") || !strings.Contains(errOut, "omadm-agent daemon (pid") {
		t.Errorf("exit %d, stderr %q; want the lock refusal", code, errOut)
	}
	if rep := srv.Report(); len(rep.Checks) != 1 || rep.Passed() || !strings.Contains(fmt.Sprint(rep), "waiting in round 1 of") {
		t.Errorf("scenario report %s, want it still waiting for the first package (no session)", rep)
	}
}
