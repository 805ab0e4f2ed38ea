package cardtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ATRs for the virtual card.
var (
	// ATRT0 offers only T=0 (no TD1; T0=02: two historical bytes).
	ATRT0 = []byte{0x3B, 0x02, 0x14, 0x50}
	// ATRT1 offers only T=1 (TD1=01) and carries the TCK that T=1 requires.
	ATRT1 = []byte{0x3B, 0x80, 0x01, 0x81}
)

// vpcd control messages.
const (
	vpcdOff   = 0x00
	vpcdOn    = 0x01
	vpcdReset = 0x02
	vpcdATR   = 0x04
)

// ServeVPCD plugs card into a vpcd reader of pcscd: it dials addr (e.g.
// "127.0.0.1:35963"), retrying until ctx ends, and answers the reader's
// messages. It returns when ctx ends (nil) or when the connection fails
// after it was established (the error).
func ServeVPCD(ctx context.Context, addr string, card *Card, atr []byte) error {
	var conn net.Conn
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err := serveConn(ctx, conn, card, atr)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func serveConn(ctx context.Context, conn net.Conn, card *Card, atr []byte) error {
	var hdr [2]byte
	buf := make([]byte, 0xFFFF)
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return fmt.Errorf("vpcd: %w", err)
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		msg := buf[:n]
		if _, err := io.ReadFull(conn, msg); err != nil {
			return fmt.Errorf("vpcd: %w", err)
		}
		var reply []byte
		if n == 1 {
			switch msg[0] {
			case vpcdOff, vpcdOn, vpcdReset:
				card.Reset()
				continue
			case vpcdATR:
				reply = atr
			default:
				return fmt.Errorf("vpcd: unknown control message %02X", msg[0])
			}
		} else {
			r, err := card.Transmit(ctx, msg)
			if err != nil {
				return err
			}
			reply = r
		}
		if len(reply) > 0xFFFF {
			return errors.New("vpcd: reply too long")
		}
		out := make([]byte, 2+len(reply))
		binary.BigEndian.PutUint16(out, uint16(len(reply)))
		copy(out[2:], reply)
		if _, err := conn.Write(out); err != nil {
			return fmt.Errorf("vpcd: %w", err)
		}
	}
}
