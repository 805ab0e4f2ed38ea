package session

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

func multi(kind string, items ...*syncml.Item) *syncml.Command {
	return &syncml.Command{Kind: kind, Items: items}
}

// chunkItem is an Item for target with data; more sets MoreData and size > 0
// the Meta Size of a first chunk.
func chunkItem(target, data string, more bool, size int) *syncml.Item {
	it := &syncml.Item{Target: &syncml.Location{LocURI: target}, Data: syncml.TextData(data), MoreData: more}
	if size > 0 {
		it.Meta = &syncml.Meta{Size: fmt.Sprint(size)}
	}
	return it
}

// itemStatuses lists the Statuses of server commands in m (SyncHdr and
// Alert excepted) as "Cmd TargetRef=code", in order.
func itemStatuses(m *syncml.Message) []string {
	var out []string
	for _, c := range m.Body {
		if c.Kind != "Status" || c.Cmd == "SyncHdr" || c.Cmd == "Alert" {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s=%s", c.Cmd, strings.Join(c.TargetRefs, ","), c.Data))
	}
	return out
}

// alerts1225 lists the targets of the Alerts 1225 in m.
func alerts1225(m *syncml.Message) []string {
	var out []string
	for _, c := range m.Body {
		if c.Kind == "Alert" && c.Data == "1225" {
			for _, it := range c.Items {
				if it.Target != nil {
					out = append(out, it.Target.LocURI)
				}
			}
		}
	}
	return out
}

// TestChunkInMultiItemCommand: a chunk (MoreData) is the last Item of its
// command (Protocol §2.2); the Items before it are complete and run as
// usual, one Status each, while the chunk is answered 213 and reassembled
// across messages. MoreData on an Item that is not the last is refused
// with 400 and buffers nothing; the other Items still run.
func TestChunkInMultiItemCommand(t *testing.T) {
	full := strings.Repeat("0123456789", 30)
	p := []string{full[:100], full[100:200], full[200:]}
	tests := []struct {
		name   string
		msgs   [][]*syncml.Command
		want   [][]string // per client answer: itemStatuses
		alerts [][]string // per client answer: targets of Alerts 1225
		tree   map[string]string
		absent []string
	}{
		{
			name: "chunk is the last item",
			msgs: [][]*syncml.Command{
				{multi("Replace", chunkItem("./Vendor/A", "x", false, 0), chunkItem("./Mem/X", "mx", false, 0), chunkItem("./Vendor/B", p[0], true, len(full)))},
				{multi("Replace", chunkItem("./Vendor/B", p[1], true, 0))},
				{multi("Replace", chunkItem("./Vendor/B", p[2], false, 0))},
			},
			want: [][]string{
				{"Replace ./Vendor/A=200", "Replace ./Mem/X=200", "Replace ./Vendor/B=213"},
				{"Replace ./Vendor/B=213"},
				{"Replace ./Vendor/B=200"},
			},
			tree: map[string]string{"./Vendor/A": "x", "./Mem/X": "mx", "./Vendor/B": full},
		},
		{
			name: "items after the last chunk",
			msgs: [][]*syncml.Command{
				{multi("Add", chunkItem("./Vendor/N", "n", false, 0), chunkItem("./Vendor/L", p[0], true, len(full)))},
				{multi("Add", chunkItem("./Vendor/L", p[1]+p[2], false, 0), chunkItem("./Vendor/M", "m", false, 0))},
			},
			want: [][]string{
				{"Add ./Vendor/N=200", "Add ./Vendor/L=213"},
				{"Add ./Vendor/L=200", "Add ./Vendor/M=200"},
			},
			tree: map[string]string{"./Vendor/N": "n", "./Vendor/L": full, "./Vendor/M": "m"},
		},
		{
			name: "first chunk not the last item",
			msgs: [][]*syncml.Command{
				{multi("Add", chunkItem("./Vendor/L", p[0], true, len(full)), chunkItem("./Vendor/N", "n", false, 0))},
			},
			want:   [][]string{{"Add ./Vendor/L=400", "Add ./Vendor/N=200"}},
			tree:   map[string]string{"./Vendor/N": "n"},
			absent: []string{"./Vendor/L"},
		},
		{
			name: "continued chunk not the last item",
			msgs: [][]*syncml.Command{
				{multi("Add", chunkItem("./Vendor/L", p[0], true, len(full)))},
				{multi("Add", chunkItem("./Vendor/L", p[1], true, 0), chunkItem("./Vendor/N", "n", false, 0))},
			},
			want: [][]string{
				{"Add ./Vendor/L=213"},
				{"Add ./Vendor/L=400", "Add ./Vendor/N=200"},
			},
			alerts: [][]string{nil, {"./Vendor/L"}},
			tree:   map[string]string{"./Vendor/N": "n"},
			absent: []string{"./Vendor/L"},
		},
		{
			name: "a chunk and a complete item, both Replace, in one message",
			msgs: [][]*syncml.Command{
				{multi("Replace", chunkItem("./Vendor/A", p[0], true, len(full)), chunkItem("./Vendor/B", "y", false, 0), chunkItem("./Mem/X", "mx", false, 0))},
			},
			want: [][]string{{"Replace ./Vendor/A=400", "Replace ./Vendor/B=200", "Replace ./Mem/X=200"}},
			tree: map[string]string{"./Vendor/A": "a", "./Vendor/B": "y", "./Mem/X": "mx"},
		},
	}
	for _, e := range encodings {
		for _, tt := range tests {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				var steps []step
				for i, cs := range tt.msgs {
					steps = append(steps, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
						return reply{msg: answer(n, req, 212, i == len(tt.msgs)-1, cs...)}
					})
				}
				steps = append(steps, done)
				srv := newDMServer(t, steps...)
				f := newFixture(t, srv.URL, acct{})
				if _, err := f.engine(t, srv, func(c *Config) { c.XML = e.xml }).Run(bg, Trigger{ServerID: testServer}); err != nil {
					t.Fatalf("Run: %v", err)
				}
				reqs := srv.requests()
				if len(reqs) != len(tt.msgs)+1 {
					t.Fatalf("got %d client messages, want %d", len(reqs), len(tt.msgs)+1)
				}
				for i, m := range reqs[1:] {
					if got := itemStatuses(m); strings.Join(got, "; ") != strings.Join(tt.want[i], "; ") {
						t.Errorf("answer %d: got %q, want %q", i+1, got, tt.want[i])
					}
					var wantAlerts []string
					if i < len(tt.alerts) {
						wantAlerts = tt.alerts[i]
					}
					if got := alerts1225(m); strings.Join(got, ",") != strings.Join(wantAlerts, ",") {
						t.Errorf("answer %d: Alert 1225 for %q, want %q", i+1, got, wantAlerts)
					}
					// A pending chunk asks for the next message.
					if pending := strings.HasSuffix(strings.Join(tt.want[i], ";"), "=213"); pending && !has1222(m) {
						t.Errorf("answer %d: 213 without Alert 1222", i+1)
					}
				}
				for u, v := range tt.tree {
					if got, ok := f.get(t, u); !ok || got != v {
						t.Errorf("%s: got %d bytes %.20q (exists %v), want %d bytes %.20q", u, len(got), got, ok, len(v), v)
					}
				}
				for _, u := range tt.absent {
					if v, ok := f.get(t, u); ok {
						t.Errorf("%s exists (%d bytes): nothing may be committed", u, len(v))
					}
				}
			})
		}
	}
}

