package connmo

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Value limits (see the package comment).
const (
	MaxAPNLen  = 64  // NetworkManager's limit for gsm.apn (nm-setting-gsm)
	MaxIDLen   = 127 // connection id used as a node name: one URI segment (tree.DefaultLimits.MaxSegLen)
	MaxCredLen = 255 // gsm.username and gsm.password
)

// ValidAPN reports, wrapping tree.ErrBadRequest, why s is not an APN
// NetworkManager accepts: at most 64 bytes of A-Z a-z 0-9 '.' '_' '-'
// (the empty string clears the APN and is valid).
func ValidAPN(s string) error {
	if len(s) > MaxAPNLen {
		return fmt.Errorf("APN longer than %d bytes: %w", MaxAPNLen, tree.ErrBadRequest)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("APN %q has the invalid character %q (allowed: A-Z a-z 0-9 . _ -): %w", s, c, tree.ErrBadRequest)
		}
	}
	return nil
}

// validText checks a user name or password: UTF-8 without control
// characters, at most MaxCredLen bytes.
func validText(what, s string) error {
	if len(s) > MaxCredLen {
		return fmt.Errorf("%s longer than %d bytes: %w", what, MaxCredLen, tree.ErrBadRequest)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not UTF-8: %w", what, tree.ErrBadRequest)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s has the control character %U: %w", what, r, tree.ErrBadRequest)
		}
	}
	return nil
}

// ValidID reports, wrapping tree.ErrBadRequest, why s cannot be the id of
// a connection the provider creates or renames: it must be non-empty UTF-8
// without control characters, not "." or "..", and its percent-encoded
// form must fit one URI segment (MaxIDLen bytes).
func ValidID(s string) error {
	if s == "" || s == "." || s == ".." {
		return fmt.Errorf("connection name %q: %w", s, tree.ErrBadRequest)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("connection name is not UTF-8: %w", tree.ErrBadRequest)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("connection name has the control character %U: %w", r, tree.ErrBadRequest)
		}
	}
	if n := len(tree.EscapeName(s)); n > MaxIDLen {
		return fmt.Errorf("connection name is %d bytes as a URI segment, more than %d: %w", n, MaxIDLen, tree.ErrBadRequest)
	}
	return nil
}

// Ident is what names a connection: its id and UUID.
type Ident struct {
	ID, UUID string
}

// NodeNames returns the DM node name (decoded, UTF-8) of each connection:
// its id when that id is a valid node name (ValidID), is carried by no
// other connection in conns and equals no connection's UUID; otherwise its
// UUID. The names are pairwise distinct when the UUIDs are.
func NodeNames(conns []Ident) []string {
	ids := make(map[string]int, len(conns))
	uuids := make(map[string]bool, len(conns))
	for _, c := range conns {
		ids[c.ID]++
		uuids[c.UUID] = true
	}
	names := make([]string, len(conns))
	for i, c := range conns {
		if ids[c.ID] == 1 && !uuids[c.ID] && ValidID(c.ID) == nil {
			names[i] = c.ID
		} else {
			names[i] = c.UUID
		}
	}
	return names
}

// Resolve returns the index in conns of the connection whose node name
// (NodeNames) is name, or -1.
func Resolve(conns []Ident, name string) int {
	for i, n := range NodeNames(conns) {
		if n == name {
			return i
		}
	}
	return -1
}
