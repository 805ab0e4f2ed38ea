package rig

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

// PushUDH is the SMS user data header of a WAP push: UDHL 6, IE 0x05
// (16-bit application ports) with destination 2948 (0x0B84, WDP push) and
// source 9200 (0x23F0).
const PushUDH = "0605040B8423F0"

// Sender is the originator address of the demo's SMS.
const Sender = "+491701234567"

// WSPPush wraps a Package #0 in a WSP connectionless Push PDU (WAP-230-WSP
// §8.2.4.1): TID, PDU type 0x06, HeadersLen, Content-Type 0xC4
// (application/vnd.syncml.notification, well-known 0x44) and the header
// X-WAP-Application-ID (0xAF) = 0x87 (x-wap-application:syncml.dm), then the
// body.
func WSPPush(tid byte, body []byte) []byte {
	hdr := []byte{0x80 | wappush.CodeSyncMLNotification, 0xAF, 0x80 | wappush.AppIDSyncMLDM}
	out := []byte{tid, wappush.PDUPush, byte(len(hdr))}
	out = append(out, hdr...)
	return append(out, body...)
}

// PushSMS encodes a single SMS-DELIVER (SMSC address + TPDU, hex) carrying
// pkg0 as a WAP push to port 2948, with python3-gammu (an encoder
// independent of the agent's decoder).
func PushSMS(tid byte, pkg0 []byte) (string, error) {
	wsp := WSPPush(tid, pkg0)
	if len(wsp)+len(PushUDH)/2 > 140 {
		return "", fmt.Errorf("push of %d bytes does not fit one SMS", len(wsp))
	}
	pdus, err := modemtest.EncodeDeliver(modemtest.PDUSpec{UDH: PushUDH, Data: hex.EncodeToString(wsp), Number: Sender})
	if err != nil {
		return "", err
	}
	return pdus[0], nil
}

// DescribeSMS renders an SMS PDU (hex) for a person: size, the hex
// (abridged), and what the WAP push and the Package #0 inside say, decoded
// with modem/wappush and agent/notification. It never fails: problems are
// part of the text.
func DescribeSMS(pduHex string) string {
	var b strings.Builder
	raw, err := hex.DecodeString(pduHex)
	if err != nil {
		return "  (not hex: " + err.Error() + ")\n"
	}
	fmt.Fprintf(&b, "  SMS-DELIVER PDU, %d octets: %s\n", len(raw), abridge(pduHex, 64))
	ud, from, err := deliverUserData(raw)
	if err != nil {
		fmt.Fprintf(&b, "  (TPDU: %v)\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "  from %s, 8-bit data with UDH, %d octets of user data\n", from, len(ud))
	udh, rest, err := wappush.SplitUserData(ud)
	if err != nil {
		fmt.Fprintf(&b, "  (user data: %v)\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "  UDH: WDP ports %d -> %d (WAP push)\n", udh.SrcPort, udh.DstPort)
	p, err := wappush.Decode(rest)
	if err != nil {
		fmt.Fprintf(&b, "  (WSP: %v)\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "  WSP Push: TID 0x%02X, Content-Type %s, X-WAP-Application-ID %s, body %d octets\n", p.TID, p.ContentType, p.AppID, len(p.Body))
	b.WriteString(DescribePackage0(p.Body))
	return b.String()
}

// DescribePackage0 renders the fields of a Package #0 (the digest as hex;
// no secret is involved in reading it).
func DescribePackage0(pkg0 []byte) string {
	n, err := notification.Decode(pkg0)
	if n == nil {
		return fmt.Sprintf("  (Package #0 does not decode: %v)\n", err)
	}
	return fmt.Sprintf("  Package #0: version %s, ui-mode %s, initiator %s, session id %d (SessionID %q), server id %q, digest %s\n",
		n.VersionString(), n.UIMode, n.Initiator, n.SessionID, n.SessionIDHex(), n.ServerID, hex.EncodeToString(n.Digest[:]))
}

func abridge(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n/2] + "..." + s[len(s)-n/2:]
}

// deliverUserData returns the user data (UDH included) and the originator of
// an SMS-DELIVER with SMSC address (3GPP TS 23.040 §9.2.2.1, 8-bit DCS).
func deliverUserData(pdu []byte) ([]byte, string, error) {
	at := func(i int) (byte, error) {
		if i >= len(pdu) {
			return 0, fmt.Errorf("truncated at octet %d", i)
		}
		return pdu[i], nil
	}
	smscLen, err := at(0)
	if err != nil {
		return nil, "", err
	}
	i := 1 + int(smscLen)
	first, err := at(i)
	if err != nil {
		return nil, "", err
	}
	if first&0x03 != 0 {
		return nil, "", fmt.Errorf("not an SMS-DELIVER (MTI %d)", first&0x03)
	}
	digits, err := at(i + 1)
	if err != nil {
		return nil, "", err
	}
	if i+3+(int(digits)+1)/2 > len(pdu) {
		return nil, "", fmt.Errorf("truncated originator address")
	}
	oa := pdu[i+3 : i+3+(int(digits)+1)/2]
	var from strings.Builder
	if t, _ := at(i + 2); t&0x70 == 0x10 {
		from.WriteByte('+')
	}
	for _, o := range oa {
		for _, d := range []byte{o & 0x0F, o >> 4} {
			if d <= 9 {
				from.WriteByte('0' + d)
			}
		}
	}
	i += 3 + (int(digits)+1)/2 + 2 + 7 // OA, PID, DCS, SCTS
	udl, err := at(i)
	if err != nil {
		return nil, "", err
	}
	ud := pdu[i+1:]
	if len(ud) != int(udl) {
		return nil, "", fmt.Errorf("UDL %d, %d octets follow", udl, len(ud))
	}
	if first&0x40 == 0 {
		return nil, "", fmt.Errorf("no user data header (TP-UDHI clear)")
	}
	return ud, from.String(), nil
}
