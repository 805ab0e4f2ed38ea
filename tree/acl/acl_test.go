package acl

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // canonical form
		wantErr bool
	}{
		{"empty", "", "", false},
		{"spec example", "Add=*&Get=*&Replace=srv1+srv2&Delete=srv1", "Add=*&Delete=srv1&Get=*&Replace=srv1+srv2", false},
		{"order canonical", "Get=a&Add=b", "Add=b&Get=a", false},
		{"merge repeated", "Get=a&Get=b+a", "Get=a+b", false},
		{"wildcard wins", "Get=a+*+b", "Get=*", false},
		{"exec", "Exec=fumo.srv", "Exec=fumo.srv", false},
		{"unicode id", "Get=serveur-é", "Get=serveur-é", false},
		{"unknown command", "Copy=a", "", true},
		{"lower case command", "get=a", "", true},
		{"no equals", "Get", "", true},
		{"empty ids", "Get=", "", true},
		{"empty id in list", "Get=a++b", "", true},
		{"trailing amp", "Get=a&", "", true},
		{"space in id", "Get=a b", "", true},
		{"star inside id", "Get=a*b", "", true},
		{"equals in id", "Get=a=b", "", true},
		{"control char", "Get=a\x01", "", true},
		{"invalid utf8", "Get=\xff", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("Parse(%q): got err %v, want ErrSyntax", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := a.String(); got != tt.want {
				t.Errorf("String: got %q, want %q", got, tt.want)
			}
			b, err := Parse(a.String())
			if err != nil || !b.Equal(a) {
				t.Errorf("reparse: got %v %v, want %v", b, err, a)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	a := MustParse("Add=*&Get=s1+s2&Replace=s1")
	tests := []struct {
		c    Command
		id   string
		want bool
	}{
		{Add, "anyone", true},
		{Get, "s1", true},
		{Get, "s2", true},
		{Get, "s3", false},
		{Replace, "s2", false},
		{Delete, "s1", false}, // command absent: nobody
		{Exec, "s1", false},
		{Command(9), "s1", false},
	}
	for _, tt := range tests {
		if got := a.Allows(tt.c, tt.id); got != tt.want {
			t.Errorf("Allows(%s, %s): got %v, want %v", tt.c, tt.id, got, tt.want)
		}
	}
	if (ACL{}).Allows(Get, "s1") {
		t.Errorf("empty ACL allows Get, want nothing allowed")
	}
}

func TestWithoutServer(t *testing.T) {
	tests := []struct {
		name string
		in   string
		id   string
		root bool
		want string
	}{
		{"removes id", "Get=s1+s2&Replace=s1", "s1", false, "Get=s2"},
		{"non-root empties", "Replace=s1", "s1", false, ""},
		{"root empty becomes wildcard", "Add=*&Get=*&Replace=s1", "s1", true, "Add=*&Get=*&Replace=*"},
		{"wildcard untouched", "Get=*", "s1", false, "Get=*"},
		{"absent id", "Get=s2", "s1", true, "Get=s2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := MustParse(tt.in)
			if got := a.WithoutServer(tt.id, tt.root).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := a.String(); got != MustParse(tt.in).String() {
				t.Errorf("receiver modified: %q", got)
			}
		})
	}
}

func TestWithAndMentions(t *testing.T) {
	a := MustParse("Get=s1").With(Add, "s2").With(Get, "s2").With(Get, "s1")
	if got, want := a.String(), "Add=s2&Get=s1+s2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !a.Mentions("s2") || a.Mentions("s3") {
		t.Errorf("Mentions wrong for %q", a)
	}
	if got := a.Servers(Get); len(got) != 2 {
		t.Errorf("Servers(Get): got %v, want 2 ids", got)
	}
	if ValidServerID("*") || !ValidServerID("srv.example") || ValidServerID("a+b") {
		t.Errorf("ValidServerID wrong")
	}
	if c, err := ParseCommand("Exec"); err != nil || c != Exec {
		t.Errorf("ParseCommand(Exec): got %v %v", c, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "Add=*&Get=*", "Add=*&Get=*&Replace=srv1+srv2&Delete=srv1", "Get=a&Get=b", "Exec=x", "Get=", "Get=a+*", "Replace=é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		out := a.String()
		b, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(String()) = %v for %q", err, out)
		}
		if b.String() != out {
			t.Fatalf("unstable: %q -> %q", out, b.String())
		}
		for _, c := range Commands {
			for _, id := range a.Servers(c) {
				if !a.Allows(c, id) && id != Wildcard {
					t.Fatalf("listed id %q not allowed for %s", id, c)
				}
			}
		}
	})
}
