package syncml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// xmlScanner is the XML source of DecodeXML: a purpose-built scanner over
// the whole input that yields the events encoding/xml's Decoder.Token
// (Strict, no CharsetReader, no custom entities) would yield, with the same
// namespace translation, the same well-formedness errors (*xml.SyntaxError
// with the same messages and lines) and the same input offsets, but without
// copying names, boxing tokens or reading byte by byte.
//
// Names, attribute values and text found verbatim in the input are
// substrings of one string copy of it (str). Comments, processing
// instructions and the DOCTYPE are skipped (an <?xml?> declaration is
// checked as encoding/xml checks it: version 1.0, encoding UTF-8).
//
// Deliberate differences from encoding/xml: none in the token stream of
// well-formed or malformed input as far as FuzzXMLScanner can tell. Names
// with non-ASCII characters are checked by asking encoding/xml itself, so
// both accept the same names.
type xmlScanner struct {
	data  []byte
	str   string // string(data): names and verbatim values are substrings
	pos   int
	err   error
	stack []scanElem
	ns    []nsBinding
	// needClose: the last start tag was <x/>; its end event comes next.
	needClose bool
	buf       []byte     // decoded text (entities, \r), valid until the next event
	attrs     []xml.Attr // attributes of the last start tag, reused
	spaces    []string   // namespaces of open elements (see scanElem)
}

// scanElem is an open element. It holds no pointers (offsets into the
// input, an index into spaces), so pushing it costs no write barriers.
type scanElem struct {
	ps, pe, ls, le int // prefix and local name as written, for the end tag
	space          int // translated namespace, index into spaces
	nsLen          int // len(ns) before this element's declarations
}

type nsBinding struct{ prefix, uri string }

const (
	xmlnsPrefix = "xmlns"
	xmlPrefix   = "xml"
)

func newXMLScanner(data []byte) *xmlScanner {
	return &xmlScanner{data: data, str: string(data)}
}

func (s *xmlScanner) inputOffset() int64 { return int64(s.pos) }

// syntaxError records a well-formedness error at the current offset, with
// the line number encoding/xml would report.
func (s *xmlScanner) syntaxError(msg string) error {
	line := 1 + bytes.Count(s.data[:s.pos], []byte{'\n'})
	s.err = &xml.SyntaxError{Msg: msg, Line: line}
	return s.err
}

func (s *xmlScanner) getc() (byte, bool) {
	if s.pos >= len(s.data) {
		return 0, false
	}
	b := s.data[s.pos]
	s.pos++
	return b, true
}

func (s *xmlScanner) mustgetc() (byte, bool) {
	b, ok := s.getc()
	if !ok {
		s.syntaxError("unexpected EOF")
	}
	return b, ok
}

func (s *xmlScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\r', '\n', '\t':
			s.pos++
		default:
			return
		}
	}
}

func (s *xmlScanner) next(ev *event) error {
	if s.err != nil {
		ev.Offset = int64(s.pos)
		return s.err
	}
	if s.needClose {
		s.needClose = false
		ev.Offset = int64(s.pos)
		s.popTo(ev)
		return nil
	}
	for {
		ev.Offset = int64(s.pos)
		if s.pos >= len(s.data) {
			if len(s.stack) > 0 {
				return s.syntaxError("unexpected EOF")
			}
			return io.EOF
		}
		if s.data[s.pos] != '<' {
			return s.text(ev)
		}
		s.pos++
		b, ok := s.mustgetc()
		if !ok {
			return s.err
		}
		switch b {
		case '/':
			return s.endTag(ev)
		case '?':
			if err := s.procInst(); err != nil {
				return err
			}
			continue
		case '!':
			b, ok := s.mustgetc()
			if !ok {
				return s.err
			}
			switch b {
			case '-':
				if err := s.comment(); err != nil {
					return err
				}
				continue
			case '[':
				return s.cdata(ev)
			}
			if err := s.directive(); err != nil {
				return err
			}
			continue
		}
		s.pos--
		return s.startTag(ev)
	}
}

// nameByte marks the single-byte characters a name may hold.
var nameByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '_' || c == ':' || c == '.' || c == '-' || c >= utf8.RuneSelf
	}
	return t
}()

