package syncml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

// Decode decodes a SyncML DM message in either encoding, telling WBXML from
// XML by the first byte (a WBXML document starts with its version byte
// 0x01..0x03; an XML document with '<', a BOM or white space).
func Decode(data []byte) (*Message, Encoding, error) {
	if isWBXML(data) {
		m, err := DecodeWBXML(data)
		return m, WBXML, err
	}
	m, err := DecodeXML(data)
	return m, XML, err
}

// isWBXML reports whether data starts like a WBXML document.
func isWBXML(data []byte) bool {
	return len(data) > 0 && data[0] <= 0x03
}

// DecodeXML decodes a SyncML DM message in XML.
func DecodeXML(data []byte) (*Message, error) {
	sc := newXMLScanner(data)
	p := &parser{src: sc, data: data, str: sc.str}
	return p.message()
}

// decodeXMLStd is DecodeXML with encoding/xml as the tokenizer: the
// reference the scanner is tested against.
func decodeXMLStd(data []byte) (*Message, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	p := &parser{src: &tokenSource{r: d, off: d}, data: data}
	return p.message()
}

// DecodeTokens decodes a message from a stream of tokens, e.g. a WBXML
// reader. Element names must carry their namespace (Name.Space). If r has
// an InputOffset() int64 method, positions use it.
func DecodeTokens(r xml.TokenReader) (*Message, error) {
	if wr, ok := r.(*wbxml.Reader); ok {
		p := &parser{src: wbxmlSource{r: wr}}
		return p.message()
	}
	src := &tokenSource{r: r}
	if o, ok := r.(interface{ InputOffset() int64 }); ok {
		src.off = o
	}
	p := &parser{src: src}
	return p.message()
}

// event is one token of the input, as the parser walks it: a start tag,
// an end tag or character data. Sources fill it in place, so walking a
// document does not box tokens in interfaces; only the fields of the
// event's kind are meaningful. TextAt refers to the input the parser was
// given (so its strings can share one copy of it).
type event = wbxml.Event

const (
	evStart = wbxml.EventStart
	evEnd   = wbxml.EventEnd
	evText  = wbxml.EventText
)

// source yields events. It returns io.EOF at the end of the input; on
// any error ev.Offset is the offset at which reading the next token began.
type source interface {
	next(ev *event) error
	// inputOffset is the input offset after the last event (-1 if unknown).
	inputOffset() int64
}

// tokenSource adapts an xml.TokenReader (or *xml.Decoder). Comments,
// processing instructions and directives are skipped; a nil token ends the
// input.
type tokenSource struct {
	r   xml.TokenReader
	off interface{ InputOffset() int64 }
}

func (s *tokenSource) inputOffset() int64 {
	if s.off == nil {
		return -1
	}
	return s.off.InputOffset()
}

func (s *tokenSource) next(ev *event) error {
	for {
		ev.Offset = s.inputOffset()
		t, err := s.r.Token()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			ev.Kind, ev.Name, ev.Attr = evStart, t.Name, t.Attr
		case xml.EndElement:
			ev.Kind, ev.Name = evEnd, t.Name
		case xml.CharData:
			ev.Kind, ev.Text, ev.TextAt = evText, t, -1
		case nil:
			return io.EOF
		default:
			continue // comments, processing instructions, directives
		}
		return nil
	}
}

// wbxmlSource walks a WBXML reader without boxing its tokens.
type wbxmlSource struct{ r *wbxml.Reader }

func (s wbxmlSource) inputOffset() int64 { return s.r.InputOffset() }

func (s wbxmlSource) next(ev *event) error {
	if err := s.r.NextEvent(ev); err != nil {
		ev.Offset = s.r.InputOffset()
		return err
	}
	return nil
}

type parser struct {
	src  source
	data []byte // XML input, for keeping embedded trees byte for byte
	// in is the input that event textAt offsets refer to; str is one
	// string copy of it, made on first use, that decoded strings share.
	in    []byte
	str   string
	hasIn bool
	ev    event
	// path is the element path joined by "/", ends the length of path
	// before each element; paths interns the strings made from it.
	path  []byte // path[:plen] is the path
	plen  int
	ends  []int // ends[:depth]
	depth int
	paths map[string]string
	off   int64 // offset of the last token read
	// Slabs: the model's small objects are carved from chunks rather than
	// allocated one by one (a chunk lives as long as any object in it).
	cmds   slab[Command]
	items  slab[Item]
	locs   slab[Location]
	metas  slab[Meta]
	datas  slab[Data]
	itemp  []*Item  // backing for one-element Items slices
	strs   []string // backing for one-element TargetRefs/SourceRefs
	itempN int      // size of the last itemp chunk
	strsN  int      // size of the last strs chunk
	// prob collects the first problem found below the command being parsed.
	prob error
}

