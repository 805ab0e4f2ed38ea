package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// protocol.md §1.6 version-11 vector: ServerID com.mgmtsrv.manage, password
// serverpassword, nonce "srvnonce", ui 1, initiator 1, session 0x1234.
const (
	pkg0V11Hex   = "3e0802a4e022f293ca4a4746355c2d7302d8000000123412636f6d2e6d676d747372762e6d616e616765"
	pkg0V12Hex   = "15d47fba57a3e05ac422858874bcb4b60318000000123412636f6d2e6d676d747372762e6d616e616765"
	pkg0Password = "serverpassword"
)

func runCLI(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runMain(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func mustUnhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNotificationEncodeSpecVector(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"v11 text nonce", []string{"--nonce", "srvnonce"}, pkg0V11Hex},
		{"v11 hex nonce", []string{"--nonce-hex", hex.EncodeToString([]byte("srvnonce"))}, pkg0V11Hex},
		{"v12", []string{"--nonce", "srvnonce", "--version", "12"}, pkg0V12Hex},
		{"v11 resync digest", []string{"--nonce-hex", "00000000"}, "1b2fed4059c0ce56255b79bb38d6a8ed" + pkg0V11Hex[32:]},
		{"numeric ui/initiator, hex session", []string{"--nonce", "srvnonce", "--ui-mode", "1", "--initiator", "1", "--session-id", "0x1234"}, pkg0V11Hex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"notification", "encode", "--server-id", "com.mgmtsrv.manage",
				"--server-password", pkg0Password, "--session-id", "4660", "--ui-mode", "background", "--initiator", "server"}, tt.args...)
			// --hex output
			code, out, errs := runCLI(t, nil, append(args, "--hex")...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			if got := strings.TrimSpace(out); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			// raw output
			code, out, errs = runCLI(t, nil, args...)
			if code != 0 {
				t.Fatalf("raw: exit %d, stderr %q", code, errs)
			}
			if want := mustUnhex(t, tt.want); out != string(want) {
				t.Errorf("raw: got %x, want %x", out, want)
			}
			if strings.Contains(out+errs, pkg0Password) {
				t.Error("output contains the password")
			}
		})
	}
}

func TestNotificationDecode(t *testing.T) {
	dir := t.TempDir()
	rawFile := filepath.Join(dir, "pkg0.bin")
	if err := os.WriteFile(rawFile, mustUnhex(t, pkg0V11Hex), 0o600); err != nil {
		t.Fatal(err)
	}
	hexFile := filepath.Join(dir, "pkg0.hex")
	pasted := "3e 08 02 a4 e0 22 f2 93 ca 4a 47 46 35 5c 2d 73\n02D8000000123412\r\n636F6D2E6D676D747372762E6D616E616765\n"
	if err := os.WriteFile(hexFile, []byte(pasted), 0o600); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(pkg0Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFields := []string{
		"version:      11 (1.1)\n",
		"ui-mode:      1 (background)\n",
		"initiator:    1 (server)\n",
		"future-use:   0\n",
		"session-id:   4660 (SessionID 1234)\n",
		"server-id:    com.mgmtsrv.manage\n",
		"vendor:       (none)\n",
	}
	tests := []struct {
		name      string
		stdin     []byte
		args      []string
		wantLines []string
		digest    string // default: the stored-nonce digest
	}{
		{"raw file", nil, []string{rawFile}, nil, ""},
		{"hex file", nil, []string{hexFile}, nil, ""},
		{"stdin raw", mustUnhex(t, pkg0V11Hex), []string{"-"}, nil, ""},
		{"stdin hex, no argument", []byte(pkg0V11Hex + "\n"), nil, nil, ""},
		{"verify stored nonce, flags after file", nil, []string{rawFile, "--server-password", pkg0Password, "--nonce", "srvnonce"},
			[]string{`digest-check: OK, stored nonce (literal) as "com.mgmtsrv.manage"`}, ""},
		{"verify base64 nonce", nil, []string{"--server-password", pkg0Password, "--nonce", "c3J2bm9uY2U=", rawFile},
			[]string{`digest-check: OK, stored nonce (base64-decoded) as "com.mgmtsrv.manage"`}, ""},
		{"verify hex nonce, password file", nil, []string{rawFile, "--server-password-file", pwFile, "--nonce-hex", "73 72 76 6e 6f 6e 63 65"},
			[]string{`digest-check: OK, stored nonce (literal)`}, ""},
		{"verify falls back to resync", mustUnhex(t, "1b2fed4059c0ce56255b79bb38d6a8ed"+pkg0V11Hex[32:]),
			[]string{"--server-password", pkg0Password, "--nonce", "stale"},
			[]string{`digest-check: OK, resync nonce 00000000 as "com.mgmtsrv.manage"`, "note:         resync"}, "1b2fed4059c0ce56255b79bb38d6a8ed"},
		{"verify without nonce tries resync", mustUnhex(t, "1b2fed4059c0ce56255b79bb38d6a8ed"+pkg0V11Hex[32:]),
			[]string{"--server-password", pkg0Password},
			[]string{`digest-check: OK, resync nonce 00000000`}, "1b2fed4059c0ce56255b79bb38d6a8ed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.stdin, append([]string{"notification", "decode"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			digest := tt.digest
			if digest == "" {
				digest = "3e0802a4e022f293ca4a4746355c2d73"
			}
			want := append([]string{"digest:       " + digest + "\n"}, wantFields...)
			for _, w := range append(want, tt.wantLines...) {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out+errs, pkg0Password) {
				t.Error("output contains the password")
			}
		})
	}
}

