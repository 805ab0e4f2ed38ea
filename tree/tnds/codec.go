package tnds

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

// Formats are the node formats a Format element may hold (TND §8.3.7.2).
var Formats = map[string]bool{"b64": true, "bin": true, "bool": true, "chr": true, "int": true,
	"node": true, "null": true, "xml": true, "date": true, "time": true, "float": true}

// MaxDepth bounds node nesting on decode and encode.
const MaxDepth = 64

// ErrUnsupportedMIME is returned for a MIME type other than MIMEXML/MIMEWBXML.
var ErrUnsupportedMIME = errors.New("tnds: unsupported MIME type")

// Unmarshal decodes a TNDS document whose MIME type is MIMEXML or MIMEWBXML.
// Errors wrap ErrInvalid (or ErrUnsupportedMIME).
func Unmarshal(data []byte, mime string) (*MgmtTree, error) {
	switch mime {
	case MIMEXML:
		return Decode(xml.NewDecoder(bytes.NewReader(data)))
	case MIMEWBXML:
		r, err := wbxml.NewReaderDoc(data, wbxml.DMDDF12)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return Decode(r)
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedMIME, mime)
}

// Decode reads a MgmtTree from r (an *xml.Decoder or a WBXML reader) and
// validates it.
func Decode(r xml.TokenReader) (*MgmtTree, error) {
	var m MgmtTree
	d, ok := r.(*xml.Decoder)
	if !ok {
		d = xml.NewTokenDecoder(r)
	}
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if m.XMLName.Local != "MgmtTree" {
		return nil, fmt.Errorf("%w: root element <%s>", ErrInvalid, m.XMLName.Local)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks the structural rules: at least one node, NodeName present
// and without "/", a node has children or a Value but not both, Format holds
// a name, depth ≤ MaxDepth.
func (m *MgmtTree) Validate() error {
	if len(m.Nodes) == 0 {
		return fmt.Errorf("%w: no Node", ErrInvalid)
	}
	for i := range m.Nodes {
		if err := m.Nodes[i].validate(1); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) validate(depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: nodes nested deeper than %d", ErrInvalid, MaxDepth)
	}
	if n.NodeName == "" || strings.Contains(n.NodeName, "/") {
		return fmt.Errorf("%w: NodeName %q", ErrInvalid, n.NodeName)
	}
	if len(n.Nodes) > 0 && n.Value != nil {
		return fmt.Errorf("%w: node %q has both children and a Value", ErrInvalid, n.NodeName)
	}
	if rt := n.RTProperties; rt != nil && rt.Format != nil && !Formats[rt.Format.Value] {
		return fmt.Errorf("%w: node %q has Format %q", ErrInvalid, n.NodeName, rt.Format.Value)
	}
	for i := range n.Nodes {
		if err := n.Nodes[i].validate(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// Interior reports whether the node is interior: Format node, or children,
// or neither a Value nor a leaf Format.
func (n *Node) Interior() bool {
	if rt := n.RTProperties; rt != nil && rt.Format != nil {
		return rt.Format.Value == "node"
	}
	return n.Value == nil
}

// UnmarshalXML reads <Format><chr/></Format>.
func (f *Format) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	f.Value = ""
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if f.Value != "" {
				return fmt.Errorf("%w: Format with two elements", ErrInvalid)
			}
			f.Value = t.Name.Local
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text in Format", ErrInvalid)
			}
		case xml.EndElement:
			return nil
		}
	}
}

// MarshalXML writes <Format><chr/></Format>.
func (f Format) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return encodeTokens(e, func(emit func(xml.Token) error) error { return f.emit(emit, start.Name.Local) })
}

func (f Format) emit(emit func(xml.Token) error, name string) error {
	if err := emit(xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
		return err
	}
	if err := emit(xml.StartElement{Name: xml.Name{Local: f.Value}}); err != nil {
		return err
	}
	if err := emit(xml.EndElement{Name: xml.Name{Local: f.Value}}); err != nil {
		return err
	}
	return emit(xml.EndElement{Name: xml.Name{Local: name}})
}

