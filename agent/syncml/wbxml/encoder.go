package wbxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Encoder writes one WBXML document from encoding/xml tokens (the same
// tokens an xml.Encoder would get, or an xml.Decoder produces from text).
//
// Element namespaces come from Name.Space, from an xmlns attribute, or are
// inherited from the parent. Whitespace-only text next to child elements is
// dropped; other text is written as STR_I, except text of SyncML
// Add|Replace/Item/Data, which is written as OPAQUE like libwbxml does. A
// DM DDF MgmtTree inside a SyncML document becomes a separate WBXML document
// carried as OPAQUE. No string table is written. The document is buffered in
// memory and written to w by Flush.
type Encoder struct {
	w        io.Writer
	doc      Doc
	t        *tables // doc's
	version  byte
	buf      []byte // body
	out      []byte // whole document, after finish
	strtbl   []byte
	lits     map[string]uint32
	err      error
	stack    []encElem
	text     []byte // pending text of the innermost element
	tagPage  byte
	attrPage byte
	started  bool // first token seen
	rootDone bool
	flushed  bool
	sub      *Encoder // embedded document in progress
	subDepth int
	maxDepth int
	tags     *[64]tagCacheEntry
}

type encElem struct {
	name      xml.Name
	tagPos    int  // index of the tag byte in buf
	content   bool // content bit set (text or child written)
	sawText   bool // a CharData token arrived, even an empty one
	children  bool
	embedType bool // a MetInf Type announcing embedded (TNDS/DevInf) data was seen in this element's Meta
}

// NewEncoder returns an Encoder writing a WBXML 1.2 document of type doc to w.
func NewEncoder(w io.Writer, doc Doc) *Encoder {
	e := &Encoder{w: w, doc: doc, t: doc.tab(), version: 0x02, maxDepth: MaxDepth}
	if e.t == nil {
		e.err = fmt.Errorf("wbxml: encoder: %w: zero Doc", ErrNotEncodable)
	}
	if doc.PublicID == 0 {
		// String-table form of the public id: index 0 holds the FPI.
		e.strtbl = append(append(e.strtbl, doc.FPI...), 0)
	}
	return e
}

// Reset discards the document in progress (and any error) and starts a new
// one of the same type and version, written to w by Flush. The Encoder's
// buffers are kept, so an Encoder reused for many small documents hardly
// allocates.
func (e *Encoder) Reset(w io.Writer) {
	old := *e
	*e = Encoder{w: w, doc: old.doc, t: old.t, version: old.version, maxDepth: old.maxDepth,
		buf: old.buf[:0], stack: old.stack[:0], text: old.text[:0], strtbl: old.strtbl[:0], tags: old.tags}
	if e.t == nil {
		e.err = fmt.Errorf("wbxml: encoder: %w: zero Doc", ErrNotEncodable)
	}
	if e.doc.PublicID == 0 {
		e.strtbl = append(append(e.strtbl, e.doc.FPI...), 0)
	}
}

// CodePage returns the tag code page the encoder is on: the page of the
// last tag token written (0 before the first). A document that continues
// after the body Body returns must switch back from this page.
func (e *Encoder) CodePage() byte { return e.tagPage }

// Body returns the encoded body of a complete document, everything after
// the header and string table, without building the whole document; it is
// valid until the next Reset. It fails with ErrStringTable when the body
// refers to the string table (a LITERAL tag), so that it cannot stand in
// another document.
func (e *Encoder) Body() ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	if len(e.lits) > 0 {
		return nil, fmt.Errorf("wbxml: encoder: %w: body refers to the string table", ErrStringTable)
	}
	return e.buf, nil
}

// SetVersion selects the WBXML version byte (0x01..0x03) written in the
// header. It must be called before the first token.
func (e *Encoder) SetVersion(v byte) error {
	if e.started || v < 0x01 || v > 0x03 {
		return fmt.Errorf("wbxml: encoder: %w: cannot set version 0x%02x", ErrVersion, v)
	}
	e.version = v
	return nil
}

