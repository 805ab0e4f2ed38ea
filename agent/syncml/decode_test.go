package syncml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProblems checks the per-command tolerance of seed 003: invalid or
// unused elements become commands with a Problem, the rest decodes.
func TestProblems(t *testing.T) {
	m, err := DecodeXML(readCorpus(t, "27_unsupported_and_unknown.xml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, cmdID string
		want        error
		status      StatusCode
	}{
		{"Status", "1", nil, 200},
		{"Sync", "2", ErrUnsupportedCommand, 406},
		{"Map", "4", ErrUnsupportedCommand, 406},
		{"Put", "5", ErrUnsupportedCommand, 406},
		{"Search", "6", ErrUnsupportedCommand, 406},
		{"Frobnicate", "7", ErrUnknownElement, 400},
		{"Replace", "", ErrMissingCmdID, 400},
		{"Get", "8", ErrUnsupportedElement, 406},
		{"Delete", "9", ErrUnsupportedElement, 406},
		{"Add", "10", ErrUnsupportedElement, 406},
		{"Atomic", "11", nil, 200},
	}
	if len(m.Body) != len(tests) {
		t.Fatalf("got %d commands, want %d", len(m.Body), len(tests))
	}
	for i, tt := range tests {
		c := m.Body[i]
		t.Run(tt.kind, func(t *testing.T) {
			if c.Kind != tt.kind || c.CmdID != tt.cmdID {
				t.Errorf("got %s/%q, want %s/%q", c.Kind, c.CmdID, tt.kind, tt.cmdID)
			}
			if !errors.Is(c.Problem, tt.want) || (tt.want == nil) != (c.Problem == nil) {
				t.Errorf("got Problem %v, want %v", c.Problem, tt.want)
			}
			if got := ProblemStatus(c.Problem); got != tt.status {
				t.Errorf("got status %v, want %v", got, tt.status)
			}
			if c.Pos.Offset <= 0 || !strings.HasPrefix(c.Pos.Path, "SyncML/SyncBody/") {
				t.Errorf("got Pos %v, want a path under SyncBody and an offset", c.Pos)
			}
		})
	}
	// The Atomic's children are answered one by one.
	at := m.Body[10]
	if len(at.Children) != 2 || !errors.Is(at.Children[0].Problem, ErrUnsupportedCommand) || !errors.Is(at.Children[1].Problem, ErrMissingCmdID) {
		t.Errorf("got Atomic children %+v, want Put(406) and Replace without CmdID", at.Children)
	}
	if p := at.Children[1].Pos.Path; p != "SyncML/SyncBody/Atomic/Replace" {
		t.Errorf("got path %q, want SyncML/SyncBody/Atomic/Replace", p)
	}
	// Offsets point at the start tag.
	data := readCorpus(t, "27_unsupported_and_unknown.xml")
	for _, c := range m.Body {
		if !bytes.HasPrefix(data[c.Pos.Offset:], []byte("<"+c.Kind)) {
			t.Errorf("%s: offset %d does not point at <%s", c.Kind, c.Pos.Offset, c.Kind)
		}
	}
	// Unknown elements survive re-encoding.
	x, err := EncodeXML(m, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<Frobnicate><CmdID>7</CmdID><Knob>11</Knob></Frobnicate>", "<Lang>en</Lang>", "<Archive/>", "<SftDel/>", "<NoResults/>", "<MapItem>"} {
		if !bytes.Contains(x, []byte(s)) {
			t.Errorf("re-encoded message lacks %s", s)
		}
	}
}

func TestAtomicNesting(t *testing.T) {
	m, err := DecodeXML(readCorpus(t, "12_atomic_invalid_nesting.xml"))
	if err != nil {
		t.Fatal(err)
	}
	at := m.Body[1]
	if at.Kind != KindAtomic || len(at.Children) != 2 {
		t.Fatalf("got %s with %d children, want Atomic with 2", at.Kind, len(at.Children))
	}
	in := at.Children[0]
	if in.Kind != KindAtomic || len(in.Children) != 1 || in.Children[0].Kind != KindAdd || in.Problem != nil {
		t.Errorf("got nested %+v, want Atomic{Add} without decode problem (the session answers 500)", in)
	}
	if at.Children[1].Kind != KindGet {
		t.Errorf("got %s, want Get", at.Children[1].Kind)
	}
}

func TestDecodeErrors(t *testing.T) {
	vec := vectorBytes(t)
	tests := []struct {
		name  string
		in    []byte
		field string
		off   int64
	}{
		{"empty", nil, "SyncML", 0},
		{"not xml", []byte("hello"), "SyncML", 0},
		{"wrong root", []byte(`<Foo xmlns="SYNCML:SYNCML1.2"/>`), "Foo", 0},
		{"wrong namespace", []byte(`<SyncML xmlns="urn:x"><SyncHdr/></SyncML>`), "SyncML", 0},
		{"no SyncHdr", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody/></SyncML>`), "SyncML/SyncBody", 33},
		{"nothing", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"></SyncML>`), "SyncML", 0},
		{"truncated", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>`), "SyncML/SyncHdr", 62},
		{"mismatched", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr></SyncBody></SyncML>`), "SyncML/SyncHdr", 53},
		{"bad entity", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><MsgID>&nbsp;</MsgID></SyncHdr></SyncML>`), "SyncML/SyncHdr/MsgID", 55},
		{"trailing element", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr/></SyncML><x/>`), "x", 52},
		{"wbxml truncated", vec[:100], "wbxml STR_I", 95},
		{"wbxml header only", vec[:5], "wbxml", 5},
		{"wbxml bad version", append([]byte{0x09}, vec[1:]...), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := Decode(tt.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, %v; want a *DecodeError", m, err)
			}
			if m != nil {
				t.Errorf("got a message with an error")
			}
			if tt.field != "" && !strings.HasPrefix(de.Field, tt.field) {
				t.Errorf("got Field %q, want prefix %q (%v)", de.Field, tt.field, err)
			}
			if tt.field != "" && de.Offset != tt.off {
				t.Errorf("got Offset %d, want %d (%v)", de.Offset, tt.off, err)
			}
		})
	}
}

