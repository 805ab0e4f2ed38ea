package wbxml

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by DecodeError and returned by the Encoder.
var (
	ErrTruncated     = errors.New("unexpected end of data")
	ErrOverflow      = errors.New("mb_u_int32 overflows 32 bits")
	ErrVersion       = errors.New("unsupported WBXML version")
	ErrPublicID      = errors.New("unknown document public id")
	ErrCharset       = errors.New("unsupported charset")
	ErrToken         = errors.New("unsupported token")
	ErrUnknownTag    = errors.New("unknown tag token")
	ErrUnknownAttr   = errors.New("unknown attribute token")
	ErrStringTable   = errors.New("bad string table reference")
	ErrDepth         = errors.New("elements nested too deeply")
	ErrStructure     = errors.New("malformed document structure")
	ErrNotEncodable  = errors.New("no WBXML token for this element or attribute")
	ErrUnclosed      = errors.New("elements left open")
	ErrEncoderClosed = errors.New("encoder already flushed")
)

// DecodeError reports where and why a WBXML document could not be decoded.
// Offset is the byte offset into the outermost document.
type DecodeError struct {
	Field  string // what was being decoded, e.g. "header.publicid", "tag", "STR_I"
	Offset int
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("wbxml: %s at offset %d: %v", e.Field, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