func TestNotificationDecodeV12AndVendor(t *testing.T) {
	code, out, errs := runCLI(t, []byte(pkg0V12Hex), "notification", "decode")
	if code != 0 || !strings.Contains(out, "version:      12 (1.2)\n") {
		t.Errorf("v12: exit %d, out %q, err %q", code, out, errs)
	}
	// Unsupported version and future-use bits: decoded with a warning, exit 0.
	odd := mustUnhex(t, strings.Repeat("00", 16)+"0357ffffff0001"+"03"+"612062"+"beef")
	code, out, errs = runCLI(t, odd, "notification", "decode")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, w := range []string{"version:      13 (1.3)\n", "future-use:   0x7ffffff (MUST be 0)\n", "server-id:    a b\n", "vendor:       beef (2 bytes)\n", "session-id:   1 (SessionID 1)\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(errs, "warning: field version at offset 16") {
		t.Errorf("stderr lacks the version warning: %q", errs)
	}
	// A server id with control characters is quoted, not written raw.
	ctl := mustUnhex(t, strings.Repeat("00", 16)+"02d8000000000102"+"1b5b")
	_, out, _ = runCLI(t, ctl, "notification", "decode")
	if !strings.Contains(out, `server-id:    "\x1b["`) {
		t.Errorf("control characters not quoted:\n%s", out)
	}
}

func TestNotificationErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.bin")
	// Length byte says 18, only 5 bytes follow.
	if err := os.WriteFile(short, mustUnhex(t, pkg0V11Hex[:2*29]), 0o600); err != nil {
		t.Fatal(err)
	}
	enc := []string{"notification", "encode", "--server-id", "s", "--server-password", "pw", "--nonce", "n",
		"--session-id", "1", "--ui-mode", "background", "--initiator", "server"}
	tests := []struct {
		name     string
		stdin    []byte
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no subcommand", nil, []string{"notification"}, 2, "missing subcommand"},
		{"unknown subcommand", nil, []string{"notification", "verify"}, 2, `unknown subcommand "verify"`},
		{"truncated server id", nil, []string{"notification", "decode", short}, 1, "field server-identifier at offset 24: message too short: need 42 bytes, have 29"},
		{"zero-length server id", mustUnhex(t, strings.Repeat("00", 16)+"02d800000012340061"), []string{"notification", "decode"}, 1, "field length-identifier at offset 23: zero-length server identifier"},
		{"too short", []byte("3e0802"), []string{"notification", "decode"}, 1, "field digest at offset 0"},
		{"odd hex", []byte("3e0802a"), []string{"notification", "decode"}, 1, "hex input"},
		{"empty input", nil, []string{"notification", "decode"}, 1, "field digest at offset 0"},
		{"missing file", nil, []string{"notification", "decode", filepath.Join(dir, "nope")}, 1, "no such file"},
		{"two files", nil, []string{"notification", "decode", short, short}, 2, "at most one input file"},
		{"digest mismatch", []byte(pkg0V11Hex), []string{"notification", "decode", "--server-password", "wrong-secret", "--nonce", "srvnonce"}, 1,
			"digest mismatch: no match with the given nonce (also base64-decoded) and the resync nonce 00000000"},
		{"nonce without password", []byte(pkg0V11Hex), []string{"notification", "decode", "--nonce", "x"}, 2, "need --server-password"},
		{"both nonces", []byte(pkg0V11Hex), []string{"notification", "decode", "--server-password", "p", "--nonce", "x", "--nonce-hex", "00"}, 2, "exclusive"},
		{"bad nonce hex", []byte(pkg0V11Hex), []string{"notification", "decode", "--server-password", "p", "--nonce-hex", "0g"}, 2, "--nonce-hex"},
		{"unknown flag", nil, []string{"notification", "decode", "--bogus"}, 2, "flag provided but not defined"},
		{"encode missing flags", nil, []string{"notification", "encode", "--server-id", "s"}, 2,
			"missing --server-password, --nonce or --nonce-hex, --session-id, --ui-mode, --initiator"},
		{"encode bad ui-mode", nil, append(enc, "--ui-mode", "loud"), 2, "--ui-mode"},
		{"encode bad initiator", nil, append(enc, "--initiator", "both"), 2, "--initiator"},
		{"encode session 0", nil, append(enc, "--session-id", "0"), 2, "--session-id"},
		{"encode session too big", nil, append(enc, "--session-id", "65536"), 2, "--session-id"},
		{"encode bad version", nil, append(enc, "--version", "1024"), 2, "--version"},
		{"encode bad vendor", nil, append(enc, "--vendor-hex", "xyz"), 2, "--vendor-hex"},
		{"encode long server id", nil, append(enc, "--server-id", strings.Repeat("s", 256)), 2, "at most 255"},
		{"encode positional", nil, append(enc, "extra"), 2, "no arguments"},
		{"encode password twice", nil, append(enc, "--server-password-file", short), 2, "exclusive"},
		{"encode missing password file", nil, []string{"notification", "encode", "--server-password-file", filepath.Join(dir, "nope")}, 1, "--server-password-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit: got %d, want %d (stderr %q)", code, tt.wantCode, errs)
			}
			if !strings.Contains(errs, tt.wantErr) {
				t.Errorf("stderr: got %q, want it to contain %q", errs, tt.wantErr)
			}
			if strings.Contains(errs, "wrong-secret") || strings.Contains(errs, "serverpassword") {
				t.Errorf("stderr contains a password: %q", errs)
			}
			// Decode errors are exactly one line.
			if tt.wantCode == 1 && strings.Count(errs, "\n") != 1 {
				t.Errorf("want one line on stderr, got %q", errs)
			}
		})
	}
}

func TestNotificationRoundTripCLI(t *testing.T) {
	code, out, errs := runCLI(t, nil, "notification", "encode", "--server-id", "dm.example.com", "--server-password", "pw",
		"--nonce-hex", "00ff10", "--session-id", "0xABC", "--ui-mode", "user-interaction", "--initiator", "client",
		"--vendor-hex", "01 02", "--hex")
	if code != 0 {
		t.Fatalf("encode: exit %d, %q", code, errs)
	}
	code, dec, errs := runCLI(t, []byte(out), "notification", "decode", "--server-password", "pw", "--nonce-hex", "00ff10", "--server-id", "other")
	if code != 0 {
		t.Fatalf("decode: exit %d, %q", code, errs)
	}
	for _, w := range []string{"ui-mode:      3 (user-interaction)", "initiator:    0 (client)", "session-id:   2748 (SessionID ABC)",
		"server-id:    dm.example.com", "vendor:       0102 (2 bytes)", `digest-check: OK, stored nonce (literal) as "dm.example.com"`} {
		if !strings.Contains(dec, w) {
			t.Errorf("decode output lacks %q:\n%s", w, dec)
		}
	}
}
