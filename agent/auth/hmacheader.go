package auth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// HMACAlgorithmMD5 is the only x-syncml-hmac algorithm DM 1.2 defines.
const HMACAlgorithmMD5 = "MD5"

// HMACHeaderName is the HTTP header that carries syncml:auth-MAC.
const HMACHeaderName = "x-syncml-hmac"

// Errors of ParseHMACHeader and VerifyHMAC. Callers branch on them with
// errors.Is.
var (
	ErrMalformedHMACHeader   = errors.New("malformed x-syncml-hmac header")
	ErrUnsupportedAlgorithm  = errors.New("unsupported x-syncml-hmac algorithm")
	ErrHMACUsernameMismatch  = errors.New("x-syncml-hmac username does not match")
	ErrHMACMismatch          = errors.New("x-syncml-hmac mac does not match")
	errHMACUsernameForbidden = errors.New("username contains a control character")
)

// HMACHeader is the value of the x-syncml-hmac header (protocol.md §4.3):
//
//	algorithm=MD5, username="devuser", mac=wSbU2WfuxYLE5lR8ZWfpew==
//
// It carries no secret: MAC is a one-time value bound to a nonce and a body.
type HMACHeader struct {
	Algorithm string // "MD5"; ParseHMACHeader normalises an omitted one to "MD5"
	Username  string // must equal SyncHdr/Source/LocName; the caller checks that
	MAC       string // base64 of the 16-byte digest
}

// SignHMAC computes the header for a message body sent by user.
// The username must not contain control characters (they cannot be carried in
// a quoted-string and would allow header injection).
func SignHMAC(user, pass string, nonce, body []byte) (HMACHeader, error) {
	if hasCTL(user) {
		return HMACHeader{}, fmt.Errorf("x-syncml-hmac: %w", errHMACUsernameForbidden)
	}
	return HMACHeader{Algorithm: HMACAlgorithmMD5, Username: user, MAC: MAC(user, pass, nonce, body)}, nil
}

