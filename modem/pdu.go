package modem

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/modem/wappush"
	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
)

// ErrNotDeliver is returned by DecodePDU for a TPDU that is not an SMS-DELIVER.
var ErrNotDeliver = errors.New("not an SMS-DELIVER")

// Segment is one received SMS (one TPDU), reduced to what WAP push needs.
type Segment struct {
	From     string      // originating address (TP-OA), "+" prefixed when international
	At       time.Time   // service centre time stamp (TP-SCTS)
	UDH      wappush.UDH // WDP ports (-1 if absent) and concatenation info
	EightBit bool        // TP-DCS selects 8-bit data
	Payload  []byte      // 8-bit user data after the UDH (nil for other alphabets)
}

// IsPush reports whether the segment carries (part of) a WAP push: 8-bit
// data addressed to WDP destination port 2948.
func (s Segment) IsPush() bool { return s.EightBit && s.UDH.IsPush() }

// IsSegmented reports whether the segment is one part of a concatenated SMS.
func (s Segment) IsSegmented() bool { return s.UDH.Concat != nil && s.UDH.Concat.Total > 1 }

// DecodePDU decodes a PDU as the modem gives it in PDU mode (+CMGR, +CMGL,
// +CMT: the SMSC address, then the TPDU; 3GPP TS 27.005 §3.1, TS 23.040
// §9.2.2.1). When the SMS is a complete single-segment WAP push, the decoded
// push is returned too (From and At filled in). A non-push SMS gives a nil
// push and a nil error; a segment of a concatenated push gives a nil push
// (reassemble with a Reassembler). Errors wrap the decoder's error.
func DecodePDU(pdu []byte) (seg Segment, push *wappush.Push, err error) {
	defer func() {
		// warthog618/sms is third-party code fed with radio input: turn a
		// panic there into an error rather than crash the agent.
		if r := recover(); r != nil {
			seg, push, err = Segment{}, nil, fmt.Errorf("sms decode: panic: %v", r)
		}
	}()
	p, err := pdumode.UnmarshalBinary(pdu)
	if err != nil {
		return Segment{}, nil, fmt.Errorf("pdu smsc address: %w", err)
	}
	t, err := sms.Unmarshal(p.TPDU)
	if err != nil {
		return Segment{}, nil, fmt.Errorf("tpdu: %w", err)
	}
	if t.SmsType() != tpdu.SmsDeliver {
		return Segment{}, nil, fmt.Errorf("tpdu: %w (%v)", ErrNotDeliver, t.SmsType())
	}
	seg = Segment{From: t.OA.Number(), At: t.SCTS.Time, UDH: wappush.UDH{DstPort: -1, SrcPort: -1}}
	if a, aerr := t.Alphabet(); aerr == nil && a == tpdu.Alpha8Bit {
		seg.EightBit = true
		seg.Payload = append([]byte{}, t.UD...)
	}
	if len(t.UDH) > 0 {
		raw, merr := t.UDH.MarshalBinary()
		if merr != nil {
			return Segment{}, nil, fmt.Errorf("udh: %w", merr)
		}
		h, _, perr := wappush.ParseUDH(raw)
		if perr != nil {
			return Segment{}, nil, fmt.Errorf("udh: %w", perr)
		}
		seg.UDH = h
	}
	if !seg.IsPush() || seg.IsSegmented() {
		return seg, nil, nil
	}
	wp, err := wappush.Decode(seg.Payload)
	if err != nil {
		return seg, nil, err
	}
	wp.From, wp.At = seg.From, seg.At
	return seg, &wp, nil
}

// DecodePDUHex is DecodePDU for the hex text a modem prints.
func DecodePDUHex(s string) (Segment, *wappush.Push, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return Segment{}, nil, fmt.Errorf("pdu hex: %w", err)
	}
	return DecodePDU(b)
}
