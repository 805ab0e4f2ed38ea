package auth

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// b64 is the encoding every DM credential uses: standard alphabet, '=' padding.
var b64 = base64.StdEncoding

// Basic returns the syncml:auth-basic Cred/Data value B64(user ":" pass).
func Basic(user, pass string) string {
	return b64.EncodeToString([]byte(user + ":" + pass))
}

// VerifyBasic reports, in constant time, whether cred is the basic credential
// of user and pass.
func VerifyBasic(user, pass, cred string) bool {
	want := Basic(user, pass)
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(cred)), []byte(want)) == 1
}

// userHash returns B64(H(user ":" pass)), 24 base64 characters.
func userHash(user, pass string) [24]byte {
	h := md5.New()
	h.Write([]byte(user))
	h.Write([]byte{':'})
	h.Write([]byte(pass))
	var sum [md5.Size]byte
	var out [24]byte
	b64.Encode(out[:], h.Sum(sum[:0]))
	return out
}

// md5DigestRaw returns H(B64(H(user ":" pass)) ":" nonce).
func md5DigestRaw(user, pass string, nonce []byte) [md5.Size]byte {
	uh := userHash(user, pass)
	h := md5.New()
	h.Write(uh[:])
	h.Write([]byte{':'})
	h.Write(nonce)
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	return sum
}

// MD5Digest returns the syncml:auth-md5 Cred/Data value
// B64(H(B64(H(user ":" pass)) ":" nonce)). nonce is the binary nonce, i.e. the
// base64-decoded NextNonce last received from the peer.
func MD5Digest(user, pass string, nonce []byte) string {
	sum := md5DigestRaw(user, pass, nonce)
	return b64.EncodeToString(sum[:])
}

// VerifyMD5 reports, in constant time, whether cred (base64, as received in
// Cred/Data; surrounding white space is ignored) is the syncml:auth-md5
// credential of user and pass for nonce.
func VerifyMD5(user, pass string, nonce []byte, cred string) bool {
	got, ok := decode16(cred)
	want := md5DigestRaw(user, pass, nonce)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1 && ok
}

// decode16 decodes a base64 MD5 value. It accepts padded and unpadded input.
func decode16(s string) ([md5.Size]byte, bool) {
	var out [md5.Size]byte
	s = strings.TrimSpace(s)
	var buf [md5.Size + 3]byte
	enc := b64
	if len(s) != 24 {
		enc = base64.RawStdEncoding
	}
	if enc.DecodedLen(len(s)) > len(buf) {
		return out, false
	}
	n, err := enc.Strict().Decode(buf[:], []byte(s))
	if err != nil || n != md5.Size {
		return out, false
	}
	copy(out[:], buf[:n])
	return out, true
}

// Digest returns the generic DM digest as 16 raw bytes:
//
//	H( B64(H(a ":" b)) ":" nonce ":" B64(H(body)) )
//
// It is the x-syncml-hmac MAC before base64 (a = username, b = password,
// body = the exact message bytes), and the Package #0 digest (a = server
// identifier, b = server password, body = the trigger, i.e. every byte after
// the 16-byte digest).
func Digest(a, b string, nonce, body []byte) [md5.Size]byte {
	bodySum := md5.Sum(body)
	var bodyB64 [24]byte
	b64.Encode(bodyB64[:], bodySum[:])
	uh := userHash(a, b)
	h := md5.New()
	h.Write(uh[:])
	h.Write([]byte{':'})
	h.Write(nonce)
	h.Write([]byte{':'})
	h.Write(bodyB64[:])
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	return sum
}

// MAC returns the x-syncml-hmac mac value B64(Digest(user, pass, nonce, body)).
func MAC(user, pass string, nonce, body []byte) string {
	sum := Digest(user, pass, nonce, body)
	return b64.EncodeToString(sum[:])
}
