package tree_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/tnds"
)

func tndsXML(s string) tree.Value {
	return tree.Value{Data: []byte(s), Format: "xml", Type: tree.TypeTNDSXML}
}

func TestInboxPlacement(t *testing.T) {
	doc, err := os.ReadFile("tnds/testdata/dmacc.xml")
	must(t, err)
	m, err := tnds.Unmarshal(doc, tnds.MIMEXML)
	must(t, err)
	wb, err := tnds.Marshal(m, tnds.MIMEWBXML)
	must(t, err)
	for _, v := range []tree.Value{tndsXML(string(doc)), {Data: wb, Format: "bin", Type: tree.TypeTNDSWBXML}} {
		t.Run(v.Type, func(t *testing.T) {
			tr, _ := fixture(t)
			run(t, tr, step{p: s1, op: "Add", uri: "./Inbox", v: v, status: 200})
			for uri, want := range map[string]string{
				"./DMAcc/acme/ServerID":                          "acme-dm",
				"./DMAcc/acme/PrefConRef":                        "./DMAcc/acme/ToConRef/c1",
				"./DMAcc/acme/AppAddr/a1/Addr":                   "https://dm.example.com/dm",
				"./DMAcc/acme?prop=Type":                         "org.openmobilealliance/1.0/w7",
				"./DMAcc/acme/AppAuth/srv/AAuthSecret":           "s3cret",
				"./DMAcc/acme/AppAuth/srv/AAuthData":             "\x00\x01\x02",
				"./DMAcc/acme/AppAuth/srv/AAuthData?prop=Format": "bin",
				"./DMAcc/acme?prop=ACL":                          "Add=s1&Delete=s1&Get=*&Replace=s1",
			} {
				if got := getData(t, tr, local, uri); got != want {
					t.Errorf("%s: got %q, want %q", uri, got, want)
				}
			}
			run(t, tr, step{p: s1, op: "Get", uri: "./DMAcc/acme/AppAuth/srv/AAuthSecret", status: 405})
			run(t, tr, step{p: s1, op: "Get", uri: "./Inbox", status: 405})
			for _, r := range tr.Snapshot().Records {
				if strings.HasPrefix(r.URI, "./Inbox/") {
					t.Errorf("Inbox keeps %s", r.URI)
				}
			}
		})
	}
}

func TestTNDSImportErrors(t *testing.T) {
	tests := []struct {
		name   string
		p      tree.Principal
		uri    string
		v      tree.Value
		status int
	}{
		{"unknown MO in inbox 406", s1, "./Inbox", tndsXML(`<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>x</NodeName><RTProperties><Type><DDFName>urn:x</DDFName></Type></RTProperties></Node></MgmtTree>`), 406},
		{"below inbox 405", s1, "./Inbox/sub", tndsXML(`<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>x</NodeName></Node></MgmtTree>`), 405},
		{"invalid TNDS 400", s1, "./A", tndsXML(`<MgmtTree><Node/></MgmtTree>`), 400},
		{"bad b64 400", s1, "./A", tndsXML(`<MgmtTree><Node><NodeName>x</NodeName><RTProperties><Format><bin/></Format></RTProperties><Value>!!</Value></Node></MgmtTree>`), 400},
		{"bad ACL 400", s1, "./A", tndsXML(`<MgmtTree><Node><NodeName>x</NodeName><RTProperties><ACL>Get</ACL></RTProperties></Node></MgmtTree>`), 400},
		{"second node exists 418, nothing added", s1, "./A", tndsXML(`<MgmtTree><Node><NodeName>fresh</NodeName><Node><NodeName>f</NodeName><Value>1</Value></Node></Node><Node><NodeName>L</NodeName><Value>x</Value></Node></MgmtTree>`), 418},
		{"denied 425", s2, "./A", tndsXML(`<MgmtTree><Node><NodeName>x</NodeName><Value>1</Value></Node></MgmtTree>`), 425},
		{"too long name 414", s1, "./A", tndsXML(`<MgmtTree><Node><NodeName>` + strings.Repeat("n", 30) + `</NodeName><Value>1</Value></Node></MgmtTree>`), 414},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := fixture(t)
			before := snap(tr)
			run(t, tr, step{p: tt.p, op: "Add", uri: tt.uri, v: tt.v, status: tt.status})
			if !bytes.Equal(snap(tr), before) {
				t.Errorf("failed TNDS Add changed the tree")
			}
		})
	}
}

func TestTNDSAddWithPath(t *testing.T) {
	tr, _ := fixture(t)
	run(t, tr, step{p: s1, op: "Add", uri: "./A", v: tndsXML(`<MgmtTree><VerDTD>1.2</VerDTD>
		<Node><NodeName>n1</NodeName><Path>./B</Path><RTProperties><Format><int/></Format><Title>one</Title></RTProperties><Value>1</Value></Node>
		<Node><NodeName>n2</NodeName><Path>sub/deeper</Path><Value>2</Value></Node></MgmtTree>`), status: 200})
	for uri, want := range map[string]string{
		"./A/B/n1":             "1",
		"./A/B/n1?prop=Format": "int",
		"./A/B/n1?prop=Title":  "one",
		"./A/sub/deeper/n2":    "2",
	} {
		if got := getData(t, tr, s1, uri); got != want {
			t.Errorf("%s: got %q, want %q", uri, got, want)
		}
	}
}

