package tree_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
)

// FuzzTNDSImport adds arbitrary TNDS documents (XML or WBXML) to the fixture
// tree, at ./A and at ./Inbox, as a server: it must never panic, must answer
// with a DM status, and a failed import must leave the tree unchanged.
func FuzzTNDSImport(f *testing.F) {
	doc, _ := os.ReadFile("tnds/testdata/dmacc.xml")
	f.Add(doc, false, true)
	f.Add([]byte(`<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>n1</NodeName><Path>./B</Path><RTProperties><Format><int/></Format><ACL>Get=*</ACL></RTProperties><Value>1</Value></Node></MgmtTree>`), false, false)
	f.Add([]byte(`<MgmtTree><Node><NodeName>L</NodeName><Value>x</Value></Node></MgmtTree>`), false, false)
	f.Fuzz(func(t *testing.T, data []byte, wb, inbox bool) {
		tr, _ := fixture(t)
		v := tree.Value{Data: data, Type: tree.TypeTNDSXML}
		if wb {
			v.Type = tree.TypeTNDSWBXML
		}
		uri := "./A"
		if inbox {
			uri = "./Inbox"
		}
		before := snap(tr)
		err := tr.Add(ctx, s1, uri, v)
		switch code := tree.StatusCode(err); code {
		case 200:
		case 400, 403, 404, 405, 406, 414, 415, 418, 425:
			if !bytes.Equal(before, snap(tr)) {
				t.Fatalf("failed import (%v) changed the tree", err)
			}
		default:
			t.Fatalf("unexpected status %d: %v", code, err)
		}
	})
}
