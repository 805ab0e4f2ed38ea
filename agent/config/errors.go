package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinels wrapped by KeyError.Err, for callers that branch on the kind of
// problem (errors.Is works through the errors.Join that Load returns).
var (
	ErrUnknownKey = errors.New("unknown key")
	ErrSyntax     = errors.New("syntax error")
	ErrBadValue   = errors.New("bad value")
)

// KeyError is one problem with one key. Load and Validate return an
// errors.Join of every KeyError found, so one run lists them all.
type KeyError struct {
	File string // "" when the problem is not tied to a file
	Line int    // 1-based; 0 when unknown
	// Key is the dotted key, e.g. "modem.baud" or
	// "server[dm.example.com].steady_interval". "" for syntax errors.
	Key string
	// Suggest is a known key close to an unknown one ("did you mean").
	Suggest string
	Err     error

	// near is a related key whose position Load uses when Key itself was
	// not set in any file (e.g. modem.enabled for a missing modem.device).
	near string
}

func (e *KeyError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if errors.Is(e.Err, ErrUnknownKey) {
		fmt.Fprintf(&b, "unknown key %q", e.Key)
		if e.Suggest != "" {
			fmt.Fprintf(&b, " (did you mean %q?)", e.Suggest)
		}
		return b.String()
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *KeyError) Unwrap() error { return e.Err }

// valueError is the Err of a KeyError for a value that is wrong. It
// matches ErrBadValue without repeating "bad value" in the message.
type valueError struct{ msg string }

func (e *valueError) Error() string        { return e.msg }
func (e *valueError) Is(target error) bool { return target == ErrBadValue }

func badValue(format string, a ...any) error {
	return &valueError{fmt.Sprintf(format, a...)}
}
