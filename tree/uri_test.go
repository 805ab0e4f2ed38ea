package tree

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	lim := Limits{MaxDepth: 4, MaxTotLen: 40, MaxSegLen: 10}
	tests := []struct {
		name    string
		in      string
		want    URI
		q       Query
		wantErr error
	}{
		{"root", ".", ".", Query{}, nil},
		{"dot slash", "./DevInfo/DevId", "./DevInfo/DevId", Query{}, nil},
		{"relative", "DevInfo/DevId", "./DevInfo/DevId", Query{}, nil},
		{"unicode raw", "./a/é", "./a/%C3%A9", Query{}, nil},
		{"unicode escaped lower", "./a/%c3%a9", "./a/%C3%A9", Query{}, nil},
		{"needless escape", "./%41b", "./Ab", Query{}, nil},
		{"space", "./a%20b", "./a%20b", Query{}, nil},
		{"escaped slash stays in segment", "./a%2Fb", "./a%2Fb", Query{}, nil},
		{"prop", "./a?prop=ACL", "./a", Query{Prop: "ACL"}, nil},
		{"root prop", ".?prop=ACL", ".", Query{Prop: "ACL"}, nil},
		{"list struct", "./a?list=Struct", "./a", Query{List: ListStruct}, nil},
		{"list structdata", "./a?list=StructData", "./a", Query{List: ListStructData}, nil},
		{"list tnds", "./a?list=TNDS", "./a", Query{List: ListTNDS}, nil},
		{"tnds plus", "./a?list=TNDS+Value+ACL", "./a", Query{List: ListTNDS, TNDSProps: []string{"Value", "ACL"}}, nil},
		{"tnds minus", "./a?list=TNDS-Format", "./a", Query{List: ListTNDS, TNDSProps: []string{"Format"}, TNDSExclude: true}, nil},
		{"leading slash", "/a", "", Query{}, ErrBadRequest},
		{"empty", "", "", Query{}, ErrBadRequest},
		{"empty segment", "./a//b", "", Query{}, ErrBadRequest},
		{"trailing slash", "./a/", "", Query{}, ErrBadRequest},
		{"star", "./a/*", "", Query{}, ErrBadRequest},
		{"dot segment", "./a/./b", "", Query{}, ErrBadRequest},
		{"dotdot segment", "./a/../b", "", Query{}, ErrBadRequest},
		{"escaped dotdot", "./a/%2E%2E", "", Query{}, ErrBadRequest},
		{"bad escape", "./a%G1", "", Query{}, ErrBadRequest},
		{"short escape", "./a%4", "", Query{}, ErrBadRequest},
		{"invalid utf8", "./a%FF", "", Query{}, ErrBadRequest},
		{"unknown query", "./a?foo=bar", "", Query{}, ErrBadRequest},
		{"empty query value", "./a?prop=", "", Query{}, ErrBadRequest},
		{"unknown prop", "./a?prop=Color", "", Query{}, ErrOptionalFeature},
		{"unknown list", "./a?list=Tree", "", Query{}, ErrOptionalFeature},
		{"unknown tnds option", "./a?list=TNDS+Color", "", Query{}, ErrOptionalFeature},
		{"mixed tnds options", "./a?list=TNDS+ACL-Format", "", Query{}, ErrBadRequest},
		{"options on Struct", "./a?list=Struct+ACL", "", Query{}, ErrBadRequest},
		{"too deep", "./a/b/c/d/e", "", Query{}, ErrURITooLong},
		{"segment too long", "./abcdefghijk", "", Query{}, ErrURITooLong},
		{"escaped segment too long", "./éééé", "", Query{}, ErrURITooLong}, // 24 bytes encoded
		{"total too long", "./abcdefghij/abcdefghij/abcdefghij/abcdefghij", "", Query{}, ErrURITooLong},
		{"max depth ok", "./a/b/c/d", "./a/b/c/d", Query{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, q, err := ParseURI(tt.in, lim)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseURI(%q): got %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURI(%q): %v", tt.in, err)
			}
			if u != tt.want {
				t.Errorf("got %q, want %q", u, tt.want)
			}
			if q.Prop != tt.q.Prop || q.List != tt.q.List || q.TNDSExclude != tt.q.TNDSExclude || strings.Join(q.TNDSProps, ",") != strings.Join(tt.q.TNDSProps, ",") {
				t.Errorf("query: got %+v, want %+v", q, tt.q)
			}
		})
	}
}

func TestURIMethods(t *testing.T) {
	u := MustURI("./a/b%20c")
	if got := u.Parent(); got != "./a" {
		t.Errorf("Parent: got %q, want ./a", got)
	}
	if got := u.Name(); got != "b c" {
		t.Errorf("Name: got %q, want \"b c\"", got)
	}
	if got := u.Base(); got != "b%20c" {
		t.Errorf("Base: got %q", got)
	}
	if got := u.Depth(); got != 2 {
		t.Errorf("Depth: got %d, want 2", got)
	}
	if got := MustURI("./a").Child("x/y"); got != "./a/x%2Fy" {
		t.Errorf("Child: got %q", got)
	}
	if !u.HasPrefix("./a") || u.HasPrefix("./ab") || !u.HasPrefix(Root) || MustURI("./ab").HasPrefix("./a") {
		t.Errorf("HasPrefix wrong")
	}
	if got := u.Rel("./a"); got != "b%20c" {
		t.Errorf("Rel: got %q", got)
	}
	if Root.Parent() != Root || Root.Depth() != 0 || Root.Segments() != nil {
		t.Errorf("root methods wrong")
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{".", "./DevInfo/DevId", "a/b", "./a?prop=ACL", "./a?list=TNDS+Value+ACL", "./a/%C3%A9", "./a%2Fb", "/x", "./a//b", "./a?list=TNDS+ACL-Format"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, q, err := ParseURI(s, DefaultLimits)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrURITooLong) && !errors.Is(err, ErrOptionalFeature) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		// Canonical form is a fixed point.
		u2, _, err := ParseURI(string(u), DefaultLimits)
		if err != nil || u2 != u {
			t.Fatalf("canonical %q reparsed to %q, %v", u, u2, err)
		}
		if u != Root && !strings.HasPrefix(string(u), "./") {
			t.Fatalf("canonical %q does not start with ./", u)
		}
		for _, seg := range u.Segments() {
			name, err := UnescapeName(seg)
			if err != nil || EscapeName(name) != seg {
				t.Fatalf("segment %q not canonical", seg)
			}
		}
		if u != Root && u.Parent().Child(u.Name()) != u {
			t.Fatalf("Parent/Child round trip failed for %q", u)
		}
		_ = q
	})
}