func encodeTokens(e *xml.Encoder, f func(emit func(xml.Token) error) error) error {
	return f(e.EncodeToken)
}

// Marshal encodes m as MIMEXML or MIMEWBXML.
func Marshal(m *MgmtTree, mime string) ([]byte, error) {
	var buf bytes.Buffer
	switch mime {
	case MIMEXML:
		if err := Encode(xml.NewEncoder(&buf), m); err != nil {
			return nil, err
		}
	case MIMEWBXML:
		if err := Encode(wbxml.NewEncoder(&buf, wbxml.DMDDF12), m); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedMIME, mime)
	}
	return buf.Bytes(), nil
}

// Encode writes m to enc and flushes it. The root element carries
// xmlns="syncml:dmddf1.2"; VerDTD defaults to "1.2".
func Encode(enc TokenEncoder, m *MgmtTree) error {
	w := tokw{enc: enc}
	w.start("MgmtTree", xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: Namespace})
	ver := m.VerDTD
	if ver == "" {
		ver = "1.2"
	}
	w.text("VerDTD", ver)
	if m.Man != "" {
		w.text("Man", m.Man)
	}
	if m.Mod != "" {
		w.text("Mod", m.Mod)
	}
	for i := range m.Nodes {
		w.node(&m.Nodes[i], 1)
	}
	w.end("MgmtTree")
	if w.err != nil {
		return fmt.Errorf("tnds: encode: %w", w.err)
	}
	if err := enc.Flush(); err != nil {
		return fmt.Errorf("tnds: encode: %w", err)
	}
	return nil
}

type tokw struct {
	enc TokenEncoder
	err error
}

func (w *tokw) emit(t xml.Token) error {
	if w.err == nil {
		w.err = w.enc.EncodeToken(t)
	}
	return w.err
}

func (w *tokw) start(name string, attr ...xml.Attr) {
	w.emit(xml.StartElement{Name: xml.Name{Local: name}, Attr: attr})
}

func (w *tokw) end(name string) { w.emit(xml.EndElement{Name: xml.Name{Local: name}}) }

func (w *tokw) text(name, v string) {
	w.start(name)
	if v != "" {
		w.emit(xml.CharData(v))
	}
	w.end(name)
}

func (w *tokw) opt(name string, v *string) {
	if v != nil {
		w.text(name, *v)
	}
}

func (w *tokw) node(n *Node, depth int) {
	if depth > MaxDepth {
		if w.err == nil {
			w.err = fmt.Errorf("%w: nodes nested deeper than %d", ErrInvalid, MaxDepth)
		}
		return
	}
	w.start("Node")
	w.text("NodeName", n.NodeName)
	if n.Path != "" {
		w.text("Path", n.Path)
	}
	if rt := n.RTProperties; rt != nil {
		w.start("RTProperties")
		w.opt("ACL", rt.ACL)
		if rt.Format != nil {
			if w.err == nil {
				w.err = rt.Format.emit(w.enc.EncodeToken, "Format")
			}
		}
		w.opt("Name", rt.Name)
		w.opt("Size", rt.Size)
		w.opt("Title", rt.Title)
		w.opt("TStamp", rt.TStamp)
		if rt.Type != nil {
			w.start("Type")
			if rt.Type.DDFName != "" {
				w.text("DDFName", rt.Type.DDFName)
			} else {
				w.text("MIME", rt.Type.MIME)
			}
			w.end("Type")
		}
		w.opt("VerNo", rt.VerNo)
		w.end("RTProperties")
	}
	for i := range n.Nodes {
		w.node(&n.Nodes[i], depth+1)
	}
	if n.Value != nil {
		w.text("Value", *n.Value)
	}
	w.end("Node")
}
