package tree_test

import (
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

func TestACLRules(t *testing.T) {
	setup := func(t *testing.T) *tree.Tree {
		tr, _ := fixture(t)
		must(t, tr.Add(ctx, local, "./Q/L", chr("q")))
		must(t, tr.Replace(ctx, local, "./Q?prop=ACL", chr("Get=*")))
		must(t, tr.Replace(ctx, local, "./Q/L?prop=ACL", chr("Get=*&Replace=s1")))
		must(t, tr.Add(ctx, local, "./A/F", nodeV()))
		must(t, tr.Replace(ctx, local, "./A/F?prop=ACL", chr("Get=*")))
		must(t, tr.Add(ctx, local, "./G", nodeV()))
		must(t, tr.Replace(ctx, local, "./G?prop=ACL", chr("Add=s2&Get=s3")))
		return tr
	}
	tests := []step{
		{name: "interior: Replace on node changes its ACL", p: s1, op: "Replace", uri: "./A?prop=ACL", v: chr("Get=*&Replace=s1"), status: 200, check: getIs(s3, "./A?prop=ACL", "Get=*&Replace=s1")},
		{name: "interior: no Replace anywhere 425", p: s2, op: "Replace", uri: "./A?prop=ACL", v: chr("Get=*"), status: 425},
		{name: "interior: Replace on parent suffices", p: s1, op: "Replace", uri: "./A/F?prop=ACL", v: chr("Get=s1"), status: 200},
		{name: "leaf: Replace on leaf does not allow ACL change", p: s1, op: "Replace", uri: "./Q/L?prop=ACL", v: chr("Get=*"), status: 425},
		{name: "leaf: Replace on leaf allows value change", p: s1, op: "Replace", uri: "./Q/L", v: chr("new"), status: 200},
		{name: "leaf: Replace on parent allows ACL change", p: s1, op: "Replace", uri: "./A/L?prop=ACL", v: chr("Get=s3"), status: 200, check: func(t *testing.T, tr *tree.Tree, _ tree.Result) {
			// Values never merge: the own ACL replaces the inherited one.
			run(t, tr, step{p: s1, op: "Get", uri: "./A/L", status: 425})
			run(t, tr, step{p: s3, op: "Get", uri: "./A/L", status: 200})
		}},
		{name: "bad ACL 400", p: s1, op: "Replace", uri: "./A?prop=ACL", v: chr("Get=a b"), status: 400},
		{name: "root ACL must keep a value", p: local, op: "Replace", uri: ".?prop=ACL", v: chr(""), status: 405},
		{name: "root default ACL", p: s3, op: "Get", uri: ".?prop=ACL", status: 200, check: dataIs("Add=*&Get=*")},
		{name: "root ACL: nobody has Replace", p: s1, op: "Replace", uri: ".?prop=ACL", v: chr("Add=*&Get=*&Replace=s1"), status: 425},
		{name: "empty ACL resets inheritance", p: s1, op: "Replace", uri: "./A/F?prop=ACL", v: chr(""), status: 200, check: getIs(s2, "./A/F?prop=ACL", "")},
		{name: "add exception: interior node", p: s2, op: "Add", uri: "./G/New", v: nodeV(), status: 200, check: getIs(local, "./G/New?prop=ACL", "Add=s2&Delete=s2&Get=s3+s2&Replace=s2")},
		{name: "add exception: creator may use the node", p: s2, op: "Add", uri: "./G/New", v: nodeV(), status: 200, check: func(t *testing.T, tr *tree.Tree, _ tree.Result) {
			run(t, tr, step{p: s2, op: "Add", uri: "./G/New/leaf", v: chr("x"), status: 200})
			run(t, tr, step{p: s2, op: "Get", uri: "./G/New/leaf", status: 200})
			run(t, tr, step{p: s3, op: "Get", uri: "./G/New/leaf", status: 200})
			run(t, tr, step{p: s1, op: "Get", uri: "./G/New/leaf", status: 425})
			run(t, tr, step{p: s2, op: "Delete", uri: "./G/New", status: 200})
		}},
		{name: "add exception: implicit parents", p: s2, op: "Add", uri: "./G/X/Y", v: chr("y"), status: 200, check: func(t *testing.T, tr *tree.Tree, _ tree.Result) {
			if got := getData(t, tr, local, "./G/X?prop=ACL"); got != "Add=s2&Delete=s2&Get=s3+s2&Replace=s2" {
				t.Errorf("implicit parent ACL %q", got)
			}
			if got := getData(t, tr, local, "./G/X/Y?prop=ACL"); got != "" {
				t.Errorf("leaf ACL %q, want empty", got)
			}
		}},
		{name: "add exception: not for leaves", p: s2, op: "Add", uri: "./G/leaf", v: chr("x"), status: 200, check: getIs(local, "./G/leaf?prop=ACL", "")},
		{name: "no exception with Replace on parent", p: s1, op: "Add", uri: "./A/New", v: nodeV(), status: 200, check: getIs(local, "./A/New?prop=ACL", "")},
		{name: "provider node ACL overlay", p: local, op: "Replace", uri: "./P/K?prop=ACL", v: chr("Get=s1"), status: 200, check: func(t *testing.T, tr *tree.Tree, _ tree.Result) {
			run(t, tr, step{p: s1, op: "Get", uri: "./P/K", status: 200})
			run(t, tr, step{p: s2, op: "Get", uri: "./P/K", status: 425})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := setup(t)
			r := run(t, tr, tt)
			if tt.check != nil {
				tt.check(t, tr, r)
			}
		})
	}
}

func TestRemoveServerFromACLs(t *testing.T) {
	tr, _ := fixture(t)
	must(t, tr.Replace(ctx, local, ".?prop=ACL", chr("Add=*&Get=*&Replace=s1")))
	must(t, tr.Replace(ctx, local, "./P/K?prop=ACL", chr("Get=s1+s2&Replace=s1")))
	must(t, tr.RemoveServerFromACLs(ctx, "s1"))
	for uri, want := range map[string]string{
		".?prop=ACL":     "Add=*&Get=*&Replace=*",
		"./A?prop=ACL":   "Get=s2",
		"./P/K?prop=ACL": "Get=s2",
		"./R?prop=ACL":   "Get=*",
	} {
		if got := getData(t, tr, local, uri); got != want {
			t.Errorf("%s: got %q, want %q", uri, got, want)
		}
	}
}

func TestProviderOperations(t *testing.T) {
	tr, m := fixture(t)
	must(t, tr.Add(ctx, local, "./P/D/x/y", chr("deep")))
	if got := getData(t, tr, s3, "./P/D/x"); got != "y" {
		t.Errorf("implicit provider parent lists %q, want y", got)
	}
	must(t, tr.Replace(ctx, local, "./P/K", typed("int", "5")))
	if got := getData(t, tr, s3, "./P/K?prop=Format"); got != "int" {
		t.Errorf("Format %q, want int", got)
	}
	must(t, tr.Replace(ctx, local, "./P/D/x?prop=Name", chr("z")))
	if got := getData(t, tr, s3, "./P/D/z/y"); got != "deep" {
		t.Errorf("after rename got %q", got)
	}
	must(t, tr.Delete(ctx, local, "./P/D/z"))
	if _, err := m.Get(ctx, "./P/D/z/y"); tree.StatusCode(err) != 404 {
		t.Errorf("provider still has deleted node: %v", err)
	}
	run(t, tr, step{p: local, op: "Add", uri: "./P/K/child", v: chr("x"), status: 405})
	run(t, tr, step{p: local, op: "Add", uri: "./P/K", v: chr("x"), status: 418})
	run(t, tr, step{p: local, op: "Add", uri: "./P", v: nodeV(), status: 418})
	// Read-only provider: writes are 405, the tree lists it under its parent.
	ro := treetest.NewMem("./X/RO")
	ro.Set("./X/RO/V", false, "1", "int", "", "")
	must(t, tr.Mount("./X/RO", ro.ReadOnly()))
	run(t, tr, step{p: local, op: "Replace", uri: "./X/RO/V", v: chr("2"), status: 405})
	run(t, tr, step{p: local, op: "Add", uri: "./X/RO/W", v: chr("2"), status: 405})
	run(t, tr, step{p: local, op: "Delete", uri: "./X/RO/V", status: 405})
	run(t, tr, step{p: local, op: "Exec", uri: "./X/RO/V", status: 405})
	if got := getData(t, tr, local, "./X"); got != "RO" {
		t.Errorf("./X lists %q, want RO", got)
	}
	if err := tr.Mount("./X/RO", ro); tree.StatusCode(err) != 418 {
		t.Errorf("double mount: got %v, want 418", err)
	}
	if err := tr.Mount("./X/RO/sub", ro); tree.StatusCode(err) != 418 {
		t.Errorf("nested mount: got %v, want 418", err)
	}
	if err := tr.Mount("./Inbox/x", ro); tree.StatusCode(err) != 400 {
		t.Errorf("mount in Inbox: got %v, want 400", err)
	}
}

func TestSecretDesc(t *testing.T) {
	tr, m := fixture(t)
	m.Set("./P/Pin", false, "1234", "chr", "", "")
	must(t, tr.Declare(tree.Desc{Path: "./P/Pin", Secret: true, Access: tree.AccessReplace}))
	run(t, tr, step{p: local, op: "Get", uri: "./P/Pin", status: 200})
	run(t, tr, step{p: s1, op: "Get", uri: "./P/Pin", status: 405})
	if !tr.IsSecret("./P/Pin") || !tr.IsSecret("./DMAcc/a/AppAuth/b/AAuthData") || tr.IsSecret("./P/K") {
		t.Errorf("IsSecret wrong")
	}
	n := tree.Node{URI: "./DMAcc/a/AppAuth/b/AAuthSecret", Value: []byte("hunter2"), Props: tree.Props{Format: "chr"}}
	if s := n.String(); contains(s, "hunter2") || !contains(s, tree.Masked) {
		t.Errorf("Node.String leaks the secret: %s", s)
	}
	r, err := tr.Get(ctx, local, "./DMAcc?list=StructData")
	must(t, err)
	for _, it := range r.Items {
		if string(it.Data) == "pw" {
			t.Errorf("StructData carries the secret value of %s", it.URI)
		}
	}
	r, err = tr.Get(ctx, local, "./DMAcc?list=TNDS")
	must(t, err)
	if contains(string(r.Items[0].Data), ">pw<") {
		t.Errorf("TNDS carries the secret value")
	}
	if len(tr.Descriptions()) != 4 {
		t.Errorf("Descriptions: got %d, want 4", len(tr.Descriptions()))
	}
}

func contains(s, sub string) bool { return len(sub) > 0 && len(s) >= len(sub) && indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestConformanceMem(t *testing.T) {
	treetest.Run(t, treetest.Config{
		Prefix: "./Vendor/Mem",
		New: func(t *testing.T) tree.Provider {
			m := treetest.NewMem("./Vendor/Mem")
			m.Set("./Vendor/Mem/A", false, "a", "chr", "text/plain", "")
			m.Set(tree.MustURI("./Vendor/Mem/S/é"), false, "1", "int", "text/plain", "")
			return m
		},
		Replace: []treetest.Case{{URI: "./Vendor/Mem/A", Value: chr("b")}},
		Add:     []treetest.Case{{URI: "./Vendor/Mem/N", Value: chr("n")}, {URI: "./Vendor/Mem/S/x/y", Value: nodeV()}},
	})
	treetest.Run(t, treetest.Config{
		Prefix: "./Vendor/RO",
		New: func(t *testing.T) tree.Provider {
			m := treetest.NewMem("./Vendor/RO")
			m.Set("./Vendor/RO/A", false, "a", "chr", "text/plain", "")
			return m.ReadOnly()
		},
		ReadOnly: []tree.URI{"./Vendor/RO/A"},
	})
}
