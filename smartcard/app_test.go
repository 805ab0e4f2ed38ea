package smartcard_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
)

// appCard is an AppOpener over the fake card, doing what a modem does for
// AT+CCHO / AT+CGLA / AT+CCHC: MANAGE CHANNEL + SELECT by AID on open, the
// channel bits of CLA on every APDU, MANAGE CHANNEL close on close.
type appCard struct {
	card    *cardtest.Card
	ch      int
	opened  []string
	closed  int
	openErr error
	afterOp int // card APDUs when OpenApp returned
}

func (a *appCard) OpenApp(ctx context.Context, aid []byte) error {
	a.opened = append(a.opened, strings.ToUpper(string(aid)))
	if a.openErr != nil {
		return a.openErr
	}
	res, err := apdu.Exchange(ctx, a.card, apdu.OpenChannel())
	if err != nil || res.SW != apdu.SWOK || len(res.Data) != 1 {
		return errors.New("+CME ERROR: 100")
	}
	ch := int(res.Data[0])
	cla, _ := apdu.Class(ch)
	res, err = apdu.Exchange(ctx, a.card, apdu.Select(cla, apdu.SelectByDFName, apdu.SelectFCP, aid))
	if err != nil || res.Err() != nil {
		cl, _ := apdu.CloseChannel(ch)
		_, _ = apdu.Exchange(ctx, a.card, cl)
		return errors.New("+CME ERROR: 100")
	}
	a.ch = ch
	a.afterOp = a.card.APDUs()
	return nil
}

func (a *appCard) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if a.ch == 0 {
		return nil, errors.New("no channel open")
	}
	c := append([]byte(nil), b...)
	if apdu.ChannelOf(c[0]) == 0 {
		c[0], _ = apdu.Class(a.ch)
	}
	return a.card.Transmit(ctx, c)
}

func (a *appCard) CloseApp(ctx context.Context) error {
	a.closed++
	cl, _ := apdu.CloseChannel(a.ch)
	a.ch = 0
	res, err := apdu.Exchange(ctx, a.card, cl)
	if err != nil {
		return err
	}
	return res.Err()
}

func TestReadBootstrapAppOpener(t *testing.T) {
	for _, name := range []string{"uicc.card", "double-oid.card", "opaque.card", "adf-only.card", "cp-only.card"} {
		t.Run(name, func(t *testing.T) {
			want, err := smartcard.ReadBootstrap(context.Background(), loadCard(t, name, cardtest.Options{}))
			if err != nil {
				t.Fatal(err)
			}
			card := loadCard(t, name, cardtest.Options{Record: true, T0: true})
			a := &appCard{card: card}
			got, err := smartcard.ReadBootstrap(context.Background(), a)
			if err != nil {
				t.Fatalf("ReadBootstrap: %v", err)
			}
			if !bytes.Equal(got.Document, want.Document) || got.OID != want.OID || got.Path != want.Path || got.ICCID != iccid {
				t.Errorf("got %d bytes %s %s ICCID %q, want %d bytes %s %s %s", len(got.Document), got.OID, got.Path, got.ICCID,
					len(want.Document), want.OID, want.Path, iccid)
			}
			if got.Route != smartcard.RouteLogicalChannel || got.AID != "A000000063504B43532D3135" {
				t.Errorf("got route %s AID %s, want logical-channel A000000063504B43532D3135", got.Route, got.AID)
			}
			if len(a.opened) != 1 || a.closed != 1 {
				t.Errorf("got %d opens and %d closes, want 1 and 1", len(a.opened), a.closed)
			}
			if now, most := card.OpenChannels(); now != 0 || most != 1 {
				t.Errorf("got %d channels open (most %d), want 0 (most 1)", now, most)
			}
			// The reader itself never used the basic channel, MANAGE CHANNEL
			// or SELECT by AID: the transport did.
			log := card.Log()
			for _, c := range log[a.afterOp : len(log)-1] {
				if apdu.ChannelOf(c[0]) != 1 || c[1] == apdu.InsManageChannel || (c[1] == apdu.InsSelect && c[2] == apdu.SelectByDFName) {
					t.Errorf("reader sent %X", c)
				}
			}
		})
	}
}

