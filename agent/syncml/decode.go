package syncml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
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
	d := xml.NewDecoder(bytes.NewReader(data))
	p := &parser{src: xmlSource{d}, data: data}
	return p.message()
}

// DecodeTokens decodes a message from a stream of tokens, e.g. a WBXML
// reader. Element names must carry their namespace (Name.Space). If r has
// an InputOffset() int64 method, positions use it.
func DecodeTokens(r xml.TokenReader) (*Message, error) {
	p := &parser{src: tokenSource{r: r}}
	if o, ok := r.(interface{ InputOffset() int64 }); ok {
		p.src = tokenSource{r: r, off: o}
	}
	return p.message()
}

// source yields tokens and the input offset of the next token.
type source interface {
	Token() (xml.Token, error)
	InputOffset() int64
}

type xmlSource struct{ d *xml.Decoder }

func (s xmlSource) Token() (xml.Token, error) { return s.d.Token() }
func (s xmlSource) InputOffset() int64        { return s.d.InputOffset() }

type tokenSource struct {
	r   xml.TokenReader
	off interface{ InputOffset() int64 }
}

func (s tokenSource) Token() (xml.Token, error) { return s.r.Token() }
func (s tokenSource) InputOffset() int64 {
	if s.off == nil {
		return -1
	}
	return s.off.InputOffset()
}

type parser struct {
	src  source
	data []byte // XML input, for keeping embedded trees byte for byte
	path []string
	off  int64 // offset of the last token read
	// prob collects the first problem found below the command being parsed.
	prob error
}

func (p *parser) pathString() string { return strings.Join(p.path, "/") }

func (p *parser) push(name string) { p.path = append(p.path, name) }
func (p *parser) pop()             { p.path = p.path[:len(p.path)-1] }

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
		off = p.src.InputOffset()
	}
	if field == "" {
		field = "document"
	}
	return &DecodeError{Field: field, Offset: off, Err: err}
}

// maxDepth bounds element nesting; deeper documents are rejected.
const maxDepth = 100

var errTooDeep = errors.New("elements nested too deeply")

func (p *parser) next() (xml.Token, error) {
	if len(p.path) > maxDepth {
		return nil, &DecodeError{Field: p.path[len(p.path)-1], Offset: p.off, Err: errTooDeep}
	}
	p.off = p.src.InputOffset()
	t, err := p.src.Token()
	if err != nil {
		return nil, p.fail(err)
	}
	if t == nil {
		return nil, p.fail(io.ErrUnexpectedEOF)
	}
	return t, nil
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
	var root xml.StartElement
	for {
		p.off = p.src.InputOffset()
		t, err := p.src.Token()
		if err == io.EOF {
			return nil, &DecodeError{Field: "SyncML", Offset: p.off, Err: io.ErrUnexpectedEOF}
		}
		if err != nil {
			return nil, p.fail(err)
		}
		if se, ok := t.(xml.StartElement); ok {
			root = se
			break
		}
		if cd, ok := t.(xml.CharData); ok && len(bytes.TrimSpace(cd)) != 0 {
			return nil, &DecodeError{Field: "SyncML", Offset: p.off, Err: errors.New("text before root element")}
		}
	}
	if root.Name.Local != "SyncML" || !syncMLSpace(root.Name.Space) {
		return nil, &DecodeError{Field: root.Name.Local, Offset: p.off, Err: ErrNotSyncML}
	}
	rootOff := p.off
	p.push("SyncML")
	m = &Message{}
	hdr, body := false, false
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
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
				e, err := p.element(t)
				if err != nil {
					return nil, err
				}
				m.Extra = append(m.Extra, e)
			}
		case xml.EndElement:
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
		p.off = p.src.InputOffset()
		t, err := p.src.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return p.fail(err)
		}
		switch t := t.(type) {
		case xml.StartElement:
			return &DecodeError{Field: t.Name.Local, Offset: p.off, Err: errors.New("element after the root element")}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return &DecodeError{Field: "SyncML", Offset: p.off, Err: errors.New("text after the root element")}
			}
		case nil:
			return nil
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
	for {
		t, err := p.next()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			var err error
			switch t.Name.Local {
			case "VerDTD":
				h.VerDTD, err = p.leaf("VerDTD")
			case "VerProto":
				h.VerProto, err = p.leaf("VerProto")
			case "SessionID":
				h.SessionID, err = p.leaf("SessionID")
			case "MsgID":
				h.MsgID, err = p.leaf("MsgID")
			case "Target":
				h.Target, err = p.location(t)
			case "Source":
				h.Source, err = p.location(t)
			case "RespURI":
				h.RespURI, err = p.leaf("RespURI")
			case "NoResp":
				h.NoResp = true
				err = p.skip()
			case "Cred":
				h.Cred, err = p.cred(t)
			case "Meta":
				h.Meta, err = p.meta(t)
			default:
				var e *Element
				e, err = p.element(t)
				h.Extra = append(h.Extra, e)
				if h.Problem == nil {
					h.Problem = p.elementProblem(t.Name.Local, "SyncHdr")
				}
			}
			if err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
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
		t, err := p.next()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local == "Final" {
				m.Final = true
				if err := p.skip(); err != nil {
					return err
				}
				continue
			}
			c, err := p.command(t)
			if err != nil {
				return err
			}
			m.Body = append(m.Body, c)
		case xml.EndElement:
			return nil
		}
	}
}

