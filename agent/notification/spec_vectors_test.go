package notification

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// Vectors from /work/shared/docs/protocol.md §1.6.

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

const (
	vecServerID = "com.mgmtsrv.manage"
	vecPassword = "serverpassword"
	vecNonce    = "srvnonce"
)

var specVectors = []struct {
	version       int
	trigger       string
	triggerB64    string
	digest        string
	pkg0          string
	resyncDigest  string
	versionString string
}{
	{
		version:       11,
		trigger:       "02d8000000123412 636f6d2e6d676d747372762e6d616e616765",
		triggerB64:    "Xds955fttnyjKkgbejrwfQ==",
		digest:        "3e0802a4e022f293ca4a4746355c2d73",
		pkg0:          "3e0802a4e022f293ca4a4746355c2d7302d8000000123412636f6d2e6d676d747372762e6d616e616765",
		resyncDigest:  "1b2fed4059c0ce56255b79bb38d6a8ed",
		versionString: "1.1",
	},
	{
		version:       12,
		trigger:       "0318000000123412 636f6d2e6d676d747372762e6d616e616765",
		triggerB64:    "NQOte6OddSW79eUoVtDXsA==",
		digest:        "15d47fba57a3e05ac422858874bcb4b6",
		pkg0:          "15d47fba57a3e05ac422858874bcb4b60318000000123412636f6d2e6d676d747372762e6d616e616765",
		resyncDigest:  "c65feb25bf09e1cec7d1266798bf13bb",
		versionString: "1.2",
	},
}

func TestSpecVectorPackage0(t *testing.T) {
	for _, v := range specVectors {
		t.Run(v.versionString, func(t *testing.T) {
			pkg0 := unhex(t, v.pkg0)
			if len(pkg0) != 42 {
				t.Fatalf("pkg0: got %d bytes, want 42", len(pkg0))
			}
			trigger := unhex(t, v.trigger)
			sum := md5.Sum(trigger)
			if got := base64.StdEncoding.EncodeToString(sum[:]); got != v.triggerB64 {
				t.Errorf("B64(H(trigger)): got %s, want %s", got, v.triggerB64)
			}

			// Encode from fields reproduces the message byte for byte.
			in := Notification{Version: v.version, UIMode: UIBackground, Initiator: InitiatorServer,
				SessionID: 0x1234, ServerID: vecServerID}
			got, err := Encode(in, vecPassword, []byte(vecNonce))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pkg0) {
				t.Errorf("Encode: got %x, want %x", got, pkg0)
			}
			resync, err := Encode(in, vecPassword, ResyncNonce())
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, v.resyncDigest); !bytes.Equal(resync[:16], want) {
				t.Errorf("resync digest: got %x, want %x", resync[:16], want)
			}
			if !bytes.Equal(resync[16:], trigger) {
				t.Errorf("resync trigger: got %x, want %x", resync[16:], trigger)
			}

			// Decode gives the fields back.
			n, err := Decode(pkg0)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(n.Digest[:]) != v.digest {
				t.Errorf("digest: got %x, want %s", n.Digest, v.digest)
			}
			if n.Version != v.version || n.VersionString() != v.versionString {
				t.Errorf("version: got %d (%s), want %d (%s)", n.Version, n.VersionString(), v.version, v.versionString)
			}
			if n.UIMode != UIBackground || n.Initiator != InitiatorServer || n.FutureUse != 0 {
				t.Errorf("flags: got ui %v init %v future %d, want background server 0", n.UIMode, n.Initiator, n.FutureUse)
			}
			if n.SessionID != 0x1234 || n.SessionIDHex() != "1234" {
				t.Errorf("session: got %#x %q, want 0x1234 \"1234\"", n.SessionID, n.SessionIDHex())
			}
			if n.ServerID != vecServerID || n.Vendor != nil {
				t.Errorf("server id / vendor: got %q % x, want %q none", n.ServerID, n.Vendor, vecServerID)
			}
			if !bytes.Equal(n.Trigger, trigger) {
				t.Errorf("Trigger: got %x, want %x", n.Trigger, trigger)
			}

			// Verification, both nonces.
			if !Verify(n, vecServerID, vecPassword, []byte(vecNonce)) {
				t.Error("Verify with the server nonce failed")
			}
			if Verify(n, vecServerID, vecPassword, ResyncNonce()) {
				t.Error("Verify with the resync nonce succeeded on a stored-nonce message")
			}
			m, err := VerifyWithResync(n, Credentials{ServerID: vecServerID, Password: vecPassword, Nonce: []byte(vecNonce)})
			if err != nil {
				t.Fatal(err)
			}
			// "srvnonce" is valid base64 (6 bytes), so the decoded form is tried
			// first and must fail; the literal bytes then match.
			if want := (Match{Nonce: NonceStored, Base64Decoded: false, Identity: vecServerID}); m != want {
				t.Errorf("VerifyWithResync: got %+v, want %+v", m, want)
			}
			rn, err := Decode(resync)
			if err != nil {
				t.Fatal(err)
			}
			m, err = VerifyWithResync(rn, Credentials{ServerID: vecServerID, Password: vecPassword, Nonce: []byte(vecNonce)})
			if err != nil {
				t.Fatal(err)
			}
			if m.Nonce != NonceResync {
				t.Errorf("resync message: got %v, want NonceResync", m)
			}
		})
	}
}

// TestSpecExampleHeader checks the spec appendix example (app2.jpeg):
// version 1.1, ui-mode 1, initiator 0, session 0x1234, server id
// "com.mgmtsrv.manage" gives the header bytes 02 D0 00 00 00 12 34 12.
func TestSpecExampleHeader(t *testing.T) {
	n := Notification{Version: 11, UIMode: UIBackground, Initiator: InitiatorClient, SessionID: 0x1234, ServerID: vecServerID}
	tr, err := n.AppendTrigger(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "02 D0 00 00 00 12 34 12 63 6F 6D 2E 6D 67 6D 74 73 72 76 2E 6D 61 6E 61 67 65")
	if !bytes.Equal(tr, want) {
		t.Errorf("got % X, want % X", tr, want)
	}
	// The spec's SMS user data around it: strip UDH (7) and WSP (6).
	sms := append(unhex(t, "06 05 04 0B 84 C0 02 01 06 03 C4 AF 87"), make([]byte, 16)...)
	sms = append(sms, want...)
	d, err := Decode(sms[13:])
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 11 || d.UIMode != UIBackground || d.Initiator != InitiatorClient || d.SessionID != 0x1234 || d.ServerID != vecServerID {
		t.Errorf("decode of the spec example: got %+v", d)
	}
}