func TestTNDSExportImportRoundTrip(t *testing.T) {
	tr, _ := fixture(t)
	must(t, tr.Replace(ctx, local, "./A/B/C?prop=Title", chr("title")))
	must(t, tr.Add(ctx, local, "./A/Bin", typed("bin", "\x00\xff")))
	before := dump(t, tr, "./A")
	r, err := tr.Get(ctx, s1, "./A?list=TNDS")
	must(t, err)
	it := r.Items[0]
	if it.Type != tree.TypeTNDSXML || it.Format != "xml" || it.TNDS == nil {
		t.Fatalf("got item %+v", it)
	}
	if !bytes.Contains(it.Data, []byte("<NodeName>A</NodeName>")) || !bytes.Contains(it.Data, []byte("<ACL>Add=s1&amp;Delete=s1")) {
		t.Errorf("export: %s", it.Data)
	}
	must(t, tr.Delete(ctx, local, "./A"))
	run(t, tr, step{p: local, op: "Add", uri: ".", v: tndsXML(string(it.Data)), status: 200})
	if after := dump(t, tr, "./A"); after != before {
		t.Errorf("round trip differs:\n got %s\nwant %s", after, before)
	}
	if got := getData(t, tr, s1, "./A/B/C?prop=Title"); got != "title" {
		t.Errorf("Title lost: %q", got)
	}
	// WBXML re-encoding of the same model.
	if _, err := tnds.Marshal(it.TNDS, tnds.MIMEWBXML); err != nil {
		t.Errorf("WBXML re-encode: %v", err)
	}
}

func TestTNDSOptions(t *testing.T) {
	tr, _ := fixture(t)
	tests := []struct {
		uri       string
		has, hasn []string
	}{
		{"./A?list=TNDS+Value", []string{"<Value>v</Value>"}, []string{"<RTProperties>", "<ACL>"}},
		{"./A?list=TNDS+ACL+Format", []string{"<ACL>", "<Format><node>"}, []string{"<Value>", "<Type>"}},
		{"./A?list=TNDS-ACL", []string{"<Value>v</Value>", "<Format>"}, []string{"<ACL>"}},
		{"./A?list=TNDS-Value-Format", []string{"<ACL>"}, []string{"<Value>", "<Format>"}},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			d := getData(t, tr, s1, tt.uri)
			for _, s := range tt.has {
				if !strings.Contains(d, s) {
					t.Errorf("missing %q in %s", s, d)
				}
			}
			for _, s := range tt.hasn {
				if strings.Contains(d, s) {
					t.Errorf("unexpected %q in %s", s, d)
				}
			}
		})
	}
}

func TestTNDSReplaceSubtree(t *testing.T) {
	tr, _ := fixture(t)
	run(t, tr, step{p: s1, op: "Replace", uri: ".", v: tndsXML(`<MgmtTree><VerDTD>1.2</VerDTD>
		<Node><NodeName>A</NodeName><Node><NodeName>L</NodeName><Value>nv</Value></Node><Node><NodeName>New</NodeName><Value>x</Value></Node></Node></MgmtTree>`), status: 200})
	if got := getData(t, tr, s1, "./A"); got != "L/New" {
		t.Errorf("children %q, want L/New", got)
	}
	if got := getData(t, tr, s1, "./A/L"); got != "nv" {
		t.Errorf("L = %q", got)
	}
	// Without Delete rights the whole Replace fails and nothing changes.
	before := snap(tr)
	run(t, tr, step{p: s2, op: "Replace", uri: ".", v: tndsXML(`<MgmtTree><Node><NodeName>A</NodeName></Node></MgmtTree>`), status: 425})
	if !bytes.Equal(before, snap(tr)) {
		t.Errorf("failed Replace changed the tree")
	}
}

func TestListVisibility(t *testing.T) {
	tr, _ := fixture(t)
	r, err := tr.Get(ctx, s3, ".?list=Struct")
	must(t, err)
	var got []string
	for _, it := range r.Items {
		got = append(got, string(it.URI))
		if it.Data != nil {
			t.Errorf("Struct item %s has data", it.URI)
		}
	}
	want := "./.,./R,./Perm,./RO,./DMAcc,./DMAcc/srv,./DMAcc/srv/AppAuth,./DMAcc/srv/AppAuth/x,./P,./P/K,./P/D,./NT,./NT/K"
	if s := strings.Join(got, ","); s != strings.TrimPrefix(want, "./") {
		t.Errorf("got  %s\nwant %s", s, strings.TrimPrefix(want, "./"))
	}
	r, err = tr.Get(ctx, s1, "./A?list=StructData")
	must(t, err)
	if len(r.Items) != 5 || string(r.Items[1].Data) != "v" || r.Items[0].Data != nil || r.Items[1].Format != "chr" {
		t.Errorf("StructData: got %+v", r.Items)
	}
}
