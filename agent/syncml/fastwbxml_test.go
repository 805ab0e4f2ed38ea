package syncml

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

// genericCommand encodes cmd as the body of its own document with the
// general WBXML encoder, as the Builder did before fastSink.
func genericCommand(cmd *Command) ([]byte, byte, error) {
	e := wbxml.NewEncoder(nil, wbxml.SyncML12)
	s := &tokenSink{w: e}
	writeCommand(s, cmd)
	if s.err != nil {
		return nil, 0, s.err
	}
	body, err := e.Body()
	return body, e.CodePage(), err
}

// checkFast compares fastSink with the general encoder on every command of
// m (nested ones too) and returns how many fastSink wrote itself.
func checkFast(t *testing.T, cmds []*Command) int {
	t.Helper()
	n := 0
	var f fastSink
	for _, c := range cmds {
		f.reset()
		writeCommand(&f, c)
		want, page, err := genericCommand(c)
		if !f.bail {
			n++
			if err != nil {
				t.Fatalf("%s %s: fastSink wrote %x, the encoder fails: %v", c.Kind, c.CmdID, f.buf, err)
			}
			if !bytes.Equal(f.buf, want) || f.page != page {
				t.Fatalf("%s %s: fastSink wrote %x (page %d), the encoder %x (page %d)", c.Kind, c.CmdID, f.buf, f.page, want, page)
			}
		}
		n += checkFast(t, c.Children)
	}
	return n
}

func TestFastSinkMatchesEncoder(t *testing.T) {
	total := 0
	for _, f := range loadCorpus(t) {
		m, err := DecodeXML(f.data)
		if err != nil {
			t.Fatal(err)
		}
		total += checkFast(t, m.Body)
	}
	tricky := []*Command{
		{Kind: KindStatus, CmdID: "0", Data: "a\x00b\x00", SourceRefs: []string{"\x00"}},
		{Kind: KindReplace, CmdID: "1", Items: []*Item{{Target: &Location{LocURI: "./a"}, Data: TextData("nul\x00in\x00\x00side")}}},
		{Kind: KindAdd, CmdID: "2", Items: []*Item{{Target: &Location{LocURI: "./a"}, Data: TextData("\x02\xa4\x01\x6a")}}},
		{Kind: KindAdd, CmdID: "3", Items: []*Item{{Meta: &Meta{Type: "application/vnd.syncml.dmtnds+xml"}, Data: TextData("<x/>")}}},
		{Kind: KindReplace, CmdID: "4", Meta: &Meta{Type: "application/vnd.syncml-devinf+wbxml"}, Items: []*Item{{Data: TextData("d")}}},
		{Kind: KindStatus, CmdID: "5", Data: "  ", TargetRefs: []string{" ", "x"}, Chal: &Chal{Meta: &Meta{Format: "b64", Type: "syncml:auth-md5", NextNonce: "bm9uY2U="}}},
		{Kind: KindResults, CmdID: "6", Meta: &Meta{Format: "int", EMI: []string{"a", ""}}, Items: []*Item{{Source: &Location{LocURI: "./b", LocName: "n"}, Data: TextData(strings.Repeat("x", 300))}}},
		{Kind: KindAlert, CmdID: "7", Data: "1226", Correlator: "c", Items: []*Item{{Meta: &Meta{Type: "x", Mark: "critical"}, Data: TextData("")}}},
		{Kind: KindGet, CmdID: "8", Items: []*Item{{Target: &Location{LocURI: "./c"}, Extra: []*Element{{Name: xml.Name{Space: NSSyncML12, Local: "Format"}, Text: "chr"}}}}},
		{Kind: KindExec, CmdID: "9", Cred: &Cred{Meta: &Meta{Type: "syncml:auth-basic"}, Data: "dXNlcjpwYXNz"}, NoResp: true},
		{Kind: KindDelete, CmdID: "10", Meta: &Meta{Extra: []*Element{{Name: xml.Name{Local: "Anchor"}, Text: "1"}}}},
		{Kind: KindReplace, CmdID: "11", Items: []*Item{{Data: TreeData([]byte(`<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree>`))}}},
	}
	deep := &Command{Kind: KindAtomic, CmdID: "d"}
	for i, c := 0, deep; i < 70; i++ {
		c.Children = []*Command{{Kind: KindSequence, CmdID: "s"}}
		c = c.Children[0]
	}
	tricky = append(tricky, deep, &Command{Kind: KindAtomic, CmdID: "12", Children: tricky[:7]})
	total += checkFast(t, tricky)
	if total < 100 {
		t.Errorf("fastSink wrote only %d commands itself, want most of them", total)
	}
}

// FuzzFastSink decodes arbitrary XML and compares fastSink with the general
// encoder on every command.
func FuzzFastSink(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeXML(data)
		if err != nil {
			return
		}
		checkFast(t, m.Body)
	})
}
