package syncml

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The libwbxml tools (Debian libwbxml2-utils) are the independent oracle.
// Package wbxml compares token streams with them; here the comparison is at
// the message-model level: whatever path a corpus message takes between our
// codec and libwbxml, it must come back as the same Message.

func libwbxml(t *testing.T, tool string, in []byte, args ...string) ([]byte, string, error) {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found (%v): run `make deps` (Debian package libwbxml2-utils)", tool, err)
	}
	cmd := exec.Command(path, append(args, "-o", "-", "-")...)
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), strings.TrimSpace(errb.String()), err
}

func TestOracleModel(t *testing.T) {
	for _, f := range loadCorpus(t) {
		t.Run(f.name, func(t *testing.T) {
			want, err := DecodeXML(f.data)
			if err != nil {
				t.Fatal(err)
			}
			// (1) Our WBXML, decoded by wbxml2xml, then by our XML decoder.
			ours, err := Encode(want, WBXML)
			if err != nil {
				t.Fatal(err)
			}
			x, stderr, err := libwbxml(t, "wbxml2xml", ours, "-m", "0")
			if err != nil {
				t.Fatalf("wbxml2xml rejects our WBXML: %v: %s", err, stderr)
			}
			got, err := DecodeXML(x)
			if err != nil {
				t.Fatalf("decode wbxml2xml output: %v\n%s", err, x)
			}
			if !sameMessage(t, got, want) {
				t.Errorf("wbxml2xml(our WBXML) is a different message:\n%s", x)
			}
			// (2) libwbxml's WBXML, with and without string table, decoded by us.
			for _, args := range [][]string{{"-v", "1.2"}, {"-n", "-v", "1.2"}} {
				lib, stderr, err := libwbxml(t, "xml2wbxml", f.data, args...)
				if err != nil {
					if args[0] == "-n" && strings.Contains(stderr, "can't encode Literal") && hasUnknownElement(want) {
						continue // libwbxml needs the string table for unknown elements
					}
					t.Fatalf("xml2wbxml %v: %v: %s", args, err, stderr)
				}
				got, err := DecodeWBXML(lib)
				if err != nil {
					t.Fatalf("decode xml2wbxml %v output: %v", args, err)
				}
				if !sameMessage(t, got, want) {
					gx, _ := EncodeXML(got, "")
					t.Errorf("xml2wbxml %v decodes to a different message:\n%s", args, gx)
				}
			}
		})
	}
}

func hasUnknownElement(m *Message) bool {
	var walk func([]*Command) bool
	walk = func(cs []*Command) bool {
		for _, c := range cs {
			if c.Raw != nil || len(c.Extra) > 0 || walk(c.Children) {
				return true
			}
		}
		return false
	}
	return walk(m.Body)
}