// Size returns the number of bytes produced so far.
func (e *Encoder) Size() int {
	n := e.headerLen() + len(e.buf)
	if e.sub != nil {
		n += e.sub.Size() + 6 // OPAQUE token and length, at most
	}
	return n + len(e.text)
}

// Bytes returns the encoded document after a successful Flush.
func (e *Encoder) Bytes() []byte {
	if e.flushed && e.out == nil && e.err == nil {
		e.build()
	}
	return e.out
}

func appendMb(b []byte, v uint32) []byte {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v != 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(b, tmp[i:]...)
}

// headerLen is the size of the header with the string table so far.
func (e *Encoder) headerLen() int {
	n := 1 + 1 + mbLen(uint32(len(e.strtbl))) + len(e.strtbl)
	if e.doc.PublicID != 0 {
		n += mbLen(e.doc.PublicID)
	} else {
		n += 2
	}
	return n
}

func mbLen(v uint32) int {
	n := 1
	for v >>= 7; v != 0; v >>= 7 {
		n++
	}
	return n
}

// appendHeader appends version, public id, charset (UTF-8) and string table.
func (e *Encoder) appendHeader(b []byte) []byte {
	b = append(b, e.version)
	if e.doc.PublicID != 0 {
		b = appendMb(b, e.doc.PublicID)
	} else {
		b = append(b, 0x00, 0x00)
	}
	b = append(b, charsetUTF8)
	b = appendMb(b, uint32(len(e.strtbl)))
	return append(b, e.strtbl...)
}

// literal returns the string table index of an element name without a token.
func (e *Encoder) literal(name string) uint32 {
	if idx, ok := e.lits[name]; ok {
		return idx
	}
	if e.lits == nil {
		e.lits = map[string]uint32{}
	}
	idx := uint32(len(e.strtbl))
	e.strtbl = append(append(e.strtbl, name...), 0)
	e.lits[name] = idx
	return idx
}

func (e *Encoder) failf(format string, args ...any) error {
	e.err = fmt.Errorf("wbxml: encoder: "+format, args...)
	return e.err
}

// EncodeToken encodes one token. ProcInst, Directive and Comment tokens are
// ignored, as is whitespace outside the root element.
func (e *Encoder) EncodeToken(t xml.Token) error {
	switch t := t.(type) {
	case xml.StartElement:
		return e.EncodeStart(t.Name, t.Attr)
	case xml.EndElement:
		return e.EncodeEnd(t.Name)
	case xml.CharData:
		return encodeText(e, []byte(t))
	}
	if err := e.ready(); err != nil {
		return err
	}
	switch t.(type) {
	case xml.ProcInst, xml.Directive, xml.Comment:
		return nil
	}
	return e.failf("%w: unsupported token type %T", ErrStructure, t)
}

// ready returns the error that stops any further token.
func (e *Encoder) ready() error {
	if e.err != nil {
		return e.err
	}
	if e.flushed {
		e.err = ErrEncoderClosed
		return e.err
	}
	return nil
}

// EncodeStart encodes a start tag, like EncodeToken(xml.StartElement{name,
// attr}) but without boxing the token in an interface.
func (e *Encoder) EncodeStart(name xml.Name, attr []xml.Attr) error {
	if err := e.ready(); err != nil {
		return err
	}
	if e.sub != nil {
		if err := e.sub.EncodeStart(name, attr); err != nil {
			e.err = err
			return err
		}
		e.subDepth++
		return nil
	}
	return e.start(xml.StartElement{Name: name, Attr: attr})
}

// EncodeEnd encodes an end tag, like EncodeToken(xml.EndElement{name}).
func (e *Encoder) EncodeEnd(name xml.Name) error {
	if err := e.ready(); err != nil {
		return err
	}
	if e.sub != nil {
		if err := e.sub.EncodeEnd(name); err != nil {
			e.err = err
			return err
		}
		e.subDepth--
		if e.subDepth > 0 {
			return nil
		}
		return e.closeSub()
	}
	return e.end(xml.EndElement{Name: name})
}

