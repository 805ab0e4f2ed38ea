package tree_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

var (
	ctx   = context.Background()
	local = tree.LocalPrincipal
	s1    = tree.Server("s1")
	s2    = tree.Server("s2")
	s3    = tree.Server("s3")
	clock = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
)

func chr(s string) tree.Value      { return tree.Value{Data: []byte(s)} }
func nodeV() tree.Value            { return tree.Value{Format: tree.FormatNode} }
func typed(f, s string) tree.Value { return tree.Value{Data: []byte(s), Format: f} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixture builds:
//
//	. (Add=*&Get=*)
//	./A      node  Add=s1&Delete=s1&Exec=s1&Get=s1+s2&Replace=s1
//	./A/L    leaf  "v"
//	./A/B    node  (inherits)
//	./A/B/C  leaf  "c" int
//	./A/E    node  empty
//	./R      leaf  "r"  Get=*        (Replace on the root is not granted)
//	./Perm   node  permanent (Desc)
//	./DMAcc/srv/AppAuth/x/AAuthSecret "pw"
//	./P      mounted treetest.Mem: ./P/K leaf "k", ./P/D node
//	./NT     mounted non-transactional Mem
func fixture(t *testing.T) (*tree.Tree, *treetest.Mem) {
	t.Helper()
	tr := tree.New(tree.WithClock(func() time.Time { return clock }), tree.WithLimits(tree.Limits{MaxDepth: 8, MaxTotLen: 100, MaxSegLen: 20}))
	must(t, tr.Add(ctx, local, "./A", nodeV()))
	must(t, tr.Replace(ctx, local, "./A?prop=ACL", chr("Get=s1+s2&Add=s1&Replace=s1&Delete=s1&Exec=s1")))
	must(t, tr.Add(ctx, local, "./A/L", chr("v")))
	must(t, tr.Add(ctx, local, "./A/B/C", typed("int", "42")))
	must(t, tr.Add(ctx, local, "./A/E", nodeV()))
	must(t, tr.Add(ctx, local, "./R", chr("r")))
	must(t, tr.Replace(ctx, local, "./R?prop=ACL", chr("Get=*")))
	must(t, tr.Declare(tree.Desc{Path: "./Perm", Scope: tree.ScopePermanent, Format: "node"},
		tree.Desc{Path: "./RO", Access: tree.AccessGet},
		tree.Desc{Path: "./Typed", Format: "int"}))
	must(t, tr.Add(ctx, local, "./Perm", nodeV()))
	must(t, tr.Add(ctx, local, "./RO", chr("ro")))
	must(t, tr.Add(ctx, local, "./DMAcc/srv/AppAuth/x/AAuthSecret", chr("pw")))
	m := treetest.NewMem("./P")
	m.Set("./P/K", false, "k", "chr", "text/plain", "")
	m.Set("./P/D", true, "", "", "", "")
	must(t, tr.Mount("./P", m))
	nt := treetest.NewMem("./NT")
	nt.Set("./NT/K", false, "k", "chr", "text/plain", "")
	must(t, tr.Mount("./NT", nt.NonTransactional()))
	return tr, m
}

func getData(t *testing.T, tr *tree.Tree, p tree.Principal, uri string) string {
	t.Helper()
	r, err := tr.Get(ctx, p, uri)
	if err != nil {
		t.Fatalf("Get(%s): %v", uri, err)
	}
	return string(r.Items[0].Data)
}

type step struct {
	name   string
	p      tree.Principal
	op     string // Get Add Replace Delete Copy Exec
	uri    string
	v      tree.Value
	src    string // Copy source
	status int
	check  func(t *testing.T, tr *tree.Tree, r tree.Result)
}

func run(t *testing.T, tr *tree.Tree, st step) tree.Result {
	t.Helper()
	var r tree.Result
	var err error
	switch st.op {
	case "Get":
		r, err = tr.Get(ctx, st.p, st.uri)
	case "Add":
		err = tr.Add(ctx, st.p, st.uri, st.v)
	case "Replace":
		err = tr.Replace(ctx, st.p, st.uri, st.v)
	case "Delete":
		err = tr.Delete(ctx, st.p, st.uri)
	case "Copy":
		err = tr.Copy(ctx, st.p, st.uri, st.src)
	case "Exec":
		err = tr.Exec(ctx, st.p, st.uri, st.v.Data, "corr-1")
	default:
		t.Fatalf("bad op %q", st.op)
	}
	if got := tree.StatusCode(err); got != st.status {
		t.Fatalf("%s %s as %+v: got status %d (%v), want %d", st.op, st.uri, st.p, got, err, st.status)
	}
	return r
}

func TestOperations(t *testing.T) {
	tests := []step{
		// Get
		{name: "get leaf", p: s1, op: "Get", uri: "./A/L", status: 200, check: func(t *testing.T, tr *tree.Tree, r tree.Result) {
			it := r.Items[0]
			if string(it.Data) != "v" || it.Format != "chr" || it.Type != "text/plain" || it.URI != "./A/L" {
				t.Errorf("got %+v, want v chr text/plain", it)
			}
		}},
		{name: "get interior lists children", p: s1, op: "Get", uri: "./A", status: 200, check: func(t *testing.T, tr *tree.Tree, r tree.Result) {
			if it := r.Items[0]; string(it.Data) != "L/B/E" || it.Format != "node" {
				t.Errorf("got %q %q, want L/B/E node", it.Data, it.Format)
			}
		}},
		{name: "get empty interior", p: s1, op: "Get", uri: "./A/E", status: 200, check: func(t *testing.T, tr *tree.Tree, r tree.Result) {
			if d := r.Items[0].Data; d == nil || len(d) != 0 {
				t.Errorf("got %v, want empty non-nil Data", d)
			}
		}},
		{name: "get int leaf", p: s2, op: "Get", uri: "./A/B/C", status: 200, check: func(t *testing.T, tr *tree.Tree, r tree.Result) {
			if it := r.Items[0]; string(it.Data) != "42" || it.Format != "int" {
				t.Errorf("got %+v", it)
			}
		}},
		{name: "get root", p: s3, op: "Get", uri: ".", status: 200, check: func(t *testing.T, tr *tree.Tree, r tree.Result) {
			if got := string(r.Items[0].Data); got != "Inbox/A/R/Perm/RO/DMAcc/P/NT" {
				t.Errorf("got %q", got)
			}
		}},
		{name: "get missing 404", p: s1, op: "Get", uri: "./A/nope", status: 404},
		{name: "get inherited ACL denies s3", p: s3, op: "Get", uri: "./A/L", status: 425},
		{name: "get bad uri 400", p: s1, op: "Get", uri: "/A", status: 400},
		{name: "get uri too long 414", p: s1, op: "Get", uri: "./" + strings.Repeat("x", 21), status: 414},
		{name: "get too deep 414", p: s1, op: "Get", uri: "./a/b/c/d/e/f/g/h/i", status: 414},
		{name: "get inbox 405", p: s1, op: "Get", uri: "./Inbox", status: 405},
		{name: "get below inbox 405", p: local, op: "Get", uri: "./Inbox/x", status: 405},
		{name: "get secret by server 405", p: s1, op: "Get", uri: "./DMAcc/srv/AppAuth/x/AAuthSecret", status: 405},
		{name: "get secret locally", p: local, op: "Get", uri: "./DMAcc/srv/AppAuth/x/AAuthSecret", status: 200, check: func(t *testing.T, tr *tree.Tree, r tree.Result) {
			if string(r.Items[0].Data) != "pw" {
				t.Errorf("got %q", r.Items[0].Data)
			}
		}},
		{name: "get DDF without Get", p: s1, op: "Get", uri: "./RO", status: 200},
		// properties
		{name: "prop ACL own", p: s2, op: "Get", uri: "./A?prop=ACL", status: 200, check: func(t *testing.T, tr *tree.Tree, r tree.Result) {
			if got := string(r.Items[0].Data); got != "Add=s1&Delete=s1&Exec=s1&Get=s1+s2&Replace=s1" {
				t.Errorf("got %q", got)
			}
		}},
		{name: "prop ACL inherited is empty", p: s2, op: "Get", uri: "./A/L?prop=ACL", status: 200, check: func(t *testing.T, tr *tree.Tree, r tree.Result) {
			if d := r.Items[0].Data; len(d) != 0 || d == nil {
				t.Errorf("got %q, want empty Data", d)
			}
		}},
		{name: "prop Format", p: s1, op: "Get", uri: "./A/B/C?prop=Format", status: 200, check: dataIs("int")},
		{name: "prop Format interior", p: s1, op: "Get", uri: "./A/B?prop=Format", status: 200, check: dataIs("node")},
		{name: "prop Name", p: s1, op: "Get", uri: "./A/B/C?prop=Name", status: 200, check: dataIs("C")},
		{name: "prop Size", p: s1, op: "Get", uri: "./A/B/C?prop=Size", status: 200, check: dataIs("2")},
		{name: "prop Size interior 406", p: s1, op: "Get", uri: "./A/B?prop=Size", status: 406},
		{name: "prop Type", p: s1, op: "Get", uri: "./A/L?prop=Type", status: 200, check: dataIs("text/plain")},
		{name: "prop TStamp", p: s1, op: "Get", uri: "./A/L?prop=TStamp", status: 200, check: dataIs("20240506T070809Z")},
		{name: "prop VerNo", p: s1, op: "Get", uri: "./A/L?prop=VerNo", status: 200, check: dataIs("0")},
		{name: "prop Title empty", p: s1, op: "Get", uri: "./A/L?prop=Title", status: 200, check: dataIs("")},
		{name: "prop unknown 406", p: s1, op: "Get", uri: "./A/L?prop=Color", status: 406},
		{name: "prop needs Get right", p: s3, op: "Get", uri: "./A?prop=ACL", status: 425},
		{name: "list unknown 406", p: s1, op: "Get", uri: "./A?list=Tree", status: 406},
		{name: "list mixed options 400", p: s1, op: "Get", uri: "./A?list=TNDS+ACL-Format", status: 400},
		{name: "add on property 405", p: s1, op: "Add", uri: "./A/L?prop=Title", v: chr("t"), status: 405},
		{name: "replace Format property 405", p: local, op: "Replace", uri: "./A/L?prop=Format", v: chr("int"), status: 405},
		{name: "replace Type property 405", p: local, op: "Replace", uri: "./A/L?prop=Type", v: chr("x"), status: 405},
		{name: "delete property 405", p: local, op: "Delete", uri: "./A/L?prop=ACL", status: 405},
		{name: "replace Title", p: s1, op: "Replace", uri: "./A/L?prop=Title", v: chr("My title"), status: 200, check: getIs(s1, "./A/L?prop=Title", "My title")},
		{name: "replace Title too long 400", p: s1, op: "Replace", uri: "./A/L?prop=Title", v: chr(strings.Repeat("t", 256)), status: 400},
		// Add
		{name: "add leaf", p: s1, op: "Add", uri: "./A/N", v: chr("n"), status: 200, check: getIs(s2, "./A/N", "n")},
		{name: "add existing 418", p: s1, op: "Add", uri: "./A/L", v: chr("n"), status: 418},
		{name: "add root 418", p: local, op: "Add", uri: ".", v: nodeV(), status: 418},
		{name: "add child of leaf 405", p: s1, op: "Add", uri: "./A/L/x", v: chr("n"), status: 405},
		{name: "add implicit parents", p: s1, op: "Add", uri: "./A/X/Y/Z", v: chr("z"), status: 200, check: func(t *testing.T, tr *tree.Tree, _ tree.Result) {
			if got := getData(t, tr, s1, "./A/X/Y"); got != "Z" {
				t.Errorf("got %q, want Z", got)
			}
			if got := getData(t, tr, s1, "./A/X?prop=ACL"); got != "" {
				t.Errorf("implicit parent ACL %q, want empty (s1 has Replace on ./A)", got)
			}
		}},
		{name: "add denied 425", p: s2, op: "Add", uri: "./A/N", v: chr("n"), status: 425},
		{name: "add unknown format 415", p: s1, op: "Add", uri: "./A/N", v: typed("weird", "x"), status: 415},
		{name: "add bad int 400", p: s1, op: "Add", uri: "./A/N", v: typed("int", "4x"), status: 400},
		{name: "add bad bool 400", p: s1, op: "Add", uri: "./A/N", v: typed("bool", "yes"), status: 400},
		{name: "add node with data 400", p: s1, op: "Add", uri: "./A/N", v: typed("node", "x"), status: 400},
		{name: "add DDF format mismatch 415", p: local, op: "Add", uri: "./Typed", v: chr("x"), status: 415},
		{name: "add DDF format ok", p: local, op: "Add", uri: "./Typed", v: typed("int", "1"), status: 200},
		{name: "add to inbox without TNDS 415", p: s1, op: "Add", uri: "./Inbox/x", v: chr("x"), status: 415},
		{name: "add bin stored as bin", p: local, op: "Add", uri: "./Bin", v: typed("b64", "\x00\x01"), status: 200, check: getIs(local, "./Bin?prop=Format", "bin")},
		// Replace
		{name: "replace leaf", p: s1, op: "Replace", uri: "./A/L", v: chr("w"), status: 200, check: func(t *testing.T, tr *tree.Tree, _ tree.Result) {
			if got := getData(t, tr, s1, "./A/L"); got != "w" {
				t.Errorf("value %q, want w", got)
			}
			if got := getData(t, tr, s1, "./A/L?prop=VerNo"); got != "1" {
				t.Errorf("VerNo %q, want 1", got)
			}
		}},
		{name: "replace changes format", p: s1, op: "Replace", uri: "./A/L", v: typed("int", "7"), status: 200, check: getIs(s1, "./A/L?prop=Format", "int")},
		{name: "replace missing 404", p: s1, op: "Replace", uri: "./A/nope", v: chr("w"), status: 404},
		{name: "replace denied 425", p: s2, op: "Replace", uri: "./A/L", v: chr("w"), status: 425},
		{name: "replace interior 405", p: s1, op: "Replace", uri: "./A/B", v: chr("w"), status: 405},
		{name: "replace DDF no Replace 405", p: s1, op: "Replace", uri: "./RO", v: chr("w"), status: 405},
		{name: "replace in inbox 405", p: local, op: "Replace", uri: "./Inbox", v: chr("w"), status: 405},
		// rename
		{name: "rename", p: s1, op: "Replace", uri: "./A/B?prop=Name", v: chr("B2"), status: 200, check: func(t *testing.T, tr *tree.Tree, _ tree.Result) {
			if got := getData(t, tr, s1, "./A/B2/C"); got != "42" {
				t.Errorf("got %q", got)
			}
			if _, err := tr.Get(ctx, s1, "./A/B"); tree.StatusCode(err) != 404 {
				t.Errorf("old name still there: %v", err)
			}
		}},
		{name: "rename unicode", p: s1, op: "Replace", uri: "./A/B?prop=Name", v: chr("b é"), status: 200, check: getIs(s1, "./A/b%20%C3%A9?prop=Name", "b é")},
		{name: "rename to sibling 418", p: s1, op: "Replace", uri: "./A/B?prop=Name", v: chr("L"), status: 418},
		{name: "rename permanent 405", p: local, op: "Replace", uri: "./Perm?prop=Name", v: chr("X"), status: 405},
		{name: "rename root 405", p: local, op: "Replace", uri: ".?prop=Name", v: chr("X"), status: 405},
		{name: "rename denied 425", p: s2, op: "Replace", uri: "./A/B?prop=Name", v: chr("X"), status: 425},
		{name: "rename bad name 400", p: s1, op: "Replace", uri: "./A/B?prop=Name", v: chr(".."), status: 400},
		{name: "rename mount point 405", p: local, op: "Replace", uri: "./P?prop=Name", v: chr("Q"), status: 405},
		// Delete
		{name: "delete subtree", p: s1, op: "Delete", uri: "./A/B", status: 200, check: func(t *testing.T, tr *tree.Tree, _ tree.Result) {
			if _, err := tr.Get(ctx, s1, "./A/B/C"); tree.StatusCode(err) != 404 {
				t.Errorf("child survived: %v", err)
			}
		}},
		{name: "delete root 405", p: local, op: "Delete", uri: ".", status: 405},
		{name: "delete inbox 405", p: local, op: "Delete", uri: "./Inbox", status: 405},
		{name: "delete permanent 405", p: local, op: "Delete", uri: "./Perm", status: 405},
		{name: "delete mount point 405", p: local, op: "Delete", uri: "./P", status: 405},
		{name: "delete missing 404", p: s1, op: "Delete", uri: "./A/nope", status: 404},
		{name: "delete denied 425", p: s2, op: "Delete", uri: "./A/L", status: 425},
		{name: "delete DDF Get only 405", p: s1, op: "Delete", uri: "./RO", status: 405},
		// Copy
		{name: "copy new leaf", p: s1, op: "Copy", uri: "./A/L2", src: "./A/L", status: 200, check: getIs(s1, "./A/L2", "v")},
		{name: "copy onto existing leaf", p: s1, op: "Copy", uri: "./A/B/C", src: "./A/L", status: 200, check: getIs(s1, "./A/B/C?prop=Format", "chr")},
		{name: "copy interior source 403", p: s1, op: "Copy", uri: "./A/Z", src: "./A/B", status: 403},
		{name: "copy onto interior 403", p: s1, op: "Copy", uri: "./A/B", src: "./A/L", status: 403},
		{name: "copy missing source 404", p: s1, op: "Copy", uri: "./A/Z", src: "./A/nope", status: 404},
		{name: "copy without Get on source 425", p: s3, op: "Copy", uri: "./Z", src: "./A/L", status: 425},
		{name: "copy without Add on target 425", p: s2, op: "Copy", uri: "./A/Z", src: "./A/L", status: 425},
		{name: "copy secret 405", p: s1, op: "Copy", uri: "./Z", src: "./DMAcc/srv/AppAuth/x/AAuthSecret", status: 405},
		// Exec
		{name: "exec stored 405", p: s1, op: "Exec", uri: "./A/L", status: 405},
		{name: "exec provider", p: local, op: "Exec", uri: "./P/K", v: chr("go"), status: 200},
		{name: "exec provider missing 404", p: local, op: "Exec", uri: "./P/nope", status: 404},
		{name: "exec denied 425", p: s1, op: "Exec", uri: "./P/K", status: 425},
		{name: "exec property 405", p: local, op: "Exec", uri: "./P/K?prop=ACL", status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := fixture(t)
			r := run(t, tr, tt)
			if tt.check != nil {
				tt.check(t, tr, r)
			}
		})
	}
}

