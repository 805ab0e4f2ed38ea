package modem_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
	"github.com/warthog618/modem/at"
)

func TestParseCSIM(t *testing.T) {
	tests := []struct {
		name string
		info []string
		want string
		err  error
	}{
		{"quoted", []string{`+CSIM: 6,"019000"`}, "019000", nil},
		{"unquoted", []string{`+CSIM: 4,9000`}, "9000", nil},
		{"other lines first", []string{"junk", `+CSIM:4,"6A82"`}, "6A82", nil},
		{"length mismatch", []string{`+CSIM: 8,"9000"`}, "", modem.ErrCSIM},
		{"odd hex", []string{`+CSIM: 3,"900"`}, "", modem.ErrCSIM},
		{"not hex", []string{`+CSIM: 4,"90ZZ"`}, "", modem.ErrCSIM},
		{"no status word", []string{`+CSIM: 2,"90"`}, "", modem.ErrCSIM},
		{"no comma", []string{`+CSIM: 4`}, "", modem.ErrCSIM},
		{"no +CSIM line", []string{"OK"}, "", modem.ErrCSIM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := modem.ParseCSIM(tt.info)
			if !errors.Is(err, tt.err) || strings.ToUpper(hex.EncodeToString(got)) != tt.want {
				t.Errorf("got %X, %v; want %s, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzParseCSIM(f *testing.F) {
	for _, s := range []string{`+CSIM: 6,"019000"`, `+CSIM: 4,9000`, `+CSIM: 8,"9000"`, `+CSIM:`, `+CSIM: -1,""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		b, err := modem.ParseCSIM([]string{line})
		if err == nil && len(b) < 2 {
			t.Fatalf("accepted %q with %d bytes", line, len(b))
		}
	})
}

// armed arms the fake modem, before each APDU goes out through AT+CSIM,
// with the fake card's answer to that APDU: the modem fake answers the
// exact command line (FailNext) that a correct AT+CSIM encoding produces,
// and anything else with ERROR.
type armed struct {
	f     *modemtest.Fake
	card  *cardtest.Card
	next  smartcard.Transmitter
	lines []string
}

func (a *armed) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	resp, err := a.card.Transmit(ctx, b)
	if err != nil {
		return nil, err
	}
	h, rh := strings.ToUpper(hex.EncodeToString(b)), strings.ToUpper(hex.EncodeToString(resp))
	line := fmt.Sprintf(`AT+CSIM=%d,"%s"`, len(h), h)
	a.lines = append(a.lines, line)
	a.f.FailNext(line, fmt.Sprintf(`+CSIM: %d,"%s"`, len(rh), rh), "OK")
	got, err := a.next.Transmit(ctx, b)
	if err == nil && string(got) != string(resp) {
		return nil, fmt.Errorf("AT+CSIM returned %X, the card answered %X", got, resp)
	}
	return got, err
}

func openFake(t testing.TB) (*modemtest.Fake, *modem.Modem) {
	t.Helper()
	f, err := modemtest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := modem.Open(ctx, modem.Config{Device: f.Path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return f, m
}

// TestCSIMReadBootstrap reads the smartcard.md §7 card through a real AT
// pipeline (modem.Modem on the modemtest pty fake): the fake modem answers
// each AT+CSIM line with the fake card's response to that APDU.
func TestCSIMReadBootstrap(t *testing.T) {
	tests := []struct {
		name  string
		card  string
		t0    bool
		route smartcard.Route
	}{
		{"UICC, logical channel", "uicc.card", false, smartcard.RouteLogicalChannel},
		{"UICC T=0 style (61xx)", "uicc.card", true, smartcard.RouteLogicalChannel},
		{"2G SIM", "sim2g.card", false, smartcard.Route2G},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			load := func() *cardtest.Card {
				fs, err := cardtest.Load(filepath.Join("..", "testdata", "smartcard", tt.card))
				if err != nil {
					t.Fatal(err)
				}
				return cardtest.NewCard(fs, cardtest.Options{T0: tt.t0})
			}
			want, err := smartcard.ReadBootstrap(context.Background(), load())
			if err != nil {
				t.Fatal(err)
			}
			f, m := openFake(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			mark := f.Mark()
			a := &armed{f: f, card: load(), next: modem.NewCSIM(m)}
			got, err := smartcard.ReadBootstrap(ctx, a)
			if err != nil {
				t.Fatalf("ReadBootstrap over AT+CSIM: %v", err)
			}
			if string(got.Document) != string(want.Document) || got.ICCID != "8949020001234567890" || got.Route != tt.route {
				t.Errorf("got %d bytes ICCID %q route %s, want %d bytes 8949020001234567890 %s", len(got.Document), got.ICCID, got.Route, len(want.Document), tt.route)
			}
			sent := f.CommandsSince(mark)
			if len(sent) != len(a.lines) || len(sent) != got.APDUs {
				t.Fatalf("got %d AT commands, want %d (APDUs %d)", len(sent), len(a.lines), got.APDUs)
			}
			for i, l := range a.lines {
				if sent[i] != l {
					t.Errorf("command %d: got %s, want %s", i, sent[i], l)
				}
			}
		})
	}
}

func TestCSIMErrors(t *testing.T) {
	f, m := openFake(t)
	tr := modem.NewCSIM(m)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	f.FailNext(`AT+CSIM=10,"0070000001"`, "+CME ERROR: 10")
	_, err := tr.Transmit(ctx, []byte{0x00, 0x70, 0x00, 0x00, 0x01})
	var cme at.CMEError
	if !errors.As(err, &cme) || string(cme) != "10" {
		t.Errorf("got %v, want +CME ERROR 10", err)
	}

	f.FailNext(`AT+CSIM=10,"0070000001"`, `+CSIM: 6,"01900"`, "OK")
	if _, err = tr.Transmit(ctx, []byte{0x00, 0x70, 0x00, 0x00, 0x01}); !errors.Is(err, modem.ErrCSIM) {
		t.Errorf("got %v, want ErrCSIM", err)
	}

	// An unscripted +CSIM: the fake answers ERROR.
	if _, err = tr.Transmit(ctx, []byte{0x00, 0x70, 0x00, 0x00, 0x01}); !errors.Is(err, at.ErrError) {
		t.Errorf("got %v, want at.ErrError", err)
	}
	if _, err = tr.Transmit(ctx, []byte{0x00}); err == nil {
		t.Error("got nil error for a 1-byte APDU")
	}
}