// slab hands out zeroed *T from chunks that grow from 8 to 256 elements.
type slab[T any] struct {
	buf  []T
	next int
}

func (s *slab[T]) new() *T {
	if len(s.buf) == 0 {
		s.next = min(max(2*s.next, 8), 256)
		s.buf = make([]T, s.next)
	}
	v := &s.buf[0]
	s.buf = s.buf[1:]
	return v
}

// appendItem is append(items, it) that starts a one-element slice from a
// shared backing array.
func (p *parser) appendItem(items []*Item, it *Item) []*Item {
	if items != nil {
		return append(items, it)
	}
	if len(p.itemp) == 0 {
		p.itempN = min(max(2*p.itempN, 8), 256)
		p.itemp = make([]*Item, p.itempN)
	}
	s := p.itemp[0:1:1]
	p.itemp = p.itemp[1:]
	s[0] = it
	return s
}

// appendString is appendItem for strings.
func (p *parser) appendString(list []string, v string) []string {
	if list != nil {
		return append(list, v)
	}
	if len(p.strs) == 0 {
		p.strsN = min(max(2*p.strsN, 8), 256)
		p.strs = make([]string, p.strsN)
	}
	s := p.strs[0:1:1]
	p.strs = p.strs[1:]
	s[0] = v
	return s
}

func (p *parser) pathString() string {
	if s, ok := p.paths[string(p.path[:p.plen])]; ok {
		return s
	}
	if p.paths == nil {
		p.paths = make(map[string]string)
	}
	s := string(p.path[:p.plen])
	p.paths[s] = s
	return s
}

func (p *parser) push(name string) {
	// The path and its marks are stored by index: reslicing the stored
	// slices on every element would cost GC write barriers.
	n := p.plen
	need := n + 1 + len(name)
	if need > len(p.path) {
		p.path = append(p.path[:n], make([]byte, need-n+64)...)
	}
	if p.depth == len(p.ends) {
		p.ends = append(p.ends, make([]int, len(p.ends)+16)...)
	}
	p.ends[p.depth] = n
	p.depth++
	if n > 0 {
		p.path[n] = '/'
		n++
	}
	p.plen = n + copy(p.path[n:], name)
}

func (p *parser) pop() {
	p.depth--
	p.plen = p.ends[p.depth]
}

// lastName is the innermost element of the path.
func (p *parser) lastName() string {
	s := p.path[p.ends[p.depth-1]:p.plen]
	if len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	return string(s)
}

// textString returns the text of the current event as a string, sharing the
// input's copy when the text is found there verbatim.
func (p *parser) textString(ev *event) string {
	if ev.TextAt >= 0 && p.hasIn {
		end := ev.TextAt + int64(len(ev.Text))
		if end <= int64(len(p.in)) {
			if p.str == "" {
				p.str = string(p.in)
			}
			return p.str[ev.TextAt:end]
		}
	}
	return string(ev.Text)
}

// fail turns a token error into a *DecodeError.
func (p *parser) fail(err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return de
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	field := p.pathString()
	off := p.off
	// A transcoder's own typed error (e.g. wbxml.DecodeError) knows better.
	var fo interface {
		error
		FieldName() string
		ByteOffset() int64
	}
	if errors.As(err, &fo) {
		field, off = fo.FieldName(), fo.ByteOffset()
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) && p.data != nil {
		off = p.src.inputOffset()
	}
	if field == "" {
		field = "document"
	}
	return &DecodeError{Field: field, Offset: off, Err: err}
}

// maxDepth bounds element nesting; deeper documents are rejected.
const maxDepth = 100

var errTooDeep = errors.New("elements nested too deeply")

func (p *parser) next() (*event, error) {
	if p.depth > maxDepth {
		return nil, &DecodeError{Field: p.lastName(), Offset: p.off, Err: errTooDeep}
	}
	ev := &p.ev
	if err := p.src.next(ev); err != nil {
		p.off = ev.Offset
		return nil, p.fail(err)
	}
	p.off = ev.Offset
	return ev, nil
}

