package wbxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestMbUint32(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    uint32
		wantErr error
	}{
		{"zero", []byte{0x00}, 0, nil},
		{"one byte", []byte{0x7f}, 0x7f, nil},
		{"two bytes 0x1201", []byte{0xa4, 0x01}, 0x1201, nil},
		{"max", []byte{0x8f, 0xff, 0xff, 0xff, 0x7f}, 0xffffffff, nil},
		{"overflow 33 bits", []byte{0x90, 0x80, 0x80, 0x80, 0x00}, 0, ErrOverflow},
		{"six bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 0, ErrOverflow},
		{"truncated", []byte{0x81}, 0, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reader{data: tt.in}
			got, err := r.mbUint32("x")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %#x, want %#x", got, tt.want)
			}
			if got2 := appendMb(nil, tt.want); tt.wantErr == nil && !bytes.Equal(got2, tt.in) && tt.name != "zero" {
				t.Errorf("appendMb(%#x) = %x, want %x", tt.want, got2, tt.in)
			}
		})
	}
}

func tokens(t *testing.T, data []byte) []string {
	t.Helper()
	r, err := NewReader(data)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	c, err := canon(r.Token)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return c
}

func TestReaderForms(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want string // canonical tokens joined by "|"
	}{
		{
			name: "string-table public id (SyncML 1.0 RTK form), STR_T text",
			// 01 = WBXML 1.1, publicid 00 idx 0, charset UTF-8, strtbl: FPI\0 "abc"\0
			hex:  "01 00 00 6a 22 2d2f2f53594e434d4c2f2f4454442053796e634d4c20312e302f2f454e00 61626300 6d 6b 4f 83 1e 01 01 01",
			want: "S {SYNCML:SYNCML1.0}SyncML |S {SYNCML:SYNCML1.0}SyncBody |S {SYNCML:SYNCML1.0}Data |T abc|E Data|E SyncBody|E SyncML",
		},
		{
			name: "SyncML 1.1 numeric id, ENTITY and mixed text forms",
			hex:  "02 9f 53 6a 00 6d 4f 03 41 00 02 81 63 c3 02 42 43 01 01",
			want: "S {SYNCML:SYNCML1.1}SyncML |S {SYNCML:SYNCML1.1}Data |T AãBC|E Data|E SyncML",
		},
		{
			name: "SWITCH_PAGE before END and before text (pages affect tags only)",
			hex:  "03 a4 01 6a 00 6d 5a 00 01 47 03 62363400 00 00 01 00 01 01 00 00 01",
			want: "S {SYNCML:SYNCML1.2}SyncML |S {SYNCML:SYNCML1.2}Meta |S {syncml:metinf}Format |T b64|E Format|E Meta|E SyncML",
		},
		{
			name: "empty element without content bit",
			hex:  "02 a4 01 6a 00 6d 6b 12 01 01",
			want: "S {SYNCML:SYNCML1.2}SyncML |S {SYNCML:SYNCML1.2}SyncBody |S {SYNCML:SYNCML1.2}Final |E Final|E SyncBody|E SyncML",
		},
		{
			name: "LITERAL tag from the string table",
			hex:  "02 a4 01 6a 05 4b6e6f6200 6d 44 00 03 3100 01 01",
			want: "S {SYNCML:SYNCML1.2}SyncML |S {SYNCML:SYNCML1.2}Knob |T 1|E Knob|E SyncML",
		},
		{
			name: "ISO-8859-1 charset converted to UTF-8",
			hex:  "02 a4 01 04 00 6d 4f 03 e900 01 01",
			want: "S {SYNCML:SYNCML1.2}SyncML |S {SYNCML:SYNCML1.2}Data |T é|E Data|E SyncML",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(tokens(t, unhex(t, tt.hex)), "|")
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name      string
		hex       string
		wantErr   error
		field     string
		offset    int
		atNewRead bool // error from NewReader rather than Token
	}{
		{"empty", "", ErrTruncated, "header.version", 0, true},
		{"WBXML 1.0", "00 a4 01 6a 00", ErrVersion, "header.version", 0, true},
		{"unknown public id", "02 99 11 6a 00 45 01", ErrPublicID, "header.publicid", 1, true},
		{"public id overflow", "02 ff ff ff ff ff 6a 00", ErrOverflow, "header.publicid", 1, true},
		{"charset", "02 a4 01 11 00", ErrCharset, "header.charset", 3, true},
		{"string table too long", "02 a4 01 6a 10 00", ErrTruncated, "header.strtbl", 4, true},
		{"fpi index outside table", "02 00 05 6a 01 00 6d 01", ErrStringTable, "header.publicid", 4, true},
		{"unknown tag", "02 a4 01 6a 00 6d 7f 01 01", ErrUnknownTag, "tag", 6, false},
		{"unknown code page", "02 a4 01 6a 00 6d 00 09 45 01 01", ErrUnknownTag, "tag", 8, false},
		{"truncated body", "02 a4 01 6a 00 6d 6b", ErrTruncated, "body", 7, false},
		{"unterminated STR_I", "02 a4 01 6a 00 6d 4f 03 41 42", ErrTruncated, "STR_I", 8, false},
		{"opaque longer than data", "02 a4 01 6a 00 6d 4f c3 05 41 01", ErrTruncated, "OPAQUE", 8, false},
		{"STR_T outside table", "02 a4 01 6a 00 6d 4f 83 00 01 01", ErrStringTable, "STR_T", 8, false},
		{"EXT_I_0", "02 a4 01 6a 00 6d 40 00 01", ErrToken, "EXT", 6, false},
		{"EXT_T_1", "02 a4 01 6a 00 6d 81 00 01", ErrToken, "EXT", 6, false},
		{"EXT_2", "02 a4 01 6a 00 6d c2 01", ErrToken, "EXT", 6, false},
		{"PI", "02 a4 01 6a 00 6d 43 01", ErrToken, "PI", 6, false},
		{"attributes in SyncML", "02 a4 01 6a 00 ed 05 01 01", ErrUnknownAttr, "attribute", 6, false},
		{"END without element", "02 a4 01 6a 00 01", ErrStructure, "END", 5, false},
		{"text before root", "02 a4 01 6a 00 03 4100 6d 01", ErrStructure, "body", 5, false},
		{"trailing data", "02 a4 01 6a 00 2d 2d", ErrStructure, "body", 6, false},
		{"entity surrogate", "02 a4 01 6a 00 6d 4f 02 83 b0 00 01 01", nil, "ENTITY", 8, false},
		{"CP unknown attribute start", "03 0b 6a 00 85 7f 01", ErrUnknownAttr, "attribute", 5, false},
		{"CP value token before start", "03 0b 6a 00 85 86 01", ErrStructure, "attribute", 5, false},
		{"CP LITERAL_A rejected", "03 0b 6a 00 85 84 01", ErrToken, "attribute", 5, false},
		{"CP empty attribute list", "03 0b 6a 00 85 01", ErrStructure, "attribute", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := unhex(t, tt.hex)
			r, err := NewReader(data)
			if !tt.atNewRead {
				if err != nil {
					t.Fatalf("NewReader: %v", err)
				}
				for err == nil {
					_, err = r.Token()
				}
				if err == io.EOF {
					t.Fatalf("got EOF, want an error")
				}
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%T), want *DecodeError", err, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
			if de.Field != tt.field || de.Offset != tt.offset {
				t.Errorf("got field %q offset %d, want %q %d (%v)", de.Field, de.Offset, tt.field, tt.offset, err)
			}
		})
	}
}

