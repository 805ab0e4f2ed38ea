package syncml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

// TokenEncoder receives the tokens of an encoded message. *xml.Encoder and
// the WBXML encoder of package wbxml both implement it.
type TokenEncoder interface {
	EncodeToken(t xml.Token) error
	Flush() error
}

// sink is what the marshalling code writes to: the fast XML writer or a
// token adapter in front of a TokenEncoder.
type sink interface {
	start(space, local string, attrs []xml.Attr)
	text(s string)
	end()
	// opaque writes the text of an Item's Data (WBXML sinks may encode it
	// as OPAQUE, as libwbxml does).
	opaque(s string)
	// raw writes an embedded element given as XML bytes.
	raw(tree []byte)
	error() error
}

func (w *xmlWriter) opaque(s string) { w.text(s) }
func (w *xmlWriter) error() error    { return w.err }

// Encode encodes m as XML or WBXML 1.2.
func Encode(m *Message, enc Encoding) ([]byte, error) {
	switch enc {
	case XML:
		return EncodeXML(m, "")
	case WBXML:
		return encodeWBXML(m)
	}
	return nil, fmt.Errorf("syncml: unknown encoding %v", enc)
}

// EncodeXML encodes m as XML. With a non-empty indent, elements are put on
// their own lines, indented by that string per level (text-only elements
// stay on one line).
func EncodeXML(m *Message, indent string) ([]byte, error) {
	w := &xmlWriter{indent: indent, buf: make([]byte, 0, 512+len(m.Body)*160)}
	writeMessage(w, m)
	if w.err != nil {
		return nil, w.err
	}
	if indent != "" {
		w.buf = append(w.buf, '\n')
	}
	return w.buf, nil
}

// MarshalTokens writes m as tokens to enc and flushes it. Every element
// carries its namespace in Name.Space.
func MarshalTokens(m *Message, enc TokenEncoder) error {
	s := &tokenSink{enc: enc}
	writeMessage(s, m)
	if s.err != nil {
		return s.err
	}
	return enc.Flush()
}

// tokenSink adapts a TokenEncoder to sink. With w set, it drives the WBXML
// encoder through its unboxed methods instead (same tokens, same bytes).
type tokenSink struct {
	enc   TokenEncoder
	w     *wbxml.Encoder
	stack []xml.Name
	err   error
}

func (s *tokenSink) emit(t xml.Token) {
	if s.err != nil {
		return
	}
	s.check(s.enc.EncodeToken(t))
}

// check records the first encoding error, with the element path.
func (s *tokenSink) check(err error) {
	if err != nil && s.err == nil {
		field := ""
		for i, n := range s.stack {
			if i > 0 {
				field += "/"
			}
			field += n.Local
		}
		var ee *EncodeError
		if !errors.As(err, &ee) {
			err = &EncodeError{Field: field, Err: err}
		}
		s.err = err
	}
}

func (s *tokenSink) start(space, local string, attrs []xml.Attr) {
	if space == "" && len(s.stack) > 0 {
		space = s.stack[len(s.stack)-1].Space
	}
	n := xml.Name{Space: space, Local: local}
	s.stack = append(s.stack, n)
	if s.w != nil {
		if s.err == nil {
			s.check(s.w.EncodeStart(n, copyAttrs(attrs)))
		}
		return
	}
	s.emit(xml.StartElement{Name: n, Attr: copyAttrs(attrs)})
}

func (s *tokenSink) end() {
	n := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	if s.w != nil {
		if s.err == nil {
			s.check(s.w.EncodeEnd(n))
		}
		return
	}
	s.emit(xml.EndElement{Name: n})
}

func (s *tokenSink) text(t string) {
	if t == "" {
		return
	}
	if s.w != nil {
		if s.err == nil {
			s.check(s.w.EncodeText(t))
		}
		return
	}
	s.emit(xml.CharData(t))
}

// opaque writes Item Data text; the WBXML encoder itself chooses OPAQUE
// where libwbxml does.
func (s *tokenSink) opaque(t string) { s.text(t) }

func (s *tokenSink) raw(tree []byte) {
	if s.err != nil {
		return
	}
	if err := checkTree(tree); err != nil {
		s.err = &EncodeError{Field: "Data", Err: err}
		return
	}
	d := xml.NewDecoder(bytes.NewReader(tree))
	base := len(s.stack)
	for {
		t, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.err = &EncodeError{Field: "Data", Err: err}
			return
		}
		switch t := t.(type) {
		case xml.StartElement:
			s.start(t.Name.Space, t.Name.Local, t.Attr)
		case xml.EndElement:
			if len(s.stack) > base {
				s.end()
			}
		case xml.CharData:
			if len(s.stack) > base {
				s.text(string(t))
			}
		}
	}
}

func (s *tokenSink) error() error { return s.err }

// The marshalling code proper. Element order follows the SyncML 1.2 DTD.

func leaf(s sink, local, v string) {
	s.start(NSSyncML12, local, nil)
	s.text(v)
	s.end()
}

func optLeaf(s sink, local, v string) {
	if v != "" {
		leaf(s, local, v)
	}
}

func empty(s sink, local string) {
	s.start(NSSyncML12, local, nil)
	s.end()
}

func writeMessage(s sink, m *Message) {
	openMessage(s, &m.Hdr)
	for _, c := range m.Body {
		writeCommand(s, c)
		if s.error() != nil {
			return
		}
	}
	closeMessage(s, m.Final, m.Extra)
}

