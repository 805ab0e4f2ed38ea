package syncml

import (
	"errors"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

// wbxmlHeader is the header our encoder writes: WBXML 1.2, public id 0x1201
// (SyncML 1.2), UTF-8, empty string table.
var wbxmlHeader = []byte{0x02, 0xA4, 0x01, 0x6A, 0x00}

// DecodeWBXML decodes a SyncML DM message in WBXML (any WBXML 1.x, numeric
// or string-table public id; an embedded TNDS document in Data becomes a
// Data.Tree).
func DecodeWBXML(data []byte) (*Message, error) {
	r, err := wbxml.NewReader(data)
	if err != nil {
		return nil, fromWBXMLError(err, 0)
	}
	p := &parser{src: wbxmlSource{r: r}, in: data, hasIn: true}
	m, err := p.message()
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			var we *wbxml.DecodeError
			if errors.As(de.Err, &we) {
				return nil, fromWBXMLError(we, 0)
			}
		}
		return nil, err
	}
	return m, nil
}

func fromWBXMLError(err error, off int64) error {
	var we *wbxml.DecodeError
	if errors.As(err, &we) {
		return &DecodeError{Field: "wbxml " + we.Field, Offset: int64(we.Offset), Err: we.Err}
	}
	return &DecodeError{Field: "wbxml", Offset: off, Err: err}
}

// newWBXMLSink returns a sink writing into a fresh WBXML SyncML 1.2 encoder.
func newWBXMLSink() (*tokenSink, *wbxml.Encoder) {
	e := wbxml.NewEncoder(nil, wbxml.SyncML12)
	return &tokenSink{w: e}, e
}

func encodeWBXML(m *Message) ([]byte, error) {
	s, e := newWBXMLSink()
	writeMessage(s, m)
	if s.err != nil {
		return nil, s.err
	}
	if err := e.Flush(); err != nil {
		return nil, &EncodeError{Field: "SyncML", Err: err}
	}
	return e.Bytes(), nil
}
