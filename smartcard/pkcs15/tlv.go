package pkcs15

import (
	"errors"
	"fmt"
)

// Sentinel errors; parse errors wrap one of them inside an *Error.
var (
	// ErrTruncated: a tag, length or value runs past the end of the data.
	ErrTruncated = errors.New("truncated TLV")
	// ErrBadLength: an indefinite, over-long or non-minimal length field.
	ErrBadLength = errors.New("bad TLV length")
	// ErrSyntax: the TLV structure is not the expected one.
	ErrSyntax = errors.New("unexpected structure")
)

// Error is a parse failure at an offset of the input.
type Error struct {
	What   string // the structure being parsed, e.g. "DODF entry"
	Offset int    // byte offset of the fault in the parsed buffer
	Err    error  // ErrTruncated, ErrBadLength or ErrSyntax (possibly wrapped)
}

func (e *Error) Error() string {
	return fmt.Sprintf("pkcs15: %s at offset %d: %v", e.What, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// MaxLength bounds a TLV value (files on a SIM are at most 32 KiB, a value
// needs at most three length bytes).
const MaxLength = 1 << 16

// TLV is one BER-TLV element. Value aliases the parsed buffer.
type TLV struct {
	Tag    uint32 // the tag bytes, big-endian (e.g. 0x61, 0x9F1F)
	Value  []byte
	Offset int // offset of the tag in the parsed buffer
	Len    int // total encoded length (tag + length + value)
}

// Constructed reports whether the tag has the constructed bit.
func (t TLV) Constructed() bool {
	first := t.Tag
	for first > 0xFF {
		first >>= 8
	}
	return first&0x20 != 0
}

// Children parses t.Value as a sequence of TLVs.
func (t TLV) Children() ([]TLV, error) {
	return ParseAll(t.Value)
}

// ParseTLV reads one TLV from the start of b.
func ParseTLV(b []byte) (TLV, error) {
	return parseAt(b, 0)
}

func parseAt(b []byte, base int) (TLV, error) {
	i := 0
	if len(b) == 0 {
		return TLV{}, &Error{"TLV tag", base, ErrTruncated}
	}
	tag := uint32(b[0])
	i++
	if b[0]&0x1F == 0x1F { // multi-byte tag
		for {
			if i >= len(b) {
				return TLV{}, &Error{"TLV tag", base + i, ErrTruncated}
			}
			if i >= 4 {
				return TLV{}, &Error{"TLV tag", base + i, fmt.Errorf("%w: tag longer than 4 bytes", ErrSyntax)}
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return TLV{}, &Error{"TLV length", base + i, ErrTruncated}
	}
	l := int(b[i])
	i++
	if l&0x80 != 0 {
		nb := l & 0x7F
		if nb == 0 {
			return TLV{}, &Error{"TLV length", base + i - 1, fmt.Errorf("%w: indefinite length", ErrBadLength)}
		}
		if nb > 3 {
			return TLV{}, &Error{"TLV length", base + i - 1, fmt.Errorf("%w: %d length bytes", ErrBadLength, nb)}
		}
		if len(b)-i < nb {
			return TLV{}, &Error{"TLV length", base + i, ErrTruncated}
		}
		l = 0
		for _, c := range b[i : i+nb] {
			l = l<<8 | int(c)
		}
		i += nb
		if l > MaxLength {
			return TLV{}, &Error{"TLV length", base + i - nb, fmt.Errorf("%w: %d bytes", ErrBadLength, l)}
		}
	}
	if l > len(b)-i {
		return TLV{}, &Error{"TLV value", base + i, fmt.Errorf("%w: length %d, %d bytes left", ErrTruncated, l, len(b)-i)}
	}
	return TLV{Tag: tag, Value: b[i : i+l : i+l], Offset: base, Len: i + l}, nil
}

// isFill reports whether c starts the padding of a SIM file.
func isFill(c byte) bool { return c == 0xFF || c == 0x00 }

// ParseAll reads consecutive TLVs until the end of b or the first fill
// byte (FF or 00) at a tag position.
func ParseAll(b []byte) ([]TLV, error) {
	var out []TLV
	for off := 0; off < len(b); {
		if isFill(b[off]) {
			break
		}
		t, err := parseAt(b[off:], off)
		if err != nil {
			return out, err
		}
		out = append(out, t)
		off += t.Len
	}
	return out, nil
}

// Encode returns the DER encoding of tag and value (used by tests and the
// card generator).
func Encode(tag uint32, value []byte) []byte {
	var b []byte
	switch {
	case tag > 0xFFFFFF:
		b = append(b, byte(tag>>24), byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFFFF:
		b = append(b, byte(tag>>16), byte(tag>>8), byte(tag))
	case tag > 0xFF:
		b = append(b, byte(tag>>8), byte(tag))
	default:
		b = append(b, byte(tag))
	}
	n := len(value)
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	case n <= 0xFF:
		b = append(b, 0x81, byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x82, byte(n>>8), byte(n))
	default:
		b = append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, value...)
}
