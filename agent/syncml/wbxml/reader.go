package wbxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// Global tokens (WAP-192-WBXML §7.1).
const (
	tokSwitchPage = 0x00
	tokEnd        = 0x01
	tokEntity     = 0x02
	tokStrI       = 0x03
	tokLiteral    = 0x04
	tokExtI0      = 0x40
	tokExtI2      = 0x42
	tokPI         = 0x43
	tokLiteralC   = 0x44
	tokExtT0      = 0x80
	tokExtT2      = 0x82
	tokStrT       = 0x83
	tokLiteralA   = 0x84
	tokExt0       = 0xC0
	tokExt2       = 0xC2
	tokOpaque     = 0xC3
	tokLiteralAC  = 0xC4

	bitAttr    = 0x80
	bitContent = 0x40
)

// Charsets (IANA MIBenum).
const (
	charsetUnknown = 0
	charsetASCII   = 3
	charsetLatin1  = 4
	charsetUTF8    = 106
)

// MaxDepth bounds element nesting (embedded documents included).
const MaxDepth = 64

// Media types whose +xml form libwbxml rewrites to +wbxml when encoding (and
// back when decoding) in a MetInf Type, because the Data that follows carries
// an embedded WBXML document.
var typeRewrites = [][2]string{
	{"application/vnd.syncml.dmtnds+xml", "application/vnd.syncml.dmtnds+wbxml"},
	{"application/vnd.syncml-devinf+xml", "application/vnd.syncml-devinf+wbxml"},
}

type openElem struct {
	name   xml.Name
	cached *tagToks // boxed Start/EndElement of a table tag, nil for LITERAL
}

// Reader decodes one WBXML document into encoding/xml tokens. It implements
// xml.TokenReader so xml.NewTokenDecoder(r) can unmarshal straight into
// structs with xml tags. CharData tokens may share memory with the input: do
// not modify them, and copy them (xml.CopyToken) to keep them past the next
// call, as with xml.Decoder.
type Reader struct {
	data     []byte
	pos      int
	base     int // offset of data[0] in the outermost document
	version  byte
	pubID    uint32
	fpi      string
	charset  uint32
	strtbl   []byte
	nuls     []int // positions of the NULs in strtbl, built on first use
	doc      Doc
	t        *tables
	tagPage  byte
	attrPage byte
	stack    []openElem
	maxDepth int
	pendEnd  bool
	rootSeen bool
	done     bool
	sub      *Reader
	err      error
	ev       Event    // Token's event
	lastTok  *tagToks // cached tokens of the last start or end tag, if a table tag
	// tag tables of code page curPage, looked up on a page change only
	curPage byte
	curTags *[64]xml.Name
	curToks *[64]tagToks
}

// NewReader parses the document header (WBXML 1.1 to 1.3, numeric or
// string-table public id, charset, string table) and returns a Reader
// positioned at the body. The document type is chosen from the public id.
func NewReader(data []byte) (*Reader, error) {
	r := &Reader{data: data, maxDepth: MaxDepth}
	if err := r.header(nil); err != nil {
		return nil, err
	}
	return r, nil
}

// NewReaderDoc is NewReader with the document type forced (like wbxml2xml -l),
// whatever public id the header carries.
func NewReaderDoc(data []byte, doc Doc) (*Reader, error) {
	if doc.tf == nil {
		return nil, &DecodeError{Field: "doc", Err: ErrPublicID}
	}
	r := &Reader{data: data, maxDepth: MaxDepth}
	if err := r.header(&doc); err != nil {
		return nil, err
	}
	return r, nil
}

// Version returns the WBXML version byte (0x01..0x03 for 1.1..1.3).
func (r *Reader) Version() byte { return r.version }

// PublicID returns the numeric public id, or 0 if the header used the string form.
func (r *Reader) PublicID() uint32 { return r.pubID }

// PublicIDString returns the formal public identifier of the document type.
func (r *Reader) PublicIDString() string {
	if r.fpi != "" {
		return r.fpi
	}
	return r.doc.FPI
}

