package session

import (
	"errors"
	"net/http"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

// runOne runs a session whose Pkg2 carries cmds and returns Pkg3.
func runOne(t *testing.T, xmlEnc bool, a acct, mod func(*Config), setup func(*fixture), cmds func() []*syncml.Command) (*fixture, *syncml.Message, Summary, error) {
	t.Helper()
	pkg2 := func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		return reply{msg: answer(n, req, 212, true, cmds()...)}
	}
	srv := newDMServer(t, pkg2, done)
	f := newFixture(t, srv.URL, a)
	if setup != nil {
		setup(f)
	}
	eng := f.engine(t, srv, func(c *Config) {
		c.XML = xmlEnc
		if mod != nil {
			mod(c)
		}
	})
	sum, err := eng.Run(bg, Trigger{ServerID: testServer})
	reqs := srv.requests()
	if len(reqs) < 2 {
		t.Fatalf("got %d requests, want 2 (err %v)", len(reqs), err)
	}
	return f, reqs[1], sum, err
}

func seq(kind string, children ...*syncml.Command) *syncml.Command {
	return &syncml.Command{Kind: kind, Children: children}
}

func TestSequenceAndAtomic(t *testing.T) {
	type want struct {
		ref, code string
	}
	tests := []struct {
		name  string
		cmds  func() []*syncml.Command
		want  []want // CmdRefs: hdr=1, Alert=2, Replace=3 → server commands from 4
		tree  map[string]string
		gone  []string
		setup func(*fixture)
	}{
		{
			name: "sequence stops after a failure",
			cmds: func() []*syncml.Command {
				return []*syncml.Command{seq("Sequence", cmd("Replace", "./Vendor/A", "s1"), cmd("Replace", "./Nope/X", "s2"), cmd("Replace", "./Vendor/B", "s3"))}
			},
			want: []want{{"4", "200"}, {"5", "200"}, {"6", "404"}, {"7", "215"}},
			tree: map[string]string{"./Vendor/A": "s1", "./Vendor/B": "b"},
		},
		{
			name: "sequence stops after UI No",
			cmds: func() []*syncml.Command {
				ui := &syncml.Command{Kind: "Alert", Data: "1101", Items: []*syncml.Item{{Data: syncml.TextData("MAXDT=10")}, {Data: syncml.TextData("Proceed?")}}}
				return []*syncml.Command{seq("Sequence", ui, cmd("Replace", "./Vendor/B", "s3"))}
			},
			want: []want{{"4", "200"}, {"5", "304"}, {"6", "215"}},
			tree: map[string]string{"./Vendor/B": "b"},
		},
		{
			name: "atomic commits",
			cmds: func() []*syncml.Command {
				return []*syncml.Command{seq("Atomic", cmd("Replace", "./Vendor/A", "x"), cmd("Add", "./Vendor/N", "n"), cmd("Replace", "./Mem/X", "mx"))}
			},
			want: []want{{"4", "200"}, {"5", "200"}, {"6", "200"}, {"7", "200"}},
			tree: map[string]string{"./Vendor/A": "x", "./Vendor/N": "n", "./Mem/X": "mx"},
		},
		{
			name: "atomic rolls back",
			cmds: func() []*syncml.Command {
				return []*syncml.Command{seq("Atomic", cmd("Replace", "./Vendor/A", "x"), cmd("Delete", "./Vendor/B", ""), cmd("Replace", "./Mem/X", "mx"),
					cmd("Add", "./Vendor/A", "dup"), cmd("Replace", "./Vendor/B", "never"))}
			},
			want: []want{{"4", "507"}, {"5", "216"}, {"6", "216"}, {"7", "216"}, {"8", "418"}, {"9", "215"}},
			tree: map[string]string{"./Vendor/A": "a", "./Vendor/B": "b", "./Mem/X": "x"},
		},
		{
			name: "nested atomic",
			cmds: func() []*syncml.Command {
				return []*syncml.Command{seq("Atomic", cmd("Replace", "./Vendor/A", "x"), seq("Atomic", cmd("Replace", "./Vendor/B", "y")))}
			},
			want: []want{{"4", "507"}, {"5", "216"}, {"6", "500"}},
			tree: map[string]string{"./Vendor/A": "a", "./Vendor/B": "b"},
		},
		{
			name: "get in atomic",
			cmds: func() []*syncml.Command {
				return []*syncml.Command{seq("Atomic", cmd("Replace", "./Vendor/A", "x"), cmd("Get", "./Vendor/B", ""))}
			},
			want: []want{{"4", "507"}, {"5", "216"}, {"6", "500"}},
			tree: map[string]string{"./Vendor/A": "a"},
		},
		{
			name: "atomic with a non-transactional provider applies nothing",
			setup: func(f *fixture) {
				m := f.mem
				if err := f.t.Mount("./NT", m.NonTransactional()); err != nil {
					panic(err)
				}
			},
			cmds: func() []*syncml.Command {
				return []*syncml.Command{seq("Atomic", cmd("Replace", "./Vendor/A", "x"), cmd("Replace", "./NT/X", "y"))}
			},
			want: []want{{"4", "500"}, {"5", "215"}, {"6", "215"}},
			tree: map[string]string{"./Vendor/A": "a"},
		},
		{
			name: "UI No in atomic rolls back",
			cmds: func() []*syncml.Command {
				ui := &syncml.Command{Kind: "Alert", Data: "1101", Items: []*syncml.Item{{Data: syncml.TextData("")}, {Data: syncml.TextData("ok?")}}}
				return []*syncml.Command{seq("Atomic", cmd("Replace", "./Vendor/A", "x"), ui)}
			},
			want: []want{{"4", "507"}, {"5", "216"}, {"6", "304"}},
			tree: map[string]string{"./Vendor/A": "a"},
		},
	}
	for _, e := range encodings {
		for _, tt := range tests {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				f, p3, _, err := runOne(t, e.xml, acct{}, func(c *Config) { c.UI = Headless{Confirm: PolicyReject} }, tt.setup, tt.cmds)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				for _, w := range tt.want {
					if got := codesFor(p3, w.ref); len(got) != 1 || got[0] != w.code {
						t.Errorf("CmdRef %s: got %v, want [%s]", w.ref, got, w.code)
					}
				}
				for u, v := range tt.tree {
					if got, ok := f.get(t, u); !ok || got != v {
						t.Errorf("tree %s: got %q (exists %v), want %q", u, got, ok, v)
					}
				}
				if _, ok := f.get(t, "./Vendor/N"); ok && tt.name != "atomic commits" {
					t.Errorf("./Vendor/N exists")
				}
				// The tree is usable afterwards (no lock left held).
				if err := f.t.Replace(bg, tree.LocalPrincipal, "./Vendor/A", tree.Value{Data: []byte("after")}); err != nil {
					t.Errorf("tree after the session: %v", err)
				}
			})
		}
	}
}

