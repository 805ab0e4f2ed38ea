package pcsc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultSocket is pcscd's socket in Debian's pcsc-lite.
const DefaultSocket = "/run/pcscd/pcscd.comm"

// Socket returns $PCSCLITE_CSOCK_NAME or DefaultSocket, as libpcsclite does.
func Socket() string {
	if s := os.Getenv("PCSCLITE_CSOCK_NAME"); s != "" {
		return s
	}
	return DefaultSocket
}

// Protocol version spoken (pcsc-lite ≥ 1.8.24).
const (
	VersionMajor = 4
	VersionMinor = 4
)

// Commands (enum pcsc_msg_commands).
const (
	cmdEstablishContext = 0x01
	cmdReleaseContext   = 0x02
	cmdConnect          = 0x04
	cmdDisconnect       = 0x06
	cmdTransmit         = 0x09
	cmdVersion          = 0x11
	cmdGetReadersState  = 0x12
)

// Protocols (SCARD_PROTOCOL_*).
const (
	ProtocolT0  uint32 = 0x0001
	ProtocolT1  uint32 = 0x0002
	ProtocolRaw uint32 = 0x0004
	ProtocolAny        = ProtocolT0 | ProtocolT1
)

// Share modes and dispositions.
const (
	ShareExclusive uint32 = 1
	ShareShared    uint32 = 2

	LeaveCard   uint32 = 0
	ResetCard   uint32 = 1
	UnpowerCard uint32 = 2
)

// Scope of a context.
const ScopeSystem uint32 = 2

// Reader state bits (readerState of the public reader state).
const (
	StateAbsent  uint32 = 0x0002
	StatePresent uint32 = 0x0004
	StatePowered uint32 = 0x0010
)

const (
	maxReaderName = 128
	maxATR        = 33
	maxReaders    = 16
	readerStateSz = 184
	maxRecv       = 4096 + 2
)

// Error is a PC/SC return value other than SCARD_S_SUCCESS.
type Error uint32

// Well-known return values.
const (
	ErrCancelled        Error = 0x80100002
	ErrInvalidHandle    Error = 0x80100003
	ErrInvalidParameter Error = 0x80100004
	ErrNoMemory         Error = 0x80100006
	ErrInsufficientBuf  Error = 0x80100008
	ErrUnknownReader    Error = 0x80100009
	ErrTimeout          Error = 0x8010000A
	ErrSharingViolation Error = 0x8010000B
	ErrNoSmartcard      Error = 0x8010000C
	ErrProtoMismatch    Error = 0x8010000F
	ErrNotReady         Error = 0x80100010
	ErrInvalidValue     Error = 0x80100011
	ErrNoService        Error = 0x8010001D
	ErrNoReadersAvail   Error = 0x8010002E
	ErrUnsupportedCard  Error = 0x80100065
	ErrUnresponsiveCard Error = 0x80100066
	ErrUnpoweredCard    Error = 0x80100067
	ErrResetCard        Error = 0x80100068
	ErrRemovedCard      Error = 0x80100069
)

func (e Error) Error() string {
	names := map[Error]string{
		ErrCancelled: "cancelled", ErrInvalidHandle: "invalid handle", ErrInvalidParameter: "invalid parameter",
		ErrNoMemory: "no memory", ErrInsufficientBuf: "insufficient buffer", ErrUnknownReader: "unknown reader",
		ErrTimeout: "timeout", ErrSharingViolation: "sharing violation", ErrNoSmartcard: "no smart card",
		ErrProtoMismatch: "card protocol mismatch", ErrNotReady: "reader not ready", ErrInvalidValue: "invalid value",
		ErrNoService: "service not running", ErrNoReadersAvail: "no readers available",
		ErrUnsupportedCard: "unsupported card", ErrUnresponsiveCard: "unresponsive card",
		ErrUnpoweredCard: "unpowered card", ErrResetCard: "card reset", ErrRemovedCard: "card removed",
	}
	if n, ok := names[e]; ok {
		return fmt.Sprintf("pcsc: %s (0x%08X)", n, uint32(e))
	}
	return fmt.Sprintf("pcsc: error 0x%08X", uint32(e))
}

