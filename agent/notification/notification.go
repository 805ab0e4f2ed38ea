package notification

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/auth"
)

// Byte offsets of the fields (protocol.md §1.1).
const (
	offDigest   = 0
	offHeader   = 16 // version, ui-mode, initiator, future-use: bytes 16..20
	offSession  = 21
	offLength   = 23
	offServerID = 24

	// MinLen is the shortest possible Package #0: header plus a 1-byte server id.
	MinLen = offServerID + 1
	// MaxServerIDLen is the longest server identifier the length byte allows.
	MaxServerIDLen = 255
)

// DefaultVersion is the version Encode writes when Notification.Version is 0:
// 11, i.e. notification format 1.1 (OMA-TS-DM_Notification-V1_2 §6.2.2.6).
const DefaultVersion = 11

// Accepted version range on receive (protocol.md §1.4).
const (
	MinVersion = 10
	MaxVersion = 12
)

const (
	maxVersionField   = 1<<10 - 1
	maxFutureUseField = 1<<27 - 1
)

// UIMode is the 2-bit ui-mode field.
type UIMode uint8

// UI modes (OMA-TS-DM_Notification-V1_2 §6.2.2.7).
const (
	UINotSpecified    UIMode = 0
	UIBackground      UIMode = 1
	UIInformative     UIMode = 2
	UIUserInteraction UIMode = 3
)

var uiModeNames = [...]string{"not-specified", "background", "informative", "user-interaction"}

