package dmtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

func checkByName(r Report, name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// TestChecksFailOnMisbehaviour runs scenarios against a client with one
// deliberate fault each and asserts that the matching check fails.
func TestChecksFailOnMisbehaviour(t *testing.T) {
	goodAuth := clientCfg{user: "devuser", pass: "dev-secret-pw", nonce: []byte("client-nonce-16b")}
	with := func(c clientCfg, f func(*clientCfg)) clientCfg { f(&c); return c }
	tests := []struct {
		name      string
		scenario  string
		cfg       clientCfg
		mutate    func(*Options)
		wantFail  string // check name, or "line N:" prefix of an expectation
		advisory  bool
		pushID    int
		notPassed bool
	}{
		{name: "wrong MsgRef", scenario: "plain-1201", cfg: clientCfg{badMsgRef: true}, wantFail: "status.msgref"},
		{name: "wrong CmdRef", scenario: "plain-1201", cfg: clientCfg{badCmdRef: true}, wantFail: "status.cmdref"},
		{name: "no SyncHdr status", scenario: "plain-1201", cfg: clientCfg{noHdrStatus: true}, wantFail: "status.synchdr"},
		{name: "missing status", scenario: "set-hostname-timezone", cfg: clientCfg{skipStatusKind: syncml.KindReplace}, wantFail: "status.complete"},
		{name: "results before status", scenario: "plain-1201", cfg: clientCfg{resultsFirst: true}, wantFail: "results.order"},
		{name: "oversize message", scenario: "tiny-maxmsgsize", cfg: clientCfg{ignoreMaxMsgSize: true}, wantFail: "hdr.maxmsgsize"},
		{name: "wrong content type", scenario: "plain-1201", cfg: clientCfg{contentType: "application/vnd.syncml+xml"}, wantFail: "http.content-type"},
		{name: "no optional headers", scenario: "plain-1201", cfg: clientCfg{noHeaders: true}, wantFail: "http.headers", advisory: true},
		{name: "Final on continuation", scenario: "no-final", cfg: clientCfg{finalOnCont: true}, wantFail: "final.rules"},
		{name: "answers end of session", scenario: "plain-1201", cfg: clientCfg{answerEnd: true}, wantFail: "session.end"},
		{name: "MsgID skips", scenario: "plain-1201", cfg: clientCfg{msgIDSkip: true}, wantFail: "hdr.msgid"},
		{name: "bad basic password", scenario: "auth-basic", cfg: with(goodAuth, func(c *clientCfg) { c.authType = AuthBasic; c.badCred = true }), wantFail: "auth.cred"},
		{name: "bad md5 password", scenario: "auth-md5-challenge", cfg: with(goodAuth, func(c *clientCfg) { c.authType = AuthMD5; c.badCred = true }), wantFail: "auth.challenge"},
		{name: "bad hmac password", scenario: "auth-hmac", cfg: with(goodAuth, func(c *clientCfg) { c.authType = AuthHMAC; c.badCred = true }), wantFail: "auth.cred"},
		{name: "wrong chunk size", scenario: "large-results-out", cfg: clientCfg{badChunkSize: true}, wantFail: "largeobject.in"},
		{name: "1101 accepted in sequence", scenario: "sequence-abort", cfg: clientCfg{}, wantFail: "line 21:", mutate: nil},
		{name: "1200 expected, 1201 sent", scenario: "plain-1200", cfg: clientCfg{sessionID: "1A2B"}, wantFail: "session.pkg1", pushID: 0x1A2B},
		{name: "wrong session id", scenario: "plain-1200", cfg: clientCfg{alert: syncml.AlertServerInitiatedMgmt, sessionID: "1a2c"}, wantFail: "hdr.sessionid", pushID: 0x1A2B},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := loadScenario(t, tt.scenario)
			if tt.name == "1101 accepted in sequence" {
				// A client that ignores DR=0 and confirms: the Sequence
				// goes on, so status 4 is 200, not 215.
				sc = mustParse(t, strings.ReplaceAll(mustRead(t, tt.scenario), "DR=0", "DR=9"))
			}
			opts := testOpts()
			if tt.mutate != nil {
				tt.mutate(&opts)
			}
			s, err := NewServer(sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if tt.pushID > 0 {
				if _, err := s.Notification(uint16(tt.pushID), 0); err != nil {
					t.Fatal(err)
				}
			}
			c := newClient(t, s, tt.cfg)
			_ = c.run() // the client may fail; the report is what matters
			s.Close()
			rep := s.Report()
			var found *Check
			for i, ch := range rep.Checks {
				if ch.Name == tt.wantFail || strings.HasPrefix(ch.Name, tt.wantFail) {
					found = &rep.Checks[i]
					break
				}
			}
			if found == nil {
				dump(t, s, c)
				t.Fatalf("check %q not in the report", tt.wantFail)
			}
			if found.Pass {
				dump(t, s, c)
				t.Fatalf("check %q passed, want FAIL", tt.wantFail)
			}
			if tt.advisory {
				if !found.Advisory {
					t.Fatalf("check %q is not advisory", tt.wantFail)
				}
			} else if rep.Passed() {
				t.Fatalf("report passed although %q failed", tt.wantFail)
			}
			if strings.Contains(rep.String(), "dev-secret-pw") || strings.Contains(rep.String(), "srv-secret-pw") {
				t.Fatal("report contains a password")
			}
		})
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	sc, err := LoadScenario(scenarioDir + "/" + name + ".dms")
	if err != nil || sc == nil {
		t.Fatal(err)
	}
	b, err := readFile(scenarioDir + "/" + name + ".dms")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustParse(t *testing.T, s string) *Scenario {
	t.Helper()
	sc, err := ParseScenario("inline", strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestIncompleteScenario: a client that stops after package 1 leaves the
// scenario incomplete, and the report says where it waits.
func TestIncompleteScenario(t *testing.T) {
	s, err := NewServer(loadScenario(t, "plain-1201"), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, clientCfg{})
	c.queue = c.pkg1()
	if _, err := c.flush(true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rep := s.Report()
	ch, ok := checkByName(rep, "scenario.complete")
	if !ok || ch.Pass || !strings.Contains(ch.Detail, "round 2") {
		t.Fatalf("scenario.complete = %+v, want a failure naming round 2", ch)
	}
	if rep.Passed() {
		t.Fatal("report passed for an incomplete scenario")
	}
}

// TestMalformedRequest: a body that is not SyncML fails msg.decode and is
// answered 400.
func TestMalformedRequest(t *testing.T) {
	s, err := NewServer(loadScenario(t, "plain-1201"), Options{Plain: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := httpPost(s.URL(), "application/vnd.syncml.dm+xml", []byte("<html>nope</html>"))
	if err != nil {
		t.Fatal(err)
	}
	if resp != 400 {
		t.Fatalf("HTTP status %d, want 400", resp)
	}
	ch, ok := checkByName(s.Report(), "msg.decode")
	if !ok || ch.Pass {
		t.Fatalf("msg.decode = %+v, want FAIL", ch)
	}
	if tr := s.Transcript(); len(tr) != 1 || tr[0].RequestErr == "" {
		t.Fatalf("transcript %+v, want one exchange with a decode error", tr)
	}
}

func TestNewServerErrors(t *testing.T) {
	sc := loadScenario(t, "plain-1201")
	tests := []struct {
		name string
		sc   *Scenario
		opts Options
	}{
		{"nil scenario", nil, Options{}},
		{"bad auth", sc, Options{Auth: "kerberos"}},
		{"bad encoding", sc, Options{Encoding: "json"}},
		{"bad addr", sc, Options{Addr: "256.0.0.1:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(tt.sc, tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("got nil error")
			}
		})
	}
	if !errors.Is(&ScenarioError{}, ErrScenario) {
		t.Fatal("ScenarioError does not wrap ErrScenario")
	}
}