// readName reads a name (any run of name bytes and non-ASCII bytes) and
// returns its bounds, the number of colons in it and the offset of the
// last; ok is false with no error when no name starts here.
func (s *xmlScanner) readName() (start, end, colons, colonAt int, ok bool) {
	start = s.pos
	d := s.data
	if start >= len(d) {
		s.syntaxError("unexpected EOF")
		return
	}
	if !nameByte[d[start]] {
		return
	}
	i := start
	for ; i < len(d); i++ {
		c := d[i]
		if !nameByte[c] {
			s.pos = i
			return start, i, colons, colonAt, true
		}
		if c == ':' {
			colons++
			colonAt = i
		}
	}
	s.pos = len(d)
	s.syntaxError("unexpected EOF")
	return
}

// name reads a name and checks it is an XML name.
func (s *xmlScanner) name() (string, bool) {
	start, end, _, _, ok := s.readName()
	if !ok {
		return "", false
	}
	if !isXMLName(s.data[start:end]) {
		s.syntaxError("invalid XML name: " + string(s.data[start:end]))
		return "", false
	}
	return s.str[start:end], true
}

// isXMLName checks the XML 1.0 Name production.
func isXMLName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		c := b[0] // the rest are name bytes (readName)
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
	}
	// Names beyond ASCII: let encoding/xml judge, so that both accept the
	// same names (its tables follow the XML specification's appendix B).
	// Colons are replaced so that its namespace split does not interfere.
	doc := make([]byte, 0, len(b)+3)
	doc = append(doc, '<')
	for _, c := range b {
		if c == ':' {
			c = '_'
		}
		doc = append(doc, c)
	}
	doc = append(doc, '/', '>')
	_, err := xml.NewDecoder(bytes.NewReader(doc)).RawToken()
	return err == nil
}

// nsname reads a name and splits it at its colon; ok is false (without an
// error) for a name with more than one colon.
func (s *xmlScanner) nsname() (prefix, local string, ok bool) {
	ps, pe, ls, le, ok := s.nsnameAt()
	if !ok {
		return "", "", false
	}
	return s.str[ps:pe], s.str[ls:le], true
}

// nsnameAt is nsname returning the offsets of prefix and local name.
func (s *xmlScanner) nsnameAt() (ps, pe, ls, le int, ok bool) {
	start, end, colons, colonAt, ok := s.readName()
	if !ok {
		return
	}
	if !isXMLName(s.data[start:end]) {
		s.syntaxError("invalid XML name: " + string(s.data[start:end]))
		return 0, 0, 0, 0, false
	}
	switch {
	case colons > 1:
		return 0, 0, 0, 0, false
	case colons == 1 && colonAt > start && colonAt < end-1:
		return start, colonAt, colonAt + 1, end, true
	}
	return start, start, start, end, true
}

// spaceIndex interns a namespace for scanElem.
func (s *xmlScanner) spaceIndex(space string) int {
	for i := len(s.spaces) - 1; i >= 0 && i >= len(s.spaces)-32; i-- {
		if s.spaces[i] == space {
			return i
		}
	}
	s.spaces = append(s.spaces, space)
	return len(s.spaces) - 1
}

func (s *xmlScanner) lookupNS(prefix string) (string, bool) {
	for i := len(s.ns) - 1; i >= 0; i-- {
		if s.ns[i].prefix == prefix {
			return s.ns[i].uri, true
		}
	}
	return "", false
}

// translate maps a prefix to its namespace as encoding/xml does: unknown
// prefixes stay as they are, unprefixed attributes have no namespace.
func (s *xmlScanner) translate(prefix, local string, isElement bool) string {
	switch {
	case prefix == xmlnsPrefix:
		return prefix
	case prefix == "" && !isElement:
		return ""
	case prefix == xmlPrefix:
		prefix = xmlNSURL
	case prefix == "" && local == xmlnsPrefix:
		return ""
	}
	if v, ok := s.lookupNS(prefix); ok {
		return v
	}
	return prefix
}

