package dmtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// longSplitScript sends an Atomic of 12 Replaces: 13 Statuses, which the
// hand-made client sends one per message.
func longSplitScript() string {
	var b strings.Builder
	b.WriteString("name long-split\nrecv\nexpect alert 1201\nsend <Atomic><CmdID>1</CmdID>\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, "  <Replace><CmdID>%d</CmdID><Item><Target><LocURI>./T/R%d</LocURI></Target><Data>%d</Data></Item></Replace>\n", i+1, i, i)
	}
	b.WriteString("</Atomic>\nrecv\nexpect status 1 200\nexpect status 13 200\nexpect messages 13\nend\n")
	return b.String()
}

// answers returns a Status 200 for cmd and its children, depth first.
func answers(msgRef string, cmd *syncml.Command) []*syncml.Command {
	out := []*syncml.Command{st(msgRef, cmd, 200, nil, nil)}
	for _, ch := range cmd.Children {
		out = append(out, answers(msgRef, ch)...)
	}
	return out
}

// nextStatus returns the Status for the server's Alert 1222 in m, if any.
func nextStatus(m *syncml.Message) []*syncml.Command {
	if a := serverCmds(m)["Alert"]; a != nil && a.Data == syncml.AlertNextMessage.Data() {
		return []*syncml.Command{st(m.Hdr.MsgID, a, 200, nil, nil)}
	}
	return nil
}

// TestLongStatusOnlySplit: a client that sends the 13 Statuses of an
// Atomic one per message (12 status-only messages without Final, more
// than maxIdle) makes progress with each and passes.
func TestLongStatusOnlySplit(t *testing.T) {
	s, err := NewServer(mustParse(t, longSplitScript()), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newClient(t, s, clientCfg{})
	m, err := c.post(c.pkg1(), true)
	if err != nil {
		t.Fatal(err)
	}
	sts := answers(m.Hdr.MsgID, serverCmds(m)["Atomic"])
	if len(sts) != 13 {
		t.Fatalf("got %d Statuses to send, want 13", len(sts))
	}
	for i, x := range sts {
		last := i == len(sts)-1
		r, err := c.post(append(append([]*syncml.Command{c.hdrStatus(m, 200)}, nextStatus(m)...), x), last)
		if err != nil {
			dump(t, s, c)
			t.Fatalf("message %d: %v", i+1, err)
		}
		if !last && (r.Final || !hasAlert(r, syncml.AlertNextMessage)) {
			dump(t, s, c)
			t.Fatalf("reply to message %d: got %s final=%v, want Status + Alert 1222 without Final", i+1, kinds(r.Body), r.Final)
		}
		m = r
	}
	waitDone(t, s)
	if rep := s.Report(); !rep.Passed() {
		dump(t, s, c)
		t.Fatal("report failed")
	}
	if maxIdle >= len(sts)-1 {
		t.Fatalf("maxIdle %d: the test must split into more status-only messages than that", maxIdle)
	}
}

// TestNeverFinalStopped: a client that never closes its package with Final
// and sends nothing new is stopped after maxIdle such messages, whether it
// sends only the Statuses the continuation needs, the same Statuses again,
// or Alert 1222 of its own.
func TestNeverFinalStopped(t *testing.T) {
	tests := []struct {
		name     string
		progress int // messages with new Statuses before the idle ones (the first answers all)
		idle     func(first []*syncml.Command, m *syncml.Message) []*syncml.Command
		wantFail []string
	}{
		{name: "only the SyncHdr Status and the 1222 Status", progress: 1,
			idle:     func(_ []*syncml.Command, m *syncml.Message) []*syncml.Command { return nil },
			wantFail: []string{"final.rules", "scenario.complete"}},
		{name: "the same Statuses again", progress: 1,
			idle:     func(first []*syncml.Command, m *syncml.Message) []*syncml.Command { return first },
			wantFail: []string{"final.rules", "status.complete", "scenario.complete"}},
		{name: "its own Alert 1222", progress: 1,
			idle: func(_ []*syncml.Command, m *syncml.Message) []*syncml.Command {
				return []*syncml.Command{{Kind: syncml.KindAlert, Data: syncml.AlertNextMessage.Data()}}
			},
			wantFail: []string{"final.rules", "scenario.complete"}},
		{name: "progress first, then nothing new", progress: 4,
			idle:     func(_ []*syncml.Command, m *syncml.Message) []*syncml.Command { return nil },
			wantFail: []string{"final.rules", "scenario.complete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(mustParse(t, longSplitScript()), testOpts())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := newClient(t, s, clientCfg{})
			m, err := c.post(c.pkg1(), true)
			if err != nil {
				t.Fatal(err)
			}
			sts := answers(m.Hdr.MsgID, serverCmds(m)["Atomic"])
			first := sts[:len(sts)-tt.progress+1]
			rest := sts[len(first):]
			var stopped int // idle message the server ended the session on
			for i := 0; i < tt.progress+3*maxIdle && stopped == 0; i++ {
				var body []*syncml.Command
				switch {
				case i == 0:
					body = first
				case i < tt.progress:
					body = rest[i-1 : i]
				default:
					body = tt.idle(first, m)
				}
				r, err := c.post(append(append([]*syncml.Command{c.hdrStatus(m, 200)}, nextStatus(m)...), body...), false)
				if err != nil {
					dump(t, s, c)
					t.Fatalf("message %d: %v", i+1, err)
				}
				if r.Final {
					stopped = i + 1 - tt.progress
				}
				m = r
			}
			if stopped != maxIdle {
				dump(t, s, c)
				t.Fatalf("the server ended the session after %d idle messages, want %d", stopped, maxIdle)
			}
			if _, err := c.post([]*syncml.Command{c.hdrStatus(m, 200)}, false); err == nil || !strings.Contains(err.Error(), "503") {
				t.Fatalf("message after the stop: got %v, want HTTP 503", err)
			}
			waitDone(t, s)
			rep := s.Report()
			for _, name := range tt.wantFail {
				ch, ok := checkByName(rep, name)
				if !ok || ch.Pass {
					t.Fatalf("check %s = %+v, want FAIL\n%s", name, ch, rep)
				}
			}
			if ch, _ := checkByName(rep, "final.rules"); !strings.Contains(ch.Detail, "the package never ends") {
				t.Fatalf("final.rules detail %q, want it to say the package never ends", ch.Detail)
			}
		})
	}
}
