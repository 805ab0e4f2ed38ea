package smartcard_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
	"github.com/omadm-agent/omadm-agent/smartcard/pkcs15"
)

// countingPaths counts PathReader calls and can fail the transport.
type countingPaths struct {
	p     smartcard.PathReader
	n     int
	fail  error // returned by every call when set
	calls []string
}

func (c *countingPaths) note(s string) error {
	c.n++
	c.calls = append(c.calls, s)
	return c.fail
}

func (c *countingPaths) FileInfo(ctx context.Context, dir []uint16, fid uint16) (apdu.Response, error) {
	if err := c.note(fmt.Sprintf("info %04X/%04X", dir, fid)); err != nil {
		return apdu.Response{}, err
	}
	return c.p.FileInfo(ctx, dir, fid)
}

func (c *countingPaths) ReadBinary(ctx context.Context, dir []uint16, fid uint16, off, n int) (apdu.Response, error) {
	if n < 1 || n > 255 || off < 0 || off > 0x7FFF {
		return apdu.Response{}, fmt.Errorf("ReadBinary(%d, %d) outside the AT+CRSM range", off, n)
	}
	if err := c.note(fmt.Sprintf("binary %04X/%04X %d+%d", dir, fid, off, n)); err != nil {
		return apdu.Response{}, err
	}
	return c.p.ReadBinary(ctx, dir, fid, off, n)
}

func (c *countingPaths) ReadRecord(ctx context.Context, dir []uint16, fid uint16, rec, n int) (apdu.Response, error) {
	if err := c.note(fmt.Sprintf("record %04X/%04X #%d", dir, fid, rec)); err != nil {
		return apdu.Response{}, err
	}
	return c.p.ReadRecord(ctx, dir, fid, rec, n)
}

// TestReadBootstrapByPath reads every §7 card variant by path and compares
// with ReadBootstrap over APDUs (the same reader the PC/SC route uses).
func TestReadBootstrapByPath(t *testing.T) {
	tests := []struct {
		name string
		card string
		t0   bool
		path string
	}{
		{"uicc", "uicc.card", false, "3F007F506431"},
		{"uicc T=0", "uicc.card", true, "3F007F506431"},
		{"2G SIM", "sim2g.card", false, "3F007F506431"},
		{"no logical channels", "nochannels.card", false, "3F007F506431"},
		{"double-wrapped OID", "double-oid.card", false, "3F007F506431"},
		{"opaqueDO", "opaque.card", false, "3F007F506431"},
		{"path index/length 80", "path-range.card", false, "3F007F506431"},
		{"path index/length 02", "path-range-02.card", false, "3F007F506431"},
		{"CP only", "cp-only.card", false, "3F007F506432"},
		{"first DODF empty", "multi-odf.card", false, "3F007F506431"},
		{"DM private, CP readable", "private.card", false, "3F007F506432"},
		{"DM EF holds CP", "dm-holds-cp.card", false, "3F007F506431"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := smartcard.ReadBootstrap(context.Background(), loadCard(t, tt.card, cardtest.Options{T0: tt.t0}))
			if err != nil {
				t.Fatal(err)
			}
			card := loadCard(t, tt.card, cardtest.Options{T0: tt.t0})
			cp := &countingPaths{p: cardtest.NewPathAccess(card)}
			got, err := smartcard.ReadBootstrapByPath(context.Background(), cp)
			if err != nil {
				t.Fatalf("ReadBootstrapByPath: %v (calls %q)", err, cp.calls)
			}
			if !bytes.Equal(got.Document, want.Document) || got.Profile != want.Profile || got.OID != want.OID || got.Label != want.Label {
				t.Errorf("got %d bytes %s %s %q, want %d bytes %s %s %q", len(got.Document), got.Profile, got.OID, got.Label,
					len(want.Document), want.Profile, want.OID, want.Label)
			}
			if got.ICCID != iccid || got.Route != smartcard.RoutePath || got.Path != tt.path || got.AID != "" {
				t.Errorf("got ICCID %q route %s path %s AID %q, want %s path %s none", got.ICCID, got.Route, got.Path, got.AID, iccid, tt.path)
			}
			if got.APDUs != cp.n {
				t.Errorf("got APDUs %d, want the %d PathReader calls", got.APDUs, cp.n)
			}
			if now, most := card.OpenChannels(); now != 0 || most != 0 {
				t.Errorf("got %d channels open (most %d), want none ever", now, most)
			}
		})
	}
}

// TestReadBootstrapByPathCalls pins the command sequence on the §7 card
// (smartcard.md §6 route C): ICCID, EF.DIR header and record 1, then
// header + READ BINARY per file.
func TestReadBootstrapByPathCalls(t *testing.T) {
	cp := &countingPaths{p: cardtest.NewPathAccess(loadCard(t, "uicc.card", cardtest.Options{}))}
	if _, err := smartcard.ReadBootstrapByPath(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"binary [3F00]/2FE2 0+10",
		"info [3F00]/2F00",
		"record [3F00]/2F00 #1",
		"info [3F00 7F50]/5031",
		"binary [3F00 7F50]/5031 0+32",
		"info [3F00 7F50]/6430",
		"binary [3F00 7F50]/6430 0+96",
		"info [3F00 7F50]/6431",
		"binary [3F00 7F50]/6431 0+255",
		"binary [3F00 7F50]/6431 255+1",
	}
	if strings.Join(cp.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("got calls\n%s\nwant\n%s", strings.Join(cp.calls, "\n"), strings.Join(want, "\n"))
	}
}

