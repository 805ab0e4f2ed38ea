package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

const syncmlCorpus = "../../../testdata/syncml"

// vector34 is protocol.md §3.4 (306 bytes).
const syncmlVector34 = "02a4016a006d6c7103312e3200017203444d2f312e3200016503313233340001" +
	"5b033100016e570368747470733a2f2f646d2e6578616d706c652e636f6d2f64" +
	"6d000101675703494d45493a3439333030353130303539323830300001560342" +
	"72756365320001014e5a000147036236340001530373796e636d6c3a61757468" +
	"2d6d643500010100004f035a7a36456976523379656161454e63524e366c7041" +
	"513d3d0001015a00014c03313030303000015503353234323838000101010000" +
	"6b464b033100014f0331323030000101604b03320001546757032e2f44657649" +
	"6e666f2f44657649640001015a0001470363687200010100004fc314494d4549" +
	"3a3439333030353130303539323830300101546757032e2f446576496e666f2f" +
	"446d560001014fc303312e32010101120101"

func runSyncml(t *testing.T, stdin []byte, args ...string) (int, []byte, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), append([]string{"syncml"}, args...), bytes.NewReader(stdin), &out, &errb)
	return code, out.Bytes(), errb.String()
}

func sameModel(t *testing.T, a, b []byte) bool {
	t.Helper()
	ma, _, err := syncml.Decode(a)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	mb, _, err := syncml.Decode(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	xa, err1 := syncml.Encode(ma, syncml.XML)
	xb, err2 := syncml.Encode(mb, syncml.XML)
	return err1 == nil && err2 == nil && bytes.Equal(xa, xb)
}

func TestSyncmlEncodeVector(t *testing.T) {
	want, _ := hex.DecodeString(syncmlVector34)
	code, out, stderr := runSyncml(t, nil, "encode", filepath.Join(syncmlCorpus, "01_pkg1_vector_3_4.xml"))
	if code != 0 {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("got %x, want the §3.4 vector", out)
	}
}

func TestSyncmlDecode(t *testing.T) {
	vec, _ := hex.DecodeString(syncmlVector34)
	xmlIn, err := os.ReadFile(filepath.Join(syncmlCorpus, "01_pkg1_vector_3_4.xml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin []byte
		args  []string
		want  []byte
	}{
		{"wbxml stdin", vec, []string{"decode", "-"}, xmlIn},
		{"wbxml no arg", vec, []string{"decode"}, xmlIn},
		{"xml file", nil, []string{"decode", filepath.Join(syncmlCorpus, "01_pkg1_vector_3_4.xml")}, xmlIn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runSyncml(t, tt.stdin, tt.args...)
			if code != 0 {
				t.Fatalf("got exit %d (%s), want 0", code, stderr)
			}
			if !bytes.Contains(out, []byte("\n  <SyncHdr>")) && !bytes.Contains(out, []byte("\n <SyncHdr>")) {
				t.Errorf("output is not indented XML:\n%s", out)
			}
			if !sameModel(t, out, tt.want) {
				t.Errorf("decoded output is a different message:\n%s", out)
			}
		})
	}
}

// Unknown and unused elements must show in the decode output, and the
// problems the session would answer are listed on stderr.
func TestSyncmlDecodeKeepsUnknown(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(syncmlCorpus, "27_unsupported_and_unknown.xml"))
	if err != nil {
		t.Fatal(err)
	}
	code, wb, stderr := runSyncml(t, in, "encode")
	if code != 0 {
		t.Fatalf("encode: exit %d: %s", code, stderr)
	}
	for _, input := range [][]byte{in, wb} {
		code, out, stderr := runSyncml(t, input, "decode")
		if code != 0 {
			t.Fatalf("decode: exit %d: %s", code, stderr)
		}
		for _, s := range []string{"Frobnicate", "Knob", "<Lang>en</Lang>", "SftDel", "MapItem", "Search"} {
			if !strings.Contains(string(out), s) {
				t.Errorf("decode output lacks %s", s)
			}
		}
		if !strings.Contains(stderr, "Frobnicate") || !strings.Contains(stderr, "status 400") || !strings.Contains(stderr, "status 406") {
			t.Errorf("got stderr %q, want warnings for the rejected commands", stderr)
		}
	}
}

func TestSyncmlBadInput(t *testing.T) {
	vec, _ := hex.DecodeString(syncmlVector34)
	tests := []struct {
		name   string
		stdin  []byte
		args   []string
		code   int
		substr []string
	}{
		{"truncated xml", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>`), []string{"decode"}, 1, []string{"SyncML/SyncHdr", "offset 62"}},
		{"truncated wbxml", vec[:100], []string{"decode", "-"}, 1, []string{"STR_I", "offset 95"}},
		{"no SyncHdr", []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody/></SyncML>`), []string{"encode"}, 1, []string{"SyncBody", "offset 33", "missing SyncHdr"}},
		{"wbxml to encode", vec[:3], []string{"encode"}, 1, []string{"offset"}},
		{"missing file", nil, []string{"decode", "/nonexistent/x.xml"}, 1, []string{"/nonexistent/x.xml"}},
		{"no subcommand", nil, nil, 2, []string{"usage"}},
		{"bad subcommand", nil, []string{"frob"}, 2, []string{"frob"}},
		{"two files", nil, []string{"decode", "a", "b"}, 2, []string{"at most one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runSyncml(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Fatalf("got exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if len(out) != 0 {
				t.Errorf("got stdout %q, want nothing", out)
			}
			if tt.code == 1 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("got stderr %q, want exactly one line", stderr)
			}
			for _, s := range tt.substr {
				if !strings.Contains(stderr, s) {
					t.Errorf("got stderr %q, want it to mention %q", stderr, s)
				}
			}
		})
	}
}
