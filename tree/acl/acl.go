package acl

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Command is an ACL command. Copy has no entry of its own (it needs the rights
// of the equivalent Get, Add and Replace).
type Command uint8

// The ACL commands, in canonical order.
const (
	Add Command = iota
	Delete
	Exec
	Get
	Replace
	numCommands
)

var commandNames = [numCommands]string{"Add", "Delete", "Exec", "Get", "Replace"}

// Commands lists every ACL command in canonical order.
var Commands = []Command{Add, Delete, Exec, Get, Replace}

// String returns the command name as written in an ACL ("Add", "Get", ...).
func (c Command) String() string {
	if c < numCommands {
		return commandNames[c]
	}
	return fmt.Sprintf("Command(%d)", uint8(c))
}

// ParseCommand returns the Command named s (case-sensitive, as in the spec).
func ParseCommand(s string) (Command, error) {
	for i, n := range commandNames {
		if n == s {
			return Command(i), nil
		}
	}
	return 0, fmt.Errorf("acl: unknown command %q: %w", s, ErrSyntax)
}

// Wildcard is the server-id that matches every server.
const Wildcard = "*"

// ErrSyntax reports an ACL that does not match the grammar.
var ErrSyntax = errors.New("acl: syntax error")

// SyntaxError locates a grammar violation.
type SyntaxError struct {
	Offset int    // byte offset in the input
	Msg    string // what was wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("acl: syntax error at offset %d: %s", e.Offset, e.Msg)
}

// Unwrap makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// ACL is a parsed access control list. The zero value is the empty ACL (which,
// on a node, means "inherit").
type ACL struct {
	ids [numCommands][]string // nil: command absent
}

// Parse parses s. The empty string gives the empty ACL.
func Parse(s string) (ACL, error) {
	var a ACL
	if s == "" {
		return a, nil
	}
	off := 0
	for _, entry := range strings.Split(s, "&") {
		eq := strings.IndexByte(entry, '=')
		if eq < 0 {
			return ACL{}, &SyntaxError{off, fmt.Sprintf("entry %q has no '='", entry)}
		}
		c, err := ParseCommand(entry[:eq])
		if err != nil {
			return ACL{}, &SyntaxError{off, fmt.Sprintf("unknown command %q", entry[:eq])}
		}
		ioff := off + eq + 1
		for _, id := range strings.Split(entry[eq+1:], "+") {
			if err := checkID(id); err != nil {
				return ACL{}, &SyntaxError{ioff, err.Error()}
			}
			a.ids[c] = addID(a.ids[c], id)
			ioff += len(id) + 1
		}
		off += len(entry) + 1
	}
	return a, nil
}

// ValidServerID reports whether id can appear in an ACL as a server-id
// (the wildcard "*" is not a server ID).
func ValidServerID(id string) bool { return id != Wildcard && checkID(id) == nil }

func checkID(id string) error {
	if id == "" {
		return errors.New("empty server-id")
	}
	if id == Wildcard {
		return nil
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("server-id %q is not valid UTF-8", id)
	}
	for _, r := range id {
		switch {
		case r == '=' || r == '&' || r == '*' || r == '+':
			return fmt.Errorf("server-id %q contains %q", id, r)
		case unicode.IsSpace(r) || !unicode.IsPrint(r):
			return fmt.Errorf("server-id %q contains a space or control character", id)
		}
	}
	return nil
}

func addID(ids []string, id string) []string {
	if id == Wildcard {
		return []string{Wildcard}
	}
	for _, x := range ids {
		if x == id || x == Wildcard {
			return ids
		}
	}
	return append(ids, id)
}

// MustParse is Parse for constants; it panics on a syntax error.
func MustParse(s string) ACL {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String returns the canonical form.
func (a ACL) String() string {
	var b strings.Builder
	for c, ids := range a.ids {
		if len(ids) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(commandNames[c])
		b.WriteByte('=')
		b.WriteString(strings.Join(ids, "+"))
	}
	return b.String()
}

// IsEmpty reports whether the ACL has no entry (a node with an empty ACL
// inherits its parent's).
func (a ACL) IsEmpty() bool {
	for _, ids := range a.ids {
		if len(ids) > 0 {
			return false
		}
	}
	return true
}

// Allows reports whether serverID may perform c. A wildcard entry allows every
// server; a command without an entry allows nobody.
func (a ACL) Allows(c Command, serverID string) bool {
	if c >= numCommands {
		return false
	}
	for _, id := range a.ids[c] {
		if id == Wildcard || id == serverID {
			return true
		}
	}
	return false
}

// Servers returns a copy of the server IDs listed for c ("*" for the wildcard).
func (a ACL) Servers(c Command) []string {
	if c >= numCommands {
		return nil
	}
	return append([]string(nil), a.ids[c]...)
}

// With returns a copy of a that also grants c to serverID (or to everybody
// when serverID is "*").
func (a ACL) With(c Command, serverID string) ACL {
	if c >= numCommands {
		return a
	}
	b := a.clone()
	b.ids[c] = addID(b.ids[c], serverID)
	return b
}

// WithoutServer returns a copy of a with serverID removed from every command.
// A command left without IDs disappears, except when root is true: the root
// ACL must always grant something, so such a command becomes "*"
// (OMA-TS-DM_TND §8.3.7.1, removal of a ServerID).
func (a ACL) WithoutServer(serverID string, root bool) ACL {
	b := a.clone()
	for c, ids := range b.ids {
		if len(ids) == 0 {
			continue
		}
		out := ids[:0]
		for _, id := range ids {
			if id != serverID {
				out = append(out, id)
			}
		}
		switch {
		case len(out) > 0:
			b.ids[c] = out
		case root:
			b.ids[c] = []string{Wildcard}
		default:
			b.ids[c] = nil
		}
	}
	return b
}

// Mentions reports whether serverID is named explicitly (not via "*").
func (a ACL) Mentions(serverID string) bool {
	for _, ids := range a.ids {
		for _, id := range ids {
			if id == serverID {
				return true
			}
		}
	}
	return false
}

// Equal reports whether a and b grant exactly the same IDs per command.
func (a ACL) Equal(b ACL) bool { return a.String() == b.String() }

func (a ACL) clone() ACL {
	var b ACL
	for c, ids := range a.ids {
		if ids != nil {
			b.ids[c] = append([]string(nil), ids...)
		}
	}
	return b
}