func TestProblemsSeed003(t *testing.T) {
	// A raw XML Pkg2: a command without CmdID, an unknown element, a
	// DM-unused command and a DM-unused element inside a command.
	pkg2 := func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		x := `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>` + req.Hdr.SessionID +
			`</SessionID><MsgID>1</MsgID><Target><LocURI>` + testDevID + `</LocURI></Target><Source><LocURI>https://s</LocURI></Source></SyncHdr><SyncBody>` +
			`<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>212</Data></Status>` +
			`<Replace><Item><Target><LocURI>./Vendor/A</LocURI></Target><Data>x</Data></Item></Replace>` +
			`<Bogus><CmdID>3</CmdID></Bogus>` +
			`<Sync><CmdID>4</CmdID></Sync>` +
			`<Replace><CmdID>5</CmdID><Lang>en</Lang><Item><Target><LocURI>./Vendor/B</LocURI></Target><Data>y</Data></Item></Replace>` +
			`<Final/></SyncBody></SyncML>`
		return reply{raw: []byte(x), ctype: syncml.ContentTypeXML}
	}
	srv := newDMServer(t, pkg2, done)
	f := newFixture(t, srv.URL, acct{})
	if _, err := f.engine(t, srv, func(c *Config) { c.XML = true }).Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatal(err)
	}
	p3 := srv.requests()[1]
	for ref, want := range map[string]string{"": "400", "3": "400", "4": "406", "5": "406"} {
		if got := codesFor(p3, ref); len(got) != 1 || got[0] != want {
			t.Errorf("CmdRef %q: got %v, want [%s]", ref, got, want)
		}
	}
	if v, _ := f.get(t, "./Vendor/A"); v != "a" {
		t.Errorf("command without CmdID was executed")
	}
	if v, _ := f.get(t, "./Vendor/B"); v != "b" {
		t.Errorf("command with an unused element was executed")
	}
}

