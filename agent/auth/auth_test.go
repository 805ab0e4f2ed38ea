package auth

import (
	"crypto/md5"
	"errors"
	"strings"
	"testing"
)

func md5Sum(b []byte) []byte { s := md5.Sum(b); return s[:] }

func TestVerifyMD5(t *testing.T) {
	const good = "Zz6EivR3yeaaENcRN6lpAQ=="
	tests := []struct {
		name        string
		user, pass  string
		nonce, cred string
		want        bool
	}{
		{"spec", "Bruce2", "OhBehave", "Nonce", good, true},
		{"surrounding space", "Bruce2", "OhBehave", "Nonce", " " + good + "\n", true},
		{"unpadded", "Bruce2", "OhBehave", "Nonce", strings.TrimRight(good, "="), true},
		{"wrong password", "Bruce2", "OhBehavf", "Nonce", good, false},
		{"wrong user", "bruce2", "OhBehave", "Nonce", good, false},
		{"wrong nonce", "Bruce2", "OhBehave", "nonce", good, false},
		{"empty cred", "Bruce2", "OhBehave", "Nonce", "", false},
		{"not base64", "Bruce2", "OhBehave", "Nonce", "Zz6EivR3yeaaENcRN6lpA!==", false},
		{"too long", "Bruce2", "OhBehave", "Nonce", good + "AAAA", false},
		{"basic instead", "Bruce2", "OhBehave", "Nonce", "QnJ1Y2UyOk9oQmVoYXZl", false},
		{"non-canonical padding bits", "Bruce2", "OhBehave", "Nonce", "Zz6EivR3yeaaENcRN6lpAR==", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyMD5(tt.user, tt.pass, []byte(tt.nonce), tt.cred); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVerifyBasic(t *testing.T) {
	tests := []struct {
		name, user, pass, cred string
		want                   bool
	}{
		{"spec", "Bruce2", "OhBehave", "QnJ1Y2UyOk9oQmVoYXZl", true},
		{"wrong", "Bruce2", "OhBehave", "QnJ1Y2UyOk9oQmVoYXZm", false},
		{"empty", "Bruce2", "OhBehave", "", false},
		{"colon in password", "u", "a:b", Basic("u", "a:b"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyBasic(tt.user, tt.pass, tt.cred); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDigestDependsOnEveryInput(t *testing.T) {
	base := Digest("a", "b", []byte("n"), []byte("body"))
	variants := map[string][16]byte{
		"a":     Digest("A", "b", []byte("n"), []byte("body")),
		"b":     Digest("a", "B", []byte("n"), []byte("body")),
		"nonce": Digest("a", "b", []byte("N"), []byte("body")),
		"body":  Digest("a", "b", []byte("n"), []byte("Body")),
		// The colon separators are real: moving one must change the digest.
		"split": Digest("a:b", "", []byte("n"), []byte("body")),
	}
	for name, d := range variants {
		if d == base {
			t.Errorf("changing %s did not change the digest", name)
		}
	}
}

func TestSchemeMapping(t *testing.T) {
	tests := []struct {
		aauth, meta string
		scheme      Scheme
	}{
		{"BASIC", MetaTypeBasic, SchemeBasic},
		{"DIGEST", MetaTypeMD5, SchemeMD5},
		{"HMAC", MetaTypeMAC, SchemeHMAC},
		{"X509", MetaTypeX509, SchemeX509},
		{"SECURID", MetaTypeSecurID, SchemeSecurID},
		{"SAFEWORD", MetaTypeSafeWord, SchemeSafeWord},
		{"DIGIPASS", MetaTypeDigipass, SchemeDigipass},
	}
	for _, tt := range tests {
		t.Run(tt.aauth, func(t *testing.T) {
			m, err := MetaTypeForAAuthType(tt.aauth)
			if err != nil || m != tt.meta {
				t.Errorf("MetaTypeForAAuthType: got %q, %v; want %q", m, err, tt.meta)
			}
			a, err := AAuthTypeForMetaType(tt.meta)
			if err != nil || a != tt.aauth {
				t.Errorf("AAuthTypeForMetaType: got %q, %v; want %q", a, err, tt.aauth)
			}
			s, err := ParseMetaType(strings.ToUpper(tt.meta))
			if err != nil || s != tt.scheme {
				t.Errorf("ParseMetaType upper-case: got %v, %v; want %v", s, err, tt.scheme)
			}
			s, err = ParseAAuthType(strings.ToLower(tt.aauth))
			if err != nil || s != tt.scheme {
				t.Errorf("ParseAAuthType lower-case: got %v, %v; want %v", s, err, tt.scheme)
			}
			if got := s.String(); got != tt.aauth {
				t.Errorf("String: got %q, want %q", got, tt.aauth)
			}
			if got, want := s.DMLevel(), s == SchemeBasic || s == SchemeMD5 || s == SchemeHMAC; got != want {
				t.Errorf("DMLevel: got %v, want %v", got, want)
			}
		})
	}
	errTests := []struct {
		name string
		f    func() error
	}{
		{"transport aauth has no meta", func() error { _, err := MetaTypeForAAuthType("HTTP-DIGEST"); return err }},
		{"TRANSPORT has no meta", func() error { _, err := MetaTypeForAAuthType("TRANSPORT"); return err }},
		{"unknown aauth", func() error { _, err := MetaTypeForAAuthType("KERBEROS"); return err }},
		{"empty aauth", func() error { _, err := ParseAAuthType(""); return err }},
		{"unknown meta", func() error { _, err := AAuthTypeForMetaType("syncml:auth-sha256"); return err }},
		{"empty meta", func() error { _, err := ParseMetaType(""); return err }},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f(); !errors.Is(err, ErrUnknownScheme) {
				t.Errorf("got %v, want ErrUnknownScheme", err)
			}
		})
	}
	if s, err := ParseAAuthType("HTTP-BASIC"); err != nil || s != SchemeHTTPBasic || s.MetaType() != "" || s.DMLevel() {
		t.Errorf("HTTP-BASIC: got %v %v meta %q", s, err, s.MetaType())
	}
	if got := Scheme(99).String(); got != "unknown" {
		t.Errorf("Scheme(99).String: got %q, want unknown", got)
	}
	if got := Scheme(-1).MetaType(); got != "" {
		t.Errorf("Scheme(-1).MetaType: got %q", got)
	}
}
