package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrCSIM: the modem's +CSIM answer is malformed.
var ErrCSIM = errors.New("malformed +CSIM answer")

// Commander sends one AT command (without the "AT" prefix) and returns the
// information lines of the answer; *Modem implements it.
type Commander interface {
	Command(ctx context.Context, cmd string) ([]string, error)
}

// CSIM carries command APDUs to the SIM with AT+CSIM (3GPP TS 27.007
// §8.17): AT+CSIM=<length>,"<hex>" → +CSIM: <length>,"<hex>", where
// <length> counts hex characters. It satisfies smartcard.Transmitter:
//
//	bs, err := smartcard.ReadBootstrap(ctx, modem.NewCSIM(m))
//
// Modem errors (+CME ERROR: n, ERROR) come back wrapped as Command returns
// them (errors.As(err, new(at.CMEError))).
type CSIM struct {
	c Commander
}

// NewCSIM returns an AT+CSIM transmitter over c (usually a *Modem).
func NewCSIM(c Commander) *CSIM { return &CSIM{c: c} }

// maxCSIM bounds a command APDU: a short APDU is at most 261 bytes.
const maxCSIM = 261

// Transmit sends one APDU and returns the response APDU (data ‖ SW1 SW2).
func (s *CSIM) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if len(apdu) < 4 || len(apdu) > maxCSIM {
		return nil, fmt.Errorf("AT+CSIM: APDU of %d bytes", len(apdu))
	}
	h := strings.ToUpper(hex.EncodeToString(apdu))
	info, err := s.c.Command(ctx, fmt.Sprintf("+CSIM=%d,\"%s\"", len(h), h))
	if err != nil {
		return nil, err
	}
	return ParseCSIM(info)
}

// ParseCSIM extracts the response APDU from the information lines of an
// AT+CSIM answer.
func ParseCSIM(info []string) ([]byte, error) {
	return parseLenHex(info, "+CSIM:", ErrCSIM)
}

// parseLenHex extracts the response APDU from the line "<prefix>
// <length>,"<hex>"" of an AT+CSIM or AT+CGLA answer (<length> counts hex
// characters; the quotes are optional); errors wrap sentinel.
func parseLenHex(info []string, prefix string, sentinel error) ([]byte, error) {
	for _, l := range info {
		v, ok := strings.CutPrefix(strings.TrimSpace(l), prefix)
		if !ok {
			continue
		}
		ls, hs, ok := strings.Cut(strings.TrimSpace(v), ",")
		if !ok {
			return nil, fmt.Errorf("%w: %q", sentinel, l)
		}
		n, err := strconv.Atoi(strings.TrimSpace(ls))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: length in %q", sentinel, l)
		}
		hs = unquote(strings.TrimSpace(hs))
		if len(hs) != n {
			return nil, fmt.Errorf("%w: length %d for %d hex digits", sentinel, n, len(hs))
		}
		b, err := hex.DecodeString(hs)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", sentinel, err)
		}
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: response of %d bytes has no status word", sentinel, len(b))
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: no %s line in %q", sentinel, prefix, info)
}

// unquote removes one pair of surrounding double quotes.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
