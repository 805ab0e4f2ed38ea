package smartcard_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
)

const (
	iccid = "8949020001234567890"
	// protocol.md §7.1 and §7.2 vectors (first and last bytes checked, full
	// length checked).
	dmHead = "02a4016a006d6c71"
	cpHead = "030b6a00c5"
)

func loadCard(t testing.TB, name string, opts cardtest.Options) *cardtest.Card {
	t.Helper()
	fs, err := cardtest.Load(filepath.Join("..", "testdata", "smartcard", name))
	if err != nil {
		t.Fatal(err)
	}
	return cardtest.NewCard(fs, opts)
}

func TestReadBootstrap(t *testing.T) {
	tests := []struct {
		name    string
		card    string
		t0      bool
		profile smartcard.Profile
		oid     string
		route   smartcard.Route
		path    string
		head    string
		size    int
	}{
		{"uicc", "uicc.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", dmHead, 220},
		{"uicc T=0 (61xx)", "uicc.card", true, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", dmHead, 220},
		{"2G SIM", "sim2g.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.Route2G, "3F007F506431", dmHead, 220},
		{"no logical channels", "nochannels.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteBasicChannel, "3F007F506431", dmHead, 220},
		{"double-wrapped OID", "double-oid.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", dmHead, 220},
		{"opaqueDO + applicationOID", "opaque.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", dmHead, 220},
		{"path index/length 80", "path-range.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", dmHead, 220},
		{"path index/length 02", "path-range-02.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", dmHead, 220},
		{"CP only", "cp-only.card", false, smartcard.ProfileCP, "2.23.43.5.1", smartcard.RouteLogicalChannel, "ADF/6432", cpHead, 274},
		{"first DODF empty", "multi-odf.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", dmHead, 220},
		{"DM private, CP readable", "private.card", false, smartcard.ProfileCP, "2.23.43.5.1", smartcard.RouteLogicalChannel, "ADF/6432", cpHead, 274},
		{"DM EF holds CP", "dm-holds-cp.card", false, smartcard.ProfileCP, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", cpHead, 274},
		{"ADF only, no EF.DIR", "adf-only.card", false, smartcard.ProfileDM, "2.23.43.7.1", smartcard.RouteLogicalChannel, "ADF/6431", dmHead, 220},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := loadCard(t, tt.card, cardtest.Options{T0: tt.t0})
			bs, err := smartcard.ReadBootstrap(context.Background(), card)
			if err != nil {
				t.Fatalf("ReadBootstrap: %v", err)
			}
			if bs.Profile != tt.profile || bs.OID != tt.oid || bs.Route != tt.route || bs.Path != tt.path {
				t.Errorf("got profile %s oid %s route %s path %s, want %s %s %s %s",
					bs.Profile, bs.OID, bs.Route, bs.Path, tt.profile, tt.oid, tt.route, tt.path)
			}
			if bs.ICCID != iccid {
				t.Errorf("got ICCID %q, want %q", bs.ICCID, iccid)
			}
			if len(bs.Document) != tt.size || !strings.HasPrefix(hex.EncodeToString(bs.Document), tt.head) {
				t.Errorf("got document of %d bytes starting %x, want %d bytes starting %s", len(bs.Document), bs.Document[:8], tt.size, tt.head)
			}
			if bs.APDUs != card.APDUs() {
				t.Errorf("got APDUs %d, card saw %d", bs.APDUs, card.APDUs())
			}
			if now, _ := card.OpenChannels(); now != 0 {
				t.Errorf("got %d logical channels left open, want 0", now)
			}
			// The bytes are what agent/bootstrap expects.
			kind, enc, err := bootstrap.Detect(bs.Document)
			if err != nil {
				t.Fatalf("bootstrap.Detect: %v", err)
			}
			if string(kind) != string(tt.profile) || enc != bootstrap.WBXML {
				t.Errorf("got Detect %s/%s, want %s/wbxml", kind, enc, tt.profile)
			}
		})
	}
}

func TestReadBootstrapDocumentExact(t *testing.T) {
	card := loadCard(t, "uicc.card", cardtest.Options{})
	bs, err := smartcard.ReadBootstrap(context.Background(), card)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := cardtest.Load(filepath.Join("..", "testdata", "smartcard", "uicc.card"))
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.TrimRight(fs.File("3F00/7F50/6431").Data, "\xff")
	if !bytes.Equal(bs.Document, want) {
		t.Errorf("got %x, want %x", bs.Document, want)
	}
}

func TestReadBootstrapErrors(t *testing.T) {
	tests := []struct {
		name  string
		card  string
		is    error
		match string
	}{
		{"no PKCS#15", "no-pkcs15.card", smartcard.ErrNoBootstrap, "6A82"},
		{"truncated DODF", "truncated-dodf.card", smartcard.ErrNoBootstrap, "truncated TLV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := loadCard(t, tt.card, cardtest.Options{})
			_, err := smartcard.ReadBootstrap(context.Background(), card)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.match) {
				t.Fatalf("got %v, want an error wrapping %v mentioning %q", err, tt.is, tt.match)
			}
			if now, _ := card.OpenChannels(); now != 0 {
				t.Errorf("got %d logical channels left open, want 0", now)
			}
		})
	}
}

