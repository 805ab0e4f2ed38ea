package notification

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/auth"
)

// msg builds a Package #0 with a zero digest from raw header bytes.
func msg(hdr string, rest ...byte) []byte {
	b := make([]byte, 16)
	for _, f := range strings.Fields(hdr) {
		var x byte
		fmt.Sscanf(f, "%02x", &x)
		b = append(b, x)
	}
	return append(b, rest...)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		wantField string
		wantOff   int
		wantErr   error
	}{
		{"empty", nil, "digest", 0, ErrTruncated},
		{"15 bytes", make([]byte, 15), "digest", 0, ErrTruncated},
		{"digest only", make([]byte, 16), "trigger-hdr", 16, ErrTruncated},
		{"header cut", msg("02 d8 00 00"), "trigger-hdr", 16, ErrTruncated},
		{"no session id", msg("02 d8 00 00 00"), "sessionid", 21, ErrTruncated},
		{"half session id", msg("02 d8 00 00 00 12"), "sessionid", 21, ErrTruncated},
		{"no length", msg("02 d8 00 00 00 12 34"), "length-identifier", 23, ErrTruncated},
		{"zero length", msg("02 d8 00 00 00 12 34 00"), "length-identifier", 23, ErrEmptyServerID},
		{"zero length with data", msg("02 d8 00 00 00 12 34 00", 'a', 'b'), "length-identifier", 23, ErrEmptyServerID},
		{"server id missing", msg("02 d8 00 00 00 12 34 03"), "server-identifier", 24, ErrTruncated},
		{"server id short", msg("02 d8 00 00 00 12 34 03", 'a', 'b'), "server-identifier", 24, ErrTruncated},
		{"server id 255 short", msg("02 d8 00 00 00 12 34 ff", make([]byte, 254)...), "server-identifier", 24, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Decode(tt.in)
			if n != nil {
				t.Errorf("got notification %+v, want nil", n)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%T), want *DecodeError", err, err)
			}
			if de.Field != tt.wantField || de.Offset != tt.wantOff || !errors.Is(err, tt.wantErr) {
				t.Errorf("got field %q offset %d err %v, want %q %d %v", de.Field, de.Offset, de.Err, tt.wantField, tt.wantOff, tt.wantErr)
			}
			if s := err.Error(); !strings.Contains(s, tt.wantField) || !strings.Contains(s, fmt.Sprintf("offset %d", tt.wantOff)) || strings.Contains(s, "\n") {
				t.Errorf("message %q does not name field and offset on one line", s)
			}
		})
	}
}