// Doc returns the document type being decoded.
func (r *Reader) Doc() Doc { return r.doc }

func (r *Reader) errAt(off int, field string, err error) error {
	return &DecodeError{Field: field, Offset: r.base + off, Err: err}
}

// mbUint32 reads a multi-byte unsigned integer (WBXML §5.1).
func (r *Reader) mbUint32(field string) (uint32, error) {
	start := r.pos
	var v uint32
	for i := 0; i < 5; i++ {
		if r.pos >= len(r.data) {
			return 0, r.errAt(start, field, ErrTruncated)
		}
		b := r.data[r.pos]
		r.pos++
		if v > 0x01FFFFFF { // shifting by 7 would lose bits
			return 0, r.errAt(start, field, ErrOverflow)
		}
		v = v<<7 | uint32(b&0x7f)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, r.errAt(start, field, ErrOverflow)
}

func (r *Reader) header(force *Doc) error {
	if len(r.data) == 0 {
		return r.errAt(0, "header.version", ErrTruncated)
	}
	r.version = r.data[0]
	if r.version < 0x01 || r.version > 0x03 {
		return r.errAt(0, "header.version", fmt.Errorf("%w: 0x%02x", ErrVersion, r.version))
	}
	r.pos = 1
	id, err := r.mbUint32("header.publicid")
	if err != nil {
		return err
	}
	fpiIdx := -1
	if id == 0 {
		idxPos := r.pos
		idx, err := r.mbUint32("header.publicid")
		if err != nil {
			return err
		}
		if idx > uint32(len(r.data)) {
			return r.errAt(idxPos, "header.publicid", ErrStringTable)
		}
		fpiIdx = int(idx)
	}
	csPos := r.pos
	r.charset, err = r.mbUint32("header.charset")
	if err != nil {
		return err
	}
	switch r.charset {
	case charsetUnknown, charsetASCII, charsetLatin1, charsetUTF8:
	default:
		return r.errAt(csPos, "header.charset", fmt.Errorf("%w: MIBenum %d", ErrCharset, r.charset))
	}
	stPos := r.pos
	n, err := r.mbUint32("header.strtbl")
	if err != nil {
		return err
	}
	if uint64(n) > uint64(len(r.data)-r.pos) {
		return r.errAt(stPos, "header.strtbl", ErrTruncated)
	}
	r.strtbl = r.data[r.pos : r.pos+int(n)]
	r.pos += int(n)
	if fpiIdx >= 0 {
		s, err := r.tableString(fpiIdx)
		if err != nil {
			return r.errAt(stPos, "header.publicid", err)
		}
		r.fpi = string(s)
	} else {
		r.pubID = id
	}
	if force != nil {
		r.doc = *force
	} else {
		d, ok := docByPublicID(r.pubID, r.fpi)
		if !ok {
			what := r.fpi
			if what == "" {
				what = fmt.Sprintf("0x%X", id)
			}
			return r.errAt(1, "header.publicid", fmt.Errorf("%w: %s", ErrPublicID, what))
		}
		r.doc = d
	}
	r.t = r.doc.tab()
	return nil
}

func (r *Reader) tableString(idx int) ([]byte, error) {
	if idx < 0 || idx >= len(r.strtbl) {
		return nil, fmt.Errorf("%w: index %d, table length %d", ErrStringTable, idx, len(r.strtbl))
	}
	// A sorted list of NUL positions keeps hostile documents (many STR_T into
	// a long unterminated table) linear.
	if r.nuls == nil {
		r.nuls = make([]int, 0, 8)
		for i, c := range r.strtbl {
			if c == 0 {
				r.nuls = append(r.nuls, i)
			}
		}
	}
	k, _ := slices.BinarySearch(r.nuls, idx)
	if k == len(r.nuls) {
		return nil, fmt.Errorf("%w: string at %d not terminated", ErrStringTable, idx)
	}
	return r.strtbl[idx:r.nuls[k]], nil
}

// inlineString reads a NUL-terminated string after STR_I.
func (r *Reader) inlineString(field string) ([]byte, error) {
	start := r.pos
	end := bytes.IndexByte(r.data[r.pos:], 0)
	if end < 0 {
		return nil, r.errAt(start, field, ErrTruncated)
	}
	s := r.data[r.pos : r.pos+end]
	r.pos += end + 1
	return s, nil
}

func (r *Reader) text(s []byte) []byte {
	if r.charset == charsetLatin1 {
		return latin1ToUTF8(s)
	}
	return s
}

func latin1ToUTF8(s []byte) []byte {
	ascii := true
	for _, c := range s {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	out := make([]byte, 0, len(s)*2)
	for _, c := range s {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// stringToken reads the string of a STR_I / STR_T token at r.pos (the token
// byte already consumed).
func (r *Reader) stringToken(tok byte) ([]byte, error) {
	if tok == tokStrI {
		s, err := r.inlineString("STR_I")
		return r.text(s), err
	}
	start := r.pos
	idx, err := r.mbUint32("STR_T")
	if err != nil {
		return nil, err
	}
	if idx > uint32(len(r.strtbl)) {
		return nil, r.errAt(start, "STR_T", ErrStringTable)
	}
	s, err := r.tableString(int(idx))
	if err != nil {
		return nil, r.errAt(start, "STR_T", err)
	}
	return r.text(s), nil
}

func (r *Reader) entity() ([]byte, error) {
	start := r.pos
	v, err := r.mbUint32("ENTITY")
	if err != nil {
		return nil, err
	}
	if v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
		return nil, r.errAt(start, "ENTITY", fmt.Errorf("invalid character U+%X", v))
	}
	return utf8.AppendRune(nil, rune(v)), nil
}

func (r *Reader) opaque() ([]byte, int, error) {
	start := r.pos
	n, err := r.mbUint32("OPAQUE")
	if err != nil {
		return nil, 0, err
	}
	if uint64(n) > uint64(len(r.data)-r.pos) {
		return nil, 0, r.errAt(start, "OPAQUE", ErrTruncated)
	}
	b := r.data[r.pos : r.pos+int(n)]
	off := r.pos
	r.pos += int(n)
	return b, off, nil
}

// EventKind says what kind of token NextEvent found.
type EventKind uint8

// Event kinds.
const (
	EventStart EventKind = iota + 1 // a start tag: Name, Attr
	EventEnd                        // an end tag (END token or the end of an empty element): Name
	EventText                       // character data: Text, TextAt
)

// Event is one token as NextEvent returns it, without the interface boxing
// of Token. NextEvent sets only the fields of the event's kind (Kind and
// Offset always; Name and Attr for a start tag; Name for an end tag; Text
// and TextAt for text) and leaves the others as they were, so that a
// reused Event costs no needless pointer writes. Text may share memory
// with the input and is valid until the next call; Attr is freshly
// allocated and may be kept.
type Event struct {
	Kind EventKind
	Name xml.Name
	Attr []xml.Attr
	Text []byte
	// Offset is the byte offset, in the outermost document, of the token
	// that produced the event: the tag byte of a start tag, the END byte
	// of an end tag (the offset just after the tag of an element without
	// content), the STR_I/STR_T/ENTITY/OPAQUE byte of text.
	Offset int64
	// TextAt is the offset in the outermost document where Text is found
	// byte for byte (STR_I and OPAQUE in UTF-8 documents), or -1 when
	// Text was converted or comes from the string table.
	TextAt int64
}

func (r *Reader) pop(ev *Event) {
	n := r.stack[len(r.stack)-1]
	r.stack = r.stack[:len(r.stack)-1]
	if len(r.stack) == 0 {
		r.done = true
	}
	ev.Kind, ev.Name = EventEnd, n.name
	r.lastTok = n.cached
}

func (r *Reader) failEv(err error) error {
	r.err = err
	return err
}

// inSyncMLData reports whether the innermost open element is a SyncML Data.
func (r *Reader) inSyncMLData() bool {
	if !r.t.syncml || len(r.stack) == 0 {
		return false
	}
	n := r.stack[len(r.stack)-1].name
	return n.Local == "Data" && n.Space == r.doc.Space
}

// rewriteType turns a MetInf Type "+wbxml" back into "+xml" (libwbxml does the same).
func (r *Reader) rewriteType(s []byte) []byte {
	if !r.t.syncml || len(r.stack) == 0 {
		return s
	}
	n := r.stack[len(r.stack)-1].name
	if n.Local != "Type" || n.Space != NSMetInf {
		return s
	}
	for _, rw := range typeRewrites {
		if string(s) == rw[1] {
			return []byte(rw[0])
		}
	}
	return s
}

// InputOffset returns the offset, in the outermost document, of the next
// token to be read (it may be a SWITCH_PAGE in front of a tag). Before the
// first token it is the offset of the body, after the last the length of
// the document. Together with Token it lets a consumer locate elements.
func (r *Reader) InputOffset() int64 {
	if r.sub != nil {
		return r.sub.InputOffset()
	}
	return int64(r.base + r.pos)
}

// Token returns the next token: StartElement, EndElement or CharData. It
// returns io.EOF after the root element is closed.
func (r *Reader) Token() (xml.Token, error) {
	ev := &r.ev
	if err := r.NextEvent(ev); err != nil {
		return nil, err
	}
	switch ev.Kind {
	case EventStart:
		// Table tags reuse boxed tokens: no allocation per element. The
		// boxed values are never modified (a type assertion copies them out).
		if r.lastTok != nil && ev.Attr == nil {
			return r.lastTok.start, nil
		}
		return xml.StartElement{Name: ev.Name, Attr: ev.Attr}, nil
	case EventEnd:
		if r.lastTok != nil {
			return r.lastTok.end, nil
		}
		return xml.EndElement{Name: ev.Name}, nil
	}
	return xml.CharData(ev.Text), nil
}

// NextEvent is Token without boxing: it fills ev with the next token and
// returns io.EOF after the root element is closed. The events are the
// tokens Token returns, in the same order.
func (r *Reader) NextEvent(ev *Event) error {
	if r.err != nil {
		return r.err
	}
	for {
		if r.sub != nil {
			err := r.sub.NextEvent(ev)
			if err == nil {
				r.lastTok = r.sub.lastTok
				return nil
			}
			r.sub = nil
			if err != io.EOF {
				return r.failEv(err)
			}
			continue
		}
		if r.pendEnd {
			r.pendEnd = false
			ev.Offset = int64(r.base + r.pos)
			r.pop(ev)
			return nil
		}
		if r.done {
			if r.pos < len(r.data) {
				return r.failEv(r.errAt(r.pos, "body", fmt.Errorf("%w: %d bytes after the root element", ErrStructure, len(r.data)-r.pos)))
			}
			r.err = io.EOF
			return io.EOF
		}
		if r.pos >= len(r.data) {
			if !r.rootSeen {
				return r.failEv(r.errAt(r.pos, "body", fmt.Errorf("%w: no root element", ErrTruncated)))
			}
			return r.failEv(r.errAt(r.pos, "body", fmt.Errorf("%w: %d elements open", ErrTruncated, len(r.stack))))
		}
		off := r.pos
		b := r.data[r.pos]
		r.pos++
		switch b {
		case tokSwitchPage:
			if r.pos >= len(r.data) {
				return r.failEv(r.errAt(off, "SWITCH_PAGE", ErrTruncated))
			}
			r.tagPage = r.data[r.pos]
			r.pos++
			continue
		case tokEnd:
			if len(r.stack) == 0 {
				return r.failEv(r.errAt(off, "END", fmt.Errorf("%w: END without open element", ErrStructure)))
			}
			ev.Offset = int64(r.base + off)
			r.pop(ev)
			return nil
		case tokStrI, tokStrT, tokEntity, tokOpaque:
			if len(r.stack) == 0 {
				return r.failEv(r.errAt(off, "body", fmt.Errorf("%w: text outside the root element", ErrStructure)))
			}
			var s []byte
			var err error
			at := -1
			switch b {
			case tokStrI, tokStrT:
				if b == tokStrI && r.charset != charsetLatin1 {
					at = r.pos
				}
				s, err = r.stringToken(b)
				if err == nil {
					s2 := r.rewriteType(s)
					if len(s2) != len(s) || (len(s) > 0 && &s2[0] != &s[0]) {
						at = -1
					}
					s = s2
				}
			case tokEntity:
				s, err = r.entity()
			case tokOpaque:
				s, at, err = r.opaque()
				if err == nil && r.inSyncMLData() && r.embed(s, at) {
					continue
				}
			}
			if err != nil {
				return r.failEv(err)
			}
			if len(s) == 0 {
				continue
			}
			ev.Kind, ev.Text = EventText, s
			ev.Offset, ev.TextAt = int64(r.base+off), -1
			if at >= 0 {
				ev.TextAt = int64(r.base + at)
			}
			return nil
		case tokPI:
			return r.failEv(r.errAt(off, "PI", fmt.Errorf("%w: processing instructions are not supported", ErrToken)))
		case tokExtI0, tokExtI0 + 1, tokExtI2, tokExtT0, tokExtT0 + 1, tokExtT2, tokExt0, tokExt0 + 1, tokExt2:
			return r.failEv(r.errAt(off, "EXT", fmt.Errorf("%w: extension token 0x%02X", ErrToken, b)))
		}
		return r.tag(ev, off, b)
	}
}

// embed starts decoding an embedded DM DDF document carried in an OPAQUE.
func (r *Reader) embed(b []byte, at int) bool {
	if len(b) < 4 || b[0] < 0x01 || b[0] > 0x03 {
		return false
	}
	sub := &Reader{data: b, base: r.base + at, maxDepth: r.maxDepth - len(r.stack)}
	if sub.header(nil) != nil || sub.doc.FPI != DMDDF12.FPI {
		return false
	}
	r.sub = sub
	return true
}

func (r *Reader) tag(ev *Event, off int, b byte) error {
	if r.rootSeen && len(r.stack) == 0 {
		return r.failEv(r.errAt(off, "body", fmt.Errorf("%w: second root element", ErrStructure)))
	}
	if len(r.stack) >= r.maxDepth {
		return r.failEv(r.errAt(off, "tag", ErrDepth))
	}
	var name xml.Name
	var cached *tagToks
	if b&0x3f == tokLiteral {
		idxPos := r.pos
		idx, err := r.mbUint32("LITERAL")
		if err != nil {
			return r.failEv(err)
		}
		if idx > uint32(len(r.strtbl)) {
			return r.failEv(r.errAt(idxPos, "LITERAL", ErrStringTable))
		}
		s, err := r.tableString(int(idx))
		if err != nil {
			return r.failEv(r.errAt(idxPos, "LITERAL", err))
		}
		if len(s) == 0 || !utf8.Valid(s) {
			return r.failEv(r.errAt(idxPos, "LITERAL", fmt.Errorf("%w: bad literal tag name", ErrStructure)))
		}
		name = xml.Name{Space: r.pageSpace(), Local: string(s)}
	} else {
		if r.curTags == nil || r.curPage != r.tagPage {
			r.curPage, r.curTags, r.curToks = r.tagPage, r.t.tags[r.tagPage], r.t.toks[r.tagPage]
		}
		if arr := r.curTags; arr != nil {
			name = arr[b&0x3f]
			cached = &r.curToks[b&0x3f]
		}
		if name.Local == "" {
			return r.failEv(r.errAt(off, "tag", fmt.Errorf("%w: 0x%02X on code page %d", ErrUnknownTag, b&0x3f, r.tagPage)))
		}
	}
	var attrs []xml.Attr
	if b&bitAttr != 0 {
		var err error
		if attrs, err = r.attributes(); err != nil {
			return r.failEv(err)
		}
	}
	r.rootSeen = true
	if b&bitContent == 0 {
		r.pendEnd = true
	}
	r.stack = append(r.stack, openElem{name, cached})
	r.lastTok = cached
	ev.Kind, ev.Name, ev.Offset = EventStart, name, int64(r.base+off)
	if attrs != nil || ev.Attr != nil {
		ev.Attr = attrs
	}
	return nil
}
func (r *Reader) pageSpace() string {
	if arr := r.t.tags[r.tagPage]; arr != nil {
		for _, n := range arr {
			if n.Local != "" {
				return n.Space
			}
		}
	}
	return r.doc.Space
}

// attributes decodes an attribute list up to its END token.
func (r *Reader) attributes() ([]xml.Attr, error) {
	var attrs []xml.Attr
	var val []byte
	open := false
	finish := func() {
		if open {
			attrs[len(attrs)-1].Value = string(val)
			val = val[:0]
			open = false
		}
	}
	for {
		if r.pos >= len(r.data) {
			return nil, r.errAt(r.pos, "attribute", ErrTruncated)
		}
		off := r.pos
		b := r.data[r.pos]
		r.pos++
		switch {
		case b == tokSwitchPage:
			if r.pos >= len(r.data) {
				return nil, r.errAt(off, "SWITCH_PAGE", ErrTruncated)
			}
			r.attrPage = r.data[r.pos]
			r.pos++
		case b == tokEnd:
			finish()
			if len(attrs) == 0 {
				return nil, r.errAt(off, "attribute", fmt.Errorf("%w: empty attribute list", ErrStructure))
			}
			return attrs, nil
		case b == tokStrI || b == tokStrT || b == tokEntity || b == tokOpaque:
			if !open {
				return nil, r.errAt(off, "attribute", fmt.Errorf("%w: value without attribute start", ErrStructure))
			}
			var s []byte
			var err error
			switch b {
			case tokEntity:
				s, err = r.entity()
			case tokOpaque:
				s, _, err = r.opaque()
			default:
				s, err = r.stringToken(b)
			}
			if err != nil {
				return nil, err
			}
			val = append(val, s...)
		case b == tokLiteral:
			finish()
			idxPos := r.pos
			idx, err := r.mbUint32("LITERAL")
			if err != nil {
				return nil, err
			}
			if idx > uint32(len(r.strtbl)) {
				return nil, r.errAt(idxPos, "LITERAL", ErrStringTable)
			}
			s, err := r.tableString(int(idx))
			if err != nil {
				return nil, r.errAt(idxPos, "LITERAL", err)
			}
			if len(s) == 0 || !utf8.Valid(s) {
				return nil, r.errAt(idxPos, "LITERAL", fmt.Errorf("%w: bad literal attribute name", ErrStructure))
			}
			attrs = append(attrs, xml.Attr{Name: xml.Name{Local: string(s)}})
			open = true
		case (b >= tokExtI0 && b <= tokLiteralC) || (b >= tokExtT0 && b <= tokLiteralA) || (b >= tokExt0 && b <= tokLiteralAC):
			return nil, r.errAt(off, "attribute", fmt.Errorf("%w: 0x%02X in an attribute list", ErrToken, b))
		case b < 0x80:
			finish()
			var a *attrStart
			if arr := r.t.astart[r.attrPage]; arr != nil {
				a = arr[b]
			}
			if a == nil {
				return nil, r.errAt(off, "attribute", fmt.Errorf("%w: start 0x%02X on code page %d", ErrUnknownAttr, b, r.attrPage))
			}
			if len(attrs) >= 256 {
				return nil, r.errAt(off, "attribute", fmt.Errorf("%w: too many attributes", ErrStructure))
			}
			attrs = append(attrs, xml.Attr{Name: xml.Name{Local: a.name}})
			val = append(val[:0], a.prefix...)
			open = true
		default:
			var v *attrValue
			if arr := r.t.avalue[r.attrPage]; arr != nil {
				v = arr[b-0x80]
			}
			if v == nil {
				return nil, r.errAt(off, "attribute", fmt.Errorf("%w: value 0x%02X on code page %d", ErrUnknownAttr, b, r.attrPage))
			}
			if !open {
				return nil, r.errAt(off, "attribute", fmt.Errorf("%w: value without attribute start", ErrStructure))
			}
			val = append(val, v.value...)
		}
	}
}