func TestHeadlessUI(t *testing.T) {
	ui := func(code, params string, items ...string) *syncml.Command {
		c := &syncml.Command{Kind: "Alert", Data: code, Items: []*syncml.Item{{Data: syncml.TextData(params)}}}
		for _, it := range items {
			c.Items = append(c.Items, &syncml.Item{Data: syncml.TextData(it)})
		}
		return c
	}
	hookYes := uiFunc(func(ctx contextT, r UIRequest) (UIResponse, error) {
		return UIResponse{Status: 200, Data: []string{"typed"}}, nil
	})
	hookSlow := uiFunc(func(ctx contextT, r UIRequest) (UIResponse, error) { <-ctx.Done(); return UIResponse{}, ctx.Err() })
	hookCancel := uiFunc(func(ctx contextT, r UIRequest) (UIResponse, error) { return UIResponse{}, ErrUICancelled })
	tests := []struct {
		name  string
		ui    UIHandler
		alert *syncml.Command
		code  string
		data  []string
	}{
		{"display", nil, ui("1100", "MINDT=1", "hello"), "200", nil},
		{"confirm accept", Headless{Confirm: PolicyAccept}, ui("1101", "", "ok?"), "200", nil},
		{"confirm reject", Headless{Confirm: PolicyReject}, ui("1101", "", "ok?"), "304", nil},
		{"confirm ask", Headless{Confirm: PolicyAsk, Hook: hookYes}, ui("1101", "MAXDT=5", "ok?"), "200", nil},
		{"confirm ask timeout", Headless{Confirm: PolicyAsk, Hook: hookSlow}, ui("1101", "MAXDT=1", "ok?"), "408", nil},
		{"confirm ask cancel", Headless{Confirm: PolicyAsk, Hook: hookCancel}, ui("1101", "", "ok?"), "214", nil},
		{"input default", nil, ui("1102", "DR=abc&MAXLEN=5", "name?"), "200", []string{"abc"}},
		{"input no default", nil, ui("1102", "MAXLEN=5", "name?"), "406", nil},
		{"input ask", Headless{Input: PolicyAsk, Hook: hookYes}, ui("1102", "", "name?"), "200", []string{"typed"}},
		{"single choice default", nil, ui("1103", "DR=2", "pick", "a", "b"), "200", []string{"2"}},
		{"multiple choice default", nil, ui("1104", "DR=1-3", "pick", "a", "b", "c"), "200", []string{"1", "3"}},
		{"input reject", Headless{Input: PolicyReject}, ui("1104", "DR=1", "pick", "a"), "406", nil},
		{"unknown alert", nil, ui("1150", ""), "406", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p3, _, err := runOne(t, true, acct{}, func(c *Config) { c.UI = tt.ui }, nil, func() []*syncml.Command { return []*syncml.Command{tt.alert} })
			if err != nil {
				t.Fatal(err)
			}
			st := findStatus(p3, "4")
			if st == nil || st.Data != tt.code {
				t.Fatalf("got %+v, want status %s", st, tt.code)
			}
			var got []string
			for _, it := range st.Items {
				got = append(got, it.Data.Text)
			}
			if len(got) != len(tt.data) || (len(got) > 0 && (got[0] != tt.data[0] || got[len(got)-1] != tt.data[len(tt.data)-1])) {
				t.Errorf("items: got %v, want %v", got, tt.data)
			}
		})
	}
}

type contextT = interface {
	Done() <-chan struct{}
	Err() error
}

type uiFunc func(ctx contextT, r UIRequest) (UIResponse, error)

func (f uiFunc) Ask(ctx contextForUI, r UIRequest) (UIResponse, error) { return f(ctx, r) }

var _ = errors.New