// cancelAfter cancels the context after n APDUs.
type cancelAfter struct {
	t      smartcard.Transmitter
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	c.n--
	if c.n == 0 {
		c.cancel()
	}
	return c.t.Transmit(context.WithoutCancel(ctx), b)
}

func TestReadBootstrapCancelClosesChannel(t *testing.T) {
	card := loadCard(t, "uicc.card", cardtest.Options{Record: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 1 SELECT MF, 2+2 ICCID, 2+2 EF.DIR, then MANAGE CHANNEL (8th), SELECT AID (9th).
	_, err := smartcard.ReadBootstrap(ctx, &cancelAfter{t: card, n: 10, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if now, most := card.OpenChannels(); now != 0 || most != 1 {
		t.Errorf("got %d channels open (most %d), want 0 (most 1)", now, most)
	}
	log := card.Log()
	last := log[len(log)-1]
	if last[1] != apdu.InsManageChannel || last[2] != 0x80 {
		t.Errorf("got last APDU %X, want MANAGE CHANNEL close", last)
	}
}

func TestDecodeICCID(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"989420001032547698F0", "8949020001234567890", true},
		{"98942000103254769810", "89490200012345678901", true},
		{"98A4", "", false},
		{"FF", "", false},
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.in)
		got, err := smartcard.DecodeICCID(b)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("DecodeICCID(%s): got %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func BenchmarkReadBootstrap(b *testing.B) {
	for _, tc := range []struct {
		name string
		card string
		t0   bool
	}{{"uicc", "uicc.card", false}, {"uicc-T0", "uicc.card", true}, {"sim2g", "sim2g.card", false}} {
		b.Run(tc.name, func(b *testing.B) {
			card := loadCard(b, tc.card, cardtest.Options{T0: tc.t0})
			ctx := context.Background()
			var n int
			b.ReportAllocs()
			for b.Loop() {
				bs, err := smartcard.ReadBootstrap(ctx, card)
				if err != nil {
					b.Fatal(err)
				}
				n = bs.APDUs
				b.SetBytes(int64(len(bs.Document)))
			}
			b.ReportMetric(float64(n), "APDUs/op")
		})
	}
}

// FuzzReadBootstrapDODF runs the whole reader over the §7 card with a
// fuzzed DODF: it must never panic, never leave a channel open, and either
// find a document or return an error.
func FuzzReadBootstrapDODF(f *testing.F) {
	fs, err := cardtest.Load(filepath.Join("..", "testdata", "smartcard", "uicc.card"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fs.File("3F00/7F50/6430").Data)
	f.Add([]byte{0xA1, 0x82, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, dodf []byte) {
		if len(dodf) > 4096 {
			return
		}
		fs, _ := cardtest.Load(filepath.Join("..", "testdata", "smartcard", "uicc.card"))
		fs.File("3F00/7F50/6430").Data = dodf
		card := cardtest.NewCard(fs, cardtest.Options{})
		bs, err := smartcard.ReadBootstrap(context.Background(), card)
		if err == nil && len(bs.Document) == 0 {
			t.Fatal("empty document without error")
		}
		if now, _ := card.OpenChannels(); now != 0 {
			t.Fatalf("%d channels left open", now)
		}
	})
}
