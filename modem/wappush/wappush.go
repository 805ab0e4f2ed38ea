package wappush

import (
	"errors"
	"fmt"
	"time"
)

// WSP PDU types of a connectionless push (WAP-230 §8.2.1, table 34).
const (
	PDUPush          byte = 0x06
	PDUConfirmedPush byte = 0x07
)

// PushPort is the WDP destination port of the default non-secure
// connectionless push (WAP-259-WDP; OMA-TS-DM_Notification §6.3.1).
const PushPort = 2948

// Well-known codes used by OMA DM.
const (
	CodeSyncMLNotification = 0x44 // application/vnd.syncml.notification
	CodeSyncMLDMWBXML      = 0x42 // application/vnd.syncml.dm+wbxml
	CodeConnectivityWBXML  = 0x36 // application/vnd.wap.connectivity-wbxml
	AppIDSyncMLDM          = 0x07 // x-wap-application:syncml.dm
)

// SEC parameter values (WAP-230 SEC well-known parameter 0x11).
const (
	SECNone        = -1
	SECNetwPIN     = 0
	SECUserPIN     = 1
	SECUserNetwPIN = 2
	SECUserPINMAC  = 3
)

// Sentinel causes wrapped in a *DecodeError.
var (
	// ErrUnderflow: the input ended before the field did.
	ErrUnderflow = errors.New("truncated")
	// ErrInvalid: a field holds a value the encoding does not allow.
	ErrInvalid = errors.New("invalid value")
	// ErrUnsupportedPDU: the WSP PDU type is neither Push nor ConfirmedPush.
	ErrUnsupportedPDU = errors.New("unsupported WSP PDU type")
	// ErrNotPush: the SMS is not addressed to WDP port 2948.
	ErrNotPush = errors.New("not addressed to WAP push port 2948")
	// ErrSegmented: DecodeSMS was given one segment of a concatenated SMS.
	ErrSegmented = errors.New("segment of a concatenated SMS")
)