func TestDecodeVersionPolicy(t *testing.T) {
	tests := []struct {
		name    string
		hdr     string
		version int
		wantErr bool
	}{
		{"10 accepted", "02 90 00 00 00 00 01 01", 10, false},
		{"11 accepted", "02 d0 00 00 00 00 01 01", 11, false},
		{"12 accepted", "03 10 00 00 00 00 01 01", 12, false},
		{"9 reported", "02 50 00 00 00 00 01 01", 9, true},
		{"13 reported", "03 50 00 00 00 00 01 01", 13, true},
		{"0 reported", "00 10 00 00 00 00 01 01", 0, true},
		{"1023 reported", "ff d0 00 00 00 00 01 01", 1023, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Decode(msg(tt.hdr, 'x'))
			if n == nil {
				t.Fatalf("got nil notification (err %v); the policy returns it", err)
			}
			if n.Version != tt.version || n.UIMode != UIBackground || n.ServerID != "x" {
				t.Errorf("got version %d ui %v id %q, want %d background x", n.Version, n.UIMode, n.ServerID, tt.version)
			}
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("got err %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				var de *DecodeError
				if !errors.Is(err, ErrUnsupportedVersion) || !errors.As(err, &de) || de.Field != "version" || de.Offset != 16 {
					t.Errorf("got %v, want version DecodeError at 16 wrapping ErrUnsupportedVersion", err)
				}
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Notification
	}{
		{"future-use bits exposed", msg("02 d7 ff ff ff ab cd 01", 's'),
			Notification{Version: 11, UIMode: UIBackground, Initiator: InitiatorClient, FutureUse: 0x7ffffff, SessionID: 0xabcd, ServerID: "s"}},
		{"one future-use bit", msg("02 dc 00 00 01 00 01 01", 's'),
			Notification{Version: 11, UIMode: UIBackground, Initiator: InitiatorServer, FutureUse: 0x4000001, SessionID: 1, ServerID: "s"}},
		{"ui-mode 3, initiator 1", msg("02 f8 00 00 00 ff ff 01", 's'),
			Notification{Version: 11, UIMode: UIUserInteraction, Initiator: InitiatorServer, SessionID: 0xffff, ServerID: "s"}},
		{"ui-mode 2", msg("02 e0 00 00 00 00 00 01", 's'),
			Notification{Version: 11, UIMode: UIInformative, ServerID: "s"}},
		{"ui-mode 0", msg("02 c0 00 00 00 00 00 01", 's'),
			Notification{Version: 11, UIMode: UINotSpecified, ServerID: "s"}},
		{"vendor bytes", msg("02 d8 00 00 00 00 07 02", 'a', 'b', 0xde, 0xad, 0x00),
			Notification{Version: 11, UIMode: UIBackground, Initiator: InitiatorServer, SessionID: 7, ServerID: "ab", Vendor: []byte{0xde, 0xad, 0}}},
		{"255-byte server id", msg("02 d8 00 00 00 00 07 ff", bytes.Repeat([]byte{'z'}, 255)...),
			Notification{Version: 11, UIMode: UIBackground, Initiator: InitiatorServer, SessionID: 7, ServerID: strings.Repeat("z", 255)}},
		{"non-ASCII server id kept", msg("02 d8 00 00 00 00 07 02", 0xff, 0x00),
			Notification{Version: 11, UIMode: UIBackground, Initiator: InitiatorServer, SessionID: 7, ServerID: "\xff\x00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Decode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Trigger = tt.in[16:]
			if !reflect.DeepEqual(*n, tt.want) {
				t.Errorf("got %+v, want %+v", *n, tt.want)
			}
			out, err := n.Marshal()
			if err != nil || !bytes.Equal(out, tt.in) {
				t.Errorf("Marshal: got %x, %v; want %x", out, err, tt.in)
			}
		})
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	in := msg("02 d8 00 00 00 00 07 01", 'a', 1, 2)
	n, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0xee
	}
	if n.Vendor[0] != 1 || n.Trigger[0] != 0x02 || n.ServerID != "a" {
		t.Errorf("decoded fields changed with the input: %+v", n)
	}
}

func TestEncodeErrors(t *testing.T) {
	ok := Notification{Version: 11, ServerID: "s"}
	tests := []struct {
		name      string
		mod       func(n *Notification)
		wantField string
		wantErr   error
	}{
		{"version too big", func(n *Notification) { n.Version = 1024 }, "version", ErrFieldRange},
		{"version negative", func(n *Notification) { n.Version = -1 }, "version", ErrFieldRange},
		{"ui-mode 4", func(n *Notification) { n.UIMode = 4 }, "ui-mode", ErrFieldRange},
		{"initiator 2", func(n *Notification) { n.Initiator = 2 }, "initiator", ErrFieldRange},
		{"future-use 28 bits", func(n *Notification) { n.FutureUse = 1 << 27 }, "future-use", ErrFieldRange},
		{"empty server id", func(n *Notification) { n.ServerID = "" }, "length-identifier", ErrEmptyServerID},
		{"256-byte server id", func(n *Notification) { n.ServerID = strings.Repeat("a", 256) }, "server-identifier", ErrFieldRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := ok
			tt.mod(&n)
			b, err := Encode(n, "p", nil)
			var de *DecodeError
			if b != nil || !errors.As(err, &de) || de.Field != tt.wantField || !errors.Is(err, tt.wantErr) {
				t.Errorf("got %x, %v; want nil and %s/%v", b, err, tt.wantField, tt.wantErr)
			}
		})
	}
}

func TestEncodeDefaultVersionAndVendor(t *testing.T) {
	b, err := Encode(Notification{ServerID: "srv", SessionID: 0xabc, UIMode: UIUserInteraction, Initiator: InitiatorServer,
		Vendor: []byte{1, 2, 3}}, "pw", []byte("n"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if n.Version != DefaultVersion || !bytes.Equal(n.Vendor, []byte{1, 2, 3}) || n.SessionIDHex() != "ABC" {
		t.Errorf("got version %d vendor % x session %s, want 11, 01 02 03, ABC", n.Version, n.Vendor, n.SessionIDHex())
	}
	if !Verify(n, "srv", "pw", []byte("n")) {
		t.Error("digest over the vendor bytes did not verify")
	}
	// The digest covers the vendor trailer: changing it breaks verification.
	b[len(b)-1] ^= 1
	n2, _ := Decode(b)
	if Verify(n2, "srv", "pw", []byte("n")) {
		t.Error("tampered vendor bytes still verify")
	}
}

func TestSessionIDHex(t *testing.T) {
	tests := []struct {
		id   uint16
		want string
	}{{1, "1"}, {0x0abc, "ABC"}, {0x1234, "1234"}, {0xffff, "FFFF"}, {0x00f0, "F0"}, {0, "0"}}
	for _, tt := range tests {
		n := Notification{SessionID: tt.id}
		if got := n.SessionIDHex(); got != tt.want {
			t.Errorf("SessionIDHex(%#x): got %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	uiTests := []struct {
		in   string
		want UIMode
	}{
		{"background", UIBackground}, {"Informative", UIInformative}, {"user-interaction", UIUserInteraction},
		{"not-specified", UINotSpecified}, {"0", UINotSpecified}, {"3", UIUserInteraction},
	}
	for _, tt := range uiTests {
		got, err := ParseUIMode(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseUIMode(%q): got %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "4", "quiet", "-1"} {
		if _, err := ParseUIMode(bad); err == nil {
			t.Errorf("ParseUIMode(%q): got nil error", bad)
		}
	}
	if got := UIMode(2).String(); got != "informative" {
		t.Errorf("UIMode(2): got %q", got)
	}
	if got := UIMode(7).String(); got != "ui-mode(7)" {
		t.Errorf("UIMode(7): got %q", got)
	}
	initTests := []struct {
		in   string
		want Initiator
	}{{"server", InitiatorServer}, {"Client", InitiatorClient}, {"user", InitiatorClient}, {"0", InitiatorClient}, {"1", InitiatorServer}}
	for _, tt := range initTests {
		got, err := ParseInitiator(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseInitiator(%q): got %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseInitiator("2"); err == nil {
		t.Error("ParseInitiator(2): got nil error")
	}
	if InitiatorServer.String() != "server" || InitiatorClient.String() != "client" || Initiator(5).String() != "initiator(5)" {
		t.Error("Initiator.String is wrong")
	}
}

func TestVerifyWithResync(t *testing.T) {
	const id, pw = "srv", "secret"
	binNonce := []byte{0x00, 0xff, 0x10, 0x80, 0x7f}
	b64Nonce := []byte(base64.StdEncoding.EncodeToString(binNonce))
	mk := func(serverID string, nonce []byte) *Notification {
		t.Helper()
		b, err := Encode(Notification{ServerID: serverID, SessionID: 1}, pw, nonce)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// A message whose digest was made with another identity than its ServerID
	// field (libdmclient/Samsung use SRVCRED AAuthName).
	mkAs := func(digestID string, nonce []byte) *Notification {
		n := mk(id, nonce)
		n.Digest = auth.Digest(digestID, pw, nonce, n.Trigger)
		return n
	}
	tests := []struct {
		name    string
		n       *Notification
		creds   Credentials
		want    Match
		wantErr error
	}{
		{"stored nonce, base64-decoded", mk(id, binNonce), Credentials{ServerID: id, Password: pw, Nonce: b64Nonce},
			Match{NonceStored, true, id}, nil},
		{"stored nonce, literal (not base64)", mk(id, binNonce), Credentials{ServerID: id, Password: pw, Nonce: binNonce},
			Match{NonceStored, false, id}, nil},
		{"stored nonce, literal although valid base64", mk(id, b64Nonce), Credentials{ServerID: id, Password: pw, Nonce: b64Nonce},
			Match{NonceStored, false, id}, nil},
		{"resync", mk(id, ResyncNonce()), Credentials{ServerID: id, Password: pw, Nonce: b64Nonce},
			Match{NonceResync, false, id}, nil},
		{"stored nonce equal to the resync nonce counts as stored", mk(id, ResyncNonce()), Credentials{ServerID: id, Password: pw, Nonce: []byte("AAAAAA==")},
			Match{NonceStored, true, id}, nil},
		{"resync with empty stored nonce", mk(id, ResyncNonce()), Credentials{ServerID: id, Password: pw},
			Match{NonceResync, false, id}, nil},
		{"empty stored nonce", mk(id, nil), Credentials{ServerID: id, Password: pw},
			Match{NonceStored, false, id}, nil},
		{"server id from the notification", mk(id, binNonce), Credentials{Password: pw, Nonce: binNonce},
			Match{NonceStored, false, id}, nil},
		{"AAuthName second", mkAs("aauth-name", binNonce), Credentials{ServerID: id, AAuthName: "aauth-name", Password: pw, Nonce: binNonce},
			Match{NonceStored, false, "aauth-name"}, nil},
		{"AAuthName with resync", mkAs("aauth-name", ResyncNonce()), Credentials{ServerID: id, AAuthName: "aauth-name", Password: pw, Nonce: binNonce},
			Match{NonceResync, false, "aauth-name"}, nil},
		{"AAuthName equal to ServerID", mk(id, binNonce), Credentials{ServerID: id, AAuthName: id, Password: pw, Nonce: binNonce},
			Match{NonceStored, false, id}, nil},
		{"wrong password", mk(id, binNonce), Credentials{ServerID: id, Password: "Secret", Nonce: binNonce},
			Match{}, ErrDigestMismatch},
		{"wrong nonce", mk(id, binNonce), Credentials{ServerID: id, Password: pw, Nonce: []byte("other")},
			Match{}, ErrDigestMismatch},
		{"wrong server id", mk(id, binNonce), Credentials{ServerID: "srv2", Password: pw, Nonce: binNonce},
			Match{}, ErrDigestMismatch},
		{"ASCII 0x00000000 is not the resync nonce", mk(id, []byte("0x00000000")), Credentials{ServerID: id, Password: pw, Nonce: binNonce},
			Match{}, ErrDigestMismatch},
		{"nil notification", nil, Credentials{ServerID: id, Password: pw}, Match{}, ErrNoNotification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyWithResync(tt.n, tt.creds)
			if tt.wantErr == nil && err != nil || !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestVerifyRebuildsTrigger(t *testing.T) {
	b, err := Encode(Notification{ServerID: "s", SessionID: 9, Vendor: []byte{7}}, "p", []byte("n"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := Decode(b)
	n.Trigger = nil // a notification built by hand: the trigger comes from the fields
	if !Verify(n, "s", "p", []byte("n")) {
		t.Error("Verify without Trigger failed")
	}
	n.SessionID = 10
	if Verify(n, "s", "p", []byte("n")) {
		t.Error("Verify after changing the session id succeeded")
	}
	n.UIMode = 9
	if Verify(n, "s", "p", []byte("n")) {
		t.Error("Verify of an unencodable notification succeeded")
	}
	if Verify(nil, "s", "p", nil) {
		t.Error("Verify(nil) succeeded")
	}
	if _, err := VerifyWithResync(n, Credentials{Password: "p"}); !errors.Is(err, ErrFieldRange) {
		t.Errorf("VerifyWithResync of an unencodable notification: got %v, want ErrFieldRange", err)
	}
}

func TestCredentialsDoNotPrintSecrets(t *testing.T) {
	c := Credentials{ServerID: "srv", AAuthName: "name", Password: "hunter2-secret", Nonce: []byte("nonce-secret")}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(f, c)
		if strings.Contains(s, "hunter2") || strings.Contains(s, "nonce-secret") {
			t.Errorf("%s printed a secret: %s", f, s)
		}
		if !strings.Contains(s, "srv") {
			t.Errorf("%s lost the server id: %s", f, s)
		}
	}
	if s := fmt.Sprintf("%v", &c); strings.Contains(s, "hunter2") {
		t.Errorf("pointer printed a secret: %s", s)
	}
}

func TestMatchString(t *testing.T) {
	tests := []struct {
		m    Match
		want string
	}{
		{Match{NonceStored, true, "a"}, `stored nonce (base64-decoded) as "a"`},
		{Match{NonceStored, false, "a"}, `stored nonce (literal) as "a"`},
		{Match{NonceResync, false, "b"}, `resync nonce 00000000 as "b"`},
		{Match{}, "no match"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
