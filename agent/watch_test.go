package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

// TestSpoolOwnership: a bootstrap document in the spool is local operator
// input only when root (or the agent's user) owns it; another owner's file
// is refused and the tree stays empty.
func TestSpoolOwnership(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("needs root to chown a spool file to another user")
	}
	tr := tree.New()
	if err := dmacc.Declare(tr); err != nil {
		t.Fatal(err)
	}
	store := dmacc.New(tr)
	a, _, _ := startAgent(t, Config{Runner: &fakeRunner{}, Accounts: store, Bootstrap: TreeBootstrapper{Tree: tr}, Config: config.Default()})
	spool := filepath.Join(t.TempDir(), "spool")
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Watch(ctx, WatchConfig{SpoolDir: spool, Ready: ready})
	<-ready
	doc := readTestdata(t, "bootstrap/cp-w7.xml")
	tmp := filepath.Join(spool, ".x.tmp")
	if err := os.WriteFile(tmp, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(spool, "other.xml")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed/other.xml.reason", func() bool {
		_, err := os.Stat(filepath.Join(spool, "failed", "other.xml.reason"))
		return err == nil
	})
	b, _ := os.ReadFile(filepath.Join(spool, "failed", "other.xml.reason"))
	if !strings.Contains(string(b), "non-root") {
		t.Errorf("got reason %q, want a non-root refusal", b)
	}
	if accs, _ := store.Accounts(context.Background()); len(accs) != 0 {
		t.Errorf("got accounts %v, want none", accs)
	}
	// The same document owned by root is applied.
	if err := os.WriteFile(tmp, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(spool, "root.xml")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "done/root.xml.reason", func() bool {
		_, err := os.Stat(filepath.Join(spool, "done", "root.xml.reason"))
		return err == nil
	})
	if accs, _ := store.Accounts(context.Background()); len(accs) != 1 || accs[0].ServerID != "dm.example.com" {
		t.Errorf("got accounts %v, want dm.example.com", accs)
	}
}

// TestHandlePush: the modem handler queues verified pushes, keeps pushes
// for unknown servers on the modem with coexistence, and consumes refused
// ones.
func TestHandlePush(t *testing.T) {
	cfg := config.Default()
	cfg.Modem.Enabled, cfg.Modem.Coexistence = true, true
	r := &fakeRunner{}
	a, _, _ := startAgent(t, Config{Runner: r, Accounts: newAccounts(vecServer), Config: cfg})
	ctx := context.Background()
	ok := notifPush(pkg0(t, vecServer, 0x42, notification.UIBackground, vecPassword, []byte(vecNonce)))
	if err := a.HandlePush(ctx, ok); err != nil {
		t.Errorf("valid push: got %v, want nil (SMS deleted)", err)
	}
	unknown := notifPush(pkg0(t, "other.example", 1, notification.UIBackground, vecPassword, []byte(vecNonce)))
	if err := a.HandlePush(ctx, unknown); !errors.Is(err, ErrLeftForModem) {
		t.Errorf("unknown server with coexistence: got %v, want ErrLeftForModem (SMS kept)", err)
	}
	forged := notifPush(pkg0(t, vecServer, 0x43, notification.UIBackground, "x", []byte(vecNonce)))
	if err := a.HandlePush(ctx, forged); err != nil {
		t.Errorf("forged push: got %v, want nil (consumed)", err)
	}
	waitFor(t, "session", func() bool { return len(r.sessions()) == 1 })
	if s := r.sessions()[0]; s.Session != "42" || s.Source != SourcePush {
		t.Errorf("got session %+v, want push session 42", s)
	}
	c := a.Router().Counters()
	if c["queued"] != 1 || c["left for the modem"] != 1 || c["refused"] != 1 {
		t.Errorf("got counters %v", c)
	}
}