func TestReadBootstrapByPathErrors(t *testing.T) {
	transport := errors.New("modem gone")
	tests := []struct {
		name  string
		card  string
		fail  error
		is    error
		match string
	}{
		{"no PKCS#15", "no-pkcs15.card", nil, smartcard.ErrNoBootstrap, "6A82"},
		{"ADF only: not reachable by path", "adf-only.card", nil, smartcard.ErrNoBootstrap, "6A82"},
		{"2G SIM without PKCS#15 DF", "", nil, smartcard.ErrNoBootstrap, "9404"},
		{"truncated DODF", "truncated-dodf.card", nil, smartcard.ErrNoBootstrap, "truncated TLV"},
		{"transport error", "uicc.card", transport, transport, "EF_ICCID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var card *cardtest.Card
			if tt.card == "" {
				fs, err := cardtest.ParseFS([]byte("mode 2g\nef 3F00/2FE2 transparent 989420001032547698F0\n"))
				if err != nil {
					t.Fatal(err)
				}
				card = cardtest.NewCard(fs, cardtest.Options{})
			} else {
				card = loadCard(t, tt.card, cardtest.Options{})
			}
			cp := &countingPaths{p: cardtest.NewPathAccess(card), fail: tt.fail}
			_, err := smartcard.ReadBootstrapByPath(context.Background(), cp)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.match) {
				t.Fatalf("got %v, want an error wrapping %v mentioning %q", err, tt.is, tt.match)
			}
			if tt.fail != nil && cp.n != 1 {
				t.Errorf("got %d calls after a transport error, want 1", cp.n)
			}
		})
	}
}

// TestReadBootstrapByPathBrokenData: bad card data gives an error that is
// not ErrNoBootstrap (or a sniffed ErrDocument) and never a panic.
func TestReadBootstrapByPathBrokenData(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		data  []byte
		is    error
	}{
		{"ODF not TLV", []string{"3F00/7F50/5031"}, []byte{0xA7, 0x82, 0x01}, pkcs15.ErrTruncated},
		{"DM and CP files not WBXML", []string{"3F00/7F50/6431", "3F00/7F50/6432"}, []byte("garbage"), smartcard.ErrDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := cardtest.Load(filepath.Join("..", "testdata", "smartcard", "uicc.card"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.files {
				fs.File(f).Data = tt.data
			}
			// Via APDUs and by path: the same error.
			_, errA := smartcard.ReadBootstrap(context.Background(), cardtest.NewCard(fs, cardtest.Options{}))
			_, errP := smartcard.ReadBootstrapByPath(context.Background(), cardtest.NewPathAccess(cardtest.NewCard(fs, cardtest.Options{})))
			for _, err := range []error{errA, errP} {
				if !errors.Is(err, tt.is) {
					t.Errorf("got %v, want %v", err, tt.is)
				}
			}
		})
	}
}

// FuzzReadBootstrapByPath runs the path reader over the §7 card with a
// fuzzed ODF and DODF: no panic, a document or an error.
func FuzzReadBootstrapByPath(f *testing.F) {
	fs, err := cardtest.Load(filepath.Join("..", "testdata", "smartcard", "uicc.card"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fs.File("3F00/7F50/5031").Data, fs.File("3F00/7F50/6430").Data)
	f.Add([]byte{0xA7, 0x06, 0x30, 0x04, 0x04, 0x02, 0x64, 0x31}, []byte{0xA1, 0x82, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, odf, dodf []byte) {
		if len(odf) > 1024 || len(dodf) > 4096 {
			return
		}
		fs, _ := cardtest.Load(filepath.Join("..", "testdata", "smartcard", "uicc.card"))
		fs.File("3F00/7F50/5031").Data = odf
		fs.File("3F00/7F50/6430").Data = dodf
		bs, err := smartcard.ReadBootstrapByPath(context.Background(), cardtest.NewPathAccess(cardtest.NewCard(fs, cardtest.Options{})))
		if err == nil && len(bs.Document) == 0 {
			t.Fatal("empty document without error")
		}
	})
}

func BenchmarkReadBootstrapByPath(b *testing.B) {
	for _, tc := range []struct{ name, card string }{{"uicc", "uicc.card"}, {"sim2g", "sim2g.card"}} {
		b.Run(tc.name, func(b *testing.B) {
			pa := cardtest.NewPathAccess(loadCard(b, tc.card, cardtest.Options{}))
			ctx := context.Background()
			var n int
			b.ReportAllocs()
			for b.Loop() {
				bs, err := smartcard.ReadBootstrapByPath(ctx, pa)
				if err != nil {
					b.Fatal(err)
				}
				n = bs.APDUs
				b.SetBytes(int64(len(bs.Document)))
			}
			b.ReportMetric(float64(n), "calls/op")
		})
	}
}
