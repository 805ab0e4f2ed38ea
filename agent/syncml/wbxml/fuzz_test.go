package wbxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readAll decodes a whole document into copied tokens.
func readAll(data []byte) (Doc, []xml.Token, error) {
	r, err := NewReader(data)
	if err != nil {
		return Doc{}, nil, err
	}
	var toks []xml.Token
	for {
		t, err := r.Token()
		if err == io.EOF {
			return r.Doc(), toks, nil
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				return Doc{}, nil, errors.New("error is not a *DecodeError: " + err.Error())
			}
			return Doc{}, nil, err
		}
		toks = append(toks, xml.CopyToken(t))
	}
}

func encodeAll(doc Doc, toks []xml.Token) ([]byte, error) {
	var buf bytes.Buffer
	e := NewEncoder(&buf, doc)
	for _, t := range toks {
		if err := e.EncodeToken(t); err != nil {
			return nil, err
		}
	}
	if err := e.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fuzzCanon is exact about text, except that whitespace-only text (which the
// Encoder drops next to child elements) is ignored.
func fuzzCanon(toks []xml.Token) []string {
	var out []string
	var text []byte
	flush := func() {
		if !isSpace(text) {
			out = append(out, "T "+string(text))
		}
		text = text[:0]
	}
	for _, t := range toks {
		switch t := t.(type) {
		case xml.StartElement:
			flush()
			s := "S {" + t.Name.Space + "}" + t.Name.Local
			for _, a := range t.Attr {
				s += " " + a.Name.Local + "=" + a.Value
			}
			out = append(out, s)
		case xml.EndElement:
			flush()
			out = append(out, "E {"+t.Name.Space+"}"+t.Name.Local)
		case xml.CharData:
			text = append(text, t...)
		}
	}
	return out
}

func checkRoundTrip(t *testing.T, data []byte) {
	doc, toks, err := readAll(data)
	if err != nil {
		if strings.Contains(err.Error(), "not a *DecodeError") {
			t.Fatal(err)
		}
		return
	}
	b1, err := encodeAll(doc, toks)
	if err != nil {
		if errors.Is(err, ErrNotEncodable) {
			return // e.g. a LITERAL attribute name: decodable, not encodable
		}
		t.Fatalf("encoding decoded tokens: %v", err)
	}
	doc2, toks2, err := readAll(b1)
	if err != nil {
		t.Fatalf("decoding our own encoding %x: %v", b1, err)
	}
	if doc2.Name != doc.Name {
		t.Fatalf("doc changed: got %s, want %s", doc2.Name, doc.Name)
	}
	c1, c2 := strings.Join(fuzzCanon(toks), "\n"), strings.Join(fuzzCanon(toks2), "\n")
	if c1 != c2 {
		t.Fatalf("tokens changed after decode-encode-decode:\n--- first\n%s\n--- second\n%s", c1, c2)
	}
	b2, err := encodeAll(doc2, toks2)
	if err != nil {
		t.Fatalf("re-encoding: %v", err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("encoding not stable:\n%x\n%x", b1, b2)
	}
}

func seedFromTestdata(f *testing.F, prov bool) {
	var files []string
	for _, pat := range []string{"testdata/*.xml", "../../../testdata/syncml/*.xml"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, p := range files {
		x, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if strings.Contains(string(x), "wap-provisioningdoc") != prov {
			continue
		}
		b, err := FromXML(bytes.NewReader(x))
		if err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		f.Add(b)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(unhex(f, pkg1Hex))
	f.Add(unhex(f, "01 00 00 6a 22 2d2f2f53594e434d4c2f2f4454442053796e634d4c20312e302f2f454e00 61626300 6d 6b 4f 83 1e 01 01 01"))
	f.Add(unhex(f, "02 a4 01 6a 05 4b6e6f6200 6d 44 00 03 3100 01 01"))
	seedFromTestdata(f, false)
	f.Fuzz(checkRoundTrip)
}

func FuzzCP(f *testing.F) {
	f.Add(unhex(f, cpW7Hex))
	seedFromTestdata(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Steer the fuzzer towards provisioning documents: force the header.
		if len(data) < 2 {
			return
		}
		doc := append([]byte{data[0]&0x03 | 0x01, 0x0b, 0x6a}, data[1:]...)
		checkRoundTrip(t, doc)
	})
}
