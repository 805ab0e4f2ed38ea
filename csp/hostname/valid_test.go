package hostname_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/csp/hostname"
	"github.com/omadm-agent/omadm-agent/tree"
)

var staticTests = []struct {
	name string
	in   string
	ok   bool
}{
	{"empty clears", "", true},
	{"single label", "gw1", true},
	{"fqdn", "gw-1.example.com", true},
	{"digits only", "123", true},
	{"upper case", "GW1", true},
	{"max label", strings.Repeat("a", 63), true},
	{"max length", strings.Repeat("abcdefg.", 7) + "abcdefgh", true},
	{"one letter", "a", true},
	{"too long", strings.Repeat("abcdefg.", 7) + "abcdefghi", false},
	{"label 64", strings.Repeat("a", 64), false},
	{"underscore", "a_b", false},
	{"leading dot", ".a", false},
	{"trailing dot", "a.", false},
	{"double dot", "a..b", false},
	{"leading hyphen", "-a", false},
	{"trailing hyphen", "a-", false},
	{"hyphen before dot", "a-.b", false},
	{"hyphen after dot", "a.-b", false},
	{"space", "a b", false},
	{"utf-8", "bü", false},
	{"nul", "a\x00", false},
	{"only dot", ".", false},
}

func TestValidStatic(t *testing.T) {
	for _, tc := range staticTests {
		t.Run(tc.name, func(t *testing.T) {
			err := hostname.ValidStatic(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidStatic(%q): got %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err != nil && !errors.Is(err, tree.ErrBadRequest) {
				t.Errorf("ValidStatic(%q): got %v, want ErrBadRequest", tc.in, err)
			}
		})
	}
}

func TestValidPretty(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"Gateway № 2 (Keller) – Büro", true},
		{"tab\there", false},
		{"del\x7f", false},
		{"c1 \u0085", false},
		{"\xff", false},
	}
	for _, tc := range tests {
		if err := hostname.ValidPretty(tc.in); (err == nil) != tc.ok || (err != nil && !errors.Is(err, tree.ErrBadRequest)) {
			t.Errorf("ValidPretty(%q): got %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// FuzzValidStatic: whatever ValidStatic accepts has the shape hostnamed
// requires (checked independently here).
func FuzzValidStatic(f *testing.F) {
	for _, tc := range staticTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if hostname.ValidStatic(s) != nil || s == "" {
			return
		}
		if len(s) > hostname.MaxLen {
			t.Fatalf("accepted %d bytes", len(s))
		}
		for _, l := range strings.Split(s, ".") {
			if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
				t.Fatalf("accepted %q with bad label %q", s, l)
			}
			for _, c := range []byte(l) {
				if !(c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
					t.Fatalf("accepted %q with byte %q", s, c)
				}
			}
		}
	})
}