func TestReaderDepthLimit(t *testing.T) {
	var b []byte
	b = append(b, 0x02, 0xa4, 0x01, 0x6a, 0x00)
	for i := 0; i < MaxDepth+1; i++ {
		b = append(b, 0x54) // Item
	}
	r, err := NewReader(b)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for err == nil {
		_, err = r.Token()
		n++
	}
	if !errors.Is(err, ErrDepth) {
		t.Fatalf("got %v after %d tokens, want ErrDepth", err, n)
	}
	if n != MaxDepth+1 {
		t.Errorf("got the error after %d tokens, want %d", n, MaxDepth+1)
	}
}

// The point of the package: xml.NewTokenDecoder over a Reader unmarshals into
// the same struct tags as XML text.
func TestUnmarshalThroughTokenDecoder(t *testing.T) {
	type meta struct {
		Format string `xml:"syncml:metinf Format"`
		Type   string `xml:"syncml:metinf Type"`
	}
	type item struct {
		LocURI string `xml:"Source>LocURI"`
		Meta   *meta  `xml:"Meta"`
		Data   string `xml:"Data"`
	}
	type msg struct {
		XMLName   xml.Name  `xml:"SYNCML:SYNCML1.2 SyncML"`
		SessionID string    `xml:"SyncHdr>SessionID"`
		MaxMsg    string    `xml:"SyncHdr>Meta>MaxMsgSize"`
		Items     []item    `xml:"SyncBody>Replace>Item"`
		Final     *struct{} `xml:"SyncBody>Final"`
	}
	var m msg
	r, err := NewReader(unhex(t, pkg1Hex))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.NewTokenDecoder(r).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.SessionID != "1234" || m.MaxMsg != "10000" || m.Final == nil || len(m.Items) != 2 {
		t.Fatalf("got %+v", m)
	}
	if m.Items[0].LocURI != "./DevInfo/DevId" || m.Items[0].Data != "IMEI:493005100592800" || m.Items[0].Meta.Format != "chr" {
		t.Errorf("got item %+v meta %+v", m.Items[0], m.Items[0].Meta)
	}
}

