package tree

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// URI is a canonical absolute management tree URI: "." or "./seg/.../seg",
// each segment percent-encoded as described in the package documentation.
// Build one with ParseURI, MustURI or URI.Child; never by concatenation of
// unencoded names.
type URI string

// Root is the URI of the tree root.
const Root URI = "."

// ListKind is the attribute of a ?list= query (TND §8.4).
type ListKind uint8

// List kinds.
const (
	ListNone       ListKind = iota
	ListStruct              // ?list=Struct
	ListStructData          // ?list=StructData
	ListTNDS                // ?list=TNDS[+Prop...|-Prop...]
)

// Query is the parsed "?..." suffix of a target URI.
type Query struct {
	Prop string   // ?prop=<Prop>: ACL, Format, Name, Size, Title, TStamp, Type, VerNo
	List ListKind // ?list=
	// TNDS options: property names (RTProperties names plus "Value") to
	// include (TNDSExclude false, "+" options) or exclude ("-" options). No
	// options means everything.
	TNDSProps   []string
	TNDSExclude bool
}

// Properties that exist (TND §8.3). Size, TStamp and VerNo are supported too.
var knownProps = map[string]bool{"ACL": true, "Format": true, "Name": true, "Size": true, "Title": true, "TStamp": true, "Type": true, "VerNo": true}

// ParseURI parses a target URI as received in a LocURI: relative to the root,
// with an optional ?prop= or ?list= suffix, and checks it against lim.
// Errors wrap ErrBadRequest (400), ErrURITooLong (414) or ErrOptionalFeature
// (406: unknown property or list attribute) inside an *Error with Op
// "ParseURI".
func ParseURI(s string, lim Limits) (URI, Query, error) {
	u, q, err := parseURI(s, lim)
	if err != nil {
		return "", Query{}, &Error{Op: "ParseURI", URI: s, Err: err}
	}
	return u, q, nil
}

// MustURI parses a URI without query or limits and panics on error; for
// constants in providers and tests.
func MustURI(s string) URI {
	u, q, err := ParseURI(s, Limits{})
	if err != nil {
		panic(err)
	}
	if q.Prop != "" || q.List != ListNone {
		panic("tree.MustURI: query not allowed: " + s)
	}
	return u
}

func parseURI(s string, lim Limits) (URI, Query, error) {
	var q Query
	path := s
	if i := strings.IndexByte(s, '?'); i >= 0 {
		path = s[:i]
		var err error
		if q, err = parseQuery(s[i+1:]); err != nil {
			return "", Query{}, err
		}
	}
	if path == "" {
		return "", Query{}, fmt.Errorf("empty URI: %w", ErrBadRequest)
	}
	if path[0] == '/' {
		return "", Query{}, fmt.Errorf("URI starts with '/': %w", ErrBadRequest)
	}
	if path == "." {
		return Root, q, nil
	}
	rest := strings.TrimPrefix(path, "./")
	var b strings.Builder
	b.Grow(len(path) + 2)
	b.WriteByte('.')
	depth := 0
	for seg := range strings.SplitSeq(rest, "/") {
		switch seg {
		case "":
			return "", Query{}, fmt.Errorf("empty segment: %w", ErrBadRequest)
		case "*":
			return "", Query{}, fmt.Errorf("'*' segment: %w", ErrBadRequest)
		}
		name, err := unescape(seg)
		if err != nil {
			return "", Query{}, err
		}
		if name == "." || name == ".." || name == "" {
			return "", Query{}, fmt.Errorf("segment %q: %w", seg, ErrBadRequest)
		}
		enc := escape(name)
		if lim.MaxSegLen > 0 && len(enc) > lim.MaxSegLen {
			return "", Query{}, fmt.Errorf("segment of %d bytes > MaxSegLen %d: %w", len(enc), lim.MaxSegLen, ErrURITooLong)
		}
		depth++
		b.WriteByte('/')
		b.WriteString(enc)
	}
	if lim.MaxDepth > 0 && depth > lim.MaxDepth {
		return "", Query{}, fmt.Errorf("depth %d > MaxDepth %d: %w", depth, lim.MaxDepth, ErrURITooLong)
	}
	if lim.MaxTotLen > 0 && b.Len() > lim.MaxTotLen {
		return "", Query{}, fmt.Errorf("length %d > MaxTotLen %d: %w", b.Len(), lim.MaxTotLen, ErrURITooLong)
	}
	return URI(b.String()), q, nil
}

