package notification

import (
	"testing"
)

// BenchmarkDecodeVerifyWithResync is the cost of handling one Package #0 in
// the worst case that still succeeds: the stored nonce is valid base64 and
// wrong both ways, so the resync nonce matches third.
func BenchmarkDecodeVerifyWithResync(b *testing.B) {
	pkg0, err := Encode(Notification{ServerID: vecServerID, SessionID: 0x1234, UIMode: UIBackground, Initiator: InitiatorServer},
		vecPassword, ResyncNonce())
	if err != nil {
		b.Fatal(err)
	}
	creds := Credentials{ServerID: vecServerID, Password: vecPassword, Nonce: []byte("c3J2bm9uY2U=")}
	b.SetBytes(int64(len(pkg0)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := Decode(pkg0)
		if err != nil {
			b.Fatal(err)
		}
		if m, err := VerifyWithResync(n, creds); err != nil || m.Nonce != NonceResync {
			b.Fatal(m, err)
		}
	}
}

// BenchmarkDecodeVerifyStored is the common case: the stored nonce matches
// first (base64-decoded).
func BenchmarkDecodeVerifyStored(b *testing.B) {
	pkg0, err := Encode(Notification{ServerID: vecServerID, SessionID: 0x1234}, vecPassword, []byte("srvnonce"))
	if err != nil {
		b.Fatal(err)
	}
	creds := Credentials{ServerID: vecServerID, Password: vecPassword, Nonce: []byte("c3J2bm9uY2U=")}
	b.SetBytes(int64(len(pkg0)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := Decode(pkg0)
		if err != nil {
			b.Fatal(err)
		}
		if m, err := VerifyWithResync(n, creds); err != nil || m.Nonce != NonceStored {
			b.Fatal(m, err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	pkg0 := unhex(b, specVectors[0].pkg0)
	b.SetBytes(int64(len(pkg0)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(pkg0); err != nil {
			b.Fatal(err)
		}
	}
}
