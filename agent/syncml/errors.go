package syncml

import (
	"errors"
	"fmt"
)

// Sentinels for Command.Problem and Header.Problem. Callers branch on them
// with errors.Is; ProblemStatus maps them to the status code to answer.
var (
	// ErrUnsupportedCommand: a SyncML command DM does not use (Sync, Map,
	// Put, Search ...). Answer 406.
	ErrUnsupportedCommand = errors.New("command not used in DM")
	// ErrUnknownElement: an element that is not a SyncML command. Answer 400.
	ErrUnknownElement = errors.New("unknown element")
	// ErrMissingCmdID: the command has no CmdID. Answer 400 with an empty CmdRef.
	ErrMissingCmdID = errors.New("missing CmdID")
	// ErrUnsupportedElement: the command holds an element DM does not use
	// (Archive, Lang, NoResults, SftDel ...). Answer 406.
	ErrUnsupportedElement = errors.New("element not used in DM")
	// ErrUnexpectedElement: the command holds an element that does not
	// belong there. Answer 400.
	ErrUnexpectedElement = errors.New("unexpected element")
)

// ProblemStatus returns the status code that answers a command whose
// Problem is err: 406 for unsupported commands and elements, 400 for the
// rest, 200 when err is nil.
func ProblemStatus(err error) StatusCode {
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, ErrUnsupportedCommand), errors.Is(err, ErrUnsupportedElement):
		return StatusOptionalFeatureNotSupported
	default:
		return StatusBadRequest
	}
}

// DecodeError reports a document that cannot be decoded at all: not
// well-formed XML, bad WBXML, no SyncHdr. Field names the element (or
// WBXML field) where decoding stopped and Offset the byte offset in the
// input.
type DecodeError struct {
	Field  string
	Offset int64
	Err    error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("syncml: decode %s at offset %d: %v", e.Field, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// ErrNoSyncHdr is the Err of a DecodeError for a message without SyncHdr.
var ErrNoSyncHdr = errors.New("missing SyncHdr")

// ErrNotSyncML is the Err of a DecodeError when the root is not SyncML.
var ErrNotSyncML = errors.New("root element is not SyncML")

// EncodeError reports a message that cannot be encoded, e.g. text with
// characters XML cannot carry, or an embedded tree that is not well-formed.
type EncodeError struct {
	Field string
	Err   error
}

func (e *EncodeError) Error() string { return fmt.Sprintf("syncml: encode %s: %v", e.Field, e.Err) }

func (e *EncodeError) Unwrap() error { return e.Err }

// ErrNotXMLText is the Err of an EncodeError for text that XML 1.0 cannot
// represent (control characters, invalid UTF-8). Such data can only travel
// in WBXML (as opaque) or base64-encoded.
var ErrNotXMLText = errors.New("text contains characters not allowed in XML")