// String returns the mode name, e.g. "background".
func (m UIMode) String() string {
	if int(m) < len(uiModeNames) {
		return uiModeNames[m]
	}
	return "ui-mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseUIMode accepts a name ("background", ...) or a number 0..3.
func ParseUIMode(s string) (UIMode, error) {
	for i, n := range uiModeNames {
		if strings.EqualFold(s, n) || s == strconv.Itoa(i) {
			return UIMode(i), nil
		}
	}
	return 0, fmt.Errorf("ui-mode %q: want not-specified, background, informative, user-interaction or 0-3", s)
}

// Initiator is the 1-bit initiator field.
type Initiator uint8

// Initiators (OMA-TS-DM_Notification-V1_2 §6.2.2.8).
const (
	InitiatorClient Initiator = 0 // client / user initiated
	InitiatorServer Initiator = 1 // server initiated
)

// String returns "client" or "server".
func (i Initiator) String() string {
	switch i {
	case InitiatorClient:
		return "client"
	case InitiatorServer:
		return "server"
	}
	return "initiator(" + strconv.Itoa(int(i)) + ")"
}

// ParseInitiator accepts "client", "server", "user" (= client), 0 or 1.
func ParseInitiator(s string) (Initiator, error) {
	switch strings.ToLower(s) {
	case "client", "user", "0":
		return InitiatorClient, nil
	case "server", "1":
		return InitiatorServer, nil
	}
	return 0, fmt.Errorf("initiator %q: want client, server, 0 or 1", s)
}

// Notification is a decoded Package #0. It holds no secret.
type Notification struct {
	Digest    [16]byte  // raw MD5 digest as received
	Version   int       // 10-bit value; 11 = format 1.1
	UIMode    UIMode    // 2 bits
	Initiator Initiator // 1 bit
	FutureUse uint32    // 27 bits that MUST be 0; exposed, not enforced
	SessionID uint16
	ServerID  string // 1..255 bytes
	Vendor    []byte // vendor-specific trailer, nil if none
	// Trigger is every byte after the digest, exactly as received; the digest
	// is computed over it. Decode sets it; Marshal and Encode ignore it and
	// rebuild the trigger from the fields. Verify uses it when set.
	Trigger []byte
}

// VersionString renders Version as "1.1" (Version/10 "." Version%10).
func (n *Notification) VersionString() string {
	return strconv.Itoa(n.Version/10) + "." + strconv.Itoa(n.Version%10)
}

// SessionIDHex renders the session id as SyncHdr/SessionID wants it:
// upper-case hex without leading zeros (§6.2.2.10), e.g. 0x0ABC -> "ABC".
func (n *Notification) SessionIDHex() string {
	return strings.ToUpper(strconv.FormatUint(uint64(n.SessionID), 16))
}

// Errors. Decode errors are *DecodeError values wrapping one of these.
var (
	ErrTruncated          = errors.New("message too short")
	ErrEmptyServerID      = errors.New("zero-length server identifier")
	ErrUnsupportedVersion = errors.New("unsupported notification version")
	ErrFieldRange         = errors.New("value out of range")
	ErrDigestMismatch     = errors.New("notification digest does not match")
)

// DecodeError reports a problem with one field of a Package #0.
type DecodeError struct {
	Field  string // ABNF field name, e.g. "server-identifier"
	Offset int    // byte offset of the field in the message
	Err    error  // ErrTruncated, ErrEmptyServerID, ErrUnsupportedVersion, ...
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("notification: %s at offset %d: %v", e.Field, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

func truncated(field string, off, need, have int) error {
	return &DecodeError{Field: field, Offset: off,
		Err: fmt.Errorf("%w: need %d bytes, have %d", ErrTruncated, need, have)}
}

// Decode parses a Package #0. See the package documentation for the receive
// policy: on an unsupported version it returns both the notification and an
// error wrapping ErrUnsupportedVersion; on any other error the notification
// is nil. The returned Trigger and Vendor do not alias b.
func Decode(b []byte) (*Notification, error) {
	switch {
	case len(b) < offHeader:
		return nil, truncated("digest", offDigest, offHeader, len(b))
	case len(b) < offSession:
		return nil, truncated("trigger-hdr", offHeader, offSession, len(b))
	case len(b) < offLength:
		return nil, truncated("sessionid", offSession, offLength, len(b))
	case len(b) < offServerID:
		return nil, truncated("length-identifier", offLength, offServerID, len(b))
	}
	idLen := int(b[offLength])
	if idLen == 0 {
		return nil, &DecodeError{Field: "length-identifier", Offset: offLength, Err: ErrEmptyServerID}
	}
	if len(b) < offServerID+idLen {
		return nil, truncated("server-identifier", offServerID, offServerID+idLen, len(b))
	}
	n := &Notification{}
	copy(n.Digest[:], b[offDigest:offHeader])
	// Bits of bytes 16..20: version(10) ui-mode(2) initiator(1) future-use(27).
	hdr := uint64(b[16])<<32 | uint64(binary.BigEndian.Uint32(b[17:21]))
	n.Version = int(hdr >> 30)
	n.UIMode = UIMode(hdr >> 28 & 0x3)
	n.Initiator = Initiator(hdr >> 27 & 0x1)
	n.FutureUse = uint32(hdr & maxFutureUseField)
	n.SessionID = binary.BigEndian.Uint16(b[offSession:offLength])
	n.ServerID = string(b[offServerID : offServerID+idLen])
	if rest := b[offServerID+idLen:]; len(rest) > 0 {
		n.Vendor = append([]byte(nil), rest...)
	}
	n.Trigger = append([]byte(nil), b[offHeader:]...)
	if n.Version < MinVersion || n.Version > MaxVersion {
		return n, &DecodeError{Field: "version", Offset: offHeader,
			Err: fmt.Errorf("%w: %d (%s), accepted %d..%d", ErrUnsupportedVersion, n.Version, n.VersionString(), MinVersion, MaxVersion)}
	}
	return n, nil
}

// AppendTrigger appends the trigger (everything after the digest) built from
// the fields of n, with n.Version written as is (0 stays 0). It fails if a
// field does not fit its bit width or the server id is empty or too long.
func (n *Notification) AppendTrigger(dst []byte) ([]byte, error) {
	switch {
	case n.Version < 0 || n.Version > maxVersionField:
		return dst, &DecodeError{Field: "version", Offset: offHeader, Err: fmt.Errorf("%w: %d does not fit 10 bits", ErrFieldRange, n.Version)}
	case n.UIMode > 3:
		return dst, &DecodeError{Field: "ui-mode", Offset: offHeader + 1, Err: fmt.Errorf("%w: %d does not fit 2 bits", ErrFieldRange, n.UIMode)}
	case n.Initiator > 1:
		return dst, &DecodeError{Field: "initiator", Offset: offHeader + 1, Err: fmt.Errorf("%w: %d does not fit 1 bit", ErrFieldRange, n.Initiator)}
	case n.FutureUse > maxFutureUseField:
		return dst, &DecodeError{Field: "future-use", Offset: offHeader + 1, Err: fmt.Errorf("%w: %#x does not fit 27 bits", ErrFieldRange, n.FutureUse)}
	case len(n.ServerID) == 0:
		return dst, &DecodeError{Field: "length-identifier", Offset: offLength, Err: ErrEmptyServerID}
	case len(n.ServerID) > MaxServerIDLen:
		return dst, &DecodeError{Field: "server-identifier", Offset: offServerID, Err: fmt.Errorf("%w: %d bytes, at most %d", ErrFieldRange, len(n.ServerID), MaxServerIDLen)}
	}
	hdr := uint64(n.Version)<<30 | uint64(n.UIMode)<<28 | uint64(n.Initiator)<<27 | uint64(n.FutureUse)
	dst = append(dst, byte(hdr>>32), byte(hdr>>24), byte(hdr>>16), byte(hdr>>8), byte(hdr))
	dst = binary.BigEndian.AppendUint16(dst, n.SessionID)
	dst = append(dst, byte(len(n.ServerID)))
	dst = append(dst, n.ServerID...)
	return append(dst, n.Vendor...), nil
}

// Marshal returns the Package #0 bytes for n using n.Digest as is (no digest
// is computed). Decode(Marshal(n)) reproduces n's fields.
func (n *Notification) Marshal() ([]byte, error) {
	out := make([]byte, offHeader, offServerID+len(n.ServerID)+len(n.Vendor))
	copy(out, n.Digest[:])
	return n.AppendTrigger(out)
}

// Encode builds a Package #0 from n's fields, computing the digest from the
// server password and the server nonce (the same nonce the client will check,
// as binary). A zero n.Version is written as DefaultVersion (11). n is not
// modified; the returned bytes start with the digest.
func Encode(n Notification, serverPassword string, nonce []byte) ([]byte, error) {
	if n.Version == 0 {
		n.Version = DefaultVersion
	}
	b, err := n.Marshal()
	if err != nil {
		return nil, err
	}
	d := auth.Digest(n.ServerID, serverPassword, nonce, b[offHeader:])
	copy(b, d[:])
	return b, nil
}
