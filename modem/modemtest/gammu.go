package modemtest

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed testdata/gammu_pdu.py
var gammuScript string

// GammuCacheEnv is the environment variable naming EncodeDeliver's cache
// directory ("" or unset: no cache).
const GammuCacheEnv = "OMADM_GAMMU_CACHE"

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
	// GammuCacheEnv names a directory of python3-gammu's answers, keyed by
	// the request: the native test run fills it, and the qemu-user runs read
	// it instead of forking python3 from the emulated test binary (qemu-user
	// can deadlock in such a fork; see the Makefile's test-qemu).
	cache := ""
	if dir := os.Getenv(GammuCacheEnv); dir != "" {
		sum := sha256.Sum256(append([]byte(gammuScript), in...))
		cache = filepath.Join(dir, hex.EncodeToString(sum[:]))
		if b, err := os.ReadFile(cache); err == nil {
			if lines := strings.Fields(string(b)); len(lines) == len(specs) {
				return lines, nil
			}
		}
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
	if cache != "" {
		// Best effort: a failed write only means the next run asks gammu.
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err == nil {
			if f, err := os.CreateTemp(filepath.Dir(cache), ".tmp-*"); err == nil {
				_, werr := f.Write(out)
				if f.Close() == nil && werr == nil {
					_ = os.Rename(f.Name(), cache)
				} else {
					os.Remove(f.Name())
				}
			}
		}
	}
	return lines, nil
}