// children calls fn with the start event of each child element of the
// element just pushed, until its end tag; text between children is ignored.
// The next read reuses the event: fn copies what it needs before reading on.
func (p *parser) children(fn func(ev *event) error) error {
	for {
		ev, err := p.next()
		if err != nil {
			return err
		}
		switch ev.Kind {
		case evStart:
			if err := fn(ev); err != nil {
				return err
			}
		case evEnd:
			return nil
		}
	}
}

func (p *parser) note(err error) {
	if p.prob == nil {
		p.prob = err
	}
}

func (p *parser) message() (m *Message, err error) {
	defer func() {
		// Libraries never panic on bad input; turn a bug into an error.
		if r := recover(); r != nil {
			m, err = nil, &DecodeError{Field: p.pathString(), Offset: p.off, Err: fmt.Errorf("internal error: %v", r)}
		}
	}()
	if p.data != nil {
		p.in, p.hasIn = p.data, true
	}
	var root xml.Name
	for {
		p.off = p.src.inputOffset()
		ev := &p.ev
		err := p.src.next(ev)
		if err == io.EOF {
			return nil, &DecodeError{Field: "SyncML", Offset: p.off, Err: io.ErrUnexpectedEOF}
		}
		if err != nil {
			return nil, p.fail(err)
		}
		p.off = ev.Offset
		if ev.Kind == evStart {
			root = ev.Name
			break
		}
		if ev.Kind == evText && len(bytes.TrimSpace(ev.Text)) != 0 {
			return nil, &DecodeError{Field: "SyncML", Offset: p.off, Err: errors.New("text before root element")}
		}
	}
	if root.Local != "SyncML" || !syncMLSpace(root.Space) {
		return nil, &DecodeError{Field: root.Local, Offset: p.off, Err: ErrNotSyncML}
	}
	rootOff := p.off
	p.push("SyncML")
	m = &Message{}
	hdr, body := false, false
	for {
		ev, err := p.next()
		if err != nil {
			return nil, err
		}
		switch ev.Kind {
		case evStart:
			switch ev.Name.Local {
			case "SyncHdr":
				if hdr {
					return nil, &DecodeError{Field: "SyncML/SyncHdr", Offset: p.off, Err: errors.New("second SyncHdr")}
				}
				hdr = true
				if err := p.header(&m.Hdr); err != nil {
					return nil, err
				}
			case "SyncBody":
				if !hdr {
					return nil, &DecodeError{Field: "SyncML/SyncBody", Offset: p.off, Err: ErrNoSyncHdr}
				}
				if body {
					return nil, &DecodeError{Field: "SyncML/SyncBody", Offset: p.off, Err: errors.New("second SyncBody")}
				}
				body = true
				if err := p.body(m); err != nil {
					return nil, err
				}
			default:
				e, err := p.element(ev.Name, ev.Attr)
				if err != nil {
					return nil, err
				}
				m.Extra = append(m.Extra, e)
			}
		case evEnd:
			p.pop()
			if !hdr {
				return nil, &DecodeError{Field: "SyncML", Offset: rootOff, Err: ErrNoSyncHdr}
			}
			if err := p.trailer(); err != nil {
				return nil, err
			}
			return m, nil
		}
	}
}

// trailer checks that nothing but white space, comments and processing
// instructions follow the root element.
func (p *parser) trailer() error {
	for {
		p.off = p.src.inputOffset()
		ev := &p.ev
		err := p.src.next(ev)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return p.fail(err)
		}
		p.off = ev.Offset
		switch ev.Kind {
		case evStart:
			return &DecodeError{Field: ev.Name.Local, Offset: p.off, Err: errors.New("element after the root element")}
		case evText:
			if len(bytes.TrimSpace(ev.Text)) != 0 {
				return &DecodeError{Field: "SyncML", Offset: p.off, Err: errors.New("text after the root element")}
			}
		}
	}
}

func syncMLSpace(s string) bool {
	return s == "" || strings.HasPrefix(strings.ToUpper(s), "SYNCML:SYNCML")
}

