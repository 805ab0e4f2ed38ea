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
	for _, l := range info {
		v, ok := strings.CutPrefix(strings.TrimSpace(l), "+CSIM:")
		if !ok {
			continue
		}
		ls, hs, ok := strings.Cut(strings.TrimSpace(v), ",")
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrCSIM, l)
		}
		n, err := strconv.Atoi(strings.TrimSpace(ls))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: length in %q", ErrCSIM, l)
		}
		hs = strings.TrimSpace(hs)
		if len(hs) >= 2 && hs[0] == '"' && hs[len(hs)-1] == '"' {
			hs = hs[1 : len(hs)-1]
		}
		if len(hs) != n {
			return nil, fmt.Errorf("%w: length %d for %d hex digits", ErrCSIM, n, len(hs))
		}
		b, err := hex.DecodeString(hs)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCSIM, err)
		}
		if len(b) < 2 {
			return nil, fmt.Errorf("%w: response of %d bytes has no status word", ErrCSIM, len(b))
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: no +CSIM line in %q", ErrCSIM, info)
}
