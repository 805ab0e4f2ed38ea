package session

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

func withMaxMsg(m *syncml.Message, maxMsg, maxObj int) *syncml.Message {
	m.Hdr.Meta = &syncml.Meta{}
	if maxMsg > 0 {
		m.Hdr.Meta.MaxMsgSize = fmt.Sprint(maxMsg)
	}
	if maxObj > 0 {
		m.Hdr.Meta.MaxObjSize = fmt.Sprint(maxObj)
	}
	return m
}

func has1222(m *syncml.Message) bool {
	for _, c := range m.Body {
		if c.Kind == "Alert" && c.Data == "1222" {
			return true
		}
	}
	return false
}

// TestMaxMsgSizeSplit: 60 Gets answered within a 1500-byte MaxMsgSize; the
// server answers each non-final client message with Status + Alert 1222.
func TestMaxMsgSizeSplit(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			const max = 1500
			var cmds []*syncml.Command
			for i := 0; i < 60; i++ {
				cmds = append(cmds, cmd("Get", "./Vendor/A", ""))
			}
			nextMsg := func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				if len(body) > max {
					t.Errorf("message %d: %d bytes > MaxMsgSize %d", n, len(body), max)
				}
				if req.Final {
					return done(n, req, r, body)
				}
				m := answer(n, req, 200, false, &syncml.Command{Kind: "Alert", Data: "1222"})
				return reply{msg: withMaxMsg(m, max, 0)}
			}
			steps := []step{func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				return reply{msg: withMaxMsg(answer(n, req, 212, true, cmds...), max, 0)}
			}}
			for i := 0; i < 30; i++ {
				steps = append(steps, nextMsg)
			}
			srv := newDMServer(t, steps...)
			f := newFixture(t, srv.URL, acct{})
			sum, err := f.engine(t, srv, func(c *Config) { c.XML = e.xml }).Run(bg, Trigger{ServerID: testServer})
			if err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if len(reqs) < 4 {
				t.Fatalf("got %d messages, want the answers split over several", len(reqs))
			}
			statuses, results := 0, 0
			for i, m := range reqs[1:] {
				last := i == len(reqs)-2
				if m.Final != last {
					t.Errorf("message %d: Final %v, want %v", i+2, m.Final, last)
				}
				for _, c := range m.Body {
					if c.Kind == "Status" && c.Cmd == "Get" {
						statuses++
					}
					if c.Kind == "Results" {
						results++
					}
				}
			}
			if statuses != 60 || results != 60 {
				t.Errorf("got %d statuses and %d results, want 60 each", statuses, results)
			}
			if sum.RoundTrips != len(reqs) {
				t.Errorf("round trips %d, requests %d", sum.RoundTrips, len(reqs))
			}
		})
	}
}

// TestServerMessageWithoutFinal: the client answers with Status + 1222 and
// no Final, then gets the rest of the package.
func TestServerMessageWithoutFinal(t *testing.T) {
	steps := []step{
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			return reply{msg: answer(n, req, 212, false, cmd("Replace", "./Vendor/A", "part1"))}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			if req.Final || !has1222(req) {
				t.Errorf("answer to a message without Final: Final %v, 1222 %v; want false, true", req.Final, has1222(req))
			}
			return reply{msg: answer(n, req, 200, true, cmd("Replace", "./Vendor/B", "part2"))}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			if !req.Final || has1222(req) {
				t.Errorf("answer to the last message: Final %v, 1222 %v; want true, false", req.Final, has1222(req))
			}
			return done(n, req, r, body)
		},
	}
	srv := newDMServer(t, steps...)
	f := newFixture(t, srv.URL, acct{})
	if _, err := f.engine(t, srv, nil).Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.get(t, "./Vendor/A"); a != "part1" {
		t.Errorf("A = %q", a)
	}
	if b, _ := f.get(t, "./Vendor/B"); b != "part2" {
		t.Errorf("B = %q", b)
	}
}

func chunkCmd(kind, target, data string, more bool, size int) *syncml.Command {
	c := cmd(kind, target, data)
	c.Items[0].MoreData = more
	if size > 0 {
		c.Items[0].Meta = &syncml.Meta{Size: fmt.Sprint(size)}
	}
	return c
}

