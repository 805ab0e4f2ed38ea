package dmtest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// st is a hand-made client Status for a server command.
func st(msgRef string, cmd *syncml.Command, code int, targets, sources []string) *syncml.Command {
	return &syncml.Command{Kind: syncml.KindStatus, MsgRef: msgRef, CmdRef: cmd.CmdID, Cmd: cmd.Kind,
		Data: strconv.Itoa(code), TargetRefs: targets, SourceRefs: sources}
}

func refs(u ...string) []string { return u }

func TestItemAnswers(t *testing.T) {
	three := []itemRef{{target: "./T/A"}, {target: "./T/B"}, {target: "./T/C"}}
	type sts struct {
		targets, sources []string
		dup              string // "" or a fragment of the reason
	}
	tests := []struct {
		name    string
		items   []itemRef
		sts     []sts
		missing []string
	}{
		{name: "one Status, no refs", items: three, sts: []sts{{}}},
		{name: "one Status naming the first Item only", items: three, sts: []sts{{targets: refs("./T/A")}}},
		{name: "one Status naming all", items: three, sts: []sts{{targets: refs("./T/A", "./T/B", "./T/C")}}},
		{name: "one per Item", items: three, sts: []sts{{targets: refs("./T/A")}, {targets: refs("./T/B")}, {targets: refs("./T/C")}}},
		{name: "one per Item, other order, URIs without ./", items: three, sts: []sts{{targets: refs("T/C")}, {targets: refs("./T/A/")}, {targets: refs("./T/B")}}},
		{name: "two Items, then one", items: three, sts: []sts{{targets: refs("./T/A", "./T/B")}, {targets: refs("./T/C")}}},
		{name: "per Item, one missing", items: three, sts: []sts{{targets: refs("./T/A")}, {targets: refs("./T/C")}}, missing: []string{"./T/B"}},
		{name: "same Item twice", items: three, sts: []sts{{targets: refs("./T/A")}, {targets: refs("./T/A"), dup: "already answered Item ./T/A"}},
			missing: []string{"./T/B", "./T/C"}},
		{name: "whole, then an Item", items: three, sts: []sts{{}, {targets: refs("./T/B"), dup: "first Status named no Item"}}},
		{name: "an Item, then whole", items: three, sts: []sts{{targets: refs("./T/A")}, {dup: "names no Item"}}},
		{name: "unknown TargetRef second", items: three, sts: []sts{{targets: refs("./T/A")}, {targets: refs("./T/Z"), dup: "names no Item"}}},
		{name: "more Statuses than Items", items: three, sts: []sts{{targets: refs("./T/A")}, {targets: refs("./T/B")}, {targets: refs("./T/C")},
			{targets: refs("./T/B"), dup: "already answered"}}},
		{name: "single Item twice", items: three[:1], sts: []sts{{targets: refs("./T/A")}, {targets: refs("./T/A"), dup: "already answered"}}},
		{name: "no Items (Atomic) twice", items: nil, sts: []sts{{}, {dup: "first Status named no Item"}}},
		{name: "Copy by SourceRef", items: []itemRef{{target: "./T/X", source: "./T/S1"}, {target: "./T/Y", source: "./T/S2"}},
			sts: []sts{{sources: refs("./T/S2")}, {sources: refs("./T/S1")}}},
		{name: "Copy by TargetRef and SourceRef of one Item", items: []itemRef{{target: "./T/X", source: "./T/S1"}, {target: "./T/Y", source: "./T/S2"}},
			sts: []sts{{targets: refs("./T/X"), sources: refs("./T/S1")}, {targets: refs("./T/Y"), sources: refs("./T/S2")}}},
		{name: "two Items with the same Target", items: []itemRef{{target: "./T/A"}, {target: "./T/A"}},
			sts: []sts{{targets: refs("./T/A")}, {targets: refs("./T/A")}, {targets: refs("./T/A"), dup: "already answered"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := itemAnswers{items: tt.items}
			for i, s := range tt.sts {
				got := a.add(&syncml.Command{Kind: syncml.KindStatus, TargetRefs: s.targets, SourceRefs: s.sources}, 200)
				if (got == "") != (s.dup == "") || !strings.Contains(got, s.dup) {
					t.Fatalf("Status %d: got %q, want %q", i+1, got, s.dup)
				}
			}
			if got := strings.Join(a.missing(), ","); got != strings.Join(tt.missing, ",") {
				t.Fatalf("missing: got %q, want %q", got, strings.Join(tt.missing, ","))
			}
		})
	}
}

// perItemScript sends an Add of three Items (the last a large-object
// chunk), a Get of two Items and a Copy of two Items; the second round
// holds the expectations of a test case.
const perItemScript = `name per-item
recv
expect alert 1201
send <Add><CmdID>1</CmdID>
  <Item><Target><LocURI>./T/M1</LocURI></Target><Data>one</Data></Item>
  <Item><Target><LocURI>./T/M2</LocURI></Target><Data>two</Data></Item>
  <Item><Target><LocURI>./T/M3</LocURI></Target><Meta><Size>10</Size></Meta><Data>first</Data><MoreData/></Item>
</Add>
send <Get><CmdID>2</CmdID><Item><Target><LocURI>./T/G1</LocURI></Target></Item><Item><Target><LocURI>./T/G2</LocURI></Target></Item></Get>
send <Copy><CmdID>3</CmdID>
  <Item><Target><LocURI>./T/C1</LocURI></Target><Source><LocURI>./T/S1</LocURI></Source></Item>
  <Item><Target><LocURI>./T/C2</LocURI></Target><Source><LocURI>./T/S2</LocURI></Source></Item>
</Copy>
recv
%s
end
`

// serverCmds returns the commands of a server message by kind.
func serverCmds(m *syncml.Message) map[string]*syncml.Command {
	out := map[string]*syncml.Command{}
	for _, c := range m.Body {
		if c.Kind != syncml.KindStatus {
			out[c.Kind] = c
		}
	}
	return out
}

// perItem is the well-formed per-Item answer to perItemScript's package.
func perItem(m *syncml.Message) []*syncml.Command {
	k := serverCmds(m)
	r := m.Hdr.MsgID
	return []*syncml.Command{
		st(r, k["Add"], 200, refs("./T/M1"), nil), st(r, k["Add"], 200, refs("./T/M2"), nil), st(r, k["Add"], 213, refs("./T/M3"), nil),
		st(r, k["Get"], 200, refs("./T/G1"), nil),
		{Kind: syncml.KindResults, MsgRef: r, CmdRef: k["Get"].CmdID, Items: []*syncml.Item{{Source: &syncml.Location{LocURI: "./T/G1"}, Data: syncml.TextData("g1")}}},
		st(r, k["Get"], 404, refs("./T/G2"), nil),
		st(r, k["Copy"], 200, refs("./T/C1"), refs("./T/S1")), st(r, k["Copy"], 404, refs("./T/C2"), refs("./T/S2")),
	}
}

// TestPerItemStatuses plays hand-made client packages against
// perItemScript: Statuses per Item (in one message or split) pass, and
// duplicates and missing Statuses fail status.complete.
func TestPerItemStatuses(t *testing.T) {
	// edit returns perItem with the Status of command kind for item
	// (TargetRef) replaced by repl (nil: removed).
	edit := func(kind, item string, repl func(m *syncml.Message, c *syncml.Command) []*syncml.Command) func(*syncml.Message) []*syncml.Command {
		return func(m *syncml.Message) []*syncml.Command {
			var out []*syncml.Command
			for _, c := range perItem(m) {
				if c.Kind == syncml.KindStatus && c.Cmd == kind && len(c.TargetRefs) > 0 && c.TargetRefs[0] == item {
					if repl != nil {
						out = append(out, repl(m, c)...)
					}
					continue
				}
				out = append(out, c)
			}
			return out
		}
	}
	tests := []struct {
		name    string
		expects string
		answer  func(m *syncml.Message) []*syncml.Command
		split   int               // >0: send the first split commands in a message without Final
		want    map[string]bool   // check name or "line N" prefix -> pass
		detail  map[string]string // check name -> fragment of its detail
	}{
		{
			name: "one Status per Item",
			expects: `expect status 1 200 ./T/M1
expect status 1 200 ./T/M2
expect status 1 213 ./T/M3
expect status 2 200 ./T/G1
expect status 2 404 ./T/G2
expect status 3 404 ./T/S2
expect status ./T/M3 213
expect status 1 200,213
expect results ./T/G1 = g1`,
			answer: perItem,
			want: map[string]bool{"status.complete": true, "results.for-get": true, "results.order": true,
				"line 15": true, "line 16": true, "line 17": true, "line 18": true, "line 19": true, "line 20": true, "line 21": true, "line 22": true, "line 23": true},
		},
		{
			name:    "one Status per Item, split over two messages",
			expects: "expect status 1 213 ./T/M3\nexpect status 3 200 ./T/C1",
			answer:  perItem, split: 2,
			want: map[string]bool{"status.complete": true, "line 15": true, "line 16": true},
		},
		{
			name:    "one Status for each command, naming every Item",
			expects: "expect status 1 200\nexpect status 1 200 ./T/M3",
			answer: func(m *syncml.Message) []*syncml.Command {
				k, r := serverCmds(m), m.Hdr.MsgID
				return []*syncml.Command{st(r, k["Add"], 200, refs("./T/M1", "./T/M2", "./T/M3"), nil),
					st(r, k["Get"], 404, refs("./T/G1", "./T/G2"), nil), st(r, k["Copy"], 200, nil, nil)}
			},
			want: map[string]bool{"status.complete": true, "line 15": true, "line 16": true},
		},
		{
			name:    "unqualified expectation wants every Status",
			expects: "expect status 1 200\nexpect status 2 200",
			answer:  perItem,
			want:    map[string]bool{"status.complete": true, "line 15": false, "line 16": false},
			detail:  map[string]string{"line 15": "got 200 OK, 200 OK, 213"},
		},
		{
			name:    "expectation naming no Item of the command",
			expects: "expect status 1 200 ./T/G1",
			answer:  perItem,
			want:    map[string]bool{"status.complete": true, "line 15": false},
			detail:  map[string]string{"line 15": "has no Item ./T/G1"},
		},
		{
			name:    "same Item twice",
			expects: "expect status 1 200 ./T/M1",
			answer: edit("Add", "./T/M1", func(m *syncml.Message, c *syncml.Command) []*syncml.Command {
				d := *c
				return []*syncml.Command{c, &d}
			}),
			want:   map[string]bool{"status.complete": false},
			detail: map[string]string{"status.complete": "already answered Item ./T/M1"},
		},
		{
			name:    "whole-command Status, then one per Item",
			expects: "",
			answer: func(m *syncml.Message) []*syncml.Command {
				k := serverCmds(m)
				return append([]*syncml.Command{st(m.Hdr.MsgID, k["Add"], 200, nil, nil)}, perItem(m)...)
			},
			want:   map[string]bool{"status.complete": false},
			detail: map[string]string{"status.complete": "first Status named no Item"},
		},
		{
			name:    "more Statuses than Items",
			expects: "",
			answer: func(m *syncml.Message) []*syncml.Command {
				k := serverCmds(m)
				return append(perItem(m), st(m.Hdr.MsgID, k["Get"], 200, refs("./T/G2"), nil))
			},
			want:   map[string]bool{"status.complete": false},
			detail: map[string]string{"status.complete": "Status 3 of Get"},
		},
		{
			name:    "per Item with one Item missing",
			expects: "expect status 1 200 ./T/M2",
			answer:  edit("Add", "./T/M2", nil),
			want:    map[string]bool{"status.complete": false, "line 15": false},
			detail:  map[string]string{"status.complete": "no Status names Item ./T/M2", "line 15": "no Status names Item ./T/M2"},
		},
		{
			name:    "a command without Status",
			expects: "",
			answer: func(m *syncml.Message) []*syncml.Command {
				var out []*syncml.Command
				for _, c := range perItem(m) {
					if c.Cmd != syncml.KindCopy {
						out = append(out, c)
					}
				}
				return out
			},
			want:   map[string]bool{"status.complete": false},
			detail: map[string]string{"status.complete": "no Status for Copy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(mustParse(t, fmt.Sprintf(perItemScript, tt.expects)), testOpts())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c := newClient(t, s, clientCfg{})
			m, err := c.post(c.pkg1(), true)
			if err != nil {
				t.Fatal(err)
			}
			ans := tt.answer(m)
			if tt.split > 0 {
				r, err := c.post(append([]*syncml.Command{c.hdrStatus(m, 200)}, ans[:tt.split]...), false)
				if err != nil {
					t.Fatal(err)
				}
				if !hasAlert(r, syncml.AlertNextMessage) || r.Final {
					t.Fatalf("reply to a message without Final: got %s final=%v, want Alert 1222 without Final", kinds(r.Body), r.Final)
				}
				// The server's Alert 1222 is a command: it gets a Status.
				m, ans = r, append([]*syncml.Command{st(r.Hdr.MsgID, serverCmds(r)["Alert"], 200, nil, nil)}, ans[tt.split:]...)
			}
			if _, err := c.post(append([]*syncml.Command{c.hdrStatus(m, 200)}, ans...), true); err != nil {
				t.Fatal(err)
			}
			waitDone(t, s)
			rep := s.Report()
			for name, pass := range tt.want {
				var ch *Check
				for i := range rep.Checks {
					if rep.Checks[i].Name == name || strings.HasPrefix(rep.Checks[i].Name, name+":") {
						ch = &rep.Checks[i]
						break
					}
				}
				if ch == nil {
					t.Fatalf("check %q not in the report:\n%s", name, rep)
				}
				if ch.Pass != pass {
					t.Fatalf("check %s: got pass=%v (%s), want %v\n%s", name, ch.Pass, ch.Detail, pass, rep)
				}
				if frag := tt.detail[name]; frag != "" && !strings.Contains(ch.Detail, frag) {
					t.Fatalf("check %s: detail %q, want it to contain %q", name, ch.Detail, frag)
				}
			}
			allPass := true
			for _, p := range tt.want {
				allPass = allPass && p
			}
			if rep.Passed() != allPass {
				t.Fatalf("report passed=%v, want %v:\n%s", rep.Passed(), allPass, rep)
			}
		})
	}
}