// command parses any element found among commands.
func (p *parser) command(start xml.StartElement) (*Command, error) {
	kind := start.Name.Local
	c := &Command{Kind: kind}
	p.push(kind)
	c.Pos = Position{Path: p.pathString(), Offset: p.off}
	p.pop()
	if !dmCommands[kind] {
		e, err := p.element(start)
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
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			var err error
			switch n := t.Name.Local; n {
			case "CmdID":
				hasID = true
				c.CmdID, err = p.leaf("CmdID")
			case "NoResp":
				c.NoResp = true
				err = p.skip()
			case "Meta":
				c.Meta, err = p.meta(t)
			case "Cred":
				c.Cred, err = p.cred(t)
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
				c.TargetRefs = append(c.TargetRefs, s)
			case "SourceRef":
				var s string
				s, err = p.leaf("SourceRef")
				c.SourceRefs = append(c.SourceRefs, s)
			case "Chal":
				c.Chal, err = p.chal(t)
			case "Item":
				var it *Item
				it, err = p.item(t)
				c.Items = append(c.Items, it)
			default:
				if IsContainer(kind) && (dmCommands[n] || unusedCommands[n] || (!unusedElements[n] && n != "Final")) {
					// Everything else inside Atomic/Sequence is a nested
					// command (possibly unknown), answered on its own.
					var cc *Command
					inner := p.prob
					cc, err = p.command(t)
					p.prob = inner
					c.Children = append(c.Children, cc)
					break
				}
				var e *Element
				e, err = p.element(t)
				c.Extra = append(c.Extra, e)
				p.note(p.elementProblem(n, kind))
			}
			if err != nil {
				return nil, err
			}
		case xml.EndElement:
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

func (p *parser) item(start xml.StartElement) (*Item, error) {
	it := &Item{}
	p.push("Item")
	defer p.pop()
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			var err error
			switch t.Name.Local {
			case "Target":
				it.Target, err = p.location(t)
			case "Source":
				it.Source, err = p.location(t)
			case "Meta":
				it.Meta, err = p.meta(t)
			case "Data":
				it.Data, err = p.data1(t)
			case "MoreData":
				it.MoreData = true
				err = p.skip()
			default:
				var e *Element
				e, err = p.element(t)
				it.Extra = append(it.Extra, e)
				p.note(p.elementProblem(t.Name.Local, "Item"))
			}
			if err != nil {
				return nil, err
			}
		case xml.EndElement:
			return it, nil
		}
	}
}