func TestEncoderErrors(t *testing.T) {
	tests := []struct {
		name    string
		doc     Doc
		toks    []xml.Token
		wantErr error
	}{
		{"unknown namespace", SyncML12, []xml.Token{xml.StartElement{Name: xml.Name{Space: "urn:x", Local: "A"}}}, ErrNotEncodable},
		{"attribute in SyncML", SyncML12, []xml.Token{xml.StartElement{Name: xml.Name{Local: "SyncML"}, Attr: []xml.Attr{{Name: xml.Name{Local: "a"}, Value: "1"}}}}, ErrNotEncodable},
		{"mismatched end", SyncML12, []xml.Token{xml.StartElement{Name: xml.Name{Local: "SyncML"}}, xml.EndElement{Name: xml.Name{Local: "Item"}}}, ErrStructure},
		{"second root", SyncML12, []xml.Token{xml.StartElement{Name: xml.Name{Local: "SyncML"}}, xml.EndElement{Name: xml.Name{Local: "SyncML"}}, xml.StartElement{Name: xml.Name{Local: "SyncML"}}}, ErrStructure},
		{"text outside root", SyncML12, []xml.Token{xml.CharData("x")}, ErrStructure},
		{"unknown CP attribute", ProvDoc10, []xml.Token{xml.StartElement{Name: xml.Name{Local: "wap-provisioningdoc"}, Attr: []xml.Attr{{Name: xml.Name{Local: "colour"}, Value: "1"}}}}, ErrNotEncodable},
		{"zero Doc", Doc{}, []xml.Token{xml.StartElement{Name: xml.Name{Local: "SyncML"}}}, ErrNotEncodable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncoder(io.Discard, tt.doc)
			var err error
			for _, tok := range tt.toks {
				if err = e.EncodeToken(tok); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
	e := NewEncoder(io.Discard, SyncML12)
	_ = e.EncodeToken(xml.StartElement{Name: xml.Name{Local: "SyncML"}})
	if err := e.Flush(); !errors.Is(err, ErrUnclosed) {
		t.Errorf("Flush with open element: got %v, want ErrUnclosed", err)
	}
}

func TestIsWBXML(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"SyncML 1.2", unhex(t, pkg1Hex), true},
		{"CP", unhex(t, cpW7Hex), true},
		{"XML text", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"/>`), false},
		{"empty", nil, false},
		{"header only", unhex(t, "02a4016a00"), false},
		{"unknown doc", unhex(t, "02 01 6a 00 45 01"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsWBXML(tt.in); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestToXML(t *testing.T) {
	got, err := ToXML(unhex(t, pkg1Hex))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<SyncML xmlns="SYNCML:SYNCML1.2">`,
		"\n    <VerDTD>1.2</VerDTD>\n",
		`<MaxMsgSize xmlns="syncml:metinf">10000</MaxMsgSize>`,
		"\n    <Final/>\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("ToXML output lacks %q:\n%s", want, got)
		}
	}
	back, err := FromXML(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, unhex(t, pkg1Hex)) {
		t.Errorf("FromXML(ToXML(v)) = %x, want the vector", back)
	}
}
