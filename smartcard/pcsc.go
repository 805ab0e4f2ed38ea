package smartcard

import (
	"context"
	"errors"
	"fmt"

	"github.com/omadm-agent/omadm-agent/smartcard/pcsc"
)

// ErrNoCard: no PC/SC reader holds a card (or the named reader is absent).
var ErrNoCard = errors.New("no smartcard in a PC/SC reader")

// ReadBootstrapFromReader reads the bootstrap through pcscd: socketPath ""
// means $PCSCLITE_CSOCK_NAME or /run/pcscd/pcscd.comm; readerName "" means
// the first reader with a card. The card is connected shared, with T=0 or
// T=1 (whatever pcscd negotiated), and left powered afterwards.
func ReadBootstrapFromReader(ctx context.Context, socketPath, readerName string) (*Bootstrap, error) {
	c, err := pcsc.Dial(ctx, socketPath)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	readers, err := c.Readers(ctx)
	if err != nil {
		return nil, err
	}
	name := ""
	for _, r := range readers {
		if (readerName == "" || r.Name == readerName) && r.CardPresent() {
			name = r.Name
			break
		}
	}
	if name == "" {
		if readerName != "" {
			return nil, fmt.Errorf("%w: reader %q (readers: %d)", ErrNoCard, readerName, len(readers))
		}
		return nil, fmt.Errorf("%w (%d readers)", ErrNoCard, len(readers))
	}
	card, err := c.Connect(ctx, name, pcsc.ShareShared, pcsc.ProtocolAny)
	if err != nil {
		return nil, err
	}
	defer func() {
		dctx, cancel := cleanupContext(ctx)
		defer cancel()
		card.Disconnect(dctx, pcsc.LeaveCard)
	}()
	bs, err := ReadBootstrap(ctx, card)
	if err != nil {
		return nil, fmt.Errorf("reader %q: %w", name, err)
	}
	bs.Reader = name
	return bs, nil
}
