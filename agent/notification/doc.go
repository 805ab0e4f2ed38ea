// Package notification decodes, encodes and verifies the OMA DM 1.2
// Package #0, the General Notification Initiated Session Alert
// (MIME application/vnd.syncml.notification, WSP content type 0x44).
//
// Specifications:
//   - OMA-TS-DM_Notification-V1_2 §6 (§6.2.1 ABNF, §6.2.2 fields,
//     §6.2.2.10 session id, "6.2 Nonce Resynchronisation").
//   - OMA-TS-DM_Security-V1_2 §5.1 for the digest credentials (SRVCRED).
//   - Project notes: protocol.md §1.
//
// Layout (big-endian):
//
//	digest(128) version(10) ui-mode(2) initiator(1) future-use(27)
//	sessionid(16) length-identifier(8) server-identifier(length bytes)
//	vendor-specific(rest)
//
// The digest is 16 raw bytes:
//
//	H( B64(H(server-id ":" password)) ":" nonce ":" B64(H(trigger)) )
//
// where trigger is every byte after the digest; it is computed with
// agent/auth.Digest.
//
// Receive policy (lenient, documented):
//   - version: 10..12 are accepted. Any other value makes Decode return the
//     fully decoded *Notification together with a *DecodeError wrapping
//     ErrUnsupportedVersion; the caller may log it and carry on.
//   - future-use bits MUST be 0 but are not checked; their value is exposed
//     in Notification.FutureUse so the caller can report them.
//   - the server identifier must be 1..255 bytes; its content is not checked
//     (it is compared with ./DMAcc/<x>/ServerID by the caller).
//   - every other structural problem is a *DecodeError naming the field and
//     byte offset, and Decode returns a nil *Notification.
//
// Verification (VerifyWithResync) tries the stored server nonce, first
// base64-decoded (if it is valid base64) and then as its literal bytes, then
// the resync nonce 00 00 00 00; for each nonce it tries the ServerID and then
// the SRVCRED AAuthName if different. All comparisons are constant-time.
//
// Invariants: pure functions, no I/O, no goroutines, no logging; Decode
// never panics and never retains its input (Trigger and Vendor are copies).
// Passwords and nonces passed in are never formatted into errors; callers
// must not log them either.
package notification