func (s *xmlScanner) startTag(ev *event) error {
	ps, pe, ls, le, ok := s.nsnameAt()
	if !ok {
		if s.err == nil {
			s.syntaxError("expected element name after <")
		}
		return s.err
	}
	attrs := s.attrs[:0]
	empty := false
	for {
		s.space()
		b, ok := s.mustgetc()
		if !ok {
			return s.err
		}
		if b == '/' {
			empty = true
			if b, ok = s.mustgetc(); !ok {
				return s.err
			}
			if b != '>' {
				return s.syntaxError("expected /> in element")
			}
			break
		}
		if b == '>' {
			break
		}
		s.pos--
		ap, al, ok := s.nsname()
		if !ok {
			if s.err == nil {
				s.syntaxError("expected attribute name in element")
			}
			return s.err
		}
		s.space()
		if b, ok = s.mustgetc(); !ok {
			return s.err
		}
		if b != '=' {
			return s.syntaxError("attribute name without = in element")
		}
		s.space()
		v, ok := s.attrValue()
		if !ok {
			return s.err
		}
		attrs = append(attrs, xml.Attr{Name: xml.Name{Space: ap, Local: al}, Value: v})
	}
	s.attrs = attrs
	// Declarations on the element apply to its own name and attributes.
	nsLen := len(s.ns)
	for _, a := range attrs {
		if a.Name.Space == xmlnsPrefix {
			s.ns = append(s.ns, nsBinding{a.Name.Local, a.Value})
		}
		if a.Name.Space == "" && a.Name.Local == xmlnsPrefix {
			s.ns = append(s.ns, nsBinding{"", a.Value})
		}
	}
	local := s.str[ls:le]
	name := xml.Name{Space: s.translate(s.str[ps:pe], local, true), Local: local}
	for i := range attrs {
		attrs[i].Name.Space = s.translate(attrs[i].Name.Space, attrs[i].Name.Local, false)
	}
	s.stack = append(s.stack, scanElem{ps: ps, pe: pe, ls: ls, le: le, space: s.spaceIndex(name.Space), nsLen: nsLen})
	s.needClose = empty
	ev.Kind = evStart
	setName(ev, name.Space, name.Local)
	if len(attrs) > 0 {
		ev.Attr = attrs
	} else if ev.Attr != nil {
		ev.Attr = nil
	}
	return nil
}

// setName sets ev.Name, skipping the store of an unchanged namespace: the
// fewer pointer stores, the fewer GC write barriers.
func setName(ev *event, space, local string) {
	if ev.Name.Space != space {
		ev.Name.Space = space
	}
	ev.Name.Local = local
}

// popTo closes the innermost element into ev.
func (s *xmlScanner) popTo(ev *event) {
	e := &s.stack[len(s.stack)-1]
	ev.Kind = evEnd
	setName(ev, s.spaces[e.space], s.str[e.ls:e.le])
	s.ns = s.ns[:e.nsLen]
	s.stack = s.stack[:len(s.stack)-1]
}

func (s *xmlScanner) endTag(ev *event) error {
	prefix, local, ok := s.nsname()
	if !ok {
		if s.err == nil {
			s.syntaxError("expected element name after </")
		}
		return s.err
	}
	s.space()
	b, ok := s.mustgetc()
	if !ok {
		return s.err
	}
	if b != '>' {
		return s.syntaxError("invalid characters between </" + local + " and >")
	}
	if len(s.stack) == 0 {
		return s.syntaxError("unexpected end element </" + local + ">")
	}
	top := &s.stack[len(s.stack)-1]
	topLocal, topPrefix := s.str[top.ls:top.le], s.str[top.ps:top.pe]
	if topLocal != local {
		return s.syntaxError("element <" + topLocal + "> closed by </" + local + ">")
	}
	if topPrefix != prefix {
		ns := prefix
		if ns == "" {
			ns = `""`
		}
		return s.syntaxError("element <" + topLocal + "> in space " + topPrefix +
			" closed by </" + local + "> in space " + ns)
	}
	s.popTo(ev)
	return nil
}

