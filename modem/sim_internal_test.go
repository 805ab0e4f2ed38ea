package modem

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
	"github.com/warthog618/modem/at"
)

// TestFallbackOK pins which errors let ReadSIMBootstrap("auto") try the
// next route.
func TestFallbackOK(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("SIM via x: AT+CSIM=10,\"0070000001\": %w", err) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"ERROR", wrap(at.ErrError), true},
		{"CME 3", wrap(at.CMEError("3")), true},
		{"CME 4", wrap(at.CMEError("4")), true},
		{"CME 50", wrap(at.CMEError("50")), true},
		{"CME verbose not supported", wrap(at.CMEError("operation not supported")), true},
		{"CME verbose not allowed", wrap(at.CMEError("Operation not allowed")), true},
		{"CME 10 SIM not inserted", wrap(at.CMEError("10")), false},
		{"CME 13 SIM failure", wrap(at.CMEError("13")), false},
		{"CME 100", wrap(at.CMEError("100")), false},
		{"malformed +CSIM", wrap(ErrCSIM), true},
		{"malformed +CRSM", wrap(ErrCRSM), true},
		{"card 6D00", wrap(&apdu.StatusError{SW: 0x6D00}), true},
		{"card 6E00", wrap(&apdu.StatusError{SW: 0x6E00}), true},
		{"card 6A82", wrap(&apdu.StatusError{SW: 0x6A82}), false},
		{"channel refused", fmt.Errorf("%w: x", smartcard.ErrChannelRefused), true},
		{"no bootstrap", fmt.Errorf("%w: 6A82", smartcard.ErrNoBootstrap), false},
		{"no bootstrap after a refused channel", fmt.Errorf("%w: %w", smartcard.ErrNoBootstrap, smartcard.ErrChannelRefused), true},
		{"document", smartcard.ErrDocument, false},
		{"timeout", wrap(ErrTimeout), false},
		{"not connected", ErrNotConnected, false},
		{"cancelled", wrap(context.Canceled), false},
		{"refused, then cancelled", fmt.Errorf("%w: %w", smartcard.ErrChannelRefused, context.Canceled), false},
		{"other", errors.New("x"), false},
	}
	for _, tt := range tests {
		if got := fallbackOK(tt.err); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
