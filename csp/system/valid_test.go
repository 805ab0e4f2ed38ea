package system_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/csp/system"
	"github.com/omadm-agent/omadm-agent/tree"
)

var unitNames = []struct {
	name string
	ok   bool
}{
	{"mosquitto.service", true},
	{"openvpn@site-1.service", true},
	{"systemd-networkd.socket", true},
	{"dev-ttyUSB0.device", true},
	{"var-lib-data.mount", true},
	{"backup.timer", true},
	{"a.target", true},
	{`foo\x2dbar.service`, true},
	{"a:b_c.d.service", true},
	{"x@y@z.service", true}, // the instance may contain '@'
	{strings.Repeat("a", 247) + ".service", true},
	{strings.Repeat("a", 248) + ".service", false}, // 256 bytes
	{"", false},
	{".service", false},
	{"foo", false},
	{"foo.", false},
	{"foo.exe", false},
	{"foo.Service", false},
	{"getty@.service", false}, // template
	{"@foo.service", false},
	{"foo bar.service", false},
	{"foo/bar.service", false},
	{"../x.service", false},
	{"föö.service", false},
	{"foo\x00.service", false},
	{"foo;rm.service", false},
}

func TestValidUnitName(t *testing.T) {
	for _, tc := range unitNames {
		t.Run(tc.name, func(t *testing.T) {
			err := system.ValidUnitName(tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidUnitName(%q): got %v, want ok=%v", tc.name, err, tc.ok)
			}
			if err != nil && !errors.Is(err, tree.ErrBadRequest) {
				t.Errorf("error %v does not wrap ErrBadRequest", err)
			}
		})
	}
}

// FuzzValidUnitName: never panics; an accepted name is at most 255 bytes,
// printable ASCII without '/', has a known type and survives the URI
// segment round trip.
func FuzzValidUnitName(f *testing.F) {
	for _, tc := range unitNames {
		f.Add(tc.name)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if system.ValidUnitName(s) != nil {
			return
		}
		if len(s) > system.MaxUnitName || strings.ContainsAny(s, "/ \x00") {
			t.Fatalf("accepted %q", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				t.Fatalf("accepted %q with byte %#x", s, s[i])
			}
		}
		back, err := tree.UnescapeName(tree.EscapeName(s))
		if err != nil || back != s {
			t.Fatalf("URI round trip of %q: %q, %v", s, back, err)
		}
	})
}

var markerSeeds = []string{
	`{"v":1,"op":"Reboot","phase":"scheduled","boot_id":"b1","requested":"2026-11-22T04:00:00Z","source":"./Vendor/omadm/System/Reboot","correlator":"c"}`,
	`{"v":1,"op":"PowerOff","phase":"requested","boot_id":"b1","requested":"2026-11-22T04:00:00Z","source":"./Vendor/omadm/System/PowerOff"}`,
	`{"v":1,"op":"Reboot","phase":"report","boot_id":"b1","requested":"2026-11-22T04:00:00Z","source":"s","done_boot_id":"b2","result":200}`,
	`{"v":1,"op":"Reboot","phase":"reported","boot_id":"b1","requested":"2026-11-22T04:00:00Z","source":"s","done_boot_id":"b1","result":500,"message":"x"}`,
}

func TestDecodeMarker(t *testing.T) {
	for _, s := range markerSeeds {
		if _, err := system.DecodeMarker([]byte(s)); err != nil {
			t.Errorf("DecodeMarker(%s): %v", s, err)
		}
	}
	bad := []struct{ name, in string }{
		{"empty", ``},
		{"not json", `reboot`},
		{"version", `{"v":2,"op":"Reboot","phase":"scheduled","boot_id":"b","requested":"2026-11-22T04:00:00Z","source":"s"}`},
		{"op", `{"v":1,"op":"Format","phase":"scheduled","boot_id":"b","requested":"2026-11-22T04:00:00Z","source":"s"}`},
		{"phase", `{"v":1,"op":"Reboot","phase":"done","boot_id":"b","requested":"2026-11-22T04:00:00Z","source":"s"}`},
		{"no boot", `{"v":1,"op":"Reboot","phase":"scheduled","boot_id":"","requested":"2026-11-22T04:00:00Z","source":"s"}`},
		{"report without result", `{"v":1,"op":"Reboot","phase":"report","boot_id":"b","requested":"2026-11-22T04:00:00Z","source":"s","done_boot_id":"c"}`},
		{"unknown field", `{"v":1,"op":"Reboot","phase":"scheduled","boot_id":"b","requested":"2026-11-22T04:00:00Z","source":"s","x":1}`},
		{"trailing", markerSeeds[0] + `{}`},
		{"huge", `{"v":1,"source":"` + strings.Repeat("a", 5000) + `"}`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := system.DecodeMarker([]byte(tc.in)); !errors.Is(err, system.ErrBadState) {
				t.Errorf("got %+v, %v; want ErrBadState", m, err)
			}
		})
	}
}

// FuzzDecodeMarker: decode → encode → decode is stable.
func FuzzDecodeMarker(f *testing.F) {
	for _, s := range markerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := system.DecodeMarker(b)
		if err != nil {
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded marker: %v", err)
		}
		m2, err := system.DecodeMarker(enc)
		if err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		enc2, _ := m2.Encode()
		if !bytes.Equal(enc, enc2) || !m.Requested.Equal(m2.Requested) {
			t.Fatalf("unstable: %s vs %s", enc, enc2)
		}
	})
}

func TestParseUptime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"350735.47 234388.90\n", 350735470 * time.Millisecond, true},
		{"0.00 0.00", 0, true},
		{"12", 12 * time.Second, true},
		{"", 0, false},
		{"-1 2", 0, false},
		{"abc 1", 0, false},
		{"NaN 1", 0, false},
	}
	for _, tc := range tests {
		got, err := system.ParseUptime(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got.Round(time.Millisecond) != tc.want) {
			t.Errorf("ParseUptime(%q): got %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseUptime(f *testing.F) {
	f.Add("350735.47 234388.90\n")
	f.Add("0 0")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := system.ParseUptime(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseUptime(%q) = %v", s, d)
		}
	})
}

// TestMarkerFileFromTestdata: the committed marker sample decodes.
func TestMarkerFileFromTestdata(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "system", "marker-requested.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := system.DecodeMarker(b)
	if err != nil || m.Phase != system.PhaseRequested || m.Op != system.OpReboot {
		t.Errorf("got %+v, %v; want a requested Reboot", m, err)
	}
}

func BenchmarkValidUnitName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := system.ValidUnitName("openvpn@site-1.service"); err != nil {
			b.Fatal(err)
		}
	}
}