// text reads character data up to the next '<'. Text without references,
// carriage returns or anything to reject is passed on as it is.
func (s *xmlScanner) text(ev *event) error {
	start := s.pos
	d := s.data
	i := start
	for i < len(d) {
		c := d[i]
		if c < utf8.RuneSelf {
			if c == '<' {
				break
			}
			if c == '&' || c == '\r' || (c < 0x20 && c != '\t' && c != '\n') ||
				(c == ']' && i+2 < len(d) && d[i+1] == ']' && d[i+2] == '>') {
				return s.textSlow(ev, start)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(d[i:])
		if (r == utf8.RuneError && n == 1) || !isXMLChar(r) {
			return s.textSlow(ev, start)
		}
		i += n
	}
	s.pos = i
	ev.Kind, ev.Text, ev.TextAt = evText, d[start:i], int64(start)
	return nil
}

func (s *xmlScanner) textSlow(ev *event, start int) error {
	s.pos = start
	data, ok := s.decodeText(-1, false)
	if !ok {
		return s.err
	}
	ev.Kind, ev.Text, ev.TextAt = evText, data, -1
	return nil
}

// cdata reads a CDATA section after "<![".
func (s *xmlScanner) cdata(ev *event) error {
	for i := 0; i < 6; i++ {
		b, ok := s.mustgetc()
		if !ok {
			return s.err
		}
		if b != "CDATA["[i] {
			return s.syntaxError("invalid <![ sequence")
		}
	}
	start := s.pos
	if k := bytes.Index(s.data[start:], []byte("]]>")); k >= 0 {
		body := s.data[start : start+k]
		if bytes.IndexByte(body, '\r') < 0 && validXMLText(body) {
			s.pos = start + k + 3
			ev.Kind, ev.Text, ev.TextAt = evText, body, int64(start)
			return nil
		}
	}
	data, ok := s.decodeText(-1, true)
	if !ok {
		return s.err
	}
	ev.Kind, ev.Text, ev.TextAt = evText, data, -1
	return nil
}

// attrValue reads a quoted attribute value.
func (s *xmlScanner) attrValue() (string, bool) {
	b, ok := s.mustgetc()
	if !ok {
		return "", false
	}
	if b != '"' && b != '\'' {
		s.syntaxError("unquoted or missing attribute value in element")
		return "", false
	}
	start := s.pos
	if k := bytes.IndexByte(s.data[start:], b); k >= 0 {
		v := s.data[start : start+k]
		if !bytes.ContainsAny(v, "<&\r") && validXMLText(v) {
			s.pos = start + k + 1
			return s.str[start : start+k], true
		}
	}
	data, ok := s.decodeText(int(b), false)
	if !ok {
		return "", false
	}
	return string(data), true
}

func validXMLText(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n == 1) || !isXMLChar(r) {
			return false
		}
		i += n
	}
	return true
}

var predefinedEntities = map[string]string{"lt": "<", "gt": ">", "amp": "&", "apos": "'", "quot": "\""}

// decodeText is the general text reader, byte for byte as encoding/xml
// reads: quote >= 0 reads an attribute value up to that quote, cdata a
// CDATA section up to "]]>", otherwise text up to '<'. It resolves
// references, turns "\r\n" and "\r" into "\n", then checks the characters.
func (s *xmlScanner) decodeText(quote int, cdata bool) ([]byte, bool) {
	buf := s.buf[:0]
	var b0, b1 byte
	trunc := 0
	for {
		b, ok := s.getc()
		if !ok {
			if cdata {
				s.syntaxError("unexpected EOF in CDATA section")
				return nil, false
			}
			break
		}
		if quote < 0 && b0 == ']' && b1 == ']' && b == '>' {
			if cdata {
				trunc = 2
				break
			}
			s.syntaxError("unescaped ]]> not in CDATA section")
			return nil, false
		}
		if b == '<' && !cdata {
			if quote >= 0 {
				s.syntaxError("unescaped < inside quoted string")
				return nil, false
			}
			s.pos--
			break
		}
		if quote >= 0 && b == byte(quote) {
			break
		}
		if b == '&' && !cdata {
			before := len(buf)
			buf = append(buf, '&')
			var text string
			haveText := false
			if b, ok = s.mustgetc(); !ok {
				return nil, false
			}
			if b == '#' {
				buf = append(buf, b)
				if b, ok = s.mustgetc(); !ok {
					return nil, false
				}
				base := 10
				if b == 'x' {
					base = 16
					buf = append(buf, b)
					if b, ok = s.mustgetc(); !ok {
						return nil, false
					}
				}
				digits := len(buf)
				for '0' <= b && b <= '9' || base == 16 && ('a' <= b && b <= 'f' || 'A' <= b && b <= 'F') {
					buf = append(buf, b)
					if b, ok = s.mustgetc(); !ok {
						return nil, false
					}
				}
				if b != ';' {
					s.pos--
				} else {
					n, err := strconv.ParseUint(string(buf[digits:]), base, 64)
					buf = append(buf, ';')
					if err == nil && n <= unicode.MaxRune {
						text, haveText = string(rune(n)), true
					}
				}
			} else {
				s.pos--
				nstart, nend, _, _, ok := s.readName()
				if ok {
					buf = append(buf, s.data[nstart:nend]...)
				} else if s.err != nil {
					return nil, false
				}
				if b, ok = s.mustgetc(); !ok {
					return nil, false
				}
				if b != ';' {
					s.pos--
				} else {
					text, haveText = predefinedEntities[string(buf[before+1:])]
					buf = append(buf, ';')
				}
			}
			if haveText {
				buf = append(buf[:before], text...)
				b0, b1 = 0, 0
				continue
			}
			ent := string(buf[before:])
			if ent[len(ent)-1] != ';' {
				ent += " (no semicolon)"
			}
			s.buf = buf
			s.syntaxError("invalid character entity " + ent)
			return nil, false
		}
		switch {
		case b == '\r':
			buf = append(buf, '\n')
		case b1 == '\r' && b == '\n':
			// "\r\n": the '\n' is already written
		default:
			buf = append(buf, b)
		}
		b0, b1 = b1, b
	}
	s.buf = buf
	data := buf[:len(buf)-trunc]
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			s.syntaxError("invalid UTF-8")
			return nil, false
		}
		i += n
		if !isXMLChar(r) {
			s.syntaxError(fmt.Sprintf("illegal character code %U", r))
			return nil, false
		}
	}
	return data, true
}

