package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNetwPINKey(t *testing.T) {
	tests := []struct {
		name    string
		imsi    string
		wantHex string
		wantErr error
	}{
		{"15 digits (odd, prefix 9)", "234150999999999", "2943519099999999", nil},
		{"14 digits (even, prefix 1, pad F)", "23415099999999", "21435190999999F9", nil},
		{"6 digits", "001010", "011010F0", nil},
		{"7 digits", "0010101", "09101010", nil},
		{"too short", "12345", "", ErrBadIMSI},
		{"empty", "", "", ErrBadIMSI},
		{"too long", "1234567890123456", "", ErrBadIMSI},
		{"letter", "23415099999999A", "", ErrBadIMSI},
		{"space", "234150 99999999", "", ErrBadIMSI},
		{"plus", "+34150999999999", "", ErrBadIMSI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NetwPINKey(tt.imsi)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if got != nil {
					t.Errorf("got key % x with an error", got)
				}
				return
			}
			if want := unhex(t, strings.ToLower(tt.wantHex)); !bytes.Equal(got, want) {
				t.Errorf("got % x, want % x", got, want)
			}
		})
	}
}

func TestUserNetwPINKey(t *testing.T) {
	netw := unhex(t, "2943519099999999")
	a, err := UserNetwPINKey("234150999999999", "1234", NetwThenPIN)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, netw...), "1234"...); !bytes.Equal(a, want) {
		t.Errorf("NetwThenPIN: got % x, want % x", a, want)
	}
	b, err := UserNetwPINKey("234150999999999", "1234", PINColonNetw)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("1234:"), netw...); !bytes.Equal(b, want) {
		t.Errorf("PINColonNetw: got % x, want % x", b, want)
	}
	errTests := []struct {
		name, imsi, pin string
		order           NetwPINOrder
		wantErr         error
	}{
		{"bad imsi", "x", "1234", NetwThenPIN, ErrBadIMSI},
		{"empty pin", "234150999999999", "", NetwThenPIN, ErrEmptyPIN},
		{"bad order", "234150999999999", "1234", NetwPINOrder(7), ErrUnsupportedSec},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := UserNetwPINKey(tt.imsi, tt.pin, tt.order); !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := UserPINKey(""); !errors.Is(err, ErrEmptyPIN) {
		t.Errorf("UserPINKey(\"\"): got %v, want ErrEmptyPIN", err)
	}
}

func TestVerifyBootstrapMAC(t *testing.T) {
	body := []byte{0x02, 0xa4, 0x01, 0x6a, 0x00, 0x6d, 0x01}
	const imsi, pin = "234150999999999", "1234"
	netw, _ := NetwPINKey(imsi)
	unp, _ := UserNetwPINKey(imsi, pin, NetwThenPIN)
	upn, _ := UserNetwPINKey(imsi, pin, PINColonNetw)
	tests := []struct {
		name    string
		sec     SecMethod
		mac     string
		imsi    string
		pin     string
		wantErr error
	}{
		{"netwpin semi-octet", SecNetwPIN, BootstrapMAC(netw, body), imsi, "", nil},
		{"netwpin plain-text imsi", SecNetwPIN, BootstrapMAC([]byte(imsi), body), imsi, "", nil},
		{"netwpin lower-case hex, spaces", SecNetwPIN, " " + strings.ToLower(BootstrapMAC(netw, body)) + " ", imsi, "", nil},
		{"netwpin wrong imsi", SecNetwPIN, BootstrapMAC(netw, body), "234150999999998", "", ErrBootstrapMACMismatch},
		{"netwpin bad imsi", SecNetwPIN, BootstrapMAC(netw, body), "", "", ErrBadIMSI},
		{"netwpin with userpin key", SecNetwPIN, BootstrapMAC([]byte(pin), body), imsi, pin, ErrBootstrapMACMismatch},
		{"userpin", SecUserPIN, BootstrapMAC([]byte(pin), body), "", pin, nil},
		{"userpin wrong pin", SecUserPIN, BootstrapMAC([]byte(pin), body), "", "1235", ErrBootstrapMACMismatch},
		{"userpin empty pin", SecUserPIN, BootstrapMAC([]byte(""), body), "", "", ErrEmptyPIN},
		{"usernetwpin funambol order", SecUserNetwPIN, BootstrapMAC(unp, body), imsi, pin, nil},
		{"usernetwpin PIN:secret order", SecUserNetwPIN, BootstrapMAC(upn, body), imsi, pin, nil},
		{"usernetwpin netw key alone", SecUserNetwPIN, BootstrapMAC(netw, body), imsi, pin, ErrBootstrapMACMismatch},
		{"usernetwpin no pin", SecUserNetwPIN, BootstrapMAC(unp, body), imsi, "", ErrEmptyPIN},
		{"usernetwpin bad imsi", SecUserNetwPIN, BootstrapMAC(unp, body), "12", pin, ErrBadIMSI},
		{"userpinmac unsupported", SecUserPINMAC, BootstrapMAC(netw, body), imsi, pin, ErrUnsupportedSec},
		{"unknown sec", SecMethod(9), BootstrapMAC(netw, body), imsi, pin, ErrUnsupportedSec},
		{"mac too short", SecNetwPIN, BootstrapMAC(netw, body)[:38], imsi, "", ErrMalformedMAC},
		{"mac not hex", SecNetwPIN, "Z" + BootstrapMAC(netw, body)[1:], imsi, "", ErrMalformedMAC},
		{"mac empty", SecNetwPIN, "", imsi, "", ErrMalformedMAC},
		{"body tampered", SecNetwPIN, BootstrapMAC(netw, append([]byte{0}, body...)), imsi, "", ErrBootstrapMACMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyBootstrapMAC(tt.sec, tt.mac, body, tt.imsi, tt.pin)
			if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestSecMethodString(t *testing.T) {
	tests := []struct {
		s    SecMethod
		want string
	}{
		{SecNetwPIN, "NETWPIN"}, {SecUserPIN, "USERPIN"}, {SecUserNetwPIN, "USERNETWPIN"},
		{SecUserPINMAC, "USERPINMAC"}, {SecMethod(4), "SEC(4)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("SecMethod(%d): got %q, want %q", uint8(tt.s), got, tt.want)
		}
	}
}

func TestBootstrapMACFormat(t *testing.T) {
	m := BootstrapMAC([]byte("k"), []byte("b"))
	if len(m) != 40 || strings.ToUpper(m) != m {
		t.Errorf("got %q, want 40 upper-case hex digits", m)
	}
}