// String formats the header value in the tsdm spacing,
// `algorithm=MD5, username="devuser", mac=...`. An empty Algorithm is written
// as MD5. The username is a quoted-string with '"' and '\' escaped.
func (h HMACHeader) String() string {
	alg := h.Algorithm
	if alg == "" {
		alg = HMACAlgorithmMD5
	}
	var b strings.Builder
	b.Grow(len(alg) + len(h.Username) + len(h.MAC) + 32)
	b.WriteString("algorithm=")
	b.WriteString(alg)
	b.WriteString(`, username="`)
	for i := 0; i < len(h.Username); i++ {
		c := h.Username[i]
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteString(`", mac=`)
	b.WriteString(h.MAC)
	return b.String()
}

// ParseHMACHeader parses an x-syncml-hmac header value. It accepts:
//   - "," with or without spaces or tabs around it (Android and tsdm spacing);
//   - parameter names in any case, in any order;
//   - an omitted algorithm (MD5 is assumed); algorithm names case-insensitively;
//   - username as a quoted-string (with \-escapes) or as a bare token;
//   - mac as a bare token or quoted-string; it must be base64 of 16 bytes;
//   - unknown parameters, which are ignored.
//
// It rejects a missing username or mac, a repeated parameter, a parameter
// without "=", an unterminated quoted-string, control characters, and an
// algorithm other than MD5 (ErrUnsupportedAlgorithm). Every other failure
// wraps ErrMalformedHMACHeader and names the problem and its byte offset.
func ParseHMACHeader(s string) (HMACHeader, error) {
	var h HMACHeader
	var seenAlg, seenUser, seenMAC bool
	p := hdrParser{s: s}
	p.skipOWS()
	if p.eof() {
		return h, p.errf("empty header")
	}
	for {
		nameAt := p.i
		name := p.token()
		if name == "" {
			return h, p.errf("expected a parameter name")
		}
		p.skipOWS()
		if !p.consume('=') {
			return h, p.errf("expected '=' after %q", name)
		}
		p.skipOWS()
		valAt := p.i
		val, err := p.value()
		if err != nil {
			return h, err
		}
		switch strings.ToLower(name) {
		case "algorithm":
			if seenAlg {
				return h, errAt(nameAt, "repeated parameter %q", name)
			}
			seenAlg = true
			if !strings.EqualFold(val, HMACAlgorithmMD5) {
				return h, fmt.Errorf("x-syncml-hmac: algorithm %q at offset %d: %w", val, valAt, ErrUnsupportedAlgorithm)
			}
			h.Algorithm = HMACAlgorithmMD5
		case "username":
			if seenUser {
				return h, errAt(nameAt, "repeated parameter %q", name)
			}
			seenUser = true
			h.Username = val
		case "mac":
			if seenMAC {
				return h, errAt(nameAt, "repeated parameter %q", name)
			}
			seenMAC = true
			if _, ok := decode16(val); !ok || val != strings.TrimSpace(val) {
				return h, errAt(valAt, "mac is not base64 of a 16-byte digest")
			}
			h.MAC = val
		}
		p.skipOWS()
		if p.eof() {
			break
		}
		if !p.consume(',') {
			return h, p.errf("expected ',' between parameters")
		}
		p.skipOWS()
	}
	if !seenUser {
		return h, errAt(len(s), "missing username")
	}
	if !seenMAC {
		return h, errAt(len(s), "missing mac")
	}
	if !seenAlg {
		h.Algorithm = HMACAlgorithmMD5
	}
	return h, nil
}

// VerifyHMAC checks a received header against the expected username, its
// password, the nonce the client sent in its previous message, and the exact
// received body. It returns nil on success, an error wrapping
// ErrUnsupportedAlgorithm, ErrHMACUsernameMismatch or ErrHMACMismatch
// otherwise. The MAC comparison is constant-time.
func VerifyHMAC(h HMACHeader, user, pass string, nonce, body []byte) error {
	if h.Algorithm != "" && !strings.EqualFold(h.Algorithm, HMACAlgorithmMD5) {
		return fmt.Errorf("x-syncml-hmac: algorithm %q: %w", h.Algorithm, ErrUnsupportedAlgorithm)
	}
	got, ok := decode16(h.MAC)
	want := Digest(user, pass, nonce, body)
	macOK := subtle.ConstantTimeCompare(got[:], want[:]) == 1 && ok
	if h.Username != user {
		return ErrHMACUsernameMismatch
	}
	if !macOK {
		return ErrHMACMismatch
	}
	return nil
}

func errAt(off int, format string, a ...any) error {
	return fmt.Errorf("x-syncml-hmac: %s at offset %d: %w", fmt.Sprintf(format, a...), off, ErrMalformedHMACHeader)
}

type hdrParser struct {
	s string
	i int
}

func (p *hdrParser) eof() bool { return p.i >= len(p.s) }

func (p *hdrParser) errf(format string, a ...any) error { return errAt(p.i, format, a...) }

func (p *hdrParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *hdrParser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// isTokenChar reports whether c is an RFC 9110 tchar, plus '/' and '=' so
// that an unquoted base64 mac is one token. '=' ends a parameter name, which
// token() handles by stopping there.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~/", c) >= 0
}

// token reads a parameter name.
func (p *hdrParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a bare value (token characters and '=') or a quoted-string.
func (p *hdrParser) value() (string, error) {
	if p.eof() {
		return "", p.errf("missing value")
	}
	if p.s[p.i] == '"' {
		return p.quoted()
	}
	start := p.i
	for p.i < len(p.s) && (isTokenChar(p.s[p.i]) || p.s[p.i] == '=') {
		p.i++
	}
	if p.i == start {
		return "", p.errf("unexpected character %q", p.s[p.i])
	}
	return p.s[start:p.i], nil
}

// quoted reads an RFC 9110 quoted-string starting at the opening quote.
func (p *hdrParser) quoted() (string, error) {
	open := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", errAt(p.i, "backslash at end of header")
			}
			c = p.s[p.i+1]
			if isCTL(c) {
				return "", errAt(p.i+1, "control character in quoted-string")
			}
			b.WriteByte(c)
			p.i += 2
		case isCTL(c):
			return "", errAt(p.i, "control character in quoted-string")
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", errAt(open, "unterminated quoted-string")
}

func isCTL(c byte) bool { return (c < 0x20 && c != '\t') || c == 0x7f }

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if isCTL(s[i]) {
			return true
		}
	}
	return false
}