func TestLenientNamespaces(t *testing.T) {
	tests := []struct{ name, in string }{
		{"1.1", `<SyncML xmlns="SYNCML:SYNCML1.1"><SyncHdr><MsgID>1</MsgID><Meta><MaxMsgSize xmlns="syncml:metinf">99</MaxMsgSize></Meta></SyncHdr><SyncBody><Final/></SyncBody></SyncML>`},
		{"1.0 lower", `<SyncML xmlns="syncml:syncml1.0"><SyncHdr><MsgID>1</MsgID><Meta><MaxMsgSize>99</MaxMsgSize></Meta></SyncHdr><SyncBody><Final/></SyncBody></SyncML>`},
		{"none", `<SyncML><SyncHdr><MsgID>1</MsgID><Meta><MetInf xmlns="syncml:metinf"><MaxMsgSize>99</MaxMsgSize></MetInf></Meta></SyncHdr><SyncBody><Final/></SyncBody></SyncML>`},
		{"prefixed metinf", `<SyncML xmlns="SYNCML:SYNCML1.2" xmlns:m="syncml:metinf"><SyncHdr><MsgID>1</MsgID><Meta><m:MaxMsgSize>99</m:MaxMsgSize></Meta></SyncHdr><SyncBody><Final/></SyncBody></SyncML>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeXML([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if n, ok := m.Hdr.Meta.MaxMsgSizeInt(); !ok || n != 99 || m.Hdr.MsgID != "1" || !m.Final {
				t.Errorf("got %+v, want MsgID 1, MaxMsgSize 99, Final", m.Hdr)
			}
			out, err := EncodeXML(m, "")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte(`<SyncML xmlns="SYNCML:SYNCML1.2">`)) || !bytes.Contains(out, []byte(`<MaxMsgSize xmlns="syncml:metinf">99</MaxMsgSize>`)) {
				t.Errorf("got %s, want a 1.2 message with a MetInf namespace", out)
			}
		})
	}
}

func TestTextExact(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"plain", `hello`, "hello"},
		{"spaces kept", `  two  spaces  `, "  two  spaces  "},
		{"entities", `a &lt; b &amp; &#x1F600;&#65;`, "a < b & 😀A"},
		{"cdata", `<![CDATA[<x> & y]]>`, "<x> & y"},
		{"mixed cdata", `pre <![CDATA[<in>]]> post`, "pre <in> post"},
		{"empty", ``, ""},
		{"newlines", "l1\nl2&#xD;\n", "l1\nl2\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr/><SyncBody><Replace><CmdID>1</CmdID><Item><Data>` + tt.data + `</Data></Item></Replace></SyncBody></SyncML>`
			m, err := DecodeXML([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Body[0].Items[0].Data.Text; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			for _, enc := range []Encoding{XML, WBXML} {
				b, err := Encode(m, enc)
				if err != nil {
					t.Fatal(err)
				}
				m2, _, err := Decode(b)
				if err != nil {
					t.Fatal(err)
				}
				if got := m2.Body[0].Items[0].Data.Text; got != tt.want {
					t.Errorf("%v round trip: got %q, want %q", enc, got, tt.want)
				}
			}
		})
	}
}

func TestTreeData(t *testing.T) {
	data := readCorpus(t, "20_tnds_add.xml")
	m, err := DecodeXML(data)
	if err != nil {
		t.Fatal(err)
	}
	d := m.Body[1].Items[0].Data
	if !d.IsTree() || d.Text != "" {
		t.Fatalf("got %+v, want a tree", d)
	}
	// From XML the tree is the input's own bytes.
	if !bytes.HasPrefix(d.Tree, []byte(`<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>`)) || !bytes.HasSuffix(d.Tree, []byte(`</MgmtTree>`)) || !bytes.Contains(data, d.Tree) {
		t.Errorf("got tree %s, want the MgmtTree bytes of the input", d.Tree)
	}
	// Through WBXML it is an embedded document and comes back equal.
	w, err := Encode(m, WBXML)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := DecodeWBXML(w)
	if err != nil {
		t.Fatal(err)
	}
	got := mw.Body[1].Items[0]
	if !bytes.Equal(canonicalXML(t, got.Data.Tree), canonicalXML(t, d.Tree)) {
		t.Errorf("got tree %s, want %s", got.Data.Tree, d.Tree)
	}
	if got.Meta.Type != "application/vnd.syncml.dmtnds+xml" {
		t.Errorf("got Type %q after WBXML, want ...dmtnds+xml", got.Meta.Type)
	}
	// Setting a tree.
	tree := []byte(`<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>A</NodeName><Value>&lt;v&gt;</Value></Node></MgmtTree>`)
	m.Body[1].Items[0].Data = TreeData(tree)
	x, err := EncodeXML(m, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(x, append(append([]byte("<Data>"), tree...), "</Data>"...)) {
		t.Errorf("tree not written intact: %s", x)
	}
	m.Body[1].Items[0].Data = TreeData([]byte(`<MgmtTree><unclosed></MgmtTree>`))
	for _, enc := range []Encoding{XML, WBXML} {
		var ee *EncodeError
		if _, err := Encode(m, enc); !errors.As(err, &ee) {
			t.Errorf("%v: got %v, want an EncodeError for a broken tree", enc, err)
		}
	}
}

func TestEncodeNotXMLText(t *testing.T) {
	m := &Message{Hdr: Header{MsgID: "1"}, Body: []*Command{{Kind: KindReplace, CmdID: "1",
		Items: []*Item{{Target: &Location{LocURI: "./a"}, Meta: &Meta{Format: "bin"}, Data: TextData("\x00\x01\xff")}}}}}
	_, err := Encode(m, XML)
	var ee *EncodeError
	if !errors.As(err, &ee) || !errors.Is(err, ErrNotXMLText) || !strings.Contains(ee.Field, "Data") {
		t.Fatalf("got %v, want EncodeError ErrNotXMLText in Data", err)
	}
	// WBXML carries it as opaque.
	w, err := Encode(m, WBXML)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeWBXML(w)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Body[0].Items[0].Data.Text; got != "\x00\x01\xff" {
		t.Errorf("got %q, want the binary data", got)
	}
}

func TestIndentedXML(t *testing.T) {
	m, err := DecodeXML(readCorpus(t, "01_pkg1_vector_3_4.xml"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := EncodeXML(m, "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(x, []byte("\n    <VerDTD>1.2</VerDTD>\n")) || !bytes.Contains(x, []byte("\n        <Format xmlns=\"syncml:metinf\">b64</Format>\n")) {
		t.Errorf("got %s, want indented XML", x)
	}
	m2, err := DecodeXML(x)
	if err != nil {
		t.Fatal(err)
	}
	if !sameMessage(t, m2, m) {
		t.Errorf("indented XML decodes to a different message")
	}
}

func TestCodes(t *testing.T) {
	tests := []struct{ got, want string }{
		{AlertGeneric.String(), "GENERIC_ALERT"},
		{AlertCode(1105).String(), "1105"},
		{StatusNotFound.String(), "404 Not found"},
		{StatusAtomicResponseTooLarge.Text(), "Atomic response too large to fit"},
		{StatusCode(999).String(), "999"},
		{WBXML.ContentType(), "application/vnd.syncml.dm+wbxml"},
		{XML.ContentType(), "application/vnd.syncml.dm+xml"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if !AlertTextInput.IsUI() || AlertGeneric.IsUI() {
		t.Errorf("IsUI wrong")
	}
	c := &Command{Kind: KindAlert, Data: " 1226 "}
	if a, ok := c.AlertCode(); !ok || a != AlertGeneric {
		t.Errorf("got %v %v, want 1226", a, ok)
	}
}

func TestDecodeDepthLimit(t *testing.T) {
	deep := `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr/><SyncBody>` + strings.Repeat("<Atomic><CmdID>1</CmdID>", 200) +
		strings.Repeat("</Atomic>", 200) + `</SyncBody></SyncML>`
	_, err := DecodeXML([]byte(deep))
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, errTooDeep) {
		t.Fatalf("got %v, want a DecodeError for nesting", err)
	}
	ok := `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr/><SyncBody>` + strings.Repeat("<Sequence><CmdID>1</CmdID>", 20) +
		strings.Repeat("</Sequence>", 20) + `</SyncBody></SyncML>`
	if _, err := DecodeXML([]byte(ok)); err != nil {
		t.Fatalf("20 levels: %v", err)
	}
}

// TestWBXMLPositions: positions decoded from WBXML point at the command's
// tag token.
func TestWBXMLPositions(t *testing.T) {
	m, err := DecodeXML(readCorpus(t, "35_server_pkg2_mixed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(m, WBXML)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeWBXML(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hdr.Pos.Offset <= 0 {
		t.Errorf("got SyncHdr offset %d, want > 0", back.Hdr.Pos.Offset)
	}
	var check func(cmds []*Command)
	check = func(cmds []*Command) {
		for _, c := range cmds {
			_, tok, ok := wbxml.SyncML12.Tag(xml.Name{Space: NSSyncML12, Local: c.Kind})
			if !ok {
				continue
			}
			if c.Pos.Offset <= 0 || c.Pos.Offset >= int64(len(data)) || data[c.Pos.Offset]&0x3f != tok {
				t.Errorf("%s %s: offset %d does not point at its tag 0x%02X", c.Kind, c.CmdID, c.Pos.Offset, tok)
			}
			check(c.Children)
		}
	}
	check(back.Body)
	if len(back.Body) == 0 {
		t.Fatal("no commands")
	}
}
