package pcsc_test

// Tests against the real pcscd (Debian pcsc-lite 1.9.9) with the vpcd
// driver (vsmartcard-vpcd), the Go fake card of cardtest plugged in as the
// virtual ICC. All pcscd-using tests of the module live in this package:
// TestMain starts one pcscd for the package and stops it by PID.
//
// pcscd ignores $PCSCLITE_CSOCK_NAME and always listens on
// /run/pcscd/pcscd.comm (refusing to start if another pcscd owns it), so it
// runs in a private mount namespace (unshare -m) with a tmpfs over
// /run/pcscd; the client reaches its socket through /proc/<pid>/root. The
// vpcd TCP ports are chosen free per run, so parallel `go test` runs of
// other packages or a system pcscd do not collide.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
	"github.com/omadm-agent/omadm-agent/smartcard/pcsc"
)

var (
	peerErr  error  // set when pcscd could not be started: every test fails with it
	socket   string // pcscd's socket, through /proc/<pid>/root
	readerT0 = cardtest.ReaderT0
	readerT1 = cardtest.ReaderT1
	cardT0   *cardtest.Card
	cardT1   *cardtest.Card
)

func TestMain(m *testing.M) {
	flag.Parse()
	if fuzzing() { // the fuzz targets need no peer; workers must not start pcscd
		os.Exit(m.Run())
	}
	var stop func()
	fs, err := cardtest.Load(filepath.Join("..", "..", "testdata", "smartcard", "uicc.card"))
	if err == nil {
		var p *cardtest.PCSCD
		if p, err = cardtest.StartPCSCD(fs); err == nil {
			socket, cardT0, cardT1, stop = p.Socket, p.CardT0, p.CardT1, p.Stop
		}
	}
	peerErr = err
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// fuzzing reports whether this process runs fuzz targets (go test -fuzz,
// coordinator or worker).
func fuzzing() bool {
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			return true
		}
	}
	return false
}

func needPeers(t testing.TB) {
	t.Helper()
	if peerErr != nil {
		t.Fatalf("real pcscd peer: %v", peerErr)
	}
}

func TestReaders(t *testing.T) {
	needPeers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pcsc.Dial(ctx, socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rs, err := c.Readers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{readerT0: cardtest.ATRT0, readerT1: cardtest.ATRT1}
	for _, r := range rs {
		if atr, ok := want[r.Name]; ok {
			if !bytes.Equal(r.ATR, atr) || !r.CardPresent() {
				t.Errorf("reader %q: got ATR %X present %v, want %X present", r.Name, r.ATR, r.CardPresent(), atr)
			}
			delete(want, r.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("readers missing: %v (got %+v)", want, rs)
	}
}

func TestConnectNegotiatesProtocol(t *testing.T) {
	needPeers(t)
	tests := []struct {
		name   string
		reader string
		want   uint32
	}{
		{"T=0 ATR", readerT0, pcsc.ProtocolT0},
		{"T=1 ATR", readerT1, pcsc.ProtocolT1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := pcsc.Dial(ctx, socket)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			card, err := c.Connect(ctx, tt.reader, pcsc.ShareShared, pcsc.ProtocolAny)
			if err != nil {
				t.Fatal(err)
			}
			defer card.Disconnect(ctx, pcsc.LeaveCard)
			if card.Protocol() != tt.want {
				t.Errorf("got protocol %d, want %d", card.Protocol(), tt.want)
			}
			// SELECT MF / EF_ICCID, READ BINARY through pcscd.
			for _, a := range [][]byte{{0x00, 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00}, {0x00, 0xA4, 0x00, 0x0C, 0x02, 0x2F, 0xE2}} {
				r, err := card.Transmit(ctx, a)
				if err != nil || !bytes.Equal(r, []byte{0x90, 0x00}) {
					t.Fatalf("Transmit(%X): got %X, %v; want 9000", a, r, err)
				}
			}
			r, err := card.Transmit(ctx, []byte{0x00, 0xB0, 0x00, 0x00, 0x0A})
			want := []byte{0x98, 0x94, 0x20, 0x00, 0x10, 0x32, 0x54, 0x76, 0x98, 0xF0, 0x90, 0x00}
			if err != nil || !bytes.Equal(r, want) {
				t.Errorf("READ BINARY EF_ICCID: got %X, %v; want %X", r, err, want)
			}
		})
	}
}

func TestWrongProtocolIsRefused(t *testing.T) {
	needPeers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pcsc.Dial(ctx, socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Connect(ctx, readerT0, pcsc.ShareShared, pcsc.ProtocolT1)
	var pe pcsc.Error
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a pcsc.Error (T=1 asked of a T=0-only card)", err)
	}
	_, err = c.Connect(ctx, "No Such Reader", pcsc.ShareShared, pcsc.ProtocolAny)
	if !errors.Is(err, pcsc.ErrUnknownReader) {
		t.Errorf("got %v, want ErrUnknownReader", err)
	}
}

func TestReadBootstrapFromReader(t *testing.T) {
	needPeers(t)
	tests := []struct {
		name   string
		reader string
		card   **cardtest.Card
	}{
		{"T=0", readerT0, &cardT0},
		{"T=1", readerT1, &cardT1},
		{"first reader with a card", "", &cardT0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			before := (*tt.card).APDUs()
			bs, err := smartcard.ReadBootstrapFromReader(ctx, socket, tt.reader)
			if err != nil {
				t.Fatal(err)
			}
			wantReader := tt.reader
			if wantReader == "" {
				wantReader = readerT0
			}
			if bs.Reader != wantReader || bs.ICCID != "8949020001234567890" || bs.Profile != smartcard.ProfileDM ||
				bs.OID != "2.23.43.7.1" || bs.Route != smartcard.RouteLogicalChannel || len(bs.Document) != 220 {
				t.Errorf("got reader %q ICCID %q profile %s OID %s route %s %d bytes; want %q, 8949020001234567890, dm, 2.23.43.7.1, logical-channel, 220 bytes",
					bs.Reader, bs.ICCID, bs.Profile, bs.OID, bs.Route, len(bs.Document), wantReader)
			}
			if got := (*tt.card).APDUs() - before; got != bs.APDUs {
				t.Errorf("card saw %d APDUs, Bootstrap.APDUs %d", got, bs.APDUs)
			}
			if now, _ := (*tt.card).OpenChannels(); now != 0 {
				t.Errorf("%d logical channels left open", now)
			}
		})
	}
}

// TestOpenscCrossCheck reads EF_ICCID with OpenSC's opensc-tool (libpcsclite
// honours PCSCLITE_CSOCK_NAME) through the same pcscd: an independent
// PC/SC client sees the same card as ours.
func TestOpenscCrossCheck(t *testing.T) {
	needPeers(t)
	if _, err := exec.LookPath("opensc-tool"); err != nil {
		t.Fatalf("opensc-tool not found: run `make deps` (Debian package opensc): %v", err)
	}
	for _, reader := range []string{readerT0, readerT1} {
		cmd := exec.Command("opensc-tool", "-r", reader, "-s", "00A4000C023F00", "-s", "00A4000C022FE2", "-s", "00B000000A")
		cmd.Env = append(os.Environ(), "PCSCLITE_CSOCK_NAME="+socket)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("opensc-tool on %q: %v\n%s", reader, err, out)
		}
		if !strings.Contains(string(out), "98 94 20 00 10 32 54 76 98 F0") {
			t.Errorf("opensc-tool on %q: EF_ICCID bytes not in output:\n%s", reader, out)
		}
	}
}