// DecodeError reports where decoding failed.
type DecodeError struct {
	Field  string // e.g. "headers_len", "content_type.param", "udh.ie"
	Offset int    // byte offset in the decoded input
	Err    error  // one of the sentinels above
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("wappush: %s at offset %d: %v", e.Field, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

func derr(field string, off int, err error) error {
	return &DecodeError{Field: field, Offset: off, Err: err}
}

// Push is one decoded WSP connectionless push.
type Push struct {
	From            string // originator address (set by the SMS layer)
	ContentType     string // MIME name, e.g. application/vnd.syncml.notification; "" for an unknown code
	ContentTypeCode int    // well-known code, -1 if sent as text
	AppID           string // X-WAP-Application-ID as URI (from the code table or the text), "" if absent
	AppIDCode       int    // well-known application id, -1 if text or absent
	SEC             int    // SEC parameter 0..3, SECNone (-1) if absent
	MAC             string // MAC parameter (hex text), "" if absent
	Body            []byte // push body (does not alias the input)
	At              time.Time
	PDUType         byte // PDUPush or PDUConfirmedPush
	TID             byte // WSP transaction id
}

var contentTypes = map[int]string{
	0x35:   "text/vnd.wap.connectivity-xml",
	0x36:   "application/vnd.wap.connectivity-wbxml",
	0x42:   "application/vnd.syncml.dm+wbxml",
	0x43:   "application/vnd.syncml.dm+xml",
	0x44:   "application/vnd.syncml.notification",
	0x4E:   "application/vnd.syncml.ds.notification",
	0x0302: "application/vnd.syncml+xml",
	0x0303: "application/vnd.syncml+wbxml",
}

var appIDs = map[int]string{
	0x00: "x-wap-application:*",
	0x01: "x-wap-application:push.sia",
	0x02: "x-wap-application:wml.ua",
	0x03: "x-wap-application:wta.ua",
	0x04: "x-wap-application:mms.ua",
	0x05: "x-wap-application:push.syncml",
	0x06: "x-wap-application:loc.ua",
	0x07: "x-wap-application:syncml.dm",
	0x08: "x-wap-application:drm.ua",
	0x09: "x-wap-application:emn.ua",
	0x0A: "x-wap-application:wv.ua",
}

// ContentTypeName returns the MIME name of a well-known content-type code, or "".
func ContentTypeName(code int) string { return contentTypes[code] }

// AppIDName returns the URI of a well-known X-WAP-Application-ID code, or "".
func AppIDName(code int) string { return appIDs[code] }

// WSP well-known codes used below.
const (
	fieldXWAPApplicationID = 0x2F
	paramSEC               = 0x11
	paramMAC               = 0x12
	maxUintvarBytes        = 5
)

// reader is a bounds-checked cursor; base is the offset of buf[0] in the
// caller's input so that errors carry absolute offsets.
type reader struct {
	buf  []byte
	off  int
	base int
}

func (r *reader) pos() int   { return r.base + r.off }
func (r *reader) left() int  { return len(r.buf) - r.off }
func (r *reader) done() bool { return r.off >= len(r.buf) }

func (r *reader) byte(field string) (byte, error) {
	if r.off >= len(r.buf) {
		return 0, derr(field, r.pos(), ErrUnderflow)
	}
	b := r.buf[r.off]
	r.off++
	return b, nil
}

func (r *reader) peek(field string) (byte, error) {
	if r.off >= len(r.buf) {
		return 0, derr(field, r.pos(), ErrUnderflow)
	}
	return r.buf[r.off], nil
}

func (r *reader) take(field string, n int) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, derr(field, r.pos(), ErrUnderflow)
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b, nil
}

// sub returns a reader over the next n bytes and advances past them.
func (r *reader) sub(field string, n int) (*reader, error) {
	start := r.pos()
	b, err := r.take(field, n)
	if err != nil {
		return nil, err
	}
	return &reader{buf: b, base: start}, nil
}

// uintvar reads a WSP uintvar (WAP-230 §8.1.2): 7-bit groups, MSB set on all
// but the last octet, at most 5 octets, value fitting in 32 bits.
func (r *reader) uintvar(field string) (int, error) {
	start := r.pos()
	var v uint64
	for i := 0; i < maxUintvarBytes; i++ {
		b, err := r.byte(field)
		if err != nil {
			return 0, err
		}
		v = v<<7 | uint64(b&0x7F)
		if b&0x80 == 0 {
			if v > 0xFFFFFFFF {
				return 0, derr(field, start, ErrInvalid)
			}
			return int(v), nil
		}
	}
	return 0, derr(field, start, ErrInvalid)
}

// text reads a Text-string (WAP-230 §8.4.2.1): optional Quote (127), bytes,
// then the NUL terminator (not returned).
func (r *reader) text(field string) (string, error) {
	start := r.pos()
	if r.off < len(r.buf) && r.buf[r.off] == 127 {
		r.off++
	}
	// A Text-string cannot start with a control octet: 1..31 would read
	// as a length, so such input is malformed.
	if r.off < len(r.buf) && r.buf[r.off] > 0 && r.buf[r.off] < 32 {
		return "", derr(field, start, ErrInvalid)
	}
	for i := r.off; i < len(r.buf); i++ {
		if r.buf[i] == 0 {
			s := string(r.buf[r.off:i])
			r.off = i + 1
			return s, nil
		}
	}
	return "", derr(field, start, ErrUnderflow)
}

// valueLength reads a Value-length (WAP-230 §8.4.2.2): Short-length 0..30,
// or Length-quote 31 followed by a uintvar. The caller has checked the first
// octet is <= 31.
func (r *reader) valueLength(field string) (int, error) {
	b, err := r.byte(field)
	if err != nil {
		return 0, err
	}
	if b <= 30 {
		return int(b), nil
	}
	if b == 31 {
		return r.uintvar(field)
	}
	return 0, derr(field, r.pos()-1, ErrInvalid)
}

// integer reads an Integer-value: Short-integer (0x80|v) or Long-integer
// (Short-length 1..30 then big-endian octets). Values above 32 bits are
// rejected.
func (r *reader) integer(field string) (int, error) {
	start := r.pos()
	b, err := r.byte(field)
	if err != nil {
		return 0, err
	}
	if b&0x80 != 0 {
		return int(b & 0x7F), nil
	}
	if b == 0 || b > 30 {
		return 0, derr(field, start, ErrInvalid)
	}
	if b > 4 {
		return 0, derr(field, start, ErrInvalid)
	}
	octets, err := r.take(field, int(b))
	if err != nil {
		return 0, err
	}
	v := 0
	for _, o := range octets {
		v = v<<8 | int(o)
	}
	return v, nil
}

// skipValue skips one generic WSP value: Short-integer, Value-length
// prefixed data, or a Text-string.
func (r *reader) skipValue(field string) error {
	b, err := r.peek(field)
	if err != nil {
		return err
	}
	switch {
	case b >= 0x80:
		r.off++
		return nil
	case b <= 31:
		n, err := r.valueLength(field)
		if err != nil {
			return err
		}
		_, err = r.take(field, n)
		return err
	default:
		_, err := r.text(field)
		return err
	}
}

// Decode decodes a WSP connectionless Push or ConfirmedPush PDU (WAP-230
// §8.2.4): TID, PDU type, HeadersLen (uintvar), Content-Type, headers, body.
// From and At are left zero: they come from the SMS layer.
func Decode(pdu []byte) (Push, error) {
	p := Push{ContentTypeCode: -1, AppIDCode: -1, SEC: SECNone}
	r := &reader{buf: pdu}
	tid, err := r.byte("tid")
	if err != nil {
		return Push{}, err
	}
	p.TID = tid
	typ, err := r.byte("pdu_type")
	if err != nil {
		return Push{}, err
	}
	if typ != PDUPush && typ != PDUConfirmedPush {
		return Push{}, derr("pdu_type", 1, ErrUnsupportedPDU)
	}
	p.PDUType = typ
	hlen, err := r.uintvar("headers_len")
	if err != nil {
		return Push{}, err
	}
	if hlen == 0 {
		return Push{}, derr("headers_len", r.pos(), ErrInvalid)
	}
	hr, err := r.sub("headers", hlen)
	if err != nil {
		return Push{}, err
	}
	if err := decodeContentType(hr, &p); err != nil {
		return Push{}, err
	}
	if err := decodeHeaders(hr, &p); err != nil {
		return Push{}, err
	}
	p.Body = append([]byte{}, pdu[r.off:]...)
	return p, nil
}

func decodeContentType(r *reader, p *Push) error {
	b, err := r.peek("content_type")
	if err != nil {
		return err
	}
	switch {
	case b >= 0x80: // Constrained-media: short-integer
		r.off++
		p.ContentTypeCode = int(b & 0x7F)
		p.ContentType = contentTypes[p.ContentTypeCode]
		return nil
	case b >= 32: // Constrained-media: extension media (text)
		start := r.pos()
		s, err := r.text("content_type")
		if err != nil {
			return err
		}
		if s == "" {
			return derr("content_type", start, ErrInvalid)
		}
		p.ContentType = s
		return nil
	}
	// Content-general-form = Value-length Media-type
	n, err := r.valueLength("content_type.length")
	if err != nil {
		return err
	}
	gr, err := r.sub("content_type.general", n)
	if err != nil {
		return err
	}
	mb, err := gr.peek("content_type.media")
	if err != nil {
		return err
	}
	if mb < 32 || mb >= 0x80 { // Well-known-media: Integer-value
		code, err := gr.integer("content_type.media")
		if err != nil {
			return err
		}
		p.ContentTypeCode = code
		p.ContentType = contentTypes[code]
	} else {
		start := gr.pos()
		s, err := gr.text("content_type.media")
		if err != nil {
			return err
		}
		if s == "" {
			return derr("content_type.media", start, ErrInvalid)
		}
		p.ContentType = s
	}
	for !gr.done() {
		if err := decodeParam(gr, p); err != nil {
			return err
		}
	}
	return nil
}

// decodeParam decodes one Parameter (WAP-230 §8.4.2.4): Typed-parameter
// (Integer-value token, then a typed value) or Untyped-parameter (Token-text,
// then Integer-value or Text-value).
func decodeParam(r *reader, p *Push) error {
	b, err := r.peek("content_type.param")
	if err != nil {
		return err
	}
	if b >= 32 && b < 0x80 { // Untyped-parameter
		if _, err := r.text("content_type.param.name"); err != nil {
			return err
		}
		return r.skipValue("content_type.param.value")
	}
	start := r.pos()
	token, err := r.integer("content_type.param")
	if err != nil {
		return err
	}
	switch token {
	case paramSEC:
		v, err := r.integer("content_type.sec")
		if err != nil {
			return err
		}
		if v > 0xFF {
			return derr("content_type.sec", start, ErrInvalid)
		}
		p.SEC = v
		return nil
	case paramMAC:
		s, err := r.text("content_type.mac")
		if err != nil {
			return err
		}
		p.MAC = s
		return nil
	default:
		return r.skipValue("content_type.param.value")
	}
}

func decodeHeaders(r *reader, p *Push) error {
	for !r.done() {
		start := r.pos()
		b, _ := r.peek("header")
		switch {
		case b == 127: // Shift-delimiter, Page-identity
			if _, err := r.take("header.shift", 2); err != nil {
				return err
			}
		case b >= 0x80: // Well-known-header: Short-integer field name
			r.off++
			field := int(b & 0x7F)
			if field == fieldXWAPApplicationID {
				if err := decodeAppID(r, p); err != nil {
					return err
				}
				continue
			}
			if err := r.skipValue("header.value"); err != nil {
				return err
			}
		case b >= 32: // Application-header: Token-text, Application-specific-value
			if _, err := r.text("header.name"); err != nil {
				return err
			}
			if err := r.skipValue("header.value"); err != nil {
				return err
			}
		case b >= 1: // Short-cut-shift-delimiter
			r.off++
		default:
			return derr("header", start, ErrInvalid)
		}
	}
	return nil
}

// decodeAppID decodes an X-WAP-Application-ID value: App-assigned-code
// (Integer-value) or Uri-value (Text-string).
func decodeAppID(r *reader, p *Push) error {
	b, err := r.peek("header.app_id")
	if err != nil {
		return err
	}
	if b >= 32 && b < 0x80 {
		s, err := r.text("header.app_id")
		if err != nil {
			return err
		}
		p.AppID = s
		p.AppIDCode = -1
		return nil
	}
	code, err := r.integer("header.app_id")
	if err != nil {
		return err
	}
	p.AppIDCode = code
	p.AppID = appIDs[code]
	return nil
}
