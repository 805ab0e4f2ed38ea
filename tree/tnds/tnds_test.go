package tnds

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"reflect"
	"testing"
)

func TestDecodeXML(t *testing.T) {
	data, err := os.ReadFile("testdata/dmacc.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Unmarshal(data, MIMEXML)
	if err != nil {
		t.Fatal(err)
	}
	if m.VerDTD != "1.2" || len(m.Nodes) != 1 {
		t.Fatalf("got %+v", m)
	}
	root := m.Nodes[0]
	if root.NodeName != "acme" || root.RTProperties.Type.DDFName != "org.openmobilealliance/1.0/w7" || root.RTProperties.Format.Value != "node" || !root.Interior() {
		t.Errorf("root: got %+v", root)
	}
	if got := root.Nodes[0]; got.NodeName != "AppID" || *got.Value != "w7" || got.RTProperties.Format.Value != "chr" || got.RTProperties.Type.MIME != "text/plain" || got.Interior() {
		t.Errorf("AppID: got %+v", got)
	}
	if got := root.Nodes[4].Nodes[0].Nodes[2]; got.RTProperties.Format.Value != "b64" || *got.Value != "AAEC" {
		t.Errorf("AAuthData: got %+v", got)
	}
}

func TestRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/dmacc.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Unmarshal(data, MIMEXML)
	if err != nil {
		t.Fatal(err)
	}
	for _, mime := range []string{MIMEXML, MIMEWBXML} {
		t.Run(mime, func(t *testing.T) {
			enc, err := Marshal(m, mime)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Unmarshal(enc, mime)
			if err != nil {
				t.Fatalf("decode own %s: %v\n%q", mime, err, enc)
			}
			m2.XMLName = m.XMLName
			if !reflect.DeepEqual(m, m2) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", m2, m)
			}
			if mime == MIMEXML && !bytes.Contains(enc, []byte(`<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>`)) {
				t.Errorf("XML header: %.80s", enc)
			}
			if mime == MIMEXML && !bytes.Contains(enc, []byte(`<Format><node></node></Format>`)) {
				t.Errorf("Format encoding: %s", enc)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		mime string
		want error
	}{
		{"not xml", "<MgmtTree", MIMEXML, ErrInvalid},
		{"wrong root", "<Foo><VerDTD>1.2</VerDTD></Foo>", MIMEXML, ErrInvalid},
		{"no nodes", "<MgmtTree><VerDTD>1.2</VerDTD></MgmtTree>", MIMEXML, ErrInvalid},
		{"no NodeName", "<MgmtTree><Node><Value>x</Value></Node></MgmtTree>", MIMEXML, ErrInvalid},
		{"slash in NodeName", "<MgmtTree><Node><NodeName>a/b</NodeName></Node></MgmtTree>", MIMEXML, ErrInvalid},
		{"value and children", "<MgmtTree><Node><NodeName>a</NodeName><Node><NodeName>b</NodeName></Node><Value>x</Value></Node></MgmtTree>", MIMEXML, ErrInvalid},
		{"two formats", "<MgmtTree><Node><NodeName>a</NodeName><RTProperties><Format><chr/><int/></Format></RTProperties></Node></MgmtTree>", MIMEXML, ErrInvalid},
		{"empty format", "<MgmtTree><Node><NodeName>a</NodeName><RTProperties><Format></Format></RTProperties></Node></MgmtTree>", MIMEXML, ErrInvalid},
		{"unknown format", "<MgmtTree><Node><NodeName>a</NodeName><RTProperties><Format><chars/></Format></RTProperties></Node></MgmtTree>", MIMEXML, ErrInvalid},
		{"bad wbxml", "\x03\x01", MIMEWBXML, ErrInvalid},
		{"bad mime", "<MgmtTree/>", "text/plain", ErrUnsupportedMIME},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Unmarshal([]byte(tt.doc), tt.mime)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("<MgmtTree><VerDTD>1.2</VerDTD>")
	for range MaxDepth + 1 {
		b.WriteString("<Node><NodeName>n</NodeName>")
	}
	for range MaxDepth + 1 {
		b.WriteString("</Node>")
	}
	b.WriteString("</MgmtTree>")
	if _, err := Unmarshal(b.Bytes(), MIMEXML); !errors.Is(err, ErrInvalid) {
		t.Errorf("got %v, want ErrInvalid", err)
	}
}

func TestEncodeToXMLEncoder(t *testing.T) {
	var b bytes.Buffer
	v := "1"
	m := &MgmtTree{Nodes: []Node{{NodeName: "a", RTProperties: &RTProperties{ACL: new(string), Format: &Format{"int"}}, Value: &v}}}
	if err := Encode(xml.NewEncoder(&b), m); err != nil {
		t.Fatal(err)
	}
	want := `<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>a</NodeName><RTProperties><ACL></ACL><Format><int></int></Format></RTProperties><Value>1</Value></Node></MgmtTree>`
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}

func FuzzUnmarshal(f *testing.F) {
	data, _ := os.ReadFile("testdata/dmacc.xml")
	f.Add(data, false)
	f.Add([]byte(`<MgmtTree><VerDTD>1.2</VerDTD><Node><NodeName>a</NodeName><Value>x</Value></Node></MgmtTree>`), false)
	if m, err := Unmarshal(data, MIMEXML); err == nil {
		if w, err := Marshal(m, MIMEWBXML); err == nil {
			f.Add(w, true)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, wb bool) {
		mime := MIMEXML
		if wb {
			mime = MIMEWBXML
		}
		m, err := Unmarshal(data, mime)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// decode → encode → decode is stable, in both encodings.
		for _, out := range []string{MIMEXML, MIMEWBXML} {
			enc, err := Marshal(m, out)
			if err != nil {
				// Names the WBXML tables cannot carry are not a decode bug,
				// but XML must always re-encode.
				if out == MIMEXML {
					t.Fatalf("re-encode XML: %v", err)
				}
				continue
			}
			m2, err := Unmarshal(enc, out)
			if err != nil {
				t.Fatalf("decode own %s: %v", out, err)
			}
			enc2, err := Marshal(m2, out)
			if err != nil || !bytes.Equal(enc, enc2) {
				t.Fatalf("%s encoding unstable: %v", out, err)
			}
		}
	})
}
