package notification

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/omadm-agent/omadm-agent/agent/auth"
)

// ResyncNonce returns the special nonce of Nonce Resynchronisation
// (OMA-TS-DM_Notification-V1_2 "6.2"): four zero bytes, 00 00 00 00.
// A fresh slice is returned on every call.
func ResyncNonce() []byte { return []byte{0, 0, 0, 0} }

// trigger returns the bytes the digest covers: n.Trigger if set, otherwise
// the trigger rebuilt from the fields.
func (n *Notification) trigger() ([]byte, error) {
	if n.Trigger != nil {
		return n.Trigger, nil
	}
	return n.AppendTrigger(nil)
}

// Verify reports whether n.Digest is the digest of n's trigger for serverID,
// password and exactly the given nonce bytes. The comparison is
// constant-time. It returns false if n is nil or its fields cannot be encoded.
func Verify(n *Notification, serverID, password string, nonce []byte) bool {
	if n == nil {
		return false
	}
	t, err := n.trigger()
	if err != nil {
		return false
	}
	return verifyTrigger(n.Digest, t, serverID, password, nonce)
}

func verifyTrigger(digest [16]byte, trigger []byte, id, password string, nonce []byte) bool {
	want := auth.Digest(id, password, nonce, trigger)
	return subtle.ConstantTimeCompare(digest[:], want[:]) == 1
}

// Credentials are the server credentials (DMAcc AppAuth with
// AAuthLevel=SRVCRED) a Package #0 digest is checked against. They hold a
// secret: String and GoString redact it; never log the fields yourself.
type Credentials struct {
	ServerID  string // ./DMAcc/<x>/ServerID; if empty, the notification's ServerID is used
	AAuthName string // SRVCRED AAuthName; tried after ServerID if non-empty and different
	Password  string // SRVCRED AAuthSecret
	// Nonce is the stored server nonce (SRVCRED AAuthData) as stored. If it
	// is valid standard base64 the decoded bytes are tried first, then the
	// literal bytes (protocol.md §1.2 recommendation).
	Nonce []byte
}

// String describes c without its password or nonce.
func (c Credentials) String() string {
	return fmt.Sprintf("{ServerID:%q AAuthName:%q Password:<redacted> Nonce:<%d bytes>}", c.ServerID, c.AAuthName, len(c.Nonce))
}

// GoString is String, so %#v does not print the password either.
func (c Credentials) GoString() string { return "notification.Credentials" + c.String() }

// NonceKind says which nonce verified a notification.
type NonceKind int

// Nonce kinds.
const (
	NonceStored NonceKind = iota + 1 // the stored server nonce
	NonceResync                      // the resync nonce 00 00 00 00
)

// Match describes how a notification was verified.
type Match struct {
	Nonce NonceKind
	// Base64Decoded is true when Nonce is NonceStored and the stored value
	// matched after base64 decoding (false: its literal bytes matched).
	Base64Decoded bool
	// Identity is the server identifier that matched: Credentials.ServerID
	// (or the notification's) or Credentials.AAuthName.
	Identity string
}

// String renders m for technicians, e.g. `stored nonce (base64-decoded) as "srv"`.
func (m Match) String() string {
	var s string
	switch {
	case m.Nonce == NonceResync:
		s = "resync nonce 00000000"
	case m.Nonce == NonceStored && m.Base64Decoded:
		s = "stored nonce (base64-decoded)"
	case m.Nonce == NonceStored:
		s = "stored nonce (literal)"
	default:
		return "no match"
	}
	return fmt.Sprintf("%s as %q", s, m.Identity)
}

// ErrNoNotification is returned by VerifyWithResync for a nil notification.
var ErrNoNotification = errors.New("nil notification")

// VerifyWithResync checks n's digest against creds following
// OMA-TS-DM_Notification-V1_2 §6.2 (protocol.md §1.2, §1.3). Nonces are
// tried in this order, and for each nonce the ServerID then AAuthName:
//
//  1. the stored nonce base64-decoded, if it is valid standard base64;
//  2. the stored nonce's literal bytes;
//  3. the resync nonce 00 00 00 00.
//
// A match on 3 means the client must start the session with credentials based
// on the resync nonce and exchange fresh nonces. If nothing matches it
// returns an error wrapping ErrDigestMismatch; the caller ignores the
// notification. Digest comparisons are constant-time.
func VerifyWithResync(n *Notification, creds Credentials) (Match, error) {
	if n == nil {
		return Match{}, ErrNoNotification
	}
	t, err := n.trigger()
	if err != nil {
		return Match{}, err
	}
	ids := []string{creds.ServerID}
	if creds.ServerID == "" {
		ids[0] = n.ServerID
	}
	if creds.AAuthName != "" && creds.AAuthName != ids[0] {
		ids = append(ids, creds.AAuthName)
	}
	type candidate struct {
		nonce   []byte
		kind    NonceKind
		decoded bool
	}
	cands := make([]candidate, 0, 3)
	if dec, err := base64.StdEncoding.DecodeString(string(creds.Nonce)); err == nil && len(creds.Nonce) > 0 {
		cands = append(cands, candidate{dec, NonceStored, true})
	}
	cands = append(cands, candidate{creds.Nonce, NonceStored, false}, candidate{ResyncNonce(), NonceResync, false})
	for _, c := range cands {
		for _, id := range ids {
			if verifyTrigger(n.Digest, t, id, creds.Password, c.nonce) {
				return Match{Nonce: c.kind, Base64Decoded: c.decoded, Identity: id}, nil
			}
		}
	}
	return Match{}, fmt.Errorf("%w: tried the stored nonce and the resync nonce with %d identities", ErrDigestMismatch, len(ids))
}
