package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
)

// Errors of the logical channel route.
var (
	// ErrCCHO: the modem's answer to AT+CCHO holds no session ID.
	ErrCCHO = errors.New("malformed +CCHO answer")
	// ErrCGLA: the modem's +CGLA answer is malformed.
	ErrCGLA = errors.New("malformed +CGLA answer")
	// ErrNoSession: CGLA.Transmit before OpenApp (or after CloseApp).
	ErrNoSession = errors.New("no logical channel session open (AT+CCHO)")
)

// CGLA carries command APDUs on a logical channel that the modem opens and
// closes itself (3GPP TS 27.007 §8.45 AT+CCHO="<dfname>" → <sessionid>,
// §8.43 AT+CGLA=<sessionid>,<length>,"<command>" → +CGLA: <length>,
// "<response>", §8.46 AT+CCHC=<sessionid>). The modem selects the
// application named in AT+CCHO on the new channel, so CGLA implements
// smartcard.AppOpener and smartcard.ReadBootstrap skips its own MANAGE
// CHANNEL and SELECT by AID:
//
//	bs, err := smartcard.ReadBootstrap(ctx, modem.NewCGLA(m))
//
// Channel bits of CLA: TS 27.007 leaves them to the modem ("it will be up
// to the MT to manage the logical channel part of the APDU CLASS byte"),
// but some modems forward <command> as it is (lpac writes the bits itself,
// smartcard.md §5.8). CGLA therefore sets the channel bits of an
// interindustry CLA (00..3F: 0000 00cc for channels 1..3, 0100 cccc for
// 4..19, TS 102 221 §10.1.1) to <sessionid> when it is 1..19, the channel
// number on the modems seen; a modem that manages the bits overwrites them,
// one that forwards them needs them. A proprietary CLA (8x, A0) and a
// <sessionid> outside 1..19 leave CLA as it is. A modem that forwards CLA
// verbatim AND numbers sessions unlike channels cannot work with this route.
//
// <sessionid> is accepted both as the bare number of the TS 27.007 syntax
// and as "+CCHO: <n>" (Telit, Quectel). A CGLA is for one reader at a time.
type CGLA struct {
	c    Commander
	sid  int
	open bool
}

// NewCGLA returns a logical channel transmitter over c (usually a *Modem).
func NewCGLA(c Commander) *CGLA { return &CGLA{c: c} }

// Session returns the session ID of the open channel.
func (s *CGLA) Session() (int, bool) { return s.sid, s.open }

// OpenApp opens a logical channel with the application aid selected on it
// (AT+CCHO). Modem errors (+CME ERROR, ERROR) come back wrapped as Command
// returns them.
func (s *CGLA) OpenApp(ctx context.Context, aid []byte) error {
	if s.open {
		return fmt.Errorf("AT+CCHO: session %d still open", s.sid)
	}
	if len(aid) < 1 || len(aid) > 16 {
		return fmt.Errorf("AT+CCHO: AID of %d bytes (want 1..16)", len(aid))
	}
	info, err := s.c.Command(ctx, fmt.Sprintf(`+CCHO="%X"`, aid))
	if err != nil {
		return err
	}
	sid, err := ParseCCHO(info)
	if err != nil {
		return err
	}
	s.sid, s.open = sid, true
	return nil
}

// CloseApp closes the channel (AT+CCHC). The session is forgotten even if
// the modem answers with an error.
func (s *CGLA) CloseApp(ctx context.Context) error {
	if !s.open {
		return nil
	}
	s.open = false
	_, err := s.c.Command(ctx, fmt.Sprintf("+CCHC=%d", s.sid))
	return err
}

// Transmit sends one APDU on the open channel and returns the response
// APDU (data ‖ SW1 SW2).
func (s *CGLA) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if !s.open {
		return nil, ErrNoSession
	}
	if len(b) < 4 || len(b) > maxCSIM {
		return nil, fmt.Errorf("AT+CGLA: APDU of %d bytes", len(b))
	}
	h := strings.ToUpper(hex.EncodeToString(b))
	if s.sid >= 1 && s.sid <= 19 && apdu.ChannelOf(b[0]) >= 0 {
		cla, _ := apdu.Class(s.sid)
		cla |= b[0] & 0x10 // keep command chaining
		h = fmt.Sprintf("%02X", cla) + h[2:]
	}
	info, err := s.c.Command(ctx, fmt.Sprintf(`+CGLA=%d,%d,"%s"`, s.sid, len(h), h))
	if err != nil {
		return nil, err
	}
	return ParseCGLA(info)
}

// ParseCGLA extracts the response APDU from the information lines of an
// AT+CGLA answer: +CGLA: <length>,"<hex>" (<length> in hex characters).
func ParseCGLA(info []string) ([]byte, error) {
	return parseLenHex(info, "+CGLA:", ErrCGLA)
}

// maxSession bounds a session ID (TS 27.007: integer type).
const maxSession = 1<<31 - 1

// ParseCCHO extracts the session ID from the information lines of an
// AT+CCHO answer: "<sessionid>" (TS 27.007 §8.45) or "+CCHO: <sessionid>".
func ParseCCHO(info []string) (int, error) {
	for _, l := range info {
		l = strings.TrimSpace(l)
		v, prefixed := strings.CutPrefix(l, "+CCHO:")
		v = strings.TrimSpace(v)
		if !prefixed && (v == "" || strings.Trim(v, "0123456789") != "") {
			continue // not the answer line
		}
		v = unquote(v)
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n > maxSession {
			return 0, fmt.Errorf("%w: %q", ErrCCHO, l)
		}
		return int(n), nil
	}
	return 0, fmt.Errorf("%w: no session ID in %q", ErrCCHO, info)
}
