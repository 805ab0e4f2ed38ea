package dmtest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

const scenarioDir = "../../testdata/scenarios"

func loadScenario(t *testing.T, name string) *Scenario {
	t.Helper()
	sc, err := LoadScenario(filepath.Join(scenarioDir, name+".dms"))
	if err != nil {
		t.Fatalf("LoadScenario(%s): %v", name, err)
	}
	return sc
}

func testOpts() Options {
	return Options{
		ServerID: "dmtest-srv", ServerPassword: "srv-secret-pw", ServerNonce: []byte("server-nonce-16b"),
		ClientUser: "devuser", ClientPassword: "dev-secret-pw", ClientNonce: []byte("client-nonce-16b"),
	}
}

func waitDone(t *testing.T, s *Server) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(15 * time.Second):
		t.Fatalf("scenario did not finish:\n%s", s.Report())
	}
}

func dump(t *testing.T, s *Server, c *tclient) {
	t.Helper()
	t.Logf("report:\n%s", s.Report())
	var b strings.Builder
	FormatTranscript(&b, s.Transcript())
	t.Logf("transcript:\n%s", b.String())
	if c != nil {
		t.Logf("client log:\n%s", strings.Join(c.log, "\n"))
	}
}

// TestScenariosWithGoodClient runs every shipped scenario against the
// well-behaved scripted client: every report must pass.
func TestScenariosWithGoodClient(t *testing.T) {
	tests := []struct {
		name      string
		cfg       clientCfg
		plain     bool
		push      int // >=0: server-initiated with this session id
		wantErr   bool
		mutate    func(*Options)
		wantCheck string // a check that must be present
	}{
		{name: "plain-1201", push: -1},
		{name: "plain-1201", cfg: clientCfg{enc: syncml.WBXML}, push: -1, wantCheck: "http.content-type"},
		{name: "plain-1201", plain: true, push: -1},
		{name: "plain-1200", cfg: clientCfg{alert: syncml.AlertServerInitiatedMgmt, sessionID: "1A2B"}, push: 0x1A2B},
		{name: "sessionid-0", cfg: clientCfg{alert: syncml.AlertServerInitiatedMgmt, sessionID: "0"}, push: 0},
		{name: "all-commands", push: -1},
		{name: "all-commands", cfg: clientCfg{enc: syncml.WBXML}, push: -1},
		{name: "atomic-fail", push: -1},
		{name: "sequence-abort", push: -1},
		{name: "auth-basic", cfg: clientCfg{authType: AuthBasic, user: "devuser", pass: "dev-secret-pw"}, push: -1, wantCheck: "auth.cred"},
		{name: "auth-basic", cfg: clientCfg{user: "devuser", pass: "dev-secret-pw"}, push: -1, wantCheck: "auth.challenge"},
		{name: "auth-md5-challenge", cfg: clientCfg{authType: AuthMD5, user: "devuser", pass: "dev-secret-pw", nonce: []byte("client-nonce-16b")}, push: -1, wantCheck: "auth.challenge"},
		{name: "auth-hmac", cfg: clientCfg{authType: AuthHMAC, user: "devuser", pass: "dev-secret-pw", nonce: []byte("client-nonce-16b")}, push: -1, wantCheck: "auth.hmac"},
		{name: "auth-hmac", cfg: clientCfg{enc: syncml.WBXML, authType: AuthHMAC, user: "devuser", pass: "dev-secret-pw", nonce: []byte("client-nonce-16b")}, push: -1},
		{name: "server-cred-md5", push: -1, wantCheck: "auth.server-cred"},
		{name: "large-object-in", push: -1, wantCheck: "largeobject.out"},
		{name: "large-object-in", cfg: clientCfg{enc: syncml.WBXML}, push: -1},
		{name: "large-results-out", push: -1, wantCheck: "largeobject.in"},
		{name: "large-results-out", cfg: clientCfg{enc: syncml.WBXML}, push: -1},
		{name: "tiny-maxmsgsize", push: -1, wantCheck: "final.rules"},
		{name: "tiny-maxmsgsize", cfg: clientCfg{maxMsgSize: 900}, push: -1},
		{name: "no-final", push: -1, wantCheck: "final.rules"},
		{name: "ui-alerts", push: -1},
		{name: "server-500", push: -1, wantErr: true},
		{name: "garbage", push: -1, wantErr: true},
		{name: "garbage", cfg: clientCfg{enc: syncml.WBXML}, push: -1, wantErr: true},
		{name: "truncate", push: -1, wantErr: true},
		{name: "wrong-content-type", push: -1, wantErr: true},
		{name: "close", push: -1, wantErr: true},
		{name: "stall", push: -1},
		{name: "respuri", push: -1, wantCheck: "http.path"},
		{name: "server-abort", push: -1},
		{name: "set-hostname-timezone", push: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := loadScenario(t, tt.name)
			opts := testOpts()
			opts.Plain = tt.plain
			if tt.mutate != nil {
				tt.mutate(&opts)
			}
			s, err := NewServer(sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if tt.push >= 0 {
				p0, err := s.Notification(uint16(tt.push), notification.UIBackground)
				if err != nil {
					t.Fatal(err)
				}
				n, err := notification.Decode(p0)
				if err != nil {
					t.Fatalf("Package #0 does not decode: %v", err)
				}
				if !notification.Verify(n, opts.ServerID, opts.ServerPassword, opts.ServerNonce) {
					t.Fatal("Package #0 digest does not verify")
				}
				if got := n.SessionIDHex(); got != tt.cfg.sessionID {
					t.Fatalf("Package #0 session id %s, want %s", got, tt.cfg.sessionID)
				}
			}
			c := newClient(t, s, tt.cfg)
			err = c.run()
			if (err != nil) != tt.wantErr {
				dump(t, s, c)
				t.Fatalf("client run: got err %v, want error %v", err, tt.wantErr)
			}
			waitDone(t, s)
			rep := s.Report()
			if !rep.Passed() {
				dump(t, s, c)
				t.Fatalf("report failed")
			}
			if tt.wantCheck != "" {
				found := false
				for _, ch := range rep.Checks {
					if ch.Name == tt.wantCheck && ch.Pass {
						found = true
					}
				}
				if !found {
					dump(t, s, c)
					t.Fatalf("check %s did not run or failed", tt.wantCheck)
				}
			}
		})
	}
}

