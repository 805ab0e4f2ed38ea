package syncml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const xmlNSURL = "http://www.w3.org/XML/1998/namespace"

// xmlWriter is a small, allocation-light XML serialiser. It writes a
// default-namespace declaration only where an element's namespace differs
// from its parent's, and writes empty elements as <X/>.
type xmlWriter struct {
	buf    []byte
	stack  []xmlFrame
	open   bool // the last start tag still lacks its '>'
	indent string
	err    error
}

type xmlFrame struct {
	local, space string
	kids         bool // has child elements (for indentation)
}

func (w *xmlWriter) parentSpace() string {
	if len(w.stack) == 0 {
		return ""
	}
	return w.stack[len(w.stack)-1].space
}

func (w *xmlWriter) closeOpen() {
	if w.open {
		w.buf = append(w.buf, '>')
		w.open = false
	}
}

func (w *xmlWriter) newline(depth int) {
	w.buf = append(w.buf, '\n')
	for i := 0; i < depth; i++ {
		w.buf = append(w.buf, w.indent...)
	}
}

func (w *xmlWriter) start(space, local string, attrs []xml.Attr) {
	w.closeOpen()
	parent := w.parentSpace()
	if len(w.stack) > 0 {
		w.stack[len(w.stack)-1].kids = true
	}
	if w.indent != "" && (len(w.stack) > 0 || len(w.buf) > 0) {
		w.newline(len(w.stack))
	}
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, local...)
	if space == "" {
		space = parent
	} else if space != parent {
		w.buf = append(w.buf, ` xmlns="`...)
		w.escape(space, true)
		w.buf = append(w.buf, '"')
	}
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		w.buf = append(w.buf, ' ')
		if a.Name.Space == xmlNSURL || a.Name.Space == "xml" {
			w.buf = append(w.buf, "xml:"...)
		}
		w.buf = append(w.buf, a.Name.Local...)
		w.buf = append(w.buf, `="`...)
		w.escape(a.Value, true)
		w.buf = append(w.buf, '"')
	}
	w.open = true
	w.stack = append(w.stack, xmlFrame{local: local, space: space})
}

func (w *xmlWriter) end() {
	if len(w.stack) == 0 {
		w.fail(errors.New("end tag without start tag"))
		return
	}
	f := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	if w.open {
		w.buf = append(w.buf, "/>"...)
		w.open = false
		return
	}
	if w.indent != "" && f.kids {
		w.newline(len(w.stack))
	}
	w.buf = append(w.buf, "</"...)
	w.buf = append(w.buf, f.local...)
	w.buf = append(w.buf, '>')
}

func (w *xmlWriter) text(s string) {
	if s == "" {
		return
	}
	w.closeOpen()
	w.escape(s, false)
}

func (w *xmlWriter) textBytes(b []byte) {
	if len(b) == 0 {
		return
	}
	w.closeOpen()
	w.escapeBytes(b)
}

// raw writes an embedded element's bytes as they are, after checking that
// they are one well-formed element.
func (w *xmlWriter) raw(tree []byte) {
	w.closeOpen()
	if len(w.stack) > 0 {
		w.stack[len(w.stack)-1].kids = true
	}
	if err := checkTree(tree); err != nil {
		w.fail(err)
		return
	}
	if w.indent != "" {
		w.newline(len(w.stack))
	}
	w.buf = append(w.buf, tree...)
}

func (w *xmlWriter) fail(err error) {
	if w.err == nil {
		path := make([]string, len(w.stack))
		for i, f := range w.stack {
			path[i] = f.local
		}
		w.err = &EncodeError{Field: strings.Join(path, "/"), Err: err}
	}
}

// EncodeToken lets an xmlWriter serve as a TokenEncoder.
func (w *xmlWriter) EncodeToken(t xml.Token) error {
	switch t := t.(type) {
	case xml.StartElement:
		w.start(t.Name.Space, t.Name.Local, t.Attr)
	case xml.EndElement:
		w.end()
	case xml.CharData:
		w.textBytes(t)
	}
	return w.err
}

// Flush is a no-op; it completes the TokenEncoder interface.
func (w *xmlWriter) Flush() error {
	w.closeOpen()
	return w.err
}

func (w *xmlWriter) escape(s string, attr bool) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '&' && c != '<' && c != '>' && c != '"' {
			i++
			continue
		}
		var esc string
		width := 1
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			if !attr {
				i++
				continue
			}
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		case '\n':
			if !attr {
				i++
				continue
			}
			esc = "&#xA;"
		case '\t':
			if !attr {
				i++
				continue
			}
			esc = "&#x9;"
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && n == 1) || !isXMLChar(r) {
				w.fail(fmt.Errorf("%w: %q at byte %d", ErrNotXMLText, s[i:i+n], i))
				return
			}
			i += n
			continue
		}
		w.buf = append(w.buf, s[last:i]...)
		w.buf = append(w.buf, esc...)
		i += width
		last = i
	}
	w.buf = append(w.buf, s[last:]...)
}

func (w *xmlWriter) escapeBytes(b []byte) {
	// Small copies are cheaper than a second escaping loop.
	w.escape(string(b), false)
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// checkTree verifies that tree is exactly one well-formed XML element.
func checkTree(tree []byte) error {
	d := xml.NewDecoder(bytes.NewReader(tree))
	depth, roots := 0, 0
	for {
		t, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("embedded tree: %w", err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("embedded tree: text outside the element")
			}
		}
	}
	if roots != 1 || depth != 0 {
		return fmt.Errorf("embedded tree: want one element, got %d", roots)
	}
	return nil
}
