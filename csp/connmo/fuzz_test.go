package connmo_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/csp/connmo"
	"github.com/omadm-agent/omadm-agent/tree"
)

// seeds reads testdata/connmo/names.txt: one connection id per line.
func seeds(f *testing.F) []string {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "connmo", "names.txt"))
	if err != nil {
		f.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func TestValidAPN(t *testing.T) {
	tests := []struct {
		apn string
		ok  bool
	}{
		{"", true},
		{"internet", true},
		{"internet.telekom", true},
		{"m2m_iot-1.example.com", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"with space", false},
		{"apn/slash", false},
		{"ümlaut", false},
		{"a\x00", false},
	}
	for _, tc := range tests {
		err := connmo.ValidAPN(tc.apn)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, tree.ErrBadRequest)) {
			t.Errorf("ValidAPN(%q): got %v, want ok=%v", tc.apn, err, tc.ok)
		}
	}
}

func TestNodeNames(t *testing.T) {
	const u1, u2, u3 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
	tests := []struct {
		name  string
		conns []connmo.Ident
		want  []string
	}{
		{"unique ids", []connmo.Ident{{"A", u1}, {"B/x", u2}}, []string{"A", "B/x"}},
		{"duplicate id", []connmo.Ident{{"A", u1}, {"A", u2}, {"C", u3}}, []string{u1, u2, "C"}},
		{"id equals a uuid", []connmo.Ident{{u2, u1}, {"B", u2}}, []string{u1, "B"}},
		{"invalid ids", []connmo.Ident{{"", u1}, {"..", u2}, {"a\nb", u3}}, []string{u1, u2, u3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := connmo.NodeNames(tc.conns)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			for i, n := range got {
				if r := connmo.Resolve(tc.conns, n); r != i {
					t.Errorf("Resolve(%q) = %d, want %d", n, r, i)
				}
			}
		})
	}
}

// FuzzNodeNames: for any ids (with distinct UUIDs), the node names are
// distinct, valid URI segments once escaped, resolve back to their
// connection, and are the id itself whenever the id is usable.
func FuzzNodeNames(f *testing.F) {
	s := seeds(f)
	for i := 0; i+1 < len(s); i++ {
		f.Add(s[i], s[i+1], s[(i*7)%len(s)])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		conns := []connmo.Ident{
			{ID: a, UUID: "11111111-1111-4111-8111-111111111111"},
			{ID: b, UUID: "22222222-2222-4222-8222-222222222222"},
			{ID: c, UUID: "33333333-3333-4333-8333-333333333333"},
		}
		names := connmo.NodeNames(conns)
		seen := map[string]bool{}
		for i, n := range names {
			if seen[n] {
				t.Fatalf("duplicate node name %q in %q", n, names)
			}
			seen[n] = true
			seg := tree.EscapeName(n)
			back, err := tree.UnescapeName(seg)
			if err != nil || back != n {
				t.Fatalf("name %q: escape %q unescapes to %q (%v)", n, seg, back, err)
			}
			if _, _, err := tree.ParseURI(string(connmo.Root)+"/"+seg, tree.DefaultLimits); err != nil {
				t.Fatalf("name %q: URI not parsable: %v", n, err)
			}
			if r := connmo.Resolve(conns, n); r != i {
				t.Fatalf("Resolve(%q) = %d, want %d", n, r, i)
			}
			if n != conns[i].ID && n != conns[i].UUID {
				t.Fatalf("name %q is neither the id nor the UUID of %+v", n, conns[i])
			}
			if n == conns[i].UUID && conns[i].ID != conns[i].UUID && connmo.ValidID(conns[i].ID) == nil {
				dup := false
				for j, o := range conns {
					dup = dup || (j != i && (o.ID == conns[i].ID || o.UUID == conns[i].ID))
				}
				if !dup {
					t.Fatalf("usable unique id %q was replaced by the UUID", conns[i].ID)
				}
			}
		}
	})
}

// FuzzValidAPN: ValidAPN accepts exactly the strings of at most 64 bytes
// of A-Z a-z 0-9 . _ -, and wraps ErrBadRequest otherwise.
func FuzzValidAPN(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Add("internet.telekom")
	f.Fuzz(func(t *testing.T, s string) {
		ok := len(s) <= connmo.MaxAPNLen
		for _, r := range s {
			ok = ok && (r < 128 && (r == '.' || r == '_' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'))
		}
		err := connmo.ValidAPN(s)
		if (err == nil) != ok {
			t.Fatalf("ValidAPN(%q) = %v, want ok=%v", s, err, ok)
		}
		if err != nil && !errors.Is(err, tree.ErrBadRequest) {
			t.Fatalf("ValidAPN(%q) = %v, not ErrBadRequest", s, err)
		}
	})
}
