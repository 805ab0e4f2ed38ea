package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/store"
)

type fakeSIM struct {
	imsi string
	err  error
}

func (s fakeSIM) IMSI(context.Context) (string, error) { return s.imsi, s.err }

type fakeAsker struct {
	answer bool
	block  bool // wait for ctx (a UI agent that never answers)
	calls  int
}

func (a *fakeAsker) Ask(ctx context.Context, _, _ string) (bool, error) {
	a.calls++
	if a.block {
		<-ctx.Done()
		return false, ctx.Err()
	}
	return a.answer, nil
}

type step struct {
	push    wappush.Push
	advance time.Duration // before routing
	want    Action
	reason  string // substring of Decision.Reason
	check   func(t *testing.T, d Decision)
}

func TestRoute(t *testing.T) {
	nonce := []byte(vecNonce)
	valid := pkg0(t, vecServer, 0x1234, notification.UIBackground, vecPassword, nonce)
	forged := bytes.Clone(valid)
	forged[3] ^= 0x40
	tampered := bytes.Clone(valid)
	tampered[len(tampered)-1] ^= 1 // ServerID changed after signing
	other := pkg0(t, vecServer, 0x1235, notification.UIBackground, vecPassword, nonce)
	resync := pkg0(t, vecServer, 0x2000, notification.UIInformative, vecPassword, notification.ResyncNonce())
	unknown := pkg0(t, "dm.unknown.example", 7, notification.UIBackground, vecPassword, nonce)
	ui := pkg0(t, vecServer, 0x3000, notification.UIUserInteraction, vecPassword, nonce)
	wrongPassword := pkg0(t, vecServer, 0x1234, notification.UIBackground, "guess", nonce)
	bootBody := readTestdata(t, "bootstrap/dm-bootstrap.wbxml")
	bootPush := func(sec int, mac string) wappush.Push {
		return wappush.Push{ContentType: CTDMBootstrap, ContentTypeCode: wappush.CodeSyncMLDMWBXML, SEC: sec, MAC: mac, Body: bootBody}
	}
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte("1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The USERPIN MAC of the same body, computed independently of the router.
	userPINMAC := hmacSHA1Hex([]byte("1234"), bootBody)

	queued := func(session string, ui notification.UIMode, reset bool) func(*testing.T, Decision) {
		return func(t *testing.T, d Decision) {
			if len(d.Triggers) != 1 {
				t.Fatalf("got %d triggers, want 1", len(d.Triggers))
			}
			tr := d.Triggers[0]
			if tr.ServerID != vecServer || tr.SessionID != session || tr.UIMode != ui || tr.NonceReset != reset || tr.Source != SourcePush {
				t.Errorf("got trigger %+v, want server %s session %s ui %s nonce-reset %v", tr, vecServer, session, ui, reset)
			}
		}
	}
	def := PolicyFrom(config.Default())
	with := func(f func(*Policy)) Policy { p := def; f(&p); return p }

	tests := []struct {
		name   string
		policy Policy
		asker  *fakeAsker
		noSRV  bool
		steps  []step
	}{
		{name: "valid", policy: def, steps: []step{{push: notifPush(valid), want: Queued, reason: "stored nonce", check: queued("1234", notification.UIBackground, false)}}},
		{name: "forged digest", policy: def, steps: []step{{push: notifPush(forged), want: Refused, reason: "digest"}}},
		{name: "tampered trigger", policy: def, steps: []step{{push: notifPush(tampered), want: Ignored, reason: "unknown ServerID"}}},
		{name: "wrong password", policy: def, steps: []step{{push: notifPush(wrongPassword), want: Refused, reason: "digest"}}},
		{name: "replay", policy: def, steps: []step{
			{push: notifPush(valid), want: Queued},
			{push: notifPush(valid), advance: time.Minute, want: Refused, reason: "replay"},
			{push: notifPush(other), want: Queued, reason: "stored nonce"},
			{push: notifPush(valid), advance: time.Hour, want: Queued}, // window over
		}},
		{name: "replay window off", policy: with(func(p *Policy) { p.ReplayWindow = 0 }), steps: []step{
			{push: notifPush(valid), want: Queued},
			{push: notifPush(valid), want: Queued},
		}},
		{name: "unknown server", policy: def, steps: []step{
			{push: notifPush(unknown), want: Ignored, reason: "unknown ServerID"},
			{push: notifPush(unknown), want: Ignored},
		}},
		{name: "unknown server, coexistence", policy: with(func(p *Policy) { p.Coexistence = true }), steps: []step{
			{push: notifPush(unknown), want: LeftForModem, reason: "coexistence"},
		}},
		{name: "resync nonce", policy: def, steps: []step{{push: notifPush(resync), want: Queued, reason: "resync", check: queued("2000", notification.UIInformative, true)}}},
		{name: "no SRVCRED", policy: def, noSRV: true, steps: []step{{push: notifPush(valid), want: Refused, reason: "SRVCRED"}}},
		{name: "rate limit", policy: with(func(p *Policy) { p.RateLimit = 2 }), steps: []step{
			{push: notifPush(pkg0(t, vecServer, 1, 1, vecPassword, nonce)), want: Queued},
			{push: notifPush(pkg0(t, vecServer, 2, 1, vecPassword, nonce)), want: Queued},
			{push: notifPush(pkg0(t, vecServer, 3, 1, vecPassword, nonce)), want: Refused, reason: "rate limit"},
			{push: notifPush(pkg0(t, vecServer, 4, 1, vecPassword, nonce)), advance: 30 * time.Second, want: Queued}, // one token back
			{push: notifPush(pkg0(t, vecServer, 5, 1, vecPassword, nonce)), want: Refused, reason: "rate limit"},
		}},
		{name: "garbage", policy: def, steps: []step{{push: notifPush([]byte{1, 2, 3}), want: Refused, reason: "Package #0"}}},
		{name: "other content type", policy: def, steps: []step{{push: wappush.Push{ContentType: "application/vnd.wap.sic", Body: []byte("x")}, want: Ignored, reason: "not for the DM agent"}}},
		{name: "ui: accept", policy: def, steps: []step{{push: notifPush(ui), want: Queued, check: queued("3000", notification.UIUserInteraction, false)}}},
		{name: "ui: confirm reject", policy: with(func(p *Policy) { p.Confirm = "reject" }), steps: []step{{push: notifPush(ui), want: Ignored, reason: "confirm = reject"}}},
		{name: "ui: background", policy: with(func(p *Policy) { p.UIUserInteraction = "background"; p.Confirm = "reject" }), steps: []step{
			{push: notifPush(ui), want: Queued, check: queued("3000", notification.UIBackground, false)}}},
		{name: "ui: push reject", policy: with(func(p *Policy) { p.UIUserInteraction = "reject" }), steps: []step{{push: notifPush(ui), want: Ignored, reason: "ui_user_interaction = reject"}}},
		{name: "ui: background mode untouched by policy", policy: with(func(p *Policy) { p.UIUserInteraction = "reject" }), steps: []step{{push: notifPush(valid), want: Queued}}},
		{name: "ui: ask yes", policy: with(func(p *Policy) { p.Confirm = "ask" }), asker: &fakeAsker{answer: true}, steps: []step{{push: notifPush(ui), want: Queued}}},
		{name: "ui: ask no", policy: with(func(p *Policy) { p.Confirm = "ask" }), asker: &fakeAsker{answer: false}, steps: []step{{push: notifPush(ui), want: Ignored, reason: "declined"}}},
		{name: "ui: ask timeout reject", policy: with(func(p *Policy) { p.Confirm = "ask"; p.AskTimeout = 20 * time.Millisecond }), asker: &fakeAsker{block: true},
			steps: []step{{push: notifPush(ui), want: Ignored, reason: "on_timeout = reject"}}},
		{name: "ui: ask timeout accept", policy: with(func(p *Policy) { p.Confirm = "ask"; p.AskTimeout = 20 * time.Millisecond; p.OnTimeout = "accept" }), asker: &fakeAsker{block: true},
			steps: []step{{push: notifPush(ui), want: Queued}}},
		{name: "ui: ask without agent", policy: with(func(p *Policy) { p.Confirm = "ask" }), steps: []step{{push: notifPush(ui), want: Ignored, reason: "no UI agent"}}},
		{name: "bootstrap NETWPIN good MAC", policy: def, steps: []step{{push: bootPush(wappush.SECNetwPIN, vecPushMAC), want: Bootstrapped, check: func(t *testing.T, d Decision) {
			if d.Report == nil || len(d.Report.Added) != 1 || d.Report.Added[0] != "dm.example.com" {
				t.Fatalf("got report %+v, want dm.example.com added", d.Report)
			}
			if len(d.Triggers) != 1 || d.Triggers[0].Source != SourceBootstrap || d.Triggers[0].ServerID != "dm.example.com" {
				t.Errorf("got triggers %+v, want one bootstrap trigger for dm.example.com", d.Triggers)
			}
		}}}},
		{name: "bootstrap bad MAC", policy: def, steps: []step{{push: bootPush(wappush.SECNetwPIN, strings.Replace(vecPushMAC, "CC", "CD", 1)), want: Refused, reason: "not authenticated"}}},
		{name: "bootstrap no SEC", policy: def, steps: []step{{push: bootPush(wappush.SECNone, ""), want: Refused, reason: "unauthenticated"}}},
		{name: "bootstrap USERPIN good", policy: def, steps: []step{{push: bootPush(wappush.SECUserPIN, userPINMAC), want: Bootstrapped}}},
		{name: "bootstrap USERPIN wrong MAC", policy: def, steps: []step{{push: bootPush(wappush.SECUserPIN, vecPushMAC), want: Refused, reason: "not authenticated"}}},
		{name: "bootstrap CP type, bad MAC", policy: def, steps: []step{{push: wappush.Push{ContentType: CTCPBootstrap, SEC: wappush.SECNetwPIN, MAC: vecPushMAC, Body: readTestdata(t, "bootstrap/cp-w7.wbxml")}, want: Refused, reason: "not authenticated"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			accs := newAccounts(vecServer)
			if tc.noSRV {
				a, _ := accs.Account(context.Background(), vecServer)
				a.Server = dmacc.Credential{}
				accs.set(a)
			}
			tr := tree.New()
			if err := dmacc.Declare(tr); err != nil {
				t.Fatal(err)
			}
			clk := newClock()
			cfg := RouterConfig{
				Accounts: accs, SIM: fakeSIM{imsi: vecIMSI}, UserPIN: pinReader(pinFile),
				Bootstrap: TreeBootstrapper{Tree: tr}, Policy: tc.policy, Now: clk.Now,
			}
			if tc.asker != nil {
				cfg.Asker = tc.asker
			}
			r, err := NewRouter(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				before := store.Encode(tr.Snapshot())
				clk.advance(s.advance)
				d, err := r.Route(context.Background(), s.push)
				if err != nil {
					t.Fatalf("step %d: Route: %v", i, err)
				}
				if d.Action != s.want {
					t.Fatalf("step %d: got %s (%s), want %s", i, d.Action, d.Reason, s.want)
				}
				if !strings.Contains(d.Reason, s.reason) {
					t.Errorf("step %d: got reason %q, want it to contain %q", i, d.Reason, s.reason)
				}
				if d.Action != Queued && d.Action != Bootstrapped && len(d.Triggers) != 0 {
					t.Errorf("step %d: %s decision carries triggers %+v", i, d.Action, d.Triggers)
				}
				if d.Action != Bootstrapped && !bytes.Equal(before, store.Encode(tr.Snapshot())) {
					t.Errorf("step %d: tree changed by a %s push", i, d.Action)
				}
				if s.check != nil {
					s.check(t, d)
				}
			}
		})
	}
}

// TestRouteErrors: a push that cannot be judged is an error (the modem keeps
// the SMS for a retry), not a decision.
func TestRouteErrors(t *testing.T) {
	r, err := NewRouter(RouterConfig{Accounts: newAccounts(vecServer), SIM: fakeSIM{err: errors.New("modem not connected")},
		Bootstrap: TreeBootstrapper{Tree: tree.New()}, Policy: PolicyFrom(config.Default())})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Route(context.Background(), wappush.Push{ContentType: CTDMBootstrap, SEC: wappush.SECNetwPIN, MAC: vecPushMAC, Body: []byte{3}})
	if err == nil || !strings.Contains(err.Error(), "IMSI") {
		t.Errorf("got %v, want an IMSI error", err)
	}
	if got := r.Counters()["error"]; got != 1 {
		t.Errorf("got error counter %d, want 1", got)
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache(8)
	now := time.Unix(0, 0)
	for i := range 100 {
		if c.check(string(rune('a'+i%50))+string(rune(i)), now, time.Hour) {
			t.Fatalf("entry %d reported as replay", i)
		}
	}
	if c.len() > 8 {
		t.Errorf("got %d entries, want at most 8", c.len())
	}
	if !c.check(string(rune('a'+99%50))+string(rune(99)), now, time.Hour) {
		t.Errorf("most recent entry not remembered")
	}
}