func TestLargeObjectIn(t *testing.T) {
	full := strings.Repeat("0123456789", 30)
	parts := []string{full[:100], full[100:200], full[200:]}
	tests := []struct {
		name  string
		msgs  [][]*syncml.Command
		codes [][]string // per client answer, codes for the server commands in order
		want  string
		alert bool // a 1225 is expected
	}{
		{
			name: "reassembled",
			msgs: [][]*syncml.Command{
				{chunkCmd("Replace", "./Vendor/A", parts[0], true, len(full))},
				{chunkCmd("Replace", "./Vendor/A", parts[1], true, 0)},
				{chunkCmd("Replace", "./Vendor/A", parts[2], false, 0)},
			},
			codes: [][]string{{"213"}, {"213"}, {"200"}},
			want:  full,
		},
		{
			name: "size mismatch",
			msgs: [][]*syncml.Command{
				{chunkCmd("Add", "./Vendor/L", parts[0], true, len(full)+1)},
				{chunkCmd("Add", "./Vendor/L", parts[1]+parts[2], false, 0)},
			},
			codes: [][]string{{"213"}, {"424"}},
		},
		{
			name: "interrupted",
			msgs: [][]*syncml.Command{
				{chunkCmd("Add", "./Vendor/L", parts[0], true, len(full))},
				{cmd("Replace", "./Vendor/B", "other")},
			},
			codes: [][]string{{"213"}, {"200"}},
			alert: true,
		},
		{
			name: "too large for our MaxObjSize",
			msgs: [][]*syncml.Command{
				{chunkCmd("Add", "./Vendor/L", parts[0], true, 5000)},
			},
			codes: [][]string{{"413"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var steps []step
			for i, cs := range tt.msgs {
				i, cs := i, cs
				steps = append(steps, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					if i > 0 {
						checkCodes(t, req, tt.codes[i-1])
						if !has1222(req) {
							t.Errorf("answer to chunk %d without 1222", i)
						}
					}
					return reply{msg: answer(n, req, 212, i == len(tt.msgs)-1, cs...)}
				})
			}
			steps = append(steps, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				checkCodes(t, req, tt.codes[len(tt.codes)-1])
				got1225 := false
				for _, c := range req.Body {
					if c.Kind == "Alert" && c.Data == "1225" {
						got1225 = len(c.Items) == 1 && c.Items[0].Target != nil && c.Items[0].Target.LocURI == "./Vendor/L"
					}
				}
				if got1225 != tt.alert {
					t.Errorf("Alert 1225 with the original target: got %v, want %v", got1225, tt.alert)
				}
				return done(n, req, r, body)
			})
			srv := newDMServer(t, steps...)
			f := newFixture(t, srv.URL, acct{})
			if _, err := f.engine(t, srv, func(c *Config) { c.MaxObjSize = 1000 }).Run(bg, Trigger{ServerID: testServer}); err != nil {
				t.Fatal(err)
			}
			if tt.want != "" {
				if v, _ := f.get(t, "./Vendor/A"); v != tt.want {
					t.Errorf("reassembled value: got %d bytes, want %d", len(v), len(tt.want))
				}
			}
			if _, ok := f.get(t, "./Vendor/L"); ok {
				t.Errorf("an incomplete or bad object was committed")
			}
		})
	}
}

// checkCodes compares the statuses of server commands (not SyncHdr, not
// Alert) in m with want.
func checkCodes(t *testing.T, m *syncml.Message, want []string) {
	t.Helper()
	var got []string
	for _, c := range m.Body {
		if c.Kind == "Status" && c.Cmd != "SyncHdr" && c.Cmd != "Alert" {
			got = append(got, c.Data)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("statuses: got %v, want %v", got, want)
	}
}

// TestLargeResultsOut: a Get whose value exceeds the server's MaxMsgSize
// goes out in chunks (Size in the first, MoreData on all but the last);
// one bigger than the server's MaxObjSize gets 413.
func TestLargeResultsOut(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			big := strings.Repeat("abcdefghij", 500) // 5000 bytes
			const max = 1200
			var got strings.Builder
			var chunks, sizes int
			var got413 []string
			collect := func(m *syncml.Message) bool {
				for _, c := range m.Body {
					if c.Kind == "Results" && c.CmdRef == "4" {
						chunks++
						it := c.Items[0]
						got.WriteString(it.Data.Text)
						if it.Meta != nil && it.Meta.Size != "" {
							sizes++
							if it.Meta.Size != fmt.Sprint(len(big)) {
								t.Errorf("Size %s, want %d", it.Meta.Size, len(big))
							}
						}
						return it.MoreData
					}
				}
				return false
			}
			steps := []step{func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				return reply{msg: withMaxMsg(answer(n, req, 212, true, cmd("Get", "./Vendor/Big", ""), cmd("Get", "./Vendor/Big2", "")), max, 6000)}
			}}
			for i := 0; i < 20; i++ {
				steps = append(steps, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					if len(body) > max {
						t.Errorf("message of %d bytes > %d", len(body), max)
					}
					got413 = append(got413, codesFor(req, "5")...)
					more := collect(req)
					if req.Final {
						return done(n, req, r, body)
					}
					var cs []*syncml.Command
					if !more {
						cs = append(cs, &syncml.Command{Kind: "Alert", Data: "1222"})
					}
					m := answer(n, req, 200, false, cs...)
					for _, c := range req.Body {
						if c.Kind == "Results" && c.Items[0].MoreData {
							m.Body = append(m.Body, &syncml.Command{Kind: "Status", CmdID: "99", MsgRef: req.Hdr.MsgID, CmdRef: c.CmdID, Cmd: "Results", Data: "213"})
						}
					}
					return reply{msg: withMaxMsg(m, max, 6000)}
				})
			}
			srv := newDMServer(t, steps...)
			f := newFixture(t, srv.URL, acct{})
			f.t.Add(bg, tree.LocalPrincipal, "./Vendor/Big", tree.Value{Data: []byte(big)})
			f.t.Add(bg, tree.LocalPrincipal, "./Vendor/Big2", tree.Value{Data: []byte(big + big)})
			if _, err := f.engine(t, srv, func(c *Config) { c.XML = e.xml }).Run(bg, Trigger{ServerID: testServer}); err != nil {
				t.Fatal(err)
			}
			if len(got413) != 1 || got413[0] != "413" {
				t.Errorf("Get over MaxObjSize: got %v, want [413]", got413)
			}
			if got.String() != big {
				t.Errorf("reassembled %d bytes, want %d", got.Len(), len(big))
			}
			if chunks < 5 || sizes != 1 {
				t.Errorf("got %d chunks, %d with Size; want ≥5 and 1", chunks, sizes)
			}
		})
	}
}