// TestPushThenClientInitiated: a Package #0 announces one session; the
// session after it is client-initiated (Alert 1201, a fresh SessionID) and
// must not be held to the notification's SessionID.
func TestPushThenClientInitiated(t *testing.T) {
	const script = `name push-then-poll
recv
expect alert 1200
send <Get><CmdID>1</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>
recv
expect status 1 200
recv
expect alert 1201
send <Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/FwV</LocURI></Target></Item></Get>
recv
expect status 2 200
end
`
	sc, err := ParseScenario("push-then-poll", strings.NewReader(script))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(sc, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Notification(0x2A17, notification.UIBackground); err != nil {
		t.Fatal(err)
	}
	c1 := newClient(t, s, clientCfg{alert: syncml.AlertServerInitiatedMgmt, sessionID: "2A17"})
	if err := c1.run(); err != nil {
		dump(t, s, c1)
		t.Fatalf("server-initiated session: %v", err)
	}
	c2 := newClient(t, s, clientCfg{sessionID: "51"})
	if err := c2.run(); err != nil {
		dump(t, s, c2)
		t.Fatalf("client-initiated session: %v", err)
	}
	waitDone(t, s)
	if rep := s.Report(); !rep.Passed() {
		dump(t, s, c2)
		t.Fatalf("report failed: %v", rep.Failed())
	}
}

// TestNotificationUsesCurrentServerNonce: once the client has issued the
// server a new nonce (Chal NextNonce in its SyncHdr Status), Package #0 is
// signed with that nonce, as a real server does.
func TestNotificationUsesCurrentServerNonce(t *testing.T) {
	opts := testOpts()
	s, err := NewServer(loadScenario(t, "plain-1200"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(nonce []byte) {
		t.Helper()
		p0, err := s.Notification(0x1A2B, notification.UIBackground)
		if err != nil {
			t.Fatal(err)
		}
		n, err := notification.Decode(p0)
		if err != nil {
			t.Fatal(err)
		}
		if !notification.Verify(n, opts.ServerID, opts.ServerPassword, nonce) {
			t.Fatalf("Package #0 not signed with nonce %q", nonce)
		}
	}
	check(opts.ServerNonce)
	s.mu.Lock()
	s.eng.serverNonce = []byte("renewed-by-client")
	s.mu.Unlock()
	check([]byte("renewed-by-client"))
}