// openMessage writes everything up to and including the SyncBody start tag.
func openMessage(s sink, h *Header) {
	s.start(NSSyncML12, "SyncML", nil)
	writeHeader(s, h)
	s.start(NSSyncML12, "SyncBody", nil)
}

func closeMessage(s sink, final bool, extra []*Element) {
	if final {
		empty(s, "Final")
	}
	s.end() // SyncBody
	for _, e := range extra {
		writeElement(s, e)
	}
	s.end() // SyncML
}

func writeHeader(s sink, h *Header) {
	s.start(NSSyncML12, "SyncHdr", nil)
	leaf(s, "VerDTD", h.VerDTD)
	leaf(s, "VerProto", h.VerProto)
	leaf(s, "SessionID", h.SessionID)
	leaf(s, "MsgID", h.MsgID)
	writeLocation(s, "Target", h.Target)
	writeLocation(s, "Source", h.Source)
	optLeaf(s, "RespURI", h.RespURI)
	if h.NoResp {
		empty(s, "NoResp")
	}
	writeCred(s, h.Cred)
	writeMeta(s, h.Meta)
	for _, e := range h.Extra {
		writeElement(s, e)
	}
	s.end()
}

func writeLocation(s sink, local string, l *Location) {
	if l == nil {
		return
	}
	s.start(NSSyncML12, local, nil)
	leaf(s, "LocURI", l.LocURI)
	optLeaf(s, "LocName", l.LocName)
	for _, e := range l.Extra {
		writeElement(s, e)
	}
	s.end()
}

func writeCred(s sink, c *Cred) {
	if c == nil {
		return
	}
	s.start(NSSyncML12, "Cred", nil)
	writeMeta(s, c.Meta)
	leaf(s, "Data", c.Data)
	s.end()
}

func metLeaf(s sink, local, v string) {
	if v == "" {
		return
	}
	s.start(NSMetInf, local, nil)
	s.text(v)
	s.end()
}

func writeMeta(s sink, m *Meta) {
	if m == nil {
		return
	}
	s.start(NSSyncML12, "Meta", nil)
	metLeaf(s, "Format", m.Format)
	metLeaf(s, "Type", m.Type)
	metLeaf(s, "Mark", m.Mark)
	metLeaf(s, "Size", m.Size)
	metLeaf(s, "NextNonce", m.NextNonce)
	metLeaf(s, "Version", m.Version)
	metLeaf(s, "MaxMsgSize", m.MaxMsgSize)
	metLeaf(s, "MaxObjSize", m.MaxObjSize)
	for _, e := range m.EMI {
		s.start(NSMetInf, "EMI", nil)
		s.text(e)
		s.end()
	}
	for _, e := range m.Extra {
		if e.Name.Space == "" {
			e2 := *e
			e2.Name.Space = NSMetInf
			e = &e2
		}
		writeElement(s, e)
	}
	s.end()
}

func writeCommand(s sink, c *Command) {
	if c.Raw != nil && !dmCommands[c.Kind] {
		writeElement(s, c.Raw)
		return
	}
	s.start(NSSyncML12, c.Kind, nil)
	leaf(s, "CmdID", c.CmdID)
	optLeaf(s, "MsgRef", c.MsgRef)
	optLeaf(s, "CmdRef", c.CmdRef)
	optLeaf(s, "Cmd", c.Cmd)
	if c.NoResp {
		empty(s, "NoResp")
	}
	if c.Kind == KindResults {
		writeMeta(s, c.Meta)
	}
	for _, r := range c.TargetRefs {
		leaf(s, "TargetRef", r)
	}
	for _, r := range c.SourceRefs {
		leaf(s, "SourceRef", r)
	}
	writeCred(s, c.Cred)
	if c.Chal != nil {
		s.start(NSSyncML12, "Chal", nil)
		writeMeta(s, c.Chal.Meta)
		s.end()
	}
	if c.Kind != KindResults {
		writeMeta(s, c.Meta)
	}
	if c.Data != "" || c.Kind == KindStatus || c.Kind == KindAlert {
		leaf(s, "Data", c.Data)
	}
	optLeaf(s, "Correlator", c.Correlator)
	for _, it := range c.Items {
		writeItem(s, it)
	}
	for _, cc := range c.Children {
		writeCommand(s, cc)
	}
	for _, e := range c.Extra {
		writeElement(s, e)
	}
	s.end()
}

func writeItem(s sink, it *Item) {
	s.start(NSSyncML12, "Item", nil)
	writeLocation(s, "Target", it.Target)
	writeLocation(s, "Source", it.Source)
	writeMeta(s, it.Meta)
	if it.Data != nil {
		s.start(NSSyncML12, "Data", nil)
		if it.Data.Tree != nil {
			s.raw(it.Data.Tree)
		} else {
			s.opaque(it.Data.Text)
		}
		s.end()
	}
	if it.MoreData {
		empty(s, "MoreData")
	}
	for _, e := range it.Extra {
		writeElement(s, e)
	}
	s.end()
}

func writeElement(s sink, e *Element) {
	s.start(e.Name.Space, e.Name.Local, e.Attr)
	s.text(e.Text)
	for _, c := range e.Children {
		writeElement(s, c)
	}
	s.end()
}
