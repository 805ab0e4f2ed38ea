package wbxml

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
)

// canon turns a token stream into a comparable list: element names with
// namespaces, sorted non-xmlns attributes, and text merged and trimmed of
// surrounding whitespace (empty text dropped). CDATA and text are equal.
func canon(next func() (xml.Token, error)) ([]string, error) {
	var out []string
	var text []byte
	flush := func() {
		if s := strings.TrimSpace(string(text)); s != "" {
			out = append(out, "T "+s)
		}
		text = text[:0]
	}
	for {
		t, err := next()
		if err == io.EOF {
			flush()
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			flush()
			var attrs []string
			for _, a := range t.Attr {
				if a.Name.Local == "xmlns" || a.Name.Space == "xmlns" {
					continue
				}
				attrs = append(attrs, a.Name.Local+"="+a.Value)
			}
			sort.Strings(attrs)
			out = append(out, fmt.Sprintf("S {%s}%s %s", t.Name.Space, t.Name.Local, strings.Join(attrs, " ")))
		case xml.EndElement:
			flush()
			out = append(out, "E "+t.Name.Local)
		case xml.CharData:
			text = append(text, t...)
		}
	}
}

func canonXML(t *testing.T, data []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	c, err := canon(d.Token)
	if err != nil {
		t.Fatalf("parsing XML: %v\n%s", err, data)
	}
	return c
}

func canonWBXML(t *testing.T, data []byte) []string {
	t.Helper()
	r, err := NewReader(data)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	c, err := canon(r.Token)
	if err != nil {
		t.Fatalf("decoding WBXML: %v", err)
	}
	return c
}

func diffCanon(t *testing.T, what string, got, want []string) {
	t.Helper()
	n := len(got)
	if len(want) < n {
		n = len(want)
	}
	for i := 0; i < n; i++ {
		if got[i] != want[i] {
			t.Errorf("%s: token %d: got %q, want %q", what, i, got[i], want[i])
			return
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: got %d tokens, want %d (first extra: %q)", what, len(got), len(want), append(got[n:], want[n:]...)[0])
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeXML encodes XML text with our Encoder for doc.
func encodeXML(t testing.TB, doc Doc, x []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := NewEncoder(&buf, doc)
	d := xml.NewDecoder(bytes.NewReader(x))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := e.EncodeToken(tok); err != nil {
			t.Fatalf("EncodeToken: %v", err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if e.Size() != buf.Len() {
		t.Errorf("Size() = %d, want %d", e.Size(), buf.Len())
	}
	return buf.Bytes()
}
