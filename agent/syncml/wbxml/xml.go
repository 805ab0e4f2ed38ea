package wbxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// IsWBXML reports whether data looks like a WBXML document of a known type:
// a valid header followed by a tag or code page switch.
func IsWBXML(data []byte) bool {
	r := &Reader{data: data, maxDepth: MaxDepth}
	if r.header(nil) != nil || r.pos >= len(data) {
		return false
	}
	b := data[r.pos]
	return b == tokSwitchPage || b&0x3f >= 0x04
}

// ToXML decodes a WBXML document into indented XML text. Each element whose
// namespace differs from its parent's carries an xmlns attribute.
func ToXML(data []byte) ([]byte, error) {
	r, err := NewReader(data)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString(xml.Header)
	w := xmlWriter{out: &out}
	for {
		t, err := r.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		w.token(t)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// xmlWriter prints tokens as indented XML. Elements with text only stay on
// one line; empty elements are self-closed.
type xmlWriter struct {
	out    *bytes.Buffer
	spaces []string
	open   bool // start tag not yet closed with '>'
	text   bool // innermost element has text
	child  bool // innermost element has child elements
}

func (w *xmlWriter) indent(n int) {
	w.out.WriteByte('\n')
	for i := 0; i < n; i++ {
		w.out.WriteString("  ")
	}
}

func (w *xmlWriter) token(t xml.Token) {
	switch t := t.(type) {
	case xml.StartElement:
		if w.open {
			w.out.WriteByte('>')
		}
		if len(w.spaces) > 0 {
			w.indent(len(w.spaces))
		}
		w.out.WriteByte('<')
		w.out.WriteString(t.Name.Local)
		parent := ""
		if len(w.spaces) > 0 {
			parent = w.spaces[len(w.spaces)-1]
		}
		if t.Name.Space != parent {
			w.attr("xmlns", t.Name.Space)
		}
		for _, a := range t.Attr {
			w.attr(a.Name.Local, a.Value)
		}
		w.spaces = append(w.spaces, t.Name.Space)
		w.open, w.text, w.child = true, false, false
	case xml.EndElement:
		w.spaces = w.spaces[:len(w.spaces)-1]
		switch {
		case w.open:
			w.out.WriteString("/>")
		case !w.text:
			w.indent(len(w.spaces))
			fallthrough
		default:
			w.out.WriteString("</")
			w.out.WriteString(t.Name.Local)
			w.out.WriteByte('>')
		}
		w.open, w.text = false, false
	case xml.CharData:
		if w.open {
			w.out.WriteByte('>')
			w.open = false
		}
		w.text = true
		_ = xml.EscapeText(w.out, t)
	}
}

func (w *xmlWriter) attr(name, value string) {
	w.out.WriteByte(' ')
	w.out.WriteString(name)
	w.out.WriteString(`="`)
	_ = xml.EscapeText(w.out, []byte(value))
	w.out.WriteByte('"')
}

// FromXML encodes an XML document as WBXML 1.2. The document type is chosen
// from the root element's namespace (or, for the provisioning document, its
// name).
func FromXML(r io.Reader) ([]byte, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	var enc *Encoder
	var out bytes.Buffer
	for {
		t, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("wbxml: reading XML: %w", err)
		}
		if enc == nil {
			st, ok := t.(xml.StartElement)
			if !ok {
				continue
			}
			doc, ok := docByRoot(st.Name)
			if !ok {
				return nil, fmt.Errorf("wbxml: %w: root <%s xmlns=%q>", ErrPublicID, st.Name.Local, st.Name.Space)
			}
			enc = NewEncoder(&out, doc)
		}
		if err := enc.EncodeToken(t); err != nil {
			return nil, err
		}
	}
	if enc == nil {
		return nil, errors.New("wbxml: reading XML: no root element")
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