// procInst skips a processing instruction after "<?", checking an XML
// declaration's version and encoding.
func (s *xmlScanner) procInst() error {
	target, ok := s.name()
	if !ok {
		if s.err == nil {
			s.syntaxError("expected target name after <?")
		}
		return s.err
	}
	s.space()
	start := s.pos
	var b0 byte
	for {
		b, ok := s.mustgetc()
		if !ok {
			return s.err
		}
		if b0 == '?' && b == '>' {
			break
		}
		b0 = b
	}
	if target != "xml" {
		return nil
	}
	content := s.str[start : s.pos-2]
	if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
		s.err = fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", ver)
		return s.err
	}
	if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
		s.err = fmt.Errorf("xml: encoding %q declared but Decoder.CharsetReader is nil", enc)
		return s.err
	}
	return nil
}

// procInstParam finds param="value" (or 'value') in a declaration the way
// encoding/xml does: the first occurrence of "param=" followed by a quote.
func procInstParam(param, s string) string {
	param += "="
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || len(param)+k >= len(sub) {
			return ""
		}
		i += len(param) + k + 1
		if c := sub[len(param)+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// comment skips a comment after "<!-".
func (s *xmlScanner) comment() error {
	b, ok := s.mustgetc()
	if !ok {
		return s.err
	}
	if b != '-' {
		return s.syntaxError("invalid sequence <!- not part of <!--")
	}
	var b0, b1 byte
	for {
		b, ok := s.mustgetc()
		if !ok {
			return s.err
		}
		if b0 == '-' && b1 == '-' {
			if b != '>' {
				return s.syntaxError(`invalid sequence "--" not allowed in comments`)
			}
			return nil
		}
		b0, b1 = b1, b
	}
}

// directive skips a directive such as <!DOCTYPE ...> whose first byte after
// "<!" is already read: it ends at the first '>' outside quotes, nested
// markup and comments.
func (s *xmlScanner) directive() error {
	var inquote byte
	depth := 0
	for {
		b, ok := s.mustgetc()
		if !ok {
			return s.err
		}
		if inquote == 0 && b == '>' && depth == 0 {
			return nil
		}
	handle:
		switch {
		case b == inquote:
			inquote = 0
		case inquote != 0:
		case b == '\'' || b == '"':
			inquote = b
		case b == '>':
			depth--
		case b == '<':
			const open = "!--"
			for i := 0; i < len(open); i++ {
				if b, ok = s.mustgetc(); !ok {
					return s.err
				}
				if b != open[i] {
					depth++
					goto handle
				}
			}
			var c0, c1 byte
			for {
				if b, ok = s.mustgetc(); !ok {
					return s.err
				}
				if c0 == '-' && c1 == '-' && b == '>' {
					break
				}
				c0, c1 = c1, b
			}
		}
	}
}
