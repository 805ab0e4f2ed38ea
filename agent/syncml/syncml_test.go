package syncml

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

// vector34 is the WBXML of protocol.md §3.4 (libwbxml xml2wbxml -n -v 1.2).
const vector34 = `02a4016a006d6c7103312e3200017203444d2f312e3200016503313233340001
5b033100016e570368747470733a2f2f646d2e6578616d706c652e636f6d2f64
6d000101675703494d45493a3439333030353130303539323830300001560342
72756365320001014e5a000147036236340001530373796e636d6c3a61757468
2d6d643500010100004f035a7a36456976523379656161454e63524e366c7041
513d3d0001015a00014c03313030303000015503353234323838000101010000
6b464b033100014f0331323030000101604b03320001546757032e2f44657649
6e666f2f44657649640001015a0001470363687200010100004fc314494d4549
3a3439333030353130303539323830300101546757032e2f446576496e666f2f
446d560001014fc303312e32010101120101`

func vectorBytes(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(vector34), ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 306 {
		t.Fatalf("vector has %d bytes, want 306", len(b))
	}
	return b
}

func TestVector34(t *testing.T) {
	want := vectorBytes(t)
	var xmlIn []byte
	for _, f := range loadCorpus(t) {
		if strings.HasPrefix(f.name, "01_pkg1_vector") {
			xmlIn = f.data
		}
	}
	m, err := DecodeXML(xmlIn)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Encode(m, WBXML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("WBXML encoding differs from the §3.4 vector\ngot  %x\nwant %x", got, want)
	}
	back, enc, err := Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	if enc != WBXML {
		t.Errorf("got encoding %v, want WBXML", enc)
	}
	if !sameMessage(t, back, m) {
		t.Errorf("decoded vector differs from the XML model")
	}
	// Spot checks on the decoded model.
	if back.Hdr.Cred == nil || back.Hdr.Cred.Data != "Zz6EivR3yeaaENcRN6lpAQ==" || back.Hdr.Cred.Meta.Type != "syncml:auth-md5" {
		t.Errorf("got Cred %+v, want the md5 credential", back.Hdr.Cred)
	}
	if n, ok := back.Hdr.Meta.MaxMsgSizeInt(); !ok || n != 10000 {
		t.Errorf("got MaxMsgSize %d %v, want 10000", n, ok)
	}
	if len(back.Body) != 2 || back.Body[1].Items[0].Data.Text != "IMEI:493005100592800" || !back.Final {
		t.Errorf("got body %+v, want Alert+Replace+Final", back.Body)
	}
	// The Builder produces the same bytes.
	b, err := NewBuilder(WBXML, &m.Hdr)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Body {
		if err := b.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.Bytes(true); !bytes.Equal(got, want) {
		t.Errorf("Builder bytes differ from the vector\ngot  %x\nwant %x", got, want)
	}
	if b.Size() != len(want) {
		t.Errorf("got Builder.Size %d, want %d", b.Size(), len(want))
	}
}

func TestCorpusRoundTrip(t *testing.T) {
	for _, f := range loadCorpus(t) {
		t.Run(f.name, func(t *testing.T) {
			m, enc, err := Decode(f.data)
			if err != nil {
				t.Fatal(err)
			}
			if enc != XML {
				t.Fatalf("got encoding %v, want XML", enc)
			}
			x, err := Encode(m, XML)
			if err != nil {
				t.Fatal(err)
			}
			mx, err := DecodeXML(x)
			if err != nil {
				t.Fatalf("re-decode: %v\n%s", err, x)
			}
			if !sameMessage(t, mx, m) {
				t.Fatalf("XML→model→XML→model differs\n%s", x)
			}
			x2, err := Encode(mx, XML)
			if err != nil || !bytes.Equal(x2, x) {
				t.Errorf("second XML encoding differs (err %v)", err)
			}
			w, err := Encode(m, WBXML)
			if err != nil {
				t.Fatal(err)
			}
			mw, enc, err := Decode(w)
			if err != nil {
				t.Fatalf("decode our WBXML: %v", err)
			}
			if enc != WBXML {
				t.Errorf("got encoding %v, want WBXML", enc)
			}
			if !sameMessage(t, mw, m) {
				xw, _ := EncodeXML(mw, "")
				t.Fatalf("XML→WBXML→model differs\nwant %s\ngot  %s", x, xw)
			}
			w2, err := Encode(mw, WBXML)
			if err != nil || !bytes.Equal(w2, w) {
				t.Errorf("second WBXML encoding differs (err %v)", err)
			}
		})
	}
}

func TestBuilderExact(t *testing.T) {
	for _, f := range loadCorpus(t) {
		m, err := DecodeXML(f.data)
		if err != nil {
			t.Fatal(err)
		}
		for _, enc := range []Encoding{XML, WBXML} {
			t.Run(f.name+"/"+enc.String(), func(t *testing.T) {
				b, err := NewBuilder(enc, &m.Hdr)
				if err != nil {
					t.Fatal(err)
				}
				for i, c := range m.Body {
					if enc == WBXML && errors.Is(c.Problem, ErrUnknownElement) {
						// Unknown elements need a string table: not streamable.
						var ee *EncodeError
						if _, err := b.SizeOf(c); !errors.As(err, &ee) {
							t.Errorf("command %d: got %v, want an EncodeError", i, err)
						}
						return
					}
					before := b.Size()
					n, err := b.SizeOf(c)
					if err != nil {
						t.Fatal(err)
					}
					if !b.Fits(c, before+n) || b.Fits(c, before+n-1) {
						t.Errorf("command %d: Fits disagrees with SizeOf %d", i, n)
					}
					if err := b.Add(c); err != nil {
						t.Fatal(err)
					}
					if got := b.Size(); got != before+n {
						t.Errorf("command %d: got Size %d after Add, want %d", i, got, before+n)
					}
					if got := len(b.Bytes(true)); got != b.Size() {
						t.Errorf("command %d: got len(Bytes(true)) %d, want Size %d", i, got, b.Size())
					}
				}
				mm := *m
				mm.Extra = nil
				for _, final := range []bool{true, false} {
					mm.Final = final
					want, err := Encode(&mm, enc)
					if err != nil {
						t.Fatal(err)
					}
					if got := b.Bytes(final); !bytes.Equal(got, want) {
						t.Errorf("final=%v: Builder bytes differ from Encode\ngot  %q\nwant %q", final, got, want)
					}
				}
				if b.Len() != len(m.Body) {
					t.Errorf("got Len %d, want %d", b.Len(), len(m.Body))
				}
			})
		}
	}
}

func TestBuilderEmpty(t *testing.T) {
	hdr := &Header{VerDTD: VerDTD12, VerProto: VerProtoDM, SessionID: "1", MsgID: "1",
		Target: &Location{LocURI: "https://s"}, Source: &Location{LocURI: "IMEI:1"},
		Meta: &Meta{MaxMsgSize: "5000"}}
	for _, enc := range []Encoding{XML, WBXML} {
		for _, final := range []bool{true, false} {
			b, err := NewBuilder(enc, hdr)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Encode(&Message{Hdr: *hdr, Final: final}, enc)
			if err != nil {
				t.Fatal(err)
			}
			got := b.Bytes(final)
			if !bytes.Equal(got, want) {
				t.Errorf("%v final=%v: got %x, want %x", enc, final, got, want)
			}
			if final && b.Size() != len(got) {
				t.Errorf("%v: got Size %d, want %d", enc, b.Size(), len(got))
			}
			if _, _, err := Decode(got); err != nil {
				t.Errorf("%v final=%v: %v", enc, final, err)
			}
		}
	}
}

// TestSameMessageDetectsDifferences guards the comparison used by the round
// trip, oracle and fuzz tests against being vacuous.
func TestSameMessageDetectsDifferences(t *testing.T) {
	base := func() *Message {
		m, err := DecodeXML(readCorpus(t, "20_tnds_add.xml"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name   string
		mutate func(m *Message)
	}{
		{"header", func(m *Message) { m.Hdr.MsgID = "9" }},
		{"final", func(m *Message) { m.Final = !m.Final }},
		{"command kind", func(m *Message) { m.Body[1].Kind = KindReplace }},
		{"meta", func(m *Message) { m.Body[1].Items[0].Meta.Format = "chr" }},
		{"tree", func(m *Message) {
			m.Body[1].Items[0].Data.Tree = bytes.Replace(m.Body[1].Items[0].Data.Tree, []byte("red"), []byte("blue"), 1)
		}},
		{"dropped command", func(m *Message) { m.Body = m.Body[:1] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.mutate(m)
			if sameMessage(t, m, base()) {
				t.Errorf("sameMessage misses a change of %s", tt.name)
			}
		})
	}
	if !sameMessage(t, base(), base()) {
		t.Errorf("sameMessage says a message differs from itself")
	}
}

// TestBuilderCodePage: a command whose last tag lands on the MetInf page
// although its element carries the SyncML namespace (a MetInf element found
// outside Meta) must still be followed by a switch back to page 0.
func TestBuilderCodePage(t *testing.T) {
	hdr := benchHeader("1")
	m := &Message{Hdr: hdr, Final: true, Body: []*Command{
		{Kind: KindReplace, CmdID: "1", Items: []*Item{{Target: &Location{LocURI: "./a"}, Data: TextData("x"),
			Extra: []*Element{{Name: xml.Name{Space: NSSyncML12, Local: "Format"}, Text: "chr"}}}}},
		{Kind: KindGet, CmdID: "2", Items: []*Item{{Target: &Location{LocURI: "./b"}}}},
	}}
	want, err := Encode(m, WBXML)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(WBXML, &m.Hdr)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Body {
		if err := b.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.Bytes(true); !bytes.Equal(got, want) {
		t.Errorf("got  %x\nwant %x", got, want)
	}
	back, err := DecodeWBXML(b.Bytes(true))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Body) != 2 || back.Body[1].Kind != KindGet {
		t.Errorf("got %d commands, want Replace and Get", len(back.Body))
	}
}
