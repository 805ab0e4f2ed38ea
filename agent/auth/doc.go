// Package auth implements the credential arithmetic of OMA DM 1.2: the
// syncml:auth-basic and syncml:auth-md5 Cred values, the syncml:auth-MAC
// (x-syncml-hmac) transport header, the generic MD5 digest that the Package #0
// notification reuses, and the HMAC-SHA1 MAC of a pushed bootstrap.
//
// Specifications:
//   - OMA-TS-DM_Security-V1_2 §5.1 (§5.1.3.2 credentials and nonces,
//     §5.1.3.3 integrity / x-syncml-hmac, §5.1.7.2 bootstrap SEC/MAC).
//   - OMA-TS-DM_Notification-V1_2 §6.2 (the Package #0 digest uses Digest).
//   - Project notes: protocol.md §2.4, §4.1, §4.3 and §1.2.
//
// Formulas (H = MD5 as 16 raw bytes, B64 = standard base64 with padding):
//
//	Basic      = B64(user ":" pass)
//	MD5Digest  = B64(H(B64(H(user ":" pass)) ":" nonce))
//	Digest     = H(B64(H(a ":" b)) ":" nonce ":" B64(H(body)))     (16 raw bytes)
//	MAC        = B64(Digest(user, pass, nonce, body))              (x-syncml-hmac)
//	Bootstrap  = upper-case hex of HMAC-SHA1(key, WBXML body)
//
// Invariants:
//   - Every function is pure: no I/O, no global state, no goroutines, safe for
//     concurrent use.
//   - Every comparison of a received credential or MAC with a computed one is
//     constant-time (crypto/subtle or hmac.Equal).
//   - Nothing here logs, panics on bad input, or formats a secret. No type in
//     this package holds a password, so none has a String method that could
//     print one. Callers MUST NOT log the inputs (passwords, PINs, IMSIs,
//     nonces) or the computed credentials, which are password equivalents for
//     replay within a nonce's lifetime.
//
// Unconfirmed points (protocol.md §10): the USERNETWPIN key composition is [U];
// both readings are supported (see UserNetwPINKey). USERPINMAC is not supported.
package auth
