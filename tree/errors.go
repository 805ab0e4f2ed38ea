package tree

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is; StatusCode maps them
// to OMA DM status codes. Providers return them (possibly wrapped) too.
var (
	ErrBadRequest       = errors.New("bad request")                                  // 400
	ErrForbidden        = errors.New("forbidden")                                    // 403: cannot modify for reasons other than ACL (in use, Copy impossible)
	ErrNotFound         = errors.New("node not found")                               // 404
	ErrNotAllowed       = errors.New("command not allowed")                          // 405
	ErrOptionalFeature  = errors.New("optional feature not supported")               // 406
	ErrIncomplete       = errors.New("incomplete command")                           // 412
	ErrURITooLong       = errors.New("URI too long")                                 // 414
	ErrUnsupportedMedia = errors.New("unsupported media type or format")             // 415
	ErrAlreadyExists    = errors.New("node already exists")                          // 418
	ErrDeviceFull       = errors.New("device full")                                  // 420
	ErrPermissionDenied = errors.New("permission denied")                            // 425
	ErrCommandFailed    = errors.New("command failed")                               // 500
	ErrNestedAtomic     = errors.New("nested atomic")                                // 500
	ErrNotTransactional = errors.New("provider cannot take part in an atomic")       // 500: refuse the Atomic before applying anything
	ErrAtomicFailed     = errors.New("atomic failed")                                // 507
	ErrRollbackFailed   = errors.New("atomic roll back failed")                      // 516
	ErrAsync            = errors.New("accepted for asynchronous processing")         // 202
	ErrTxnDone          = errors.New("transaction already committed or rolled back") // 500
	// ErrDryRun is returned, under WithDryRun, by a write that passed every
	// check and would now change the tree or call a provider: 200.
	ErrDryRun = errors.New("dry run: would be applied") // 200
)

// Status codes returned by StatusCode.
const (
	StatusOK                = 200
	StatusAccepted          = 202
	StatusAtomicRollbackOK  = 216
	StatusBadRequest        = 400
	StatusForbidden         = 403
	StatusNotFound          = 404
	StatusNotAllowed        = 405
	StatusOptionalFeature   = 406
	StatusIncomplete        = 412
	StatusURITooLong        = 414
	StatusUnsupportedMedia  = 415
	StatusAlreadyExists     = 418
	StatusDeviceFull        = 420
	StatusPermissionDenied  = 425
	StatusCommandFailed     = 500
	StatusAtomicFailed      = 507
	StatusAtomicRollbackErr = 516
)

var statusOf = []struct {
	err  error
	code int
}{
	{ErrRollbackFailed, StatusAtomicRollbackErr},
	{ErrAtomicFailed, StatusAtomicFailed},
	{ErrAsync, StatusAccepted},
	{ErrDryRun, StatusOK},
	{ErrBadRequest, StatusBadRequest},
	{ErrForbidden, StatusForbidden},
	{ErrNotFound, StatusNotFound},
	{ErrNotAllowed, StatusNotAllowed},
	{ErrOptionalFeature, StatusOptionalFeature},
	{ErrIncomplete, StatusIncomplete},
	{ErrURITooLong, StatusURITooLong},
	{ErrUnsupportedMedia, StatusUnsupportedMedia},
	{ErrAlreadyExists, StatusAlreadyExists},
	{ErrDeviceFull, StatusDeviceFull},
	{ErrPermissionDenied, StatusPermissionDenied},
	{ErrNestedAtomic, StatusCommandFailed},
	{ErrNotTransactional, StatusCommandFailed},
	{ErrCommandFailed, StatusCommandFailed},
}

// StatusCode is the one place that maps an error from this package (or a
// provider) to an OMA DM status code: nil → 200, sentinels → their code (first
// match in the chain wins, in the order listed above), anything else → 500.
func StatusCode(err error) int {
	if err == nil {
		return StatusOK
	}
	for _, s := range statusOf {
		if errors.Is(err, s.err) {
			return s.code
		}
	}
	return StatusCommandFailed
}

// Error describes a failed tree operation. It wraps the sentinel (or provider
// error) in Err, so errors.Is and StatusCode see through it.
type Error struct {
	Op  string // "Get", "Add", "Replace", "Delete", "Copy", "Exec", "ParseURI", ...
	URI string // the URI as given, or canonical when known
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("tree: %s %s: %v", e.Op, e.URI, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func opErr(op, uri string, err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) && te.Op == op {
		return err
	}
	return &Error{Op: op, URI: uri, Err: err}
}