// EncodeText encodes character data, like EncodeToken(xml.CharData(s)).
func (e *Encoder) EncodeText(s string) error { return encodeText(e, s) }

func encodeText[T string | []byte](e *Encoder, t T) error {
	if err := e.ready(); err != nil {
		return err
	}
	if e.sub != nil {
		if err := encodeText(e.sub, t); err != nil {
			e.err = err
			return err
		}
		return nil
	}
	if len(e.stack) == 0 {
		if strings.TrimSpace(string(t)) != "" {
			return e.failf("%w: text outside the root element", ErrStructure)
		}
		return nil
	}
	e.text = append(e.text, t...)
	e.stack[len(e.stack)-1].sawText = true
	return nil
}

// closeSub ends the embedded document and writes it as OPAQUE.
func (e *Encoder) closeSub() error {
	sub := e.sub
	e.sub = nil
	if err := sub.finish(); err != nil {
		e.err = err
		return err
	}
	e.markContent()
	e.buf = append(e.buf, tokOpaque)
	e.buf = appendMb(e.buf, uint32(len(sub.out)))
	e.buf = append(e.buf, sub.out...)
	return nil
}

// markContent sets the content bit of the innermost element.
func (e *Encoder) markContent() {
	top := &e.stack[len(e.stack)-1]
	if !top.content {
		top.content = true
		e.buf[top.tagPos] |= bitContent
	}
}

func isSpace[T string | []byte](b T) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// flushText writes the pending text of the innermost element. Whitespace-only
// text is dropped when the element has (or is about to get) child elements.
func (e *Encoder) flushText(beforeChild bool) {
	if len(e.text) == 0 {
		return
	}
	top := &e.stack[len(e.stack)-1]
	if (beforeChild || top.children) && isSpace(e.text) {
		e.text = e.text[:0]
		return
	}
	e.markContent()
	s := e.text
	if e.t.syncml && top.name.Local == "Type" && top.name.Space == NSMetInf {
		for _, rw := range typeRewrites {
			if string(s) == rw[0] || string(s) == rw[1] {
				if string(s) == rw[0] {
					s = []byte(rw[1])
				}
				// Meta's parent (Item or command) announces embedded data.
				if n := len(e.stack); n >= 3 && e.stack[n-2].name.Local == "Meta" {
					e.stack[n-3].embedType = true
				}
			}
		}
	}
	if e.opaqueText() && !looksEmbedded(s) {
		e.buf = append(e.buf, tokOpaque)
		e.buf = appendMb(e.buf, uint32(len(s)))
		e.buf = append(e.buf, s...)
	} else {
		e.buf = appendString(e.buf, s)
	}
	e.text = e.text[:0]
}

// appendString writes text as STR_I; NUL bytes, which STR_I cannot hold,
// become ENTITY 0.
func appendString(b, s []byte) []byte {
	for len(s) > 0 {
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			i = len(s)
		}
		if i > 0 {
			b = append(b, tokStrI)
			b = append(b, s[:i]...)
			b = append(b, 0)
		}
		for i < len(s) && s[i] == 0 {
			b = append(b, tokEntity, 0)
			i++
		}
		s = s[i:]
	}
	return b
}

// looksEmbedded reports whether text would be read back as an embedded
// document if written as OPAQUE in Data (then it must go out as a string).
func looksEmbedded(s []byte) bool {
	r := &Reader{data: s}
	return len(s) >= 4 && s[0] >= 0x01 && s[0] <= 0x03 && r.header(nil) == nil && r.doc.FPI == DMDDF12.FPI
}

// opaqueText reports whether the innermost element's text goes out as OPAQUE:
// SyncML Data in an Item of Add or Replace, unless a Meta Type of that Item or
// command announced embedded TNDS/DevInf content (libwbxml's choice).
func (e *Encoder) opaqueText() bool {
	n := len(e.stack)
	if !e.t.syncml || n < 3 {
		return false
	}
	sp := e.doc.Space
	d, item, cmd := e.stack[n-1], e.stack[n-2], e.stack[n-3]
	if d.name.Local != "Data" || d.name.Space != sp || item.name.Local != "Item" || item.name.Space != sp || cmd.name.Space != sp {
		return false
	}
	if cmd.name.Local != "Add" && cmd.name.Local != "Replace" {
		return false
	}
	return !item.embedType && !cmd.embedType
}

