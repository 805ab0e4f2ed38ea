package modemtest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

//go:embed testdata/gammu_pdu.py
var gammuScript string

// Python is Debian's interpreter, the one that sees python3-gammu.
const Python = "/usr/bin/python3"

// PDUSpec describes one SMS-DELIVER for EncodeDeliver.
type PDUSpec struct {
	UDH    string `json:"udh,omitempty"`    // hex, with UDHL (8-bit data)
	Data   string `json:"data,omitempty"`   // hex user data after the UDH (8-bit data)
	Number string `json:"number,omitempty"` // originator, default +491701234567
	Text   string `json:"text,omitempty"`   // a GSM 7-bit text SMS instead (no UDH)
}

// EncodeDeliver encodes SMS-DELIVER PDUs (SMSC address + TPDU, upper-case
// hex) with python3-gammu, an encoder independent of the code under test. It
// returns an error saying "run make deps" when python3-gammu is missing.
func EncodeDeliver(specs ...PDUSpec) ([]string, error) {
	in, err := json.Marshal(specs)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(Python); err != nil {
		return nil, fmt.Errorf("%s missing (run `make deps`): %w", Python, err)
	}
	cmd := exec.Command(Python, "-c", gammuScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "No module named 'gammu'") {
			return nil, fmt.Errorf("python3-gammu is not installed (run `make deps`)")
		}
		return nil, fmt.Errorf("gammu encoder: %w: %s", err, stderr.String())
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(specs) {
		return nil, fmt.Errorf("gammu encoder: got %d PDUs, want %d", len(lines), len(specs))
	}
	return lines, nil
}
