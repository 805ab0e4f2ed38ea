package apdu

import (
	"context"
	"errors"
	"fmt"
)

// Class bytes.
const (
	// ClassGSM is the class byte of a 2G SIM (GSM 11.11 / TS 51.011).
	ClassGSM byte = 0xA0
)

// Instructions used by the smartcard bootstrap reader.
const (
	InsSelect        byte = 0xA4
	InsReadBinary    byte = 0xB0
	InsReadRecord    byte = 0xB2
	InsGetResponse   byte = 0xC0
	InsManageChannel byte = 0x70
	InsStatus        byte = 0xF2
)

// Sentinel errors.
var (
	// ErrEncoding: a command cannot be encoded as a short APDU.
	ErrEncoding = errors.New("apdu: cannot encode command")
	// ErrMalformed: a command or response APDU is too short or inconsistent.
	ErrMalformed = errors.New("apdu: malformed")
	// ErrChannel: the logical channel number is out of range (0..19).
	ErrChannel = errors.New("apdu: logical channel out of range")
)

// NoLe marks a command without an Le field (case 1 or 3).
const NoLe = -1

// Command is a short command APDU. Le is NoLe (absent) or 0..256; 256 is
// encoded as 00.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Le               int
}

// Case returns the ISO 7816-4 case (1..4) of c.
func (c Command) Case() int {
	switch {
	case len(c.Data) == 0 && c.Le == NoLe:
		return 1
	case len(c.Data) == 0:
		return 2
	case c.Le == NoLe:
		return 3
	}
	return 4
}

// Bytes encodes c as a short APDU.
func (c Command) Bytes() ([]byte, error) {
	if len(c.Data) > 255 {
		return nil, fmt.Errorf("%w: Lc %d > 255", ErrEncoding, len(c.Data))
	}
	if c.Le < NoLe || c.Le > 256 {
		return nil, fmt.Errorf("%w: Le %d out of range", ErrEncoding, c.Le)
	}
	b := make([]byte, 0, 6+len(c.Data))
	b = append(b, c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		b = append(b, byte(len(c.Data)))
		b = append(b, c.Data...)
	}
	if c.Le != NoLe {
		b = append(b, byte(c.Le)) // 256 → 00
	}
	return b, nil
}

// ParseCommand decodes a short command APDU (the inverse of Bytes).
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: command of %d bytes", ErrMalformed, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3], Le: NoLe}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2
		c.Le = leOf(body[0])
	default:
		lc := int(body[0])
		if lc == 0 {
			return Command{}, fmt.Errorf("%w: Lc 00 (extended APDUs are not supported)", ErrMalformed)
		}
		switch len(body) {
		case 1 + lc: // case 3
		case 2 + lc: // case 4
			c.Le = leOf(body[1+lc])
		default:
			return Command{}, fmt.Errorf("%w: Lc %d does not match a body of %d bytes", ErrMalformed, lc, len(body))
		}
		c.Data = append([]byte(nil), body[1:1+lc]...)
	}
	return c, nil
}

func leOf(b byte) int {
	if b == 0 {
		return 256
	}
	return int(b)
}

// Response is a response APDU: data and status word.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits a response APDU into data and SW1SW2.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: response of %d bytes (no status word)", ErrMalformed, len(b))
	}
	n := len(b) - 2
	return Response{Data: b[:n:n], SW: uint16(b[n])<<8 | uint16(b[n+1])}, nil
}

// Bytes encodes r as data ‖ SW1 ‖ SW2.
func (r Response) Bytes() []byte {
	b := make([]byte, 0, len(r.Data)+2)
	b = append(b, r.Data...)
	return append(b, byte(r.SW>>8), byte(r.SW))
}

// Err returns nil when SW reports success (IsSuccess) and a *StatusError
// otherwise.
func (r Response) Err() error {
	if IsSuccess(r.SW) {
		return nil
	}
	return &StatusError{SW: r.SW}
}

// Class returns the class byte of an interindustry command on logical
// channel ch (TS 102 221 §10.1.1, ISO 7816-4 §5.4.1): 0..3 → 0000 00cc,
// 4..19 → 0100 cccc (channel - 4).
func Class(ch int) (byte, error) {
	switch {
	case ch >= 0 && ch <= 3:
		return byte(ch), nil
	case ch >= 4 && ch <= 19:
		return 0x40 | byte(ch-4), nil
	}
	return 0, fmt.Errorf("%w: %d", ErrChannel, ch)
}

// ChannelOf returns the logical channel coded in an interindustry class
// byte, or -1 for a proprietary class (such as A0).
func ChannelOf(cla byte) int {
	switch {
	case cla&0xE0 == 0x00: // 000x xxcc
		return int(cla & 0x03)
	case cla&0xC0 == 0x40: // 01xx cccc
		return int(cla&0x0F) + 4
	}
	return -1
}

// Transmitter sends one command APDU and returns the response APDU (data
// and SW1SW2). smartcard.Transmitter has the same method set.
type Transmitter interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// Limits of Exchange.
const (
	MaxGetResponses = 64       // GET RESPONSE commands per exchange
	MaxResponse     = 64 << 10 // bytes of response data per exchange
)

// Exchange sends c through t and returns the final response: it fetches
// the data announced by 61xx (and 9Fxx for class A0) with GET RESPONSE on
// the same class byte, and resends c once with Le = xx after 6Cxx. Status
// words are not turned into errors here (use Response.Err): callers branch
// on them. Transport errors and malformed responses are returned.
func Exchange(ctx context.Context, t Transmitter, c Command) (Response, error) {
	r, err := send(ctx, t, c)
	if err != nil {
		return Response{}, err
	}
	if r.SW>>8 == 0x6C { // wrong Le: resend with the exact length
		c.Le = leOf(byte(r.SW))
		if r, err = send(ctx, t, c); err != nil {
			return Response{}, err
		}
	}
	data := r.Data
	for i := 0; ; i++ {
		sw1 := r.SW >> 8
		if sw1 != 0x61 && !(sw1 == 0x9F && c.CLA == ClassGSM) {
			break
		}
		if i >= MaxGetResponses {
			return Response{}, fmt.Errorf("%w: more than %d GET RESPONSE rounds", ErrMalformed, MaxGetResponses)
		}
		gr := Command{CLA: c.CLA, INS: InsGetResponse, Le: leOf(byte(r.SW))}
		if ch := ChannelOf(c.CLA); ch >= 0 {
			gr.CLA, _ = Class(ch) // same channel, no secure messaging or chaining bits
		}
		if r, err = send(ctx, t, gr); err != nil {
			return Response{}, err
		}
		if r.SW>>8 == 0x6C {
			gr.Le = leOf(byte(r.SW))
			if r, err = send(ctx, t, gr); err != nil {
				return Response{}, err
			}
		}
		if len(data)+len(r.Data) > MaxResponse {
			return Response{}, fmt.Errorf("%w: response longer than %d bytes", ErrMalformed, MaxResponse)
		}
		data = append(data[:len(data):len(data)], r.Data...)
	}
	return Response{Data: data, SW: r.SW}, nil
}

func send(ctx context.Context, t Transmitter, c Command) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	b, err := c.Bytes()
	if err != nil {
		return Response{}, err
	}
	rb, err := t.Transmit(ctx, b)
	if err != nil {
		return Response{}, err
	}
	return ParseResponse(rb)
}
