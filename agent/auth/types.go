package auth

import (
	"errors"
	"fmt"
	"strings"
)

// Meta/Type values of Cred and Chal (OMA-TS-DM_Security-V1_2 §5.1.3.2,
// protocol.md §4.1).
const (
	MetaTypeBasic    = "syncml:auth-basic"
	MetaTypeMD5      = "syncml:auth-md5"
	MetaTypeMAC      = "syncml:auth-MAC"
	MetaTypeX509     = "syncml:auth-X509"
	MetaTypeSecurID  = "syncml:auth-securid"
	MetaTypeSafeWord = "syncml:auth-safeword"
	MetaTypeDigipass = "syncml:auth-digipass"
)

// DMAcc AppAuth/<y>/AAuthType values (OMA-TS-DM_StdObj DMAcc, protocol.md §4.1).
const (
	AAuthBasic      = "BASIC"
	AAuthDigest     = "DIGEST"
	AAuthHMAC       = "HMAC"
	AAuthX509       = "X509"
	AAuthSecurID    = "SECURID"
	AAuthSafeWord   = "SAFEWORD"
	AAuthDigipass   = "DIGIPASS"
	AAuthHTTPBasic  = "HTTP-BASIC"
	AAuthHTTPDigest = "HTTP-DIGEST"
	AAuthTransport  = "TRANSPORT"
)

// Scheme is an authentication scheme, named by a Meta/Type and/or an AAuthType.
type Scheme int

// Schemes. Only SchemeBasic, SchemeMD5 and SchemeHMAC are DM-level schemes
// this agent implements; the others are recognised so they can be rejected by
// name.
const (
	SchemeUnknown Scheme = iota
	SchemeBasic
	SchemeMD5
	SchemeHMAC
	SchemeX509
	SchemeSecurID
	SchemeSafeWord
	SchemeDigipass
	SchemeHTTPBasic  // transport level (AAuthLevel HTTP/OBEX) only
	SchemeHTTPDigest // transport level only
	SchemeTransport  // transport level (TLS client auth) only
)

var schemeNames = [...]struct{ meta, aauth string }{
	SchemeUnknown:    {"", ""},
	SchemeBasic:      {MetaTypeBasic, AAuthBasic},
	SchemeMD5:        {MetaTypeMD5, AAuthDigest},
	SchemeHMAC:       {MetaTypeMAC, AAuthHMAC},
	SchemeX509:       {MetaTypeX509, AAuthX509},
	SchemeSecurID:    {MetaTypeSecurID, AAuthSecurID},
	SchemeSafeWord:   {MetaTypeSafeWord, AAuthSafeWord},
	SchemeDigipass:   {MetaTypeDigipass, AAuthDigipass},
	SchemeHTTPBasic:  {"", AAuthHTTPBasic},
	SchemeHTTPDigest: {"", AAuthHTTPDigest},
	SchemeTransport:  {"", AAuthTransport},
}

// ErrUnknownScheme is returned for a Meta/Type or AAuthType this package does
// not know.
var ErrUnknownScheme = errors.New("unknown authentication type")

// MetaType returns the Meta/Type name of s, or "" if s has none (transport
// schemes and SchemeUnknown).
func (s Scheme) MetaType() string {
	if s < 0 || int(s) >= len(schemeNames) {
		return ""
	}
	return schemeNames[s].meta
}

// AAuthType returns the DMAcc AAuthType name of s, or "" for SchemeUnknown.
func (s Scheme) AAuthType() string {
	if s < 0 || int(s) >= len(schemeNames) {
		return ""
	}
	return schemeNames[s].aauth
}

// String returns the AAuthType name, or "unknown".
func (s Scheme) String() string {
	if n := s.AAuthType(); n != "" {
		return n
	}
	return "unknown"
}

// DMLevel reports whether s is a DM-level scheme this agent can use in Cred
// or x-syncml-hmac (basic, md5, HMAC).
func (s Scheme) DMLevel() bool {
	return s == SchemeBasic || s == SchemeMD5 || s == SchemeHMAC
}

// ParseMetaType maps a Meta/Type value such as "syncml:auth-md5" to its
// Scheme. The "syncml:auth-" prefix and the suffix are matched
// case-insensitively (servers write both "auth-MAC" and "auth-mac").
func ParseMetaType(s string) (Scheme, error) {
	t := strings.TrimSpace(s)
	for i, n := range schemeNames {
		if n.meta != "" && strings.EqualFold(t, n.meta) {
			return Scheme(i), nil
		}
	}
	return SchemeUnknown, fmt.Errorf("meta type %q: %w", s, ErrUnknownScheme)
}

// ParseAAuthType maps a DMAcc AAuthType value such as "DIGEST" to its Scheme,
// case-insensitively.
func ParseAAuthType(s string) (Scheme, error) {
	t := strings.TrimSpace(s)
	for i, n := range schemeNames {
		if n.aauth != "" && strings.EqualFold(t, n.aauth) {
			return Scheme(i), nil
		}
	}
	return SchemeUnknown, fmt.Errorf("AAuthType %q: %w", s, ErrUnknownScheme)
}

// MetaTypeForAAuthType maps a DMAcc AAuthType (BASIC, DIGEST, HMAC, ...) to
// the Meta/Type used in Cred and Chal (syncml:auth-basic, ...). Transport
// schemes (HTTP-BASIC, HTTP-DIGEST, TRANSPORT) have no Meta/Type and return
// an error wrapping ErrUnknownScheme.
func MetaTypeForAAuthType(aauth string) (string, error) {
	s, err := ParseAAuthType(aauth)
	if err != nil {
		return "", err
	}
	if m := s.MetaType(); m != "" {
		return m, nil
	}
	return "", fmt.Errorf("AAuthType %q is transport-level and has no meta type: %w", aauth, ErrUnknownScheme)
}

// AAuthTypeForMetaType is the inverse of MetaTypeForAAuthType.
func AAuthTypeForMetaType(meta string) (string, error) {
	s, err := ParseMetaType(meta)
	if err != nil {
		return "", err
	}
	return s.AAuthType(), nil
}
