package bootstrap

import (
	"bytes"
	"context"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
)

// fuzzApply applies doc to a fresh tree: it must never panic; a refused
// document leaves the tree as it was, and an accepted one leaves only valid
// (or address-less) accounts, each listed in the report.
func fuzzApply(t *testing.T, doc []byte) {
	ctx := context.Background()
	tr := newTree(t)
	before := snapshot(tr)
	rep, err := Apply(ctx, tr, doc, Options{Origin: "fuzz"})
	if err != nil {
		if !bytes.Equal(before, snapshot(tr)) {
			t.Fatalf("refused document (%v) changed the tree", err)
		}
		if len(rep.Added) != 0 {
			t.Fatalf("refused document reports Added %v", rep.Added)
		}
		return
	}
	s := dmacc.New(tr)
	nodes, err := s.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != len(rep.Nodes) {
		t.Fatalf("tree has accounts %v, report says %v", nodes, rep.Nodes)
	}
	for _, n := range nodes {
		if _, err := s.Check(ctx, n); err != nil {
			if ie, ok := err.(*dmacc.InvalidError); !ok || !ie.OnlyNoAddress() {
				t.Fatalf("accepted document left invalid account %s: %v", n, err)
			}
		}
	}
}

func FuzzCPImport(f *testing.F) {
	f.Add(readVector(f, "cp-w7.wbxml"))
	f.Add(readVector(f, "cp-w7.xml"))
	f.Add(cpDoc(w7("b.example", `<parm name="NAME" value="B"/>`), w7("c.example", "")))
	f.Add(cpDoc(`<characteristic type="APPLICATION"><parm name="APPID" value="w7"/><parm name="PROVIDER-ID" value="p"/></characteristic>`))
	if enc, err := wbxml.FromXML(bytes.NewReader(cpDoc(w7("d.example", `<characteristic type="APPAUTH"><parm name="AAUTHLEVEL" value="APPSRV"/><parm name="AAUTHTYPE" value="HTTP-DIGEST"/><parm name="AAUTHDATA" value="AAEC"/></characteristic>`)))); err == nil {
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if k, _, err := Detect(doc); err == nil && k != KindCP {
			return // FuzzDMBootstrap covers DM documents
		}
		fuzzApply(t, doc)
	})
}

func FuzzDMBootstrap(f *testing.F) {
	for _, name := range []string{"dm-bootstrap.wbxml", "dm-bootstrap.xml", "dm-inbox-tnds.xml", "dm-inbox-tnds.wbxml"} {
		f.Add(readVector(f, name))
	}
	f.Add(dmDoc(add("./DMAcc/z/AppID", "w7") + add("./DMAcc/z/ServerID", "z") + add("./DMAcc/z/AppAddr/a/Addr", "http://z/")))
	f.Add(dmDoc(`<Atomic><CmdID>1</CmdID>` + add("./DMAcc/q/AppID", "w7") + `</Atomic>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if k, _, err := Detect(doc); err == nil && k != KindDM {
			return
		}
		fuzzApply(t, doc)
	})
}