func (p *parser) header(h *Header) error {
	h.Pos = Position{Path: "SyncML/SyncHdr", Offset: p.off}
	p.push("SyncHdr")
	defer p.pop()
	err := p.children(func(ev *event) (err error) {
		switch ev.Name.Local {
		case "VerDTD":
			h.VerDTD, err = p.leaf("VerDTD")
		case "VerProto":
			h.VerProto, err = p.leaf("VerProto")
		case "SessionID":
			h.SessionID, err = p.leaf("SessionID")
		case "MsgID":
			h.MsgID, err = p.leaf("MsgID")
		case "Target":
			h.Target, err = p.location("Target")
		case "Source":
			h.Source, err = p.location("Source")
		case "RespURI":
			h.RespURI, err = p.leaf("RespURI")
		case "NoResp":
			h.NoResp = true
			err = p.skip()
		case "Cred":
			h.Cred, err = p.cred()
		case "Meta":
			h.Meta, err = p.meta("Meta")
		default:
			name := ev.Name
			var e *Element
			e, err = p.element(name, ev.Attr)
			h.Extra = append(h.Extra, e)
			if h.Problem == nil {
				h.Problem = p.elementProblem(name.Local, "SyncHdr")
			}
		}
		return err
	})
	return err
}

func (p *parser) elementProblem(name, parent string) error {
	if unusedElements[name] || unusedCommands[name] {
		return fmt.Errorf("%w: %s in %s", ErrUnsupportedElement, name, parent)
	}
	return fmt.Errorf("%w: %s in %s", ErrUnexpectedElement, name, parent)
}

func (p *parser) body(m *Message) error {
	p.push("SyncBody")
	defer p.pop()
	for {
		ev, err := p.next()
		if err != nil {
			return err
		}
		switch ev.Kind {
		case evStart:
			if ev.Name.Local == "Final" {
				m.Final = true
				if err := p.skip(); err != nil {
					return err
				}
				continue
			}
			c, err := p.command(ev.Name, ev.Attr)
			if err != nil {
				return err
			}
			m.Body = append(m.Body, c)
		case evEnd:
			return nil
		}
	}
}

// command parses any element found among commands.
func (p *parser) command(start xml.Name, attr []xml.Attr) (*Command, error) {
	kind := start.Local
	if k, ok := kindNames[kind]; ok {
		kind = k // a constant: no string kept alive from the input
	}
	c := p.cmds.new()
	c.Kind = kind
	p.push(kind)
	c.Pos = Position{Path: p.pathString(), Offset: p.off}
	p.pop()
	if !dmCommands[kind] {
		e, err := p.element(start, attr)
		if err != nil {
			return nil, err
		}
		c.Raw = e
		if id := e.Child("CmdID"); id != nil {
			c.CmdID = strings.TrimSpace(id.Text)
		}
		if unusedCommands[kind] || kind == "Final" {
			c.Problem = fmt.Errorf("%w: %s", ErrUnsupportedCommand, kind)
		} else {
			c.Problem = fmt.Errorf("%w: %s", ErrUnknownElement, kind)
		}
		return c, nil
	}
	saved := p.prob
	p.prob = nil
	p.push(kind)
	defer p.pop()
	hasID := false
	for {
		ev, err := p.next()
		if err != nil {
			return nil, err
		}
		switch ev.Kind {
		case evStart:
			var err error
			switch n := ev.Name.Local; n {
			case "CmdID":
				hasID = true
				c.CmdID, err = p.leaf("CmdID")
			case "NoResp":
				c.NoResp = true
				err = p.skip()
			case "Meta":
				c.Meta, err = p.meta("Meta")
			case "Cred":
				c.Cred, err = p.cred()
			case "Correlator":
				c.Correlator, err = p.leaf("Correlator")
			case "Data":
				c.Data, err = p.leaf("Data")
			case "MsgRef":
				c.MsgRef, err = p.leaf("MsgRef")
			case "CmdRef":
				c.CmdRef, err = p.leaf("CmdRef")
			case "Cmd":
				c.Cmd, err = p.leaf("Cmd")
			case "TargetRef":
				var s string
				s, err = p.leaf("TargetRef")
				c.TargetRefs = p.appendString(c.TargetRefs, s)
			case "SourceRef":
				var s string
				s, err = p.leaf("SourceRef")
				c.SourceRefs = p.appendString(c.SourceRefs, s)
			case "Chal":
				c.Chal, err = p.chal()
			case "Item":
				var it *Item
				it, err = p.item()
				c.Items = p.appendItem(c.Items, it)
			default:
				name := ev.Name
				if IsContainer(kind) && (dmCommands[n] || unusedCommands[n] || (!unusedElements[n] && n != "Final")) {
					// Everything else inside Atomic/Sequence is a nested
					// command (possibly unknown), answered on its own.
					var cc *Command
					inner := p.prob
					cc, err = p.command(name, ev.Attr)
					p.prob = inner
					c.Children = append(c.Children, cc)
					break
				}
				var e *Element
				e, err = p.element(name, ev.Attr)
				c.Extra = append(c.Extra, e)
				p.note(p.elementProblem(name.Local, kind))
			}
			if err != nil {
				return nil, err
			}
		case evEnd:
			switch {
			case !hasID || c.CmdID == "":
				c.Problem = fmt.Errorf("%w in %s", ErrMissingCmdID, kind)
			case p.prob != nil:
				c.Problem = p.prob
			}
			p.prob = saved
			return c, nil
		}
	}
}