// corpusMessage reads a server message of the shared corpus and gives it
// the session's SessionID.
func corpusMessage(t *testing.T, name string, req *syncml.Message) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/syncml/" + name)
	if err != nil {
		t.Fatal(err)
	}
	x := strings.Replace(string(b), "<SessionID>1A2B</SessionID>", "<SessionID>"+req.Hdr.SessionID+"</SessionID>", 1)
	if x == string(b) {
		t.Fatalf("%s: no SessionID 1A2B to replace", name)
	}
	return []byte(x)
}

// TestChunkItemsCorpus sends corpus vectors 37 and 38 as they are (XML on
// the wire) and checks the answers.
func TestChunkItemsCorpus(t *testing.T) {
	t.Run("37 chunk is the last item", func(t *testing.T) {
		steps := []step{
			func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				return reply{raw: corpusMessage(t, "37_multi_item_last_chunk.xml", req), ctype: syncml.ContentTypeXML}
			},
			func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				c := multi("Replace", chunkItem("./Vendor/Blob", "abcdefghijKLMNOPQRST", false, 0))
				return reply{msg: answer(n, req, 200, true, c)}
			},
			done,
		}
		srv := newDMServer(t, steps...)
		f := newFixture(t, srv.URL, acct{})
		if err := f.t.Add(bg, tree.LocalPrincipal, "./Vendor/Blob", tree.Value{Data: []byte("old")}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.engine(t, srv, func(c *Config) { c.XML = true }).Run(bg, Trigger{ServerID: testServer}); err != nil {
			t.Fatalf("Run: %v", err)
		}
		reqs := srv.requests()
		if len(reqs) != 3 {
			t.Fatalf("got %d client messages, want 3", len(reqs))
		}
		want := [][]string{
			{"Replace ./Vendor/A=200", "Replace ./Vendor/B=200", "Replace ./Vendor/Blob=213"},
			{"Replace ./Vendor/Blob=200"},
		}
		for i, m := range reqs[1:] {
			if got := itemStatuses(m); strings.Join(got, "; ") != strings.Join(want[i], "; ") {
				t.Errorf("answer %d: got %q, want %q", i+1, got, want[i])
			}
		}
		// The vector's Replace is CmdID 2 of MsgID 2: one Status per Item.
		if got := codesFor(reqs[1], "2"); strings.Join(got, ",") != "200,200,213" {
			t.Errorf("Statuses with CmdRef 2: got %v, want [200 200 213]", got)
		}
		for _, c := range reqs[1].Body {
			if c.Kind == "Status" && c.CmdRef == "2" && c.MsgRef != "2" {
				t.Errorf("Status for CmdRef 2 has MsgRef %s, want 2", c.MsgRef)
			}
		}
		if !has1222(reqs[1]) || reqs[1].Final {
			t.Errorf("answer to the first chunk: 1222 %v, Final %v; want true, false", has1222(reqs[1]), reqs[1].Final)
		}
		for u, v := range map[string]string{"./Vendor/A": "first", "./Vendor/B": "second", "./Vendor/Blob": "0123456789abcdefghijKLMNOPQRST"} {
			if got, _ := f.get(t, u); got != v {
				t.Errorf("%s = %q, want %q", u, got, v)
			}
		}
	})
	t.Run("38 chunk not the last item", func(t *testing.T) {
		steps := []step{
			func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				return reply{raw: corpusMessage(t, "38_chunk_not_last_item.xml", req), ctype: syncml.ContentTypeXML}
			},
			done,
		}
		srv := newDMServer(t, steps...)
		f := newFixture(t, srv.URL, acct{})
		if _, err := f.engine(t, srv, func(c *Config) { c.XML = true }).Run(bg, Trigger{ServerID: testServer}); err != nil {
			t.Fatalf("Run: %v", err)
		}
		reqs := srv.requests()
		if len(reqs) != 2 {
			t.Fatalf("got %d client messages, want 2", len(reqs))
		}
		want := []string{"Add ./Vendor/Blob=400", "Add ./Vendor/N=200"}
		if got := itemStatuses(reqs[1]); strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("got %q, want %q", got, want)
		}
		if has1222(reqs[1]) || !reqs[1].Final {
			t.Errorf("answer: 1222 %v, Final %v; want false, true (nothing pending)", has1222(reqs[1]), reqs[1].Final)
		}
		if _, ok := f.get(t, "./Vendor/Blob"); ok {
			t.Errorf("./Vendor/Blob was created")
		}
		if v, _ := f.get(t, "./Vendor/N"); v != "after" {
			t.Errorf("./Vendor/N = %q, want %q", v, "after")
		}
	})
}