func rvErr(rv uint32) error {
	if rv == 0 {
		return nil
	}
	return Error(rv)
}

// ErrProtocol: the daemon's answer does not fit the protocol.
var ErrProtocol = errors.New("pcsc: protocol error")

var ne = binary.NativeEndian

// Client is a connection to pcscd with one PC/SC context.
type Client struct {
	mu   sync.Mutex
	conn net.Conn
	ctx  uint32 // hContext
}

// Dial connects to pcscd at socket ("" = Socket()), checks the protocol
// version and establishes a context.
func Dial(ctx context.Context, socket string) (*Client, error) {
	if socket == "" {
		socket = Socket()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("pcsc: connect %s: %w", socket, err)
	}
	c := &Client{conn: conn}
	if err := c.version(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.establish(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// roundTrip sends header+req (+extra) and reads len(resp) bytes back.
func (c *Client) roundTrip(ctx context.Context, cmd uint32, req []byte, extra []byte, respLen int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	c.conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	msg := make([]byte, 8, 8+len(req)+len(extra))
	ne.PutUint32(msg[0:], uint32(len(req)))
	ne.PutUint32(msg[4:], cmd)
	msg = append(msg, req...)
	msg = append(msg, extra...)
	if _, err := c.conn.Write(msg); err != nil {
		return nil, c.ioErr(ctx, err)
	}
	resp := make([]byte, respLen)
	if _, err := io.ReadFull(c.conn, resp); err != nil {
		return nil, c.ioErr(ctx, err)
	}
	return resp, nil
}

func (c *Client) ioErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("pcsc: %w", err)
}

func (c *Client) version(ctx context.Context) error {
	req := make([]byte, 12)
	ne.PutUint32(req[0:], VersionMajor)
	ne.PutUint32(req[4:], VersionMinor)
	resp, err := c.roundTrip(ctx, cmdVersion, req, nil, 12)
	if err != nil {
		return err
	}
	if err := rvErr(ne.Uint32(resp[8:])); err != nil {
		return fmt.Errorf("pcsc: daemon refused protocol %d.%d (it speaks %d.%d): %w",
			VersionMajor, VersionMinor, int32(ne.Uint32(resp[0:])), int32(ne.Uint32(resp[4:])), err)
	}
	return nil
}

func (c *Client) establish(ctx context.Context) error {
	req := make([]byte, 12)
	ne.PutUint32(req[0:], ScopeSystem)
	resp, err := c.roundTrip(ctx, cmdEstablishContext, req, nil, 12)
	if err != nil {
		return err
	}
	if err := rvErr(ne.Uint32(resp[8:])); err != nil {
		return fmt.Errorf("pcsc: establish context: %w", err)
	}
	c.ctx = ne.Uint32(resp[4:])
	return nil
}

// Close releases the context and closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req := make([]byte, 8)
	ne.PutUint32(req[0:], c.ctx)
	resp, err := c.roundTrip(ctx, cmdReleaseContext, req, nil, 8)
	if err == nil {
		err = rvErr(ne.Uint32(resp[4:]))
	}
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// Reader is the public state of one reader.
type Reader struct {
	Name     string
	State    uint32 // StatePresent, StateAbsent, ... (low 16 bits)
	ATR      []byte
	Protocol uint32 // protocol in use, if a card is connected
}

// CardPresent reports whether a card is in the reader.
func (r Reader) CardPresent() bool { return r.State&StatePresent != 0 }

// Readers returns the readers pcscd knows (SCardListReaders and
// SCardGetStatusChange use the same data).
func (c *Client) Readers(ctx context.Context) ([]Reader, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp, err := c.roundTrip(ctx, cmdGetReadersState, nil, nil, maxReaders*readerStateSz)
	if err != nil {
		return nil, err
	}
	return parseReaderStates(resp), nil
}

func parseReaderStates(b []byte) []Reader {
	var out []Reader
	for i := 0; i+readerStateSz <= len(b); i += readerStateSz {
		r := b[i : i+readerStateSz]
		name := r[:maxReaderName]
		if j := bytes.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		if len(name) == 0 {
			continue
		}
		atrLen := int(ne.Uint32(r[176:]))
		if atrLen > maxATR {
			atrLen = maxATR
		}
		out = append(out, Reader{
			Name:     string(name),
			State:    ne.Uint32(r[132:]) & 0xFFFF,
			ATR:      append([]byte(nil), r[140:140+atrLen]...),
			Protocol: ne.Uint32(r[180:]),
		})
	}
	return out
}

// Card is a connection to the card in one reader. It satisfies
// smartcard.Transmitter.
type Card struct {
	c        *Client
	handle   int32
	protocol uint32
}

// Protocol returns the protocol negotiated by pcscd (ProtocolT0 or T1).
func (k *Card) Protocol() uint32 { return k.protocol }

// Connect connects to the card in reader, accepting the given protocols
// (ProtocolAny for T=0 or T=1).
func (c *Client) Connect(ctx context.Context, reader string, share, protocols uint32) (*Card, error) {
	if len(reader) >= maxReaderName {
		return nil, fmt.Errorf("pcsc: reader name of %d bytes", len(reader))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	req := make([]byte, 4+maxReaderName+4*5)
	ne.PutUint32(req[0:], c.ctx)
	copy(req[4:], reader)
	o := 4 + maxReaderName
	ne.PutUint32(req[o:], share)
	ne.PutUint32(req[o+4:], protocols)
	resp, err := c.roundTrip(ctx, cmdConnect, req, nil, len(req))
	if err != nil {
		return nil, err
	}
	if err := rvErr(ne.Uint32(resp[o+16:])); err != nil {
		return nil, fmt.Errorf("pcsc: connect %q: %w", reader, err)
	}
	k := &Card{c: c, handle: int32(ne.Uint32(resp[o+8:])), protocol: ne.Uint32(resp[o+12:])}
	if k.protocol != ProtocolT0 && k.protocol != ProtocolT1 && k.protocol != ProtocolRaw {
		return nil, fmt.Errorf("%w: active protocol %d", ErrProtocol, k.protocol)
	}
	return k, nil
}

// Transmit sends a command APDU with the PCI of the active protocol and
// returns the response APDU (data ‖ SW1 SW2).
func (k *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if len(apdu) == 0 || len(apdu) > 65544 {
		return nil, fmt.Errorf("pcsc: APDU of %d bytes", len(apdu))
	}
	c := k.c
	c.mu.Lock()
	defer c.mu.Unlock()
	req := make([]byte, 32)
	ne.PutUint32(req[0:], uint32(k.handle))
	ne.PutUint32(req[4:], k.protocol)
	ne.PutUint32(req[8:], 8) // sizeof(SCARD_IO_REQUEST)
	ne.PutUint32(req[12:], uint32(len(apdu)))
	ne.PutUint32(req[16:], k.protocol)
	ne.PutUint32(req[20:], 8)
	ne.PutUint32(req[24:], maxRecv)
	resp, err := c.roundTrip(ctx, cmdTransmit, req, apdu, 32)
	if err != nil {
		return nil, err
	}
	if err := rvErr(ne.Uint32(resp[28:])); err != nil {
		return nil, fmt.Errorf("pcsc: transmit: %w", err)
	}
	n := ne.Uint32(resp[24:])
	if n > maxRecv {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrProtocol, n)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(c.conn, out); err != nil {
		return nil, c.ioErr(ctx, err)
	}
	return out, nil
}

// Disconnect ends the card connection with the given disposition.
func (k *Card) Disconnect(ctx context.Context, disposition uint32) error {
	c := k.c
	c.mu.Lock()
	defer c.mu.Unlock()
	req := make([]byte, 12)
	ne.PutUint32(req[0:], uint32(k.handle))
	ne.PutUint32(req[4:], disposition)
	resp, err := c.roundTrip(ctx, cmdDisconnect, req, nil, 12)
	if err != nil {
		return err
	}
	if err := rvErr(ne.Uint32(resp[8:])); err != nil {
		return fmt.Errorf("pcsc: disconnect: %w", err)
	}
	return nil
}