func TestReadBootstrapAppOpenerErrors(t *testing.T) {
	// No PKCS#15 application: the transport cannot open it.
	a := &appCard{card: loadCard(t, "no-pkcs15.card", cardtest.Options{})}
	_, err := smartcard.ReadBootstrap(context.Background(), a)
	if !errors.Is(err, smartcard.ErrChannelRefused) || errors.Is(err, smartcard.ErrNoBootstrap) || a.closed != 0 {
		t.Errorf("got %v (closes %d), want ErrChannelRefused only, no close", err, a.closed)
	}

	// The application is there but has no ODF: no bootstrap.
	fs, err := cardtest.ParseFS([]byte("adf A000000063504B43532D3135\nef ADF/5032 transparent 3000\n"))
	if err != nil {
		t.Fatal(err)
	}
	a = &appCard{card: cardtest.NewCard(fs, cardtest.Options{})}
	_, err = smartcard.ReadBootstrap(context.Background(), a)
	if !errors.Is(err, smartcard.ErrNoBootstrap) || !strings.Contains(err.Error(), "6A82") || a.closed != 1 {
		t.Errorf("got %v (closes %d), want ErrNoBootstrap mentioning 6A82, one close", err, a.closed)
	}

	// Cancelled during the walk: the channel is closed all the same.
	card := loadCard(t, "uicc.card", cardtest.Options{})
	a = &appCard{card: card}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = smartcard.ReadBootstrap(ctx, &cancelApp{appCard: a, n: 3, cancel: cancel})
	if !errors.Is(err, context.Canceled) || a.closed != 1 {
		t.Errorf("got %v (closes %d), want context.Canceled, one close", err, a.closed)
	}
	if now, _ := card.OpenChannels(); now != 0 {
		t.Errorf("got %d channels open, want 0", now)
	}
}

// cancelApp cancels ctx after n APDUs.
type cancelApp struct {
	*appCard
	n      int
	cancel context.CancelFunc
}

func (c *cancelApp) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.appCard.Transmit(context.WithoutCancel(ctx), b)
}

// TestChannelRefused: a refused logical channel is reported with the "no
// bootstrap" of the basic-channel fallback, so that a caller may try a
// transport with its own channel handling (AT+CCHO); a missing
// application (6A82 on SELECT by AID) is not.
func TestChannelRefused(t *testing.T) {
	adfOnly, err := os.ReadFile(filepath.Join("..", "testdata", "smartcard", "adf-only.card"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		desc    []byte
		card    string
		refused bool
	}{
		{"ADF only, no channels", append(adfOnly, "\nchannels 0\n"...), "", true},
		{"no PKCS#15", nil, "no-pkcs15.card", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var card *cardtest.Card
			if tt.desc != nil {
				fs, err := cardtest.ParseFS(tt.desc)
				if err != nil {
					t.Fatal(err)
				}
				card = cardtest.NewCard(fs, cardtest.Options{})
			} else {
				card = loadCard(t, tt.card, cardtest.Options{})
			}
			_, err := smartcard.ReadBootstrap(context.Background(), card)
			if !errors.Is(err, smartcard.ErrNoBootstrap) || errors.Is(err, smartcard.ErrChannelRefused) != tt.refused {
				t.Errorf("got %v, want ErrNoBootstrap with ErrChannelRefused=%v", err, tt.refused)
			}
		})
	}
}

// failAfter fails the transport from the nth APDU on.
type failAfter struct {
	t   smartcard.Transmitter
	n   int
	err error
}

func (f *failAfter) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if f.n--; f.n <= 0 {
		return nil, f.err
	}
	return f.t.Transmit(ctx, b)
}

// TestTransportErrorIsNotNoBootstrap: a transport failure at any step is
// returned as such, never turned into "no bootstrap" or a next file.
func TestTransportErrorIsNotNoBootstrap(t *testing.T) {
	gone := errors.New("transport gone")
	for _, n := range []int{1, 2, 4, 6, 8, 9, 10, 12, 14} {
		card := loadCard(t, "uicc.card", cardtest.Options{})
		_, err := smartcard.ReadBootstrap(context.Background(), &failAfter{t: card, n: n, err: gone})
		if !errors.Is(err, gone) || errors.Is(err, smartcard.ErrNoBootstrap) {
			t.Errorf("failing from APDU %d: got %v, want the transport error only", n, err)
		}
	}
}
