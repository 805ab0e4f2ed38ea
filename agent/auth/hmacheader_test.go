package auth

import (
	"errors"
	"strings"
	"testing"
)

const testMAC = "wSbU2WfuxYLE5lR8ZWfpew=="

func TestParseHMACHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want HMACHeader
	}{
		{"tsdm spacing", `algorithm=MD5, username="devuser", mac=` + testMAC, HMACHeader{"MD5", "devuser", testMAC}},
		{"android spacing", `algorithm=MD5,username="devuser",mac=` + testMAC, HMACHeader{"MD5", "devuser", testMAC}},
		{"no algorithm", `username="devuser", mac=` + testMAC, HMACHeader{"MD5", "devuser", testMAC}},
		{"lower-case algorithm", `algorithm=md5, username="u", mac=` + testMAC, HMACHeader{"MD5", "u", testMAC}},
		{"any order, any case names", `MAC=` + testMAC + ` ,Username="u" , Algorithm=MD5`, HMACHeader{"MD5", "u", testMAC}},
		{"leading and trailing space, tabs", " \talgorithm=MD5,\tusername=\"u\",mac=" + testMAC + " \t", HMACHeader{"MD5", "u", testMAC}},
		{"escaped quote and backslash", `username="a\"b\\c", mac=` + testMAC, HMACHeader{"MD5", `a"b\c`, testMAC}},
		{"escaped ordinary char", `username="\a", mac=` + testMAC, HMACHeader{"MD5", "a", testMAC}},
		{"comma and space inside quotes", `username="a, b=c", mac=` + testMAC, HMACHeader{"MD5", "a, b=c", testMAC}},
		{"empty username", `username="", mac=` + testMAC, HMACHeader{"MD5", "", testMAC}},
		{"bare token username", `username=devuser, mac=` + testMAC, HMACHeader{"MD5", "devuser", testMAC}},
		{"quoted mac", `username="u", mac="` + testMAC + `"`, HMACHeader{"MD5", "u", testMAC}},
		{"unpadded mac", `username="u", mac=wSbU2WfuxYLE5lR8ZWfpew`, HMACHeader{"MD5", "u", "wSbU2WfuxYLE5lR8ZWfpew"}},
		{"quoted algorithm", `algorithm="MD5", username="u", mac=` + testMAC, HMACHeader{"MD5", "u", testMAC}},
		{"unknown parameter ignored", `algorithm=MD5, realm="x", username="u", mac=` + testMAC, HMACHeader{"MD5", "u", testMAC}},
		{"space around =", `username = "u" , mac = ` + testMAC, HMACHeader{"MD5", "u", testMAC}},
		{"utf-8 username", `username="devüser", mac=` + testMAC, HMACHeader{"MD5", "devüser", testMAC}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHMACHeader(tt.in)
			if err != nil {
				t.Fatalf("ParseHMACHeader(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			again, err := ParseHMACHeader(got.String())
			if err != nil || again != got {
				t.Errorf("round trip of %q: got %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseHMACHeaderErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		wantMsg string // substring of the message
	}{
		{"empty", ``, ErrMalformedHMACHeader, "empty header"},
		{"blank", "   ", ErrMalformedHMACHeader, "empty header"},
		{"unknown algorithm", `algorithm=SHA1, username="u", mac=` + testMAC, ErrUnsupportedAlgorithm, `"SHA1"`},
		{"empty algorithm", `algorithm="", username="u", mac=` + testMAC, ErrUnsupportedAlgorithm, `""`},
		{"missing username", `algorithm=MD5, mac=` + testMAC, ErrMalformedHMACHeader, "missing username"},
		{"missing mac", `algorithm=MD5, username="u"`, ErrMalformedHMACHeader, "missing mac"},
		{"mac not base64", `username="u", mac=not*base64`, ErrMalformedHMACHeader, "offset 18"},
		{"mac wrong length", `username="u", mac=AAAA`, ErrMalformedHMACHeader, "16-byte"},
		{"mac quoted with space", `username="u", mac=" ` + testMAC + `"`, ErrMalformedHMACHeader, "16-byte"},
		{"unterminated quote", `username="u, mac=` + testMAC, ErrMalformedHMACHeader, "unterminated quoted-string at offset 9"},
		{"backslash at end", `mac=` + testMAC + `, username="u\`, ErrMalformedHMACHeader, "backslash"},
		{"control char in username", "username=\"a\nb\", mac=" + testMAC, ErrMalformedHMACHeader, "control character"},
		{"escaped control char", "username=\"a\\\x01b\", mac=" + testMAC, ErrMalformedHMACHeader, "control character"},
		{"no equals", `algorithm, username="u", mac=` + testMAC, ErrMalformedHMACHeader, "expected '='"},
		{"missing value", `username=`, ErrMalformedHMACHeader, "missing value"},
		{"bad value char", `username=;x, mac=` + testMAC, ErrMalformedHMACHeader, "unexpected character"},
		{"semicolon separator", `username="u"; mac=` + testMAC, ErrMalformedHMACHeader, "expected ','"},
		{"trailing comma", `username="u", mac=` + testMAC + `,`, ErrMalformedHMACHeader, "parameter name"},
		{"double comma", `username="u",, mac=` + testMAC, ErrMalformedHMACHeader, "parameter name"},
		{"repeated username", `username="u", username="v", mac=` + testMAC, ErrMalformedHMACHeader, "repeated"},
		{"repeated mac", `username="u", mac=` + testMAC + `, mac=` + testMAC, ErrMalformedHMACHeader, "repeated"},
		{"repeated algorithm", `algorithm=MD5, algorithm=MD5, username="u", mac=` + testMAC, ErrMalformedHMACHeader, "repeated"},
		{"header name included", `x-syncml-hmac: username="u", mac=` + testMAC, ErrMalformedHMACHeader, "expected '='"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHMACHeader(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestHMACHeaderString(t *testing.T) {
	tests := []struct {
		name string
		h    HMACHeader
		want string
	}{
		{"plain", HMACHeader{"MD5", "devuser", testMAC}, `algorithm=MD5, username="devuser", mac=` + testMAC},
		{"empty algorithm written as MD5", HMACHeader{"", "u", testMAC}, `algorithm=MD5, username="u", mac=` + testMAC},
		{"escapes", HMACHeader{"MD5", `a"b\c`, testMAC}, `algorithm=MD5, username="a\"b\\c", mac=` + testMAC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestVerifyHMAC(t *testing.T) {
	body := []byte("<SyncML/>")
	nonce := []byte("n1")
	good, err := SignHMAC("user", "pass", nonce, body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		h       HMACHeader
		user    string
		pass    string
		nonce   []byte
		body    []byte
		wantErr error
	}{
		{"good", good, "user", "pass", nonce, body, nil},
		{"empty algorithm ok", HMACHeader{"", "user", good.MAC}, "user", "pass", nonce, body, nil},
		{"wrong password", good, "user", "pasS", nonce, body, ErrHMACMismatch},
		{"wrong nonce", good, "user", "pass", []byte("n2"), body, ErrHMACMismatch},
		{"body changed", good, "user", "pass", nonce, []byte("<SyncML />"), ErrHMACMismatch},
		{"username mismatch", HMACHeader{"MD5", "other", good.MAC}, "user", "pass", nonce, body, ErrHMACUsernameMismatch},
		{"garbage mac", HMACHeader{"MD5", "user", "!!"}, "user", "pass", nonce, body, ErrHMACMismatch},
		{"bad algorithm", HMACHeader{"SHA-256", "user", good.MAC}, "user", "pass", nonce, body, ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyHMAC(tt.h, tt.user, tt.pass, tt.nonce, tt.body)
			if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := SignHMAC("a\r\nX-Injected: 1", "p", nonce, body); err == nil {
		t.Error("SignHMAC accepted a username with CR LF")
	}
}

func FuzzParseHMACHeader(f *testing.F) {
	for _, s := range []string{
		`algorithm=MD5, username="devuser", mac=` + testMAC,
		`algorithm=MD5,username="devuser",mac=` + testMAC,
		`username="a\"b\\c", mac=` + testMAC,
		`MAC="` + testMAC + `" ,Username=u`,
		`username="u", mac=wSbU2WfuxYLE5lR8ZWfpew, realm="r"`,
		`algorithm=SHA1, username="u", mac=` + testMAC,
		`username="u`,
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHMACHeader(s)
		if err != nil {
			return
		}
		out := h.String()
		h2, err := ParseHMACHeader(out)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", out, s, err)
		}
		if h2 != h {
			t.Fatalf("unstable: %q -> %+v -> %q -> %+v", s, h, out, h2)
		}
		if out2 := h2.String(); out2 != out {
			t.Fatalf("String unstable: %q vs %q", out, out2)
		}
	})
}