func parseQuery(s string) (Query, error) {
	var q Query
	key, val, ok := strings.Cut(s, "=")
	if !ok || val == "" {
		return q, fmt.Errorf("malformed query %q: %w", s, ErrBadRequest)
	}
	switch key {
	case "prop":
		if !knownProps[val] {
			return q, fmt.Errorf("property %q: %w", val, ErrOptionalFeature)
		}
		q.Prop = val
	case "list":
		kind, opts := val, ""
		if i := strings.IndexAny(val, "+-"); i >= 0 {
			kind, opts = val[:i], val[i:]
		}
		switch kind {
		case "Struct":
			q.List = ListStruct
		case "StructData":
			q.List = ListStructData
		case "TNDS":
			q.List = ListTNDS
		default:
			return q, fmt.Errorf("list attribute %q: %w", kind, ErrOptionalFeature)
		}
		if opts == "" {
			break
		}
		if q.List != ListTNDS {
			return q, fmt.Errorf("options on ?list=%s: %w", kind, ErrBadRequest)
		}
		sign := opts[0]
		q.TNDSExclude = sign == '-'
		for _, p := range strings.Split(opts[1:], string(sign)) {
			if strings.ContainsAny(p, "+-") {
				return q, fmt.Errorf("mixed '+' and '-' TNDS options: %w", ErrBadRequest)
			}
			if p != "Value" && !knownProps[p] {
				if p == "" {
					return q, fmt.Errorf("empty TNDS option: %w", ErrBadRequest)
				}
				return q, fmt.Errorf("TNDS option %q: %w", p, ErrOptionalFeature)
			}
			q.TNDSProps = append(q.TNDSProps, p)
		}
	default:
		return q, fmt.Errorf("query %q: %w", key, ErrBadRequest)
	}
	return q, nil
}

func unescape(seg string) (string, error) {
	if strings.IndexByte(seg, '%') < 0 {
		if !utf8.ValidString(seg) {
			return "", fmt.Errorf("segment is not UTF-8: %w", ErrBadRequest)
		}
		return seg, nil
	}
	buf := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '%' {
			buf = append(buf, c)
			continue
		}
		if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
			return "", fmt.Errorf("bad percent escape in %q: %w", seg, ErrBadRequest)
		}
		buf = append(buf, unhex(seg[i+1])<<4|unhex(seg[i+2]))
		i += 2
	}
	if !utf8.Valid(buf) {
		return "", fmt.Errorf("segment is not UTF-8: %w", ErrBadRequest)
	}
	return string(buf), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

func keep(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()+,;=:@", c) >= 0
}

// escape percent-encodes a decoded node name into its canonical segment.
func escape(name string) string {
	n := 0
	for i := 0; i < len(name); i++ {
		if !keep(name[i]) {
			n++
		}
	}
	if n == 0 {
		return name
	}
	const hexd = "0123456789ABCDEF"
	b := make([]byte, 0, len(name)+2*n)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if keep(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexd[c>>4], hexd[c&15])
		}
	}
	return string(b)
}

// EscapeName returns the canonical URI segment for the decoded node name.
func EscapeName(name string) string { return escape(name) }

// UnescapeName decodes a canonical segment to the node name.
func UnescapeName(seg string) (string, error) { return unescape(seg) }

// IsRoot reports whether u is ".".
func (u URI) IsRoot() bool { return u == Root }

// Segments returns the canonical segments after "." (nil for the root).
func (u URI) Segments() []string {
	if len(u) <= 2 {
		return nil
	}
	return strings.Split(string(u[2:]), "/")
}

// Depth is the number of segments after ".".
func (u URI) Depth() int {
	if len(u) <= 2 {
		return 0
	}
	return strings.Count(string(u), "/")
}

// Parent returns the parent URI (the root is its own parent).
func (u URI) Parent() URI {
	i := strings.LastIndexByte(string(u), '/')
	if i < 0 {
		return Root
	}
	return u[:i]
}

// Base returns the canonical last segment ("." for the root).
func (u URI) Base() string {
	i := strings.LastIndexByte(string(u), '/')
	return string(u[i+1:])
}

// Name returns the decoded last segment ("." for the root).
func (u URI) Name() string {
	n, err := unescape(u.Base())
	if err != nil {
		return u.Base()
	}
	return n
}

// Child returns the URI of the child with the decoded name.
func (u URI) Child(name string) URI { return u + "/" + URI(escape(name)) }

// ChildSeg returns the URI of the child with the canonical segment seg.
func (u URI) ChildSeg(seg string) URI { return u + "/" + URI(seg) }

// HasPrefix reports whether u is p or below p (segment-wise).
func (u URI) HasPrefix(p URI) bool {
	if p == Root {
		return true
	}
	return u == p || strings.HasPrefix(string(u), string(p)) && u[len(p)] == '/'
}

// Rel returns u relative to prefix p as a "/"-separated canonical path ("" when
// u == p). It panics if u is not under p.
func (u URI) Rel(p URI) string {
	if !u.HasPrefix(p) {
		panic("tree: " + string(u) + " not under " + string(p))
	}
	if u == p {
		return ""
	}
	if p == Root {
		return string(u[2:])
	}
	return string(u[len(p)+1:])
}

// String returns u as a string.
func (u URI) String() string { return string(u) }