func (e *Encoder) resolve(t xml.StartElement) xml.Name {
	n := t.Name
	if n.Space == "" {
		for _, a := range t.Attr {
			if a.Name.Space == "" && a.Name.Local == "xmlns" {
				n.Space = a.Value
			}
		}
	}
	if n.Space == "" {
		if len(e.stack) > 0 {
			n.Space = e.stack[len(e.stack)-1].name.Space
		} else {
			n.Space = e.doc.Space
		}
	}
	return n
}

// tagCacheEntry remembers one tag table lookup.
type tagCacheEntry struct {
	name xml.Name
	ref  tagRef
	ok   bool
	set  bool
}

// tagRef looks up the token of an element name, through a small
// direct-mapped cache in front of the table's map: a message repeats few
// names many times.
func (e *Encoder) tagRef(name xml.Name) (tagRef, bool) {
	l := name.Local
	h := len(l) + len(name.Space)<<2
	if len(l) > 0 {
		h += int(l[0])<<1 + int(l[len(l)-1])*7
	}
	if e.tags == nil {
		e.tags = new([64]tagCacheEntry)
	}
	c := &e.tags[h&(len(e.tags)-1)]
	if c.set && c.name.Local == l && c.name.Space == name.Space {
		return c.ref, c.ok
	}
	ref, ok := e.t.tagIdx[name]
	*c = tagCacheEntry{name: name, ref: ref, ok: ok, set: true}
	return ref, ok
}

func (e *Encoder) start(t xml.StartElement) error {
	if e.rootDone {
		return e.failf("%w: second root element <%s>", ErrStructure, t.Name.Local)
	}
	if len(e.stack) >= e.maxDepth {
		return e.failf("%w", ErrDepth)
	}
	name := e.resolve(t)
	e.started = true
	if len(e.stack) > 0 {
		e.flushText(true)
		e.markContent()
		e.stack[len(e.stack)-1].children = true
		top := &e.stack[len(e.stack)-1]
		// A DM DDF element in SyncML Data becomes an embedded document, as
		// libwbxml does for TNDS.
		// Elsewhere DM DDF tags go inline on page 2 (the Reader expands only Data).
		if e.t.syncml && name.Space == NSDMDDF12 && top.name.Local == "Data" && top.name.Space == e.doc.Space {
			sub := NewEncoder(nil, DMDDF12)
			sub.version = e.version
			sub.maxDepth = e.maxDepth - len(e.stack)
			e.sub, e.subDepth = sub, 1
			if err := sub.start(t); err != nil {
				e.err = err
				return err
			}
			return nil
		}
	}
	ref, ok := e.tagRef(name)
	if !ok && e.t.syncml && name.Space == e.doc.Space {
		// A MetInf element written without its namespace (libwbxml accepts it too).
		mi := xml.Name{Space: NSMetInf, Local: name.Local}
		if ref, ok = e.t.tagIdx[mi]; ok {
			name = mi
		}
	}
	literal := false
	if !ok {
		// No token: a LITERAL tag naming the element in the string table, on
		// a code page of the element's namespace.
		p, known := e.t.spacePage[name.Space]
		if !known {
			return e.failf("%w: element <%s xmlns=%q> in %s", ErrNotEncodable, name.Local, name.Space, e.doc.Name)
		}
		ref, literal = tagRef{page: p, tok: tokLiteral}, true
	}
	if ref.page != e.tagPage {
		e.buf = append(e.buf, tokSwitchPage, ref.page)
		e.tagPage = ref.page
	}
	tagPos := len(e.buf)
	e.buf = append(e.buf, ref.tok)
	if literal {
		e.buf = appendMb(e.buf, e.literal(name.Local))
	}
	var err error
	hasAttr := false
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if !hasAttr {
			hasAttr = true
			e.buf[tagPos] |= bitAttr
		}
		if err = e.attr(a); err != nil {
			return err
		}
	}
	if hasAttr {
		e.buf = append(e.buf, tokEnd)
	}
	e.stack = append(e.stack, encElem{name: name, tagPos: tagPos})
	return nil
}