func (p *parser) location(start xml.StartElement) (*Location, error) {
	l := &Location{}
	p.push(start.Name.Local)
	defer p.pop()
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			var err error
			switch t.Name.Local {
			case "LocURI":
				l.LocURI, err = p.leaf("LocURI")
			case "LocName":
				l.LocName, err = p.leaf("LocName")
			default:
				var e *Element
				e, err = p.element(t)
				l.Extra = append(l.Extra, e)
				p.note(p.elementProblem(t.Name.Local, start.Name.Local))
			}
			if err != nil {
				return nil, err
			}
		case xml.EndElement:
			return l, nil
		}
	}
}

func (p *parser) cred(start xml.StartElement) (*Cred, error) {
	c := &Cred{}
	p.push("Cred")
	defer p.pop()
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			var err error
			switch t.Name.Local {
			case "Meta":
				c.Meta, err = p.meta(t)
			case "Data":
				c.Data, err = p.leaf("Data")
			default:
				_, err = p.element(t)
				p.note(p.elementProblem(t.Name.Local, "Cred"))
			}
			if err != nil {
				return nil, err
			}
		case xml.EndElement:
			return c, nil
		}
	}
}

func (p *parser) chal(start xml.StartElement) (*Chal, error) {
	c := &Chal{}
	p.push("Chal")
	defer p.pop()
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			var err error
			if t.Name.Local == "Meta" {
				c.Meta, err = p.meta(t)
			} else {
				_, err = p.element(t)
				p.note(p.elementProblem(t.Name.Local, "Chal"))
			}
			if err != nil {
				return nil, err
			}
		case xml.EndElement:
			return c, nil
		}
	}
}

// meta parses Meta and its MetInf children; a MetInf wrapper element is
// flattened.
func (p *parser) meta(start xml.StartElement) (*Meta, error) {
	m := &Meta{}
	return m, p.metaInto(m, start)
}

func (p *parser) metaInto(m *Meta, start xml.StartElement) error {
	p.push(start.Name.Local)
	defer p.pop()
	for {
		t, err := p.next()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			var err error
			switch t.Name.Local {
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
				err = p.metaInto(m, t)
			default:
				var e *Element
				e, err = p.element(t)
				m.Extra = append(m.Extra, e)
			}
			if err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
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
		t, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			if n == 0 {
				s = string(t)
			} else {
				if n == 1 {
					buf = append(buf[:0], s...)
				}
				buf = append(buf, t...)
			}
			n++
		case xml.StartElement:
			p.note(fmt.Errorf("%w: %s in %s", ErrUnexpectedElement, t.Name.Local, p.pathString()))
			if err := p.skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
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
func (p *parser) data1(start xml.StartElement) (*Data, error) {
	d := &Data{}
	var buf []byte
	n := 0
	p.push("Data")
	defer p.pop()
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			if n == 0 {
				d.Text = string(t)
			} else {
				if n == 1 {
					buf = append(buf[:0], d.Text...)
				}
				buf = append(buf, t...)
			}
			n++
		case xml.StartElement:
			tree, err := p.tree(t)
			if err != nil {
				return nil, err
			}
			if d.Tree != nil {
				p.note(fmt.Errorf("%w: second element %s in Data", ErrUnexpectedElement, t.Name.Local))
				continue
			}
			d.Tree = tree
		case xml.EndElement:
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
func (p *parser) tree(start xml.StartElement) ([]byte, error) {
	startOff := p.off
	w := &xmlWriter{}
	w.start(start.Name.Space, start.Name.Local, start.Attr)
	depth := 1
	for depth > 0 {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
			w.start(t.Name.Space, t.Name.Local, t.Attr)
		case xml.EndElement:
			depth--
			w.end()
		case xml.CharData:
			w.textBytes(t)
		}
	}
	if p.data != nil && startOff >= 0 {
		end := p.src.InputOffset()
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
func (p *parser) element(start xml.StartElement) (*Element, error) {
	e := &Element{Name: start.Name, Attr: copyAttrs(start.Attr)}
	var text []byte
	p.push(start.Name.Local)
	defer p.pop()
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			text = append(text, t...)
		case xml.StartElement:
			c, err := p.element(t)
			if err != nil {
				return nil, err
			}
			e.Children = append(e.Children, c)
		case xml.EndElement:
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
		t, err := p.next()
		if err != nil {
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}
