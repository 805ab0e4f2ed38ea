package auth

import "testing"

func BenchmarkMAC10KB(b *testing.B) {
	body := make([]byte, 10*1024)
	for i := range body {
		body[i] = byte(i)
	}
	nonce := []byte("ClientNonce")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_ = MAC("devuser", "devpass", nonce, body)
	}
}

func BenchmarkMD5Digest(b *testing.B) {
	nonce := []byte("0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		_ = MD5Digest("Bruce2", "OhBehave", nonce)
	}
}

func BenchmarkParseHMACHeader(b *testing.B) {
	const h = `algorithm=MD5, username="devuser", mac=wSbU2WfuxYLE5lR8ZWfpew==`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHMACHeader(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyBootstrapMAC(b *testing.B) {
	body := make([]byte, 220)
	key, _ := NetwPINKey("234150999999999")
	mac := BootstrapMAC(key, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyBootstrapMAC(SecNetwPIN, mac, body, "234150999999999", ""); err != nil {
			b.Fatal(err)
		}
	}
}
