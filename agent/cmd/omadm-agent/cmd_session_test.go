package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/config"
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
