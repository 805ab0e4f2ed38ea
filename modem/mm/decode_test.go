package mm_test

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/modem/mm"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		ct      string // want content type; "" = ErrNotOurs
		body    string
		decodeE bool // the error also wraps a *wappush.DecodeError
	}{
		{"notification well-known", wspHead + pkg0V12, "application/vnd.syncml.notification", pkg0V12, false},
		{"notification as text", "0106" + "24" + hex.EncodeToString([]byte("application/vnd.syncml.notification\x00")) + "AABB", "application/vnd.syncml.notification", "aabb", false},
		{"confirmed push", "0107" + "03C4AF87" + "CC", "application/vnd.syncml.notification", "cc", false},
		{"CP bootstrap 0x36", "010601B6" + "03", "application/vnd.wap.connectivity-wbxml", "03", false},
		{"DM bootstrap 0x42", "010601C2" + "03", "application/vnd.syncml.dm+wbxml", "03", false},
		{"SI push is not ours", "010603AEAF81AABB", "", "", false},
		{"unknown code", "010601FF00", "", "", false},
		{"text SMS bytes", hex.EncodeToString([]byte("hello")), "", "", true},
		{"empty", "", "", "", true},
		{"truncated headers", "010605C4", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mm.Decode(unhex(t, tt.data), mm.DefaultContentTypes)
			if tt.ct == "" {
				if !errors.Is(err, mm.ErrNotOurs) {
					t.Fatalf("got %v, want ErrNotOurs", err)
				}
				var de *wappush.DecodeError
				if got := errors.As(err, &de); got != tt.decodeE {
					t.Errorf("got DecodeError %v, want %v (err %v)", got, tt.decodeE, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if p.ContentType != tt.ct || hex.EncodeToString(p.Body) != tt.body {
				t.Errorf("got %q body %x, want %q body %s", p.ContentType, p.Body, tt.ct, tt.body)
			}
		})
	}
	if _, err := mm.Decode(unhex(t, wspHead+pkg0V12), []string{"application/vnd.wap.connectivity-wbxml"}); !errors.Is(err, mm.ErrNotOurs) {
		t.Errorf("restricted accept list: got %v, want ErrNotOurs", err)
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-21T10:00:00Z", time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}, // what MM 1.20.4 gave here
		{"2026-11-21T10:00:00+01:00", time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)},
		{"2026-11-21T10:00:00+01", time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)},
		{"2026-11-21T10:00:00+0130", time.Date(2026, 11, 21, 8, 30, 0, 0, time.UTC)},
		{"", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := mm.ParseTimestamp(tt.in); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{wspHead + pkg0V12, "010603AEAF81AABB", "010601B603", "0107", "", "68656c6c6f"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := mm.Decode(data, mm.DefaultContentTypes)
		if err != nil {
			if !errors.Is(err, mm.ErrNotOurs) {
				t.Fatalf("error %v does not wrap ErrNotOurs", err)
			}
			return
		}
		// Accepted: re-decoding the same bytes is stable.
		q, err := mm.Decode(data, mm.DefaultContentTypes)
		if err != nil || q.ContentType != p.ContentType || string(q.Body) != string(p.Body) {
			t.Fatalf("unstable: %v %+v %+v", err, p, q)
		}
		if len(p.Body) > 0 && &p.Body[0] == &data[len(data)-len(p.Body)] {
			t.Fatal("Body aliases the input")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	data, _ := hex.DecodeString(wspHead + pkg0V12)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := mm.Decode(data, mm.DefaultContentTypes); err != nil {
			b.Fatal(err)
		}
	}
}
