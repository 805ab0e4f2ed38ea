package session

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// bigAtomic is an Atomic of n Adds (./Vendor/N0...) plus a Replace of
// ./Vendor/A, a Delete of ./Vendor/B and a Replace of ./Mem/X (a provider
// node), so a rollback has something to undo in the store and a provider.
// With fail, a last child fails (Add of an existing node).
func bigAtomic(n int, fail bool) *syncml.Command {
	a := &syncml.Command{Kind: "Atomic"}
	for i := 0; i < n; i++ {
		a.Children = append(a.Children, cmd("Add", fmt.Sprintf("./Vendor/N%d", i), fmt.Sprintf("v%d", i)))
	}
	a.Children = append(a.Children, cmd("Replace", "./Vendor/A", "changed"), cmd("Delete", "./Vendor/B", ""), cmd("Replace", "./Mem/X", "changed"))
	if fail {
		a.Children = append(a.Children, cmd("Add", "./Vendor/A", "dup"))
	}
	return a
}

// sizedSession runs a session whose Pkg2 holds cmds with the server's
// MaxMsgSize max; the server answers every non-final client message with
// Status + Alert 1222. It returns the client's messages after Package 1 and
// the summary, and fails the test if a message exceeds max.
func sizedSession(t *testing.T, xmlEnc bool, max int, cmds ...*syncml.Command) (*fixture, []*syncml.Message, Summary) {
	t.Helper()
	steps := []step{func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		return reply{msg: withMaxMsg(answer(n, req, 212, true, cmds...), max, 0)}
	}}
	for i := 0; i < 40; i++ {
		steps = append(steps, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			if len(body) > max {
				t.Errorf("message %d: %d bytes > MaxMsgSize %d", n+1, len(body), max)
			}
			if req.Final {
				return done(n, req, r, body)
			}
			return reply{msg: withMaxMsg(answer(n, req, 200, false, &syncml.Command{Kind: "Alert", Data: "1222"}), max, 0)}
		})
	}
	srv := newDMServer(t, steps...)
	f := newFixture(t, srv.URL, acct{})
	sum, err := f.engine(t, srv, func(c *Config) { c.XML = xmlEnc }).Run(bg, Trigger{ServerID: testServer})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	reqs := srv.requests()
	if len(reqs) < 2 {
		t.Fatalf("got %d client messages, want at least 2", len(reqs))
	}
	return f, reqs[1:], sum
}

// atomicAnswers finds, over the client messages, the Status of the Atomic a
// and of each of its children (by CmdRef), and the index of the message
// each came in.
func atomicAnswers(t *testing.T, msgs []*syncml.Message, a *syncml.Command) (atomic string, kids []string, in map[int]bool) {
	t.Helper()
	refs := map[string]int{a.CmdID: -1}
	for i, ch := range a.Children {
		refs[ch.CmdID] = i
	}
	kids = make([]string, len(a.Children))
	in = map[int]bool{}
	for mi, m := range msgs {
		for _, c := range m.Body {
			if c.Kind != "Status" || c.Cmd == "SyncHdr" {
				continue
			}
			i, ok := refs[c.CmdRef]
			if !ok {
				continue
			}
			in[mi] = true
			switch {
			case i < 0 && atomic != "":
				t.Errorf("second Status for the Atomic: %s", c.Data)
			case i < 0:
				atomic = c.Data
			case kids[i] != "":
				t.Errorf("second Status for child %d: %s", i, c.Data)
			default:
				kids[i] = c.Data
			}
		}
	}
	return atomic, kids, in
}