// kindNames maps command element names to the Kind constants.
var kindNames = func() map[string]string {
	m := map[string]string{}
	for k := range dmCommands {
		m[k] = k
	}
	for k := range unusedCommands {
		m[k] = k
	}
	return m
}()

func (p *parser) item() (*Item, error) {
	it := p.items.new()
	p.push("Item")
	defer p.pop()
	err := p.children(func(ev *event) (err error) {
		switch ev.Name.Local {
		case "Target":
			it.Target, err = p.location("Target")
		case "Source":
			it.Source, err = p.location("Source")
		case "Meta":
			it.Meta, err = p.meta("Meta")
		case "Data":
			it.Data, err = p.data1()
		case "MoreData":
			it.MoreData = true
			err = p.skip()
		default:
			name := ev.Name
			var e *Element
			e, err = p.element(name, ev.Attr)
			it.Extra = append(it.Extra, e)
			p.note(p.elementProblem(name.Local, "Item"))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

func (p *parser) location(local string) (*Location, error) {
	l := p.locs.new()
	p.push(local)
	defer p.pop()
	err := p.children(func(ev *event) (err error) {
		switch ev.Name.Local {
		case "LocURI":
			l.LocURI, err = p.leaf("LocURI")
		case "LocName":
			l.LocName, err = p.leaf("LocName")
		default:
			name := ev.Name
			var e *Element
			e, err = p.element(name, ev.Attr)
			l.Extra = append(l.Extra, e)
			p.note(p.elementProblem(name.Local, local))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (p *parser) cred() (*Cred, error) {
	c := &Cred{}
	p.push("Cred")
	defer p.pop()
	err := p.children(func(ev *event) (err error) {
		switch ev.Name.Local {
		case "Meta":
			c.Meta, err = p.meta("Meta")
		case "Data":
			c.Data, err = p.leaf("Data")
		default:
			name := ev.Name
			_, err = p.element(name, ev.Attr)
			p.note(p.elementProblem(name.Local, "Cred"))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) chal() (*Chal, error) {
	c := &Chal{}
	p.push("Chal")
	defer p.pop()
	err := p.children(func(ev *event) (err error) {
		if ev.Name.Local == "Meta" {
			c.Meta, err = p.meta("Meta")
		} else {
			name := ev.Name
			_, err = p.element(name, ev.Attr)
			p.note(p.elementProblem(name.Local, "Chal"))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// meta parses Meta and its MetInf children; a MetInf wrapper element is
// flattened.
func (p *parser) meta(local string) (*Meta, error) {
	m := p.metas.new()
	return m, p.metaInto(m, local)
}

func (p *parser) metaInto(m *Meta, local string) error {
	p.push(local)
	defer p.pop()
	err := p.children(func(ev *event) (err error) {
		switch ev.Name.Local {
		case "Format":
			m.Format, err = p.leaf("Format")
		case "Type":
			m.Type, err = p.leaf("Type")
		case "Mark":
			m.Mark, err = p.leaf("Mark")
		case "Size":
			m.Size, err = p.leaf("Size")
		case "NextNonce":
			m.NextNonce, err = p.leaf("NextNonce")
		case "Version":
			m.Version, err = p.leaf("Version")
		case "MaxMsgSize":
			m.MaxMsgSize, err = p.leaf("MaxMsgSize")
		case "MaxObjSize":
			m.MaxObjSize, err = p.leaf("MaxObjSize")
		case "EMI":
			var s string
			s, err = p.leaf("EMI")
			m.EMI = append(m.EMI, s)
		case "MetInf":
			err = p.metaInto(m, "MetInf")
		default:
			var e *Element
			e, err = p.element(ev.Name, ev.Attr)
			m.Extra = append(m.Extra, e)
		}
		return err
	})
	return err
}

// leaf reads the text of a simple element, trimmed. Child elements are
// skipped and noted as a problem.
func (p *parser) leaf(name string) (string, error) {
	p.push(name)
	defer p.pop()
	var buf []byte
	var s string
	n := 0
	for {
		ev, err := p.next()
		if err != nil {
			return "", err
		}
		switch ev.Kind {
		case evText:
			if n == 0 {
				s = p.textString(ev)
			} else {
				if n == 1 {
					buf = append(buf[:0], s...)
				}
				buf = append(buf, ev.Text...)
			}
			n++
		case evStart:
			p.note(fmt.Errorf("%w: %s in %s", ErrUnexpectedElement, ev.Name.Local, p.pathString()))
			if err := p.skip(); err != nil {
				return "", err
			}
		case evEnd:
			if n > 1 {
				s = string(buf)
			}
			return trimSpace(s), nil
		}
	}
}

func trimSpace(s string) string {
	if len(s) == 0 || (!isSpace(s[0]) && !isSpace(s[len(s)-1])) {
		return s
	}
	return strings.TrimSpace(s)
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// data1 reads an Item's Data: exact text, or an embedded element.
func (p *parser) data1() (*Data, error) {
	d := p.datas.new()
	var buf []byte
	n := 0
	p.push("Data")
	defer p.pop()
	for {
		ev, err := p.next()
		if err != nil {
			return nil, err
		}
		switch ev.Kind {
		case evText:
			if n == 0 {
				d.Text = p.textString(ev)
			} else {
				if n == 1 {
					buf = append(buf[:0], d.Text...)
				}
				buf = append(buf, ev.Text...)
			}
			n++
		case evStart:
			local := ev.Name.Local
			tree, err := p.tree(ev.Name, ev.Attr)
			if err != nil {
				return nil, err
			}
			if d.Tree != nil {
				p.note(fmt.Errorf("%w: second element %s in Data", ErrUnexpectedElement, local))
				continue
			}
			d.Tree = tree
		case evEnd:
			if n > 1 {
				d.Text = string(buf)
			}
			if d.Tree != nil {
				d.Text = ""
			}
			return d, nil
		}
	}
}

// tree captures an embedded element as XML bytes. From XML input the bytes
// are the input's own when the element declares its namespace itself;
// otherwise (and from token streams) the element is re-serialised.
func (p *parser) tree(start xml.Name, attr []xml.Attr) ([]byte, error) {
	startOff := p.off
	w := &xmlWriter{}
	w.start(start.Space, start.Local, attr)
	depth := 1
	for depth > 0 {
		ev, err := p.next()
		if err != nil {
			return nil, err
		}
		switch ev.Kind {
		case evStart:
			depth++
			w.start(ev.Name.Space, ev.Name.Local, ev.Attr)
		case evEnd:
			depth--
			w.end()
		case evText:
			w.textBytes(ev.Text)
		}
	}
	if p.data != nil && startOff >= 0 {
		end := p.src.inputOffset()
		if end <= int64(len(p.data)) && startOff < end {
			raw := p.data[startOff:end]
			if gt := bytes.IndexByte(raw, '>'); gt > 0 && bytes.Contains(raw[:gt], []byte("xmlns=")) {
				return bytes.Clone(raw), nil
			}
		}
	}
	if w.err != nil {
		return nil, &DecodeError{Field: p.pathString(), Offset: startOff, Err: w.err}
	}
	return w.buf, nil
}

// element captures a whole element generically.
func (p *parser) element(start xml.Name, attr []xml.Attr) (*Element, error) {
	e := &Element{Name: start, Attr: copyAttrs(attr)}
	var text []byte
	p.push(start.Local)
	defer p.pop()
	for {
		ev, err := p.next()
		if err != nil {
			return nil, err
		}
		switch ev.Kind {
		case evText:
			text = append(text, ev.Text...)
		case evStart:
			c, err := p.element(ev.Name, ev.Attr)
			if err != nil {
				return nil, err
			}
			e.Children = append(e.Children, c)
		case evEnd:
			if len(e.Children) > 0 {
				e.Text = string(bytes.TrimSpace(text))
			} else {
				e.Text = string(text)
			}
			return e, nil
		}
	}
}

func copyAttrs(a []xml.Attr) []xml.Attr {
	var out []xml.Attr
	for _, at := range a {
		if at.Name.Space == "xmlns" || (at.Name.Space == "" && at.Name.Local == "xmlns") {
			continue // namespaces live in Name.Space
		}
		out = append(out, at)
	}
	return out
}

// skip consumes the rest of the current element.
func (p *parser) skip() error {
	depth := 1
	for depth > 0 {
		ev, err := p.next()
		if err != nil {
			return err
		}
		switch ev.Kind {
		case evStart:
			depth++
		case evEnd:
			depth--
		}
	}
	return nil
}
