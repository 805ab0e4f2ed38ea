package system

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the name of the power-operation marker in Config.StateDir.
const StateFile = "system-power.json"

// maxState bounds the marker file read by Mount.
const maxState = 4096

// Phases of a Marker.
const (
	PhaseScheduled = "scheduled" // Exec accepted, the delay is running
	PhaseRequested = "requested" // logind accepted the Reboot/PowerOff call
	PhaseReport    = "report"    // the outcome is known, the alert is not yet delivered
	PhaseReported  = "reported"  // the alert was delivered (kept for the loop guard)
)

// Marker is the persisted state of one Reboot or PowerOff, written
// atomically (temporary file, fsync, rename) with mode 0600.
type Marker struct {
	V          int       `json:"v"`     // format version, 1
	Op         string    `json:"op"`    // OpReboot or OpPowerOff
	Phase      string    `json:"phase"` // Phase*
	BootID     string    `json:"boot_id"`
	Requested  time.Time `json:"requested"`
	Source     string    `json:"source"`
	Correlator string    `json:"correlator,omitempty"`
	DoneBootID string    `json:"done_boot_id,omitempty"` // the boot in which the outcome was seen
	Result     int       `json:"result,omitempty"`       // status reported in the alert
	Message    string    `json:"message,omitempty"`      // why it failed, if it did
	// NotBefore is set while a scheduled operation waits for a
	// maintenance window: when the window opens.
	NotBefore time.Time `json:"not_before,omitzero"`
}

// ErrBadState is wrapped by DecodeMarker errors.
var ErrBadState = errors.New("bad power state file")

// DecodeMarker parses and validates a marker file.
func DecodeMarker(b []byte) (Marker, error) {
	var m Marker
	if len(b) > maxState {
		return m, fmt.Errorf("%w: %d bytes", ErrBadState, len(b))
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return Marker{}, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return Marker{}, fmt.Errorf("%w: trailing data", ErrBadState)
	}
	if err := m.valid(); err != nil {
		return Marker{}, err
	}
	return m, nil
}

// Encode returns the JSON form of m.
func (m Marker) Encode() ([]byte, error) {
	if err := m.valid(); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func (m Marker) valid() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrBadState}, a...)...) }
	switch {
	case m.V != 1:
		return bad("version %d", m.V)
	case m.Op != OpReboot && m.Op != OpPowerOff:
		return bad("op %q", m.Op)
	case m.BootID == "" || len(m.BootID) > 64 || len(m.DoneBootID) > 64:
		return bad("boot id")
	case len(m.Source) > 1024 || len(m.Correlator) > 1024 || len(m.Message) > 1024:
		return bad("field too long")
	}
	switch m.Phase {
	case PhaseScheduled, PhaseRequested:
	case PhaseReport, PhaseReported:
		if m.Result < 100 || m.Result > 599 || m.DoneBootID == "" {
			return bad("phase %s with result %d, done boot %q", m.Phase, m.Result, m.DoneBootID)
		}
	default:
		return bad("phase %q", m.Phase)
	}
	return nil
}

// loadMarker reads dir/StateFile; ok is false when there is none.
func loadMarker(dir string) (m Marker, ok bool, err error) {
	f, err := os.Open(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return Marker{}, false, nil
	}
	if err != nil {
		return Marker{}, false, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxState+1))
	if err != nil {
		return Marker{}, false, err
	}
	m, err = DecodeMarker(b)
	return m, err == nil, err
}

// saveMarker writes m atomically with mode 0600.
func saveMarker(dir string, m Marker) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+StateFile+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, StateFile)); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func removeMarker(dir string) error {
	err := os.Remove(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