// TestAtomicResponseTooLarge drives real sessions with an Atomic of 43
// commands: under a MaxMsgSize its answers cannot fit in, it is rolled back
// and answered 517 with 216 for every child (the tree is unchanged); the
// same Atomic under a larger MaxMsgSize is committed and answered 200 in
// one message.
func TestAtomicResponseTooLarge(t *testing.T) {
	// Answers to bigAtomic(40) in one message: about 6.2 KB in XML and
	// 2.2 KB in WBXML.
	small := map[string]int{"xml": 2500, "wbxml": 1000}
	large := map[string]int{"xml": 8000, "wbxml": 3500}
	tests := []struct {
		name     string
		max      map[string]int
		fail     bool
		atomic   string
		kid      string // code of every child (the failing one excepted)
		applied  bool
		messages int // at least
	}{
		{name: "too large: 517 and rolled back", max: small, atomic: "517", kid: "216", messages: 2},
		{name: "same Atomic, larger MaxMsgSize: 200", max: large, atomic: "200", kid: "200", applied: true, messages: 1},
		{name: "failed and too large: 507 wins", max: small, fail: true, atomic: "507", kid: "216", messages: 2},
	}
	for _, e := range encodings {
		for _, tt := range tests {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				a := bigAtomic(40, tt.fail)
				f, msgs, sum := sizedSession(t, e.xml, tt.max[e.name], a)
				atomic, kids, in := atomicAnswers(t, msgs, a)
				if atomic != tt.atomic {
					t.Errorf("Atomic: got %q, want %s", atomic, tt.atomic)
				}
				for i, k := range kids {
					want := tt.kid
					if tt.fail && i == len(kids)-1 {
						want = "418"
					}
					if k != want {
						t.Errorf("child %d (%s %s): got %q, want %s", i, a.Children[i].Kind, a.Children[i].Items[0].Target.LocURI, k, want)
					}
				}
				if len(in) < tt.messages {
					t.Errorf("answers came in %d messages, want at least %d", len(in), tt.messages)
				}
				if tt.atomic == "200" && len(in) != 1 {
					t.Errorf("answers to a committed Atomic came in %d messages, want 1", len(in))
				}
				if got := sum.Statuses[216]; tt.kid == "216" && got != len(kids)-boolInt(tt.fail) {
					t.Errorf("summary: %d statuses 216, want %d", got, len(kids)-boolInt(tt.fail))
				}
				// The tree: all or nothing.
				wantA, wantX := "a", "x"
				if tt.applied {
					wantA, wantX = "changed", "changed"
				}
				if v, _ := f.get(t, "./Vendor/A"); v != wantA {
					t.Errorf("./Vendor/A = %q, want %q", v, wantA)
				}
				if v, _ := f.get(t, "./Mem/X"); v != wantX {
					t.Errorf("./Mem/X = %q, want %q", v, wantX)
				}
				if _, ok := f.get(t, "./Vendor/B"); ok == tt.applied {
					t.Errorf("./Vendor/B exists %v, want %v", ok, !tt.applied)
				}
				for i := 0; i < 40; i++ {
					u := fmt.Sprintf("./Vendor/N%d", i)
					if v, ok := f.get(t, u); ok != tt.applied || (ok && v != fmt.Sprintf("v%d", i)) {
						t.Fatalf("%s = %q (exists %v), want exists %v", u, v, ok, tt.applied)
					}
				}
			})
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestAtomicAnswersStartNextMessage: when the answers to an Atomic fit in a
// message but not in what the answers before them left of the current
// one, they go together in the next message instead of being split.
func TestAtomicAnswersStartNextMessage(t *testing.T) {
	max := map[string]int{"xml": 8000, "wbxml": 3500}
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			// 20 Gets fill most of the first message (about 6.1 KB in XML,
			// 1.9 KB in WBXML).
			var cmds []*syncml.Command
			for i := 0; i < 20; i++ {
				cmds = append(cmds, cmd("Get", "./Vendor/A", ""))
			}
			a := bigAtomic(40, false)
			cmds = append(cmds, a)
			_, msgs, _ := sizedSession(t, e.xml, max[e.name], cmds...)
			atomic, _, in := atomicAnswers(t, msgs, a)
			if atomic != "200" {
				t.Errorf("Atomic: got %q, want 200", atomic)
			}
			if len(in) != 1 {
				t.Fatalf("answers to the Atomic came in %d messages, want 1", len(in))
			}
			if in[0] {
				t.Errorf("answers to the Atomic began in the first message, want the next one")
			}
			gets := 0
			for _, c := range msgs[0].Body {
				if c.Kind == "Status" && c.Cmd == "Get" {
					gets++
				}
			}
			if gets != 20 {
				t.Errorf("first message: %d Get statuses, want 20", gets)
			}
		})
	}
}

// TestAtomicThreshold sweeps the server's MaxMsgSize across the size of
// the answers to an Atomic of 13 commands: every run ends either in 200
// with all the answers in one message and the Atomic applied, or in 517
// with nothing applied, and the sweep sees both.
func TestAtomicThreshold(t *testing.T) {
	sweep := map[string][3]int{"xml": {1600, 2700, 25}, "wbxml": {500, 1000, 10}}
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			seen := map[string]int{}
			r := sweep[e.name]
			for max := r[0]; max <= r[1]; max += r[2] {
				a := bigAtomic(10, false)
				f, msgs, _ := sizedSession(t, e.xml, max, a)
				atomic, _, in := atomicAnswers(t, msgs, a)
				seen[atomic]++
				_, applied := f.get(t, "./Vendor/N9")
				switch {
				case atomic == "200" && (len(in) != 1 || !applied):
					t.Errorf("MaxMsgSize %d: 200 with answers in %d messages, applied %v; want 1 message, applied", max, len(in), applied)
				case atomic == "517" && applied:
					t.Errorf("MaxMsgSize %d: 517 but the Atomic was applied", max)
				case atomic != "200" && atomic != "517":
					t.Errorf("MaxMsgSize %d: Atomic answered %q", max, atomic)
				}
			}
			if seen["200"] == 0 || seen["517"] == 0 {
				t.Errorf("the sweep did not cross the threshold: %v", seen)
			}
			t.Logf("outcomes over the sweep: %v", seen)
		})
	}
}
