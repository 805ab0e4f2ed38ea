package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// Vectors from /work/shared/docs/protocol.md §4.1, §4.3, §3.4, §2.4 and §7.1.

// pkg1Hex is the 306-byte WBXML Package 1 of protocol.md §3.4, as printed
// there. testdata/pkg1.wbxml must hold exactly these bytes.
const pkg1Hex = `
02a4016a006d6c7103312e3200017203444d2f312e3200016503313233340001
5b033100016e570368747470733a2f2f646d2e6578616d706c652e636f6d2f64
6d000101675703494d45493a3439333030353130303539323830300001560342
72756365320001014e5a000147036236340001530373796e636d6c3a61757468
2d6d643500010100004f035a7a36456976523379656161454e63524e366c7041
513d3d0001015a00014c03313030303000015503353234323838000101010000
6b464b033100014f0331323030000101604b03320001546757032e2f44657649
6e666f2f44657649640001015a0001470363687200010100004fc314494d4549
3a3439333030353130303539323830300101546757032e2f446576496e666f2f
446d560001014fc303312e32010101120101`

// bootstrapHex is the 220-byte WBXML DM bootstrap of protocol.md §7.1.
// testdata/bootstrap-dm.wbxml must hold exactly these bytes.
const bootstrapHex = `02a4016a006d6c7103312e3200017203444d2f312e32000165033000015b033000016e5703494d45493a343933303035313030353932383030000101675703646d2e6578616d706c652e636f6d000101016b454b03310001546e57032e2f444d4163632f4578616d706c65444d0001015a000147036e6f6465000101010000546e57032e2f444d4163632f4578616d706c65444d2f41707049440001014fc30277370101546e57032e2f444d4163632f4578616d706c65444d2f53657276657249440001014fc30e646d2e6578616d706c652e636f6d010101120101`

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// readVector reads a testdata file and checks it against the hex printed in
// protocol.md, so the file cannot drift from the document.
func readVector(t testing.TB, name, wantHex string, wantLen int) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != wantLen {
		t.Fatalf("testdata/%s: got %d bytes, want %d", name, len(b), wantLen)
	}
	if want := unhex(t, wantHex); !bytes.Equal(b, want) {
		t.Fatalf("testdata/%s differs from the hex in protocol.md", name)
	}
	return b
}

func TestSpecVectorBasicMD5(t *testing.T) {
	// §4.1: user Bruce2, password OhBehave, nonce "Nonce".
	if got, want := Basic("Bruce2", "OhBehave"), "QnJ1Y2UyOk9oQmVoYXZl"; got != want {
		t.Errorf("Basic: got %s, want %s", got, want)
	}
	if got, want := MD5Digest("Bruce2", "OhBehave", []byte("Nonce")), "Zz6EivR3yeaaENcRN6lpAQ=="; got != want {
		t.Errorf("MD5Digest: got %s, want %s", got, want)
	}
	if !VerifyMD5("Bruce2", "OhBehave", []byte("Nonce"), "Zz6EivR3yeaaENcRN6lpAQ==") {
		t.Error("VerifyMD5 rejected the spec vector")
	}
	if !VerifyBasic("Bruce2", "OhBehave", "QnJ1Y2UyOk9oQmVoYXZl") {
		t.Error("VerifyBasic rejected the spec vector")
	}
}

func TestSpecVectorHMAC(t *testing.T) {
	// §4.3: user devuser, pass devpass, nonce "ClientNonce", body = §3.4 Pkg1.
	body := readVector(t, "pkg1.wbxml", pkg1Hex, 306)
	uh := userHash("devuser", "devpass")
	if got, want := string(uh[:]), "7reNMtCVdyQGPGwV7A/OlQ=="; got != want {
		t.Errorf("B64(H(devuser:devpass)): got %s, want %s", got, want)
	}
	if got, want := b64.EncodeToString(md5Sum(body)), "xiWQUazm4d7EwqtduULyFQ=="; got != want {
		t.Errorf("B64(H(body)): got %s, want %s", got, want)
	}
	nonce := []byte("ClientNonce")
	if got, want := MAC("devuser", "devpass", nonce, body), "wSbU2WfuxYLE5lR8ZWfpew=="; got != want {
		t.Errorf("MAC: got %s, want %s", got, want)
	}
	h, err := SignHMAC("devuser", "devpass", nonce, body)
	if err != nil {
		t.Fatal(err)
	}
	const wantHdr = `algorithm=MD5, username="devuser", mac=wSbU2WfuxYLE5lR8ZWfpew==`
	if got := h.String(); got != wantHdr {
		t.Errorf("header: got %s, want %s", got, wantHdr)
	}
	for _, s := range []string{wantHdr, `algorithm=MD5,username="devuser",mac=wSbU2WfuxYLE5lR8ZWfpew==`} {
		p, err := ParseHMACHeader(s)
		if err != nil {
			t.Fatalf("ParseHMACHeader(%q): %v", s, err)
		}
		if err := VerifyHMAC(p, "devuser", "devpass", nonce, body); err != nil {
			t.Errorf("VerifyHMAC(%q): %v", s, err)
		}
	}
	d := Digest("devuser", "devpass", nonce, body)
	if got, want := base64.StdEncoding.EncodeToString(d[:]), "wSbU2WfuxYLE5lR8ZWfpew=="; got != want {
		t.Errorf("Digest: got %s, want %s", got, want)
	}
}

func TestSpecVectorBootstrapMAC(t *testing.T) {
	// §2.4: NETWPIN, IMSI 234150999999999, body = §7.1 bootstrap.
	body := readVector(t, "bootstrap-dm.wbxml", bootstrapHex, 220)
	key, err := NetwPINKey("234150999999999")
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "29 43 51 90 99 99 99 99"); !bytes.Equal(key, want) {
		t.Fatalf("NetwPINKey: got % x, want % x", key, want)
	}
	const wantMAC = "CCE7A84919C94383788FCCE5E72C6CD791406C2A"
	if got := BootstrapMAC(key, body); got != wantMAC {
		t.Errorf("BootstrapMAC: got %s, want %s", got, wantMAC)
	}
	for _, m := range []string{wantMAC, strings.ToLower(wantMAC), wantMAC + "\x00"} {
		if err := VerifyBootstrapMAC(SecNetwPIN, m, body, "234150999999999", ""); err != nil {
			t.Errorf("VerifyBootstrapMAC(%q): %v", m, err)
		}
	}
}