func (e *Encoder) switchAttrPage(p byte) {
	if p != e.attrPage {
		e.buf = append(e.buf, tokSwitchPage, p)
		e.attrPage = p
	}
}

// attr encodes one attribute: the best start token (name and longest value
// prefix; code page 0 preferred), then the rest of the value as a whole
// value token when one matches, else as an inline string.
func (e *Encoder) attr(a xml.Attr) error {
	t := e.t
	if t.astart == nil {
		return e.failf("%w: attribute %s on <%s> (%s has no attributes)", ErrNotEncodable, a.Name.Local, e.doc.Name, e.doc.Name)
	}
	var best *attrStart
	for i := range t.starts {
		s := &t.starts[i]
		if s.name != a.Name.Local || !strings.HasPrefix(a.Value, s.prefix) {
			continue
		}
		if best == nil || len(s.prefix) > len(best.prefix) {
			best = s
		}
	}
	if best == nil {
		return e.failf("%w: attribute %s", ErrNotEncodable, a.Name.Local)
	}
	e.switchAttrPage(best.page)
	e.buf = append(e.buf, best.tok)
	rest := a.Value[len(best.prefix):]
	if rest == "" {
		return nil
	}
	for i := range t.values {
		v := &t.values[i]
		if v.value == rest {
			e.switchAttrPage(v.page)
			e.buf = append(e.buf, v.tok)
			return nil
		}
	}
	e.buf = appendString(e.buf, []byte(rest))
	return nil
}

func (e *Encoder) end(t xml.EndElement) error {
	if len(e.stack) == 0 {
		return e.failf("%w: </%s> without open element", ErrStructure, t.Name.Local)
	}
	top := e.stack[len(e.stack)-1]
	if t.Name.Local != top.name.Local {
		return e.failf("%w: </%s> closes <%s>", ErrStructure, t.Name.Local, top.name.Local)
	}
	e.flushText(false)
	if e.stack[len(e.stack)-1].sawText {
		// <Data><![CDATA[]]></Data>: libwbxml keeps the content bit, then END.
		e.markContent()
	}
	if e.stack[len(e.stack)-1].content {
		e.buf = append(e.buf, tokEnd)
	}
	e.stack = e.stack[:len(e.stack)-1]
	if len(e.stack) == 0 {
		e.rootDone = true
	}
	return nil
}

// check reports whether the document is complete.
func (e *Encoder) check() error {
	if e.err != nil {
		return e.err
	}
	if len(e.stack) > 0 || e.sub != nil {
		return fmt.Errorf("wbxml: encoder: %w: %d", ErrUnclosed, len(e.stack))
	}
	if !e.rootDone {
		return fmt.Errorf("wbxml: encoder: %w: no root element", ErrStructure)
	}
	return nil
}

// build assembles the whole document in out.
func (e *Encoder) build() {
	if e.out == nil {
		e.out = append(e.appendHeader(make([]byte, 0, e.headerLen()+len(e.buf))), e.buf...)
	}
}

func (e *Encoder) finish() error {
	if err := e.check(); err != nil {
		return err
	}
	e.build()
	return nil
}

// Flush checks that the document is complete and writes it to w.
func (e *Encoder) Flush() error {
	if err := e.check(); err != nil {
		return err
	}
	if e.flushed {
		return nil
	}
	e.flushed = true
	if e.w == nil {
		return nil // Bytes builds the document on demand
	}
	e.build()
	if _, err := e.w.Write(e.out); err != nil {
		e.err = fmt.Errorf("wbxml: encoder: %w", err)
		return e.err
	}
	return nil
}
