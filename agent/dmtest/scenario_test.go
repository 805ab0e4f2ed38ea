package dmtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseScenarioErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"unknown directive", "recv\nfrobnicate\n", 2, "unknown directive"},
		{"no rounds", "name x\n", 1, "no rounds"},
		{"bad auth", "auth kerberos\nrecv\n", 1, "auth"},
		{"auth in round", "recv\nauth md5\n", 2, "header directive"},
		{"bad status code", "recv\nexpect status 1 2000\n", 2, "bad status code"},
		{"status item not a URI", "recv\nexpect status 1 200 M1\n", 2, "not a ./URI"},
		{"status item of hdr", "recv\nexpect status hdr 200 ./a\n", 2, "no Items"},
		{"status too many fields", "recv\nexpect status 1 200 ./a ./b\n", 2, "REF CODES [ITEM]"},
		{"unclosed send", "recv\nsend <Get><Item>\n", 2, "not closed"},
		{"two elements", "recv\nsend <Get/><Get/>\nrecv\n", 2, "one element"},
		{"status from server", "recv\nsend <Status><CmdID>1</CmdID></Status>\nrecv\n", 2, "does not send"},
		{"commands in last round", "recv\nsend <Get><Item><Target><LocURI>./a</LocURI></Target></Item></Get>\n", 2, "no round receives"},
		{"end with commands", "recv\nsend <Get><Item><Target><LocURI>./a</LocURI></Target></Item></Get>\nend\n", 3, "before \"end\""},
		{"after end", "recv\nend\nrecv\n", 3, "follow"},
		{"bad large object", "recv\nlarge-object ./x big\nrecv\n", 2, "size"},
		{"two faults", "recv\ngarbage\nclose\n", 3, "at most one fault"},
		{"bad regexp", "recv\nexpect results ./x ~ (\n", 2, "regexp"},
		{"bad label", "recv\nsend @ <Get/>\nrecv\n", 2, "label"},
		{"bad sessionid", "sessionid 70000\nrecv\n", 1, "sessionid"},
		{"bad stall", "recv\nstall soon\n", 2, "stall"},
		{"bad respond", "recv\nrespond http 999\n", 2, "respond"},
		{"unknown expectation", "recv\nexpect miracle\n", 2, "unknown expectation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario("t", strings.NewReader(tt.src))
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *ScenarioError", err)
			}
			if !errors.Is(err, ErrScenario) {
				t.Fatalf("error does not wrap ErrScenario")
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("got line %d %q, want line %d containing %q", se.Line, se.Msg, tt.line, tt.msg)
			}
		})
	}
}

