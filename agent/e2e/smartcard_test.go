package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest/atsim"
)

// TestSIMBootstrap: the real binary reads the DM bootstrap from a SIM in a
// PC/SC reader of the real pcscd (vpcd reader, the smartcard.md §7 test
// card, T=0 and T=1), "bootstrap --sim" and the daemon's first-start
// bootstrap ([bootstrap] smartcard = "pcsc") alike, and the tree ends as
// "bootstrap FILE" of the same document leaves it.
func TestSIMBootstrap(t *testing.T) {
	fs, err := cardtest.Load(filepath.Join("..", "..", "testdata", "smartcard", "uicc.card"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cardtest.StartPCSCD(fs)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	// The reference: the card's document applied from a file.
	bs, err := smartcard.ReadBootstrap(context.Background(), cardtest.NewCard(fs, cardtest.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	docFile := filepath.Join(dir, "doc.wbxml")
	if err := os.WriteFile(docFile, bs.Document, 0o600); err != nil {
		t.Fatal(err)
	}
	agentCmd := func(state string, env []string, args ...string) (string, error) {
		cmd := exec.Command(agentBin, append([]string{"--config", "/dev/null", "--state-dir", state}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	ref := filepath.Join(dir, "ref")
	if out, err := agentCmd(ref, nil, "bootstrap", docFile); err != nil {
		t.Fatalf("bootstrap FILE: %v\n%s", err, out)
	}
	want, err := agentCmd(ref, nil, "tree", "dump", "./DMAcc")
	if err != nil || !strings.Contains(want, "ServerID") {
		t.Fatalf("tree dump: %v\n%s", err, want)
	}

	for _, reader := range []string{cardtest.ReaderT0, cardtest.ReaderT1} {
		t.Run("bootstrap --sim "+reader, func(t *testing.T) {
			state := filepath.Join(dir, strings.ReplaceAll(reader, " ", "_"))
			out, err := agentCmd(state, nil, "bootstrap", "--sim", "--via", "pcsc", "--pcsc-socket", p.Socket, "--reader", reader)
			if err != nil || !strings.Contains(out, "added account") || !strings.Contains(out, "SIM 8949020001234567890") {
				t.Fatalf("bootstrap --sim: %v\n%s", err, out)
			}
			got, err := agentCmd(state, nil, "tree", "dump", "./DMAcc")
			if err != nil || !sameButOrigin(got, want) {
				t.Errorf("tree after bootstrap --sim:\n%s\nwant (as from the file):\n%s", got, want)
			}
			// Once more: the account exists, so the same card is refused
			// and the tree is unchanged.
			if out, err := agentCmd(state, nil, "bootstrap", "--sim", "--pcsc-socket", p.Socket, "--reader", reader); err == nil {
				t.Errorf("second bootstrap --sim: got success, want a refusal (duplicate ServerID)\n%s", out)
			}
			if again, _ := agentCmd(state, nil, "tree", "dump", "./DMAcc"); again != got {
				t.Errorf("tree changed by the refused bootstrap:\n%s", again)
			}
		})
	}

	// The same card behind a fake AT modem on a pty (smartcard/cardtest/atsim
	// answers AT+CSIM, AT+CCHO/CGLA/CCHC and AT+CRSM in TS 27.007 syntax):
	// every route, and "modem" falling back when the modem refuses one.
	for _, tc := range []struct {
		via       string
		refuse    func(*atsim.Modem)
		wantRoute string // the SIM command family that must have carried the read
	}{
		{"csim", nil, "AT+CSIM="},
		{"cgla", nil, "AT+CGLA="},
		{"crsm", nil, "AT+CRSM="},
		{"modem", func(m *atsim.Modem) { m.RefuseCSIM = "+CME ERROR: 4" }, "AT+CGLA="},
		{"modem", func(m *atsim.Modem) { m.RefuseCSIM, m.RefuseCCHO = "ERROR", "+CME ERROR: 4" }, "AT+CRSM="},
	} {
		t.Run("bootstrap --sim --via "+tc.via+" "+tc.wantRoute, func(t *testing.T) {
			sim := atsim.New(cardtest.NewCard(fs, cardtest.Options{}))
			if tc.refuse != nil {
				tc.refuse(sim)
			}
			fake, err := modemtest.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer fake.Close()
			fake.Extend(func(line string) ([]string, bool) {
				up := strings.ToUpper(line)
				for _, c := range []string{"AT+CSIM", "AT+CCHO", "AT+CGLA", "AT+CCHC", "AT+CRSM"} {
					if strings.HasPrefix(up, c) {
						return sim.Answer(line), true
					}
				}
				return nil, false
			})
			state := filepath.Join(t.TempDir(), "state")
			out, err := agentCmd(state, nil, "bootstrap", "--sim", "--via", tc.via, "--modem", fake.Path)
			if err != nil || !strings.Contains(out, "added account") || !strings.Contains(out, "SIM 8949020001234567890") {
				t.Fatalf("bootstrap --sim --via %s: %v\n%s\nmodem saw %q", tc.via, err, out, sim.Commands())
			}
			if sim.Count(tc.wantRoute) == 0 {
				t.Errorf("no %s command: the read went another way (%q)", tc.wantRoute, sim.Commands())
			}
			got, err := agentCmd(state, nil, "tree", "dump", "./DMAcc")
			if err != nil || !sameButOrigin(got, want) {
				t.Errorf("tree after bootstrap --sim --via %s:\n%s\nwant (as from the file):\n%s", tc.via, got, want)
			}
		})
	}

	t.Run("no reader", func(t *testing.T) {
		out, err := agentCmd(filepath.Join(dir, "none"), nil, "bootstrap", "--sim", "--pcsc-socket", p.Socket, "--reader", "No Such Reader")
		if err == nil || !strings.Contains(out, "SIM (PC/SC)") {
			t.Errorf("unknown reader: got %v\n%s; want a one-line SIM (PC/SC) error", err, out)
		}
	})

	t.Run("daemon first start", func(t *testing.T) {
		state := filepath.Join(dir, "daemon")
		cfg := filepath.Join(dir, "agent.toml")
		conf := "[agent]\nlog_level = \"info\"\n[dbus]\nbus = \"session\"\n[bootstrap]\nsmartcard = \"pcsc\"\npcsc_reader = \"" + cardtest.ReaderT1 + "\"\n"
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		env := append(os.Environ(), "PCSCLITE_CSOCK_NAME="+p.Socket, "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(dir, "no-bus"))
		a, err := rig.StartAgent(agentBin, env, nil, "--config", cfg, "--state-dir", state, "run")
		if err != nil {
			t.Fatal(err)
		}
		log := func() string { return strings.Join(a.Lines(), "\n") }
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(log(), "smartcard bootstrap") && time.Now().Before(deadline) {
			select {
			case <-a.Done():
				t.Fatalf("the agent exited: %v\n%s", a.ExitErr(), log())
			case <-time.After(50 * time.Millisecond):
			}
		}
		if err := a.Stop(10 * time.Second); err != nil { // by PID
			t.Errorf("agent: %v", err)
		}
		if !strings.Contains(log(), "smartcard bootstrap applied") || !strings.Contains(log(), "8949020001234567890") {
			t.Fatalf("daemon log has no \"smartcard bootstrap applied\" with the ICCID:\n%s", log())
		}
		got, err := agentCmd(state, nil, "tree", "dump", "./DMAcc")
		if err != nil || !sameButOrigin(got, want) {
			t.Errorf("tree after the daemon's SIM bootstrap:\n%s\nwant:\n%s", got, want)
		}
	})
}

// sameButOrigin compares two tree dumps, ignoring the Origin leaf, which
// says where each account came from.
func sameButOrigin(a, b string) bool {
	strip := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, "Origin") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	return strip(a) == strip(b)
}
