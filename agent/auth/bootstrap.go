package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SecMethod is the WSP SEC parameter of a pushed bootstrap
// (OMA-TS-DM_Security-V1_2 §5.1.7.2, protocol.md §2.3/§2.4). The value is the
// short-integer value; on the wire it appears with the high bit set
// (0x80 NETWPIN ... 0x83 USERPINMAC).
type SecMethod uint8

// SEC values.
const (
	SecNetwPIN     SecMethod = 0 // key: network shared secret (IMSI, semi-octets)
	SecUserPIN     SecMethod = 1 // key: user PIN
	SecUserNetwPIN SecMethod = 2 // key: network secret combined with user PIN [U]
	SecUserPINMAC  SecMethod = 3 // CP only; PIN derived from the MAC; not supported
)

// String returns the SEC name (NETWPIN, USERPIN, USERNETWPIN, USERPINMAC).
func (s SecMethod) String() string {
	switch s {
	case SecNetwPIN:
		return "NETWPIN"
	case SecUserPIN:
		return "USERPIN"
	case SecUserNetwPIN:
		return "USERNETWPIN"
	case SecUserPINMAC:
		return "USERPINMAC"
	}
	return fmt.Sprintf("SEC(%d)", uint8(s))
}

// Errors of the bootstrap MAC functions.
var (
	ErrBadIMSI              = errors.New("IMSI must be 6 to 15 decimal digits")
	ErrEmptyPIN             = errors.New("empty PIN")
	ErrMalformedMAC         = errors.New("MAC is not 40 hex digits")
	ErrUnsupportedSec       = errors.New("unsupported SEC method")
	ErrBootstrapMACMismatch = errors.New("bootstrap MAC does not match")
)

// BootstrapMAC returns HMAC-SHA1(key, body) as 40 upper-case hex digits, the
// form of the WSP MAC parameter.
func BootstrapMAC(key, body []byte) string {
	m := hmac.New(sha1.New, key)
	m.Write(body)
	var sum [sha1.Size]byte
	return strings.ToUpper(hex.EncodeToString(m.Sum(sum[:0])))
}

// NetwPINKey returns the NETWPIN key of a GSM/UMTS subscriber: the IMSI in
// semi-octet form as stored in EF_IMSI without its length byte. The digit
// string is prefixed with 9 (odd number of digits) or with 1 and suffixed
// with F (even number), then each pair of nibbles is swapped.
// IMSI 234150999999999 gives 29 43 51 90 99 99 99 99.
func NetwPINKey(imsi string) ([]byte, error) {
	if len(imsi) < 6 || len(imsi) > 15 {
		return nil, ErrBadIMSI
	}
	nib := make([]byte, 0, 17)
	if len(imsi)%2 == 1 {
		nib = append(nib, 9)
	} else {
		nib = append(nib, 1)
	}
	for i := 0; i < len(imsi); i++ {
		c := imsi[i]
		if c < '0' || c > '9' {
			return nil, ErrBadIMSI
		}
		nib = append(nib, c-'0')
	}
	if len(nib)%2 == 1 {
		nib = append(nib, 0xF)
	}
	key := make([]byte, len(nib)/2)
	for i := range key {
		key[i] = nib[2*i+1]<<4 | nib[2*i]
	}
	return key, nil
}

// UserPINKey returns the USERPIN key: the PIN as ASCII bytes.
func UserPINKey(pin string) ([]byte, error) {
	if pin == "" {
		return nil, ErrEmptyPIN
	}
	return []byte(pin), nil
}

// NetwPINOrder selects how UserNetwPINKey combines the network secret and the
// PIN. The right composition is unconfirmed [U] (protocol.md §2.4, §10 item 3).
type NetwPINOrder int

const (
	// NetwThenPIN is the network key bytes followed by the PIN, no separator
	// (Funambol NotificationEngineImpl).
	NetwThenPIN NetwPINOrder = iota
	// PINColonNetw is the PIN, ':', then the network key bytes: a literal
	// reading of the spec's "PIN:secret" wording.
	PINColonNetw
)

// UserNetwPINKey returns a USERNETWPIN key candidate for the given order. The
// network secret is NetwPINKey(imsi).
func UserNetwPINKey(imsi, pin string, order NetwPINOrder) ([]byte, error) {
	netw, err := NetwPINKey(imsi)
	if err != nil {
		return nil, err
	}
	if pin == "" {
		return nil, ErrEmptyPIN
	}
	switch order {
	case NetwThenPIN:
		return append(netw, pin...), nil
	case PINColonNetw:
		k := make([]byte, 0, len(pin)+1+len(netw))
		k = append(k, pin...)
		k = append(k, ':')
		return append(k, netw...), nil
	}
	return nil, fmt.Errorf("USERNETWPIN key order %d: %w", order, ErrUnsupportedSec)
}

// bootstrapKeys returns the candidate keys for sec, most likely first.
func bootstrapKeys(sec SecMethod, imsi, pin string) ([][]byte, error) {
	switch sec {
	case SecNetwPIN:
		k, err := NetwPINKey(imsi)
		if err != nil {
			return nil, err
		}
		// Funambol also accepts the IMSI as plain text.
		return [][]byte{k, []byte(imsi)}, nil
	case SecUserPIN:
		k, err := UserPINKey(pin)
		if err != nil {
			return nil, err
		}
		return [][]byte{k}, nil
	case SecUserNetwPIN:
		a, err := UserNetwPINKey(imsi, pin, NetwThenPIN)
		if err != nil {
			return nil, err
		}
		b, err := UserNetwPINKey(imsi, pin, PINColonNetw)
		if err != nil {
			return nil, err
		}
		return [][]byte{a, b}, nil
	}
	return nil, fmt.Errorf("SEC %s: %w", sec, ErrUnsupportedSec)
}

// VerifyBootstrapMAC checks the WSP MAC parameter of a pushed bootstrap
// against its body. mac is 40 hex digits in either case (surrounding white
// space and a trailing NUL are ignored). The keys tried are:
//
//	NETWPIN      NetwPINKey(imsi), then the IMSI as ASCII text (Funambol)
//	USERPIN      UserPINKey(pin)
//	USERNETWPIN  UserNetwPINKey(imsi, pin, NetwThenPIN), then PINColonNetw
//	USERPINMAC   not supported: ErrUnsupportedSec
//
// Every candidate is compared in constant time. It returns nil on a match,
// ErrBootstrapMACMismatch when no key matches, and ErrMalformedMAC, ErrBadIMSI,
// ErrEmptyPIN or ErrUnsupportedSec for unusable inputs.
func VerifyBootstrapMAC(sec SecMethod, mac string, body []byte, imsi, pin string) error {
	mac = strings.TrimSpace(strings.TrimRight(mac, "\x00"))
	if len(mac) != 2*sha1.Size {
		return ErrMalformedMAC
	}
	got, err := hex.DecodeString(mac)
	if err != nil {
		return ErrMalformedMAC
	}
	keys, err := bootstrapKeys(sec, imsi, pin)
	if err != nil {
		return err
	}
	ok := false
	for _, k := range keys {
		m := hmac.New(sha1.New, k)
		m.Write(body)
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	if !ok {
		return ErrBootstrapMACMismatch
	}
	return nil
}
