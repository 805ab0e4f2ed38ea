// Package wappush decodes WAP pushes carried in SMS user data: the WDP
// addressing of WAP-259-WDP (application port IEs of 3GPP TS 23.040 §9.2.3.24)
// and the WSP connectionless Push / ConfirmedPush PDU of WAP-230-WSP §8.2.4,
// as used by OMA-TS-DM_Notification §6.3 to carry the DM Package #0
// (application/vnd.syncml.notification) and by bootstrap pushes (Bootstrap
// §3.1, Security §5.1.7: SEC and MAC content-type parameters).
//
// Invariants:
//   - The package is pure (standard library only) and performs no I/O.
//   - Decoders never panic on bad input; every failure is a *DecodeError
//     carrying the field name, the byte offset and a sentinel cause
//     (ErrUnderflow, ErrInvalid, ErrUnsupportedPDU, ErrNotPush).
//   - Only the WDP destination port is checked (2948, PushPort); the source
//     port is never checked (the spec example uses 0xC002, senders use 9200).
//   - Decoded byte slices (Push.Body, UDH payloads) never alias the input.
//
// The package has no goroutines and no shared state; all functions are safe
// for concurrent use.
package wappush