func dataIs(want string) func(*testing.T, *tree.Tree, tree.Result) {
	return func(t *testing.T, _ *tree.Tree, r tree.Result) {
		t.Helper()
		if got := string(r.Items[0].Data); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func getIs(p tree.Principal, uri, want string) func(*testing.T, *tree.Tree, tree.Result) {
	return func(t *testing.T, tr *tree.Tree, _ tree.Result) {
		t.Helper()
		if got := getData(t, tr, p, uri); got != want {
			t.Errorf("Get %s: got %q, want %q", uri, got, want)
		}
	}
}

func TestExecAsyncAndCorrelator(t *testing.T) {
	tr, m := fixture(t)
	m.ExecErr = tree.ErrAsync
	err := tr.Exec(ctx, local, "./P/K", []byte("payload"), "c42")
	if got := tree.StatusCode(err); got != 202 {
		t.Fatalf("got %d (%v), want 202", got, err)
	}
	if len(m.Execs) != 1 || m.Execs[0].Correlator != "c42" || string(m.Execs[0].Data) != "payload" || m.Execs[0].URI != "./P/K" {
		t.Errorf("got %+v", m.Execs)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	tr, _ := fixture(t)
	_, err := tr.Get(ctx, s1, "./A/nope")
	var te *tree.Error
	if !errors.As(err, &te) || te.Op != "Get" || te.URI != "./A/nope" || !errors.Is(err, tree.ErrNotFound) {
		t.Errorf("got %#v, want *tree.Error{Op: Get} wrapping ErrNotFound", err)
	}
	if tree.StatusCode(nil) != 200 || tree.StatusCode(errors.New("x")) != 500 || tree.StatusCode(tree.ErrDeviceFull) != 420 || tree.StatusCode(tree.ErrIncomplete) != 412 {
		t.Errorf("StatusCode mapping wrong")
	}
}

// downProvider is a provider whose backing service is unreachable: every
// call fails the way a D-Bus CSP does when its service is missing.
type downProvider struct{}

var errServiceDown = errors.New("service down")

func (downProvider) Get(context.Context, tree.URI) (tree.Node, error) {
	return tree.Node{}, errServiceDown
}

func TestReplaceReadOnlyLeafOfUnreachableProvider(t *testing.T) {
	tr := tree.New()
	must(t, tr.Mount("./S", downProvider{}))
	must(t, tr.Declare(tree.Desc{Path: "./S/RO", Access: tree.AccessGet}))
	must(t, tr.Replace(ctx, local, ".?prop=ACL", chr("Add=*&Get=*&Replace=*")))
	err := tr.Replace(ctx, tree.Server("s1"), "./S/RO", chr("x"))
	if got := tree.StatusCode(err); got != 405 {
		t.Fatalf("Replace on a DDF read-only leaf of a down provider: got status %d (%v), want 405", got, err)
	}
	// A writable leaf still reports the provider's failure.
	err = tr.Replace(ctx, tree.Server("s1"), "./S/RW", chr("x"))
	if got := tree.StatusCode(err); got != 500 || !errors.Is(err, errServiceDown) {
		t.Fatalf("Replace on a writable leaf of a down provider: got status %d (%v), want 500 wrapping the cause", got, err)
	}
}