func TestParseScenarioContent(t *testing.T) {
	src := `# comment
name demo
description first
description second
auth md5
server-cred basic
encoding wbxml
maxmsgsize 3000
maxobjsize 100000
sessionid 0x0ABC
timeout 30s
expect alert 1200
send @g <Get><CmdID>7</CmdID><Item><Target><LocURI>./DevDetail/FwV</LocURI></Target></Item></Get>
send <Atomic><CmdID>8</CmdID>
  <Replace><CmdID>9</CmdID><Item><Target><LocURI>./a</LocURI></Target><Meta><Format>int</Format></Meta><Data>1</Data></Item></Replace>
</Atomic>
no-final
large-object @lo add ./big 1000 chunk 100 format b64 type application/octet-stream
recv
expect status @g 2xx,404
expect status 8 200 ./a
expect results ./DevDetail/FwV = 1.0 beta
stall 10ms
end
`
	sc, err := ParseScenario("file", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "demo" || sc.Description != "first second" {
		t.Fatalf("name %q description %q", sc.Name, sc.Description)
	}
	if sc.auth != AuthMD5 || sc.serverCred != AuthBasic || sc.encoding != "wbxml" || sc.maxMsgSize != 3000 || sc.maxObjSize != 100000 {
		t.Fatalf("header directives not applied: %+v", sc)
	}
	if id, ok := sc.SessionID(); !ok || id != 0xABC || sc.initiated != "server" {
		t.Fatalf("SessionID() = %v %v", id, ok)
	}
	if sc.Rounds() != 2 {
		t.Fatalf("Rounds() = %d, want 2", sc.Rounds())
	}
	r0 := sc.rounds[0]
	if len(r0.out) != 4 || r0.out[0].label != "@g" || r0.out[1].cmd.Kind != "Atomic" || len(r0.out[1].cmd.Children) != 1 || r0.out[2].kind != outBreak {
		t.Fatalf("round 0 out = %+v", r0.out)
	}
	if m := r0.out[1].cmd.Children[0].Items[0].Meta; m == nil || m.Format != "int" {
		t.Fatalf("MetInf without namespace not parsed: %+v", m)
	}
	lo := r0.out[3].lo
	if lo.kind != "Add" || lo.size != 1000 || lo.chunk != 100 || lo.format != "b64" || lo.typ != "application/octet-stream" {
		t.Fatalf("large object = %+v", lo)
	}
	r1 := sc.rounds[1]
	if len(r1.expects) != 3 || r1.expects[1].item != "./a" || r1.expects[1].ref != "8" || r1.expects[0].item != "" || r1.expects[2].value != "1.0 beta" || r1.stall.Milliseconds() != 10 || !r1.end {
		t.Fatalf("round 1 = %+v", r1)
	}
	if !matchCodes(r1.expects[0].codes, 204) || !matchCodes(r1.expects[0].codes, 404) || matchCodes(r1.expects[0].codes, 500) {
		t.Fatal("code matching wrong")
	}
	if got := largeData(lo); len(got) != 1000 || got != largeData(lo) {
		t.Fatalf("largeData: %d bytes or not deterministic", len(got))
	}
}

// TestShippedScenarios parses every scenario in testdata and checks the
// list the task requires is there.
func TestShippedScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(scenarioDir, "*.dms"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("%d scenarios, want at least 15", len(files))
	}
	have := map[string]bool{}
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		base := strings.TrimSuffix(filepath.Base(f), ".dms")
		if sc.Name != base {
			t.Errorf("%s: name %q differs from the file name", f, sc.Name)
		}
		have[base] = true
	}
	for _, want := range []string{"plain-1201", "plain-1200", "all-commands", "atomic-fail", "sequence-abort", "auth-basic",
		"auth-md5-challenge", "auth-hmac", "large-object-in", "large-results-out", "tiny-maxmsgsize", "no-final",
		"sessionid-0", "ui-alerts", "server-500", "garbage", "stall", "set-hostname-timezone"} {
		if !have[want] {
			t.Errorf("scenario %s missing", want)
		}
	}
	if _, err := LoadScenario(filepath.Join(scenarioDir, "does-not-exist.dms")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadScenario of a missing file: %v, want os.ErrNotExist", err)
	}
}

func FuzzParseScenario(f *testing.F) {
	for _, name := range []string{"plain-1201", "atomic-fail", "auth-md5-challenge", "per-item-status"} {
		b, err := os.ReadFile(filepath.Join(scenarioDir, name+".dms"))
		if err == nil {
			f.Add(string(b))
		}
	}
	f.Add("recv\nsend <Get><Item>\n</Item></Get>\nrecv\n")
	f.Add("expect status hdr 2xx\nlarge-object ./x 10 chunk 16\nrecv\nend")
	f.Fuzz(func(t *testing.T, src string) {
		sc, err := ParseScenario("fuzz", strings.NewReader(src))
		if err != nil {
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *ScenarioError", err)
			}
			return
		}
		if sc.Rounds() == 0 {
			t.Fatal("parsed scenario without rounds")
		}
		// A parsed scenario parses again identically in shape.
		sc2, err := ParseScenario("fuzz", strings.NewReader(src))
		if err != nil || sc2.Rounds() != sc.Rounds() {
			t.Fatalf("second parse differs: %v", err)
		}
		for _, r := range sc.rounds {
			for _, o := range r.out {
				if o.kind == outLarge && o.lo.size <= 1<<20 {
					if got := len(largeData(o.lo)); got != o.lo.size {
						t.Fatalf("largeData %d bytes, want %d", got, o.lo.size)
					}
				}
			}
		}
	})
}
