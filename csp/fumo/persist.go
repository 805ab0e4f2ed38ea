package fumo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Persisted state: one JSON file, StateFile in Config.Dir, mode 0600,
// written atomically (temporary file, fsync, rename, fsync of the
// directory). Index of keys (schema version 1, mender datastore style):
//
//	v             int     schema version (1)
//	state         int     ./FUMO/<x>/State
//	download_url  string  ./FUMO/<x>/Download/PkgURL
//	dau_url       string  ./FUMO/<x>/DownloadAndUpdate/PkgURL
//	pkg_name      string  ./FUMO/<x>/PkgName
//	pkg_version   string  ./FUMO/<x>/PkgVersion
//	have_data     bool    a complete package is in PackageFile
//	job           object  the running or unreported job (Job), absent when none;
//	                      its not_before (RFC 3339, Job.NotBefore) was added
//	                      without a schema change: absent means no wait
//	mark          object  the mark of the last successful update (SlotMark),
//	                      absent when none (added without a schema change:
//	                      older readers ignore it)
//	notify        object  the DLOTA install notification of the last job
//	                      whose PkgURL was a download descriptor
//	                      (InstallNotify), absent when none (added without
//	                      a schema change)
//
// A job whose PkgURL answered with a download descriptor carries it in
// job.dd (Descriptor: object_uri, size, types, install_notify_uri, name,
// vendor, dd_version, notified), added without a schema change: absent
// means the PkgURL is the package itself (or not yet fetched).
//
// The job's phase id is the mender-style state type that survives a
// reboot: see Phase.

// StateFile is the name of the state file in Config.Dir.
const StateFile = "fumo.json"

// PackageFile is the name of the package (RAUC bundle) in Config.Dir; the
// download is streamed into PackageFile+".part" first.
const PackageFile = "package.raucb"

const schemaVersion = 1

// Op is the executed operation.
type Op string

// Operations (the Exec nodes).
const (
	OpDownload          Op = "download"
	OpUpdate            Op = "update"
	OpDownloadAndUpdate Op = "downloadandupdate"
)

func (o Op) valid() bool {
	return o == OpDownload || o == OpUpdate || o == OpDownloadAndUpdate
}

// alertType is the Generic Alert Meta Type of o.
func (o Op) alertType() string {
	switch o {
	case OpDownload:
		return TypeDownload
	case OpUpdate:
		return TypeUpdate
	}
	return TypeDownloadAndUpdate
}

// Phase is the persisted id of a job's state; the job loop runs the
// handler of the current phase, persists the next phase, and repeats.
type Phase string

// Phases, in the order a DownloadAndUpdate goes through them.
const (
	PhaseDownload  Phase = "download"  // streaming PkgURL into PackageFile.part (resumable)
	PhaseVerify    Phase = "verify"    // asking RAUC Info about the bundle
	PhaseInstall   Phase = "install"   // InstallBundle sent, waiting for Completed
	PhaseInstalled Phase = "installed" // installed; waiting for the reboot into the new slot
	PhaseReport    Phase = "report"    // Result decided; waiting for Report to succeed
	PhaseDone      Phase = "done"      // reported; kept only until the next Exec
)

func (p Phase) valid() bool {
	switch p {
	case PhaseDownload, PhaseVerify, PhaseInstall, PhaseInstalled, PhaseReport, PhaseDone:
		return true
	}
	return false
}

// Job is one Exec's work, persisted across restarts.
type Job struct {
	Op         Op        `json:"op"`
	Phase      Phase     `json:"phase"`
	Source     tree.URI  `json:"source"`                // the executed node
	Correlator string    `json:"correlator,omitempty"`  // from the Exec
	URL        string    `json:"url,omitempty"`         // PkgURL at Exec time
	Size       int64     `json:"size,omitempty"`        // total size announced by the server, 0 unknown
	Validator  string    `json:"validator,omitempty"`   // ETag or Last-Modified for If-Range
	Compatible string    `json:"compatible,omitempty"`  // bundle compatible (RAUC Info)
	Version    string    `json:"version,omitempty"`     // bundle version (RAUC Info)
	TargetSlot string    `json:"target_slot,omitempty"` // bootname of the slot RAUC wrote
	BootID     string    `json:"boot_id,omitempty"`     // boot in which the install completed
	Result     Result    `json:"result,omitempty"`      // decided result (PhaseReport, PhaseDone)
	Detail     string    `json:"detail,omitempty"`      // why it failed
	Started    time.Time `json:"started"`
	// NotBefore is set (UTC) while an installed job waits for the
	// maintenance window (Config.Window) to call Config.Reboot: the
	// window's next opening. Absent in older files: no wait.
	NotBefore time.Time `json:"not_before,omitzero"`
	// DD is the download descriptor PkgURL answered with (DLOTA); the
	// package is then its ObjectURI. Nil: PkgURL is the package.
	DD *Descriptor `json:"dd,omitempty"`
}

// Snapshot is the whole state file (see the key index above).
type Snapshot struct {
	V           int            `json:"v"`
	State       State          `json:"state"`
	DownloadURL string         `json:"download_url,omitempty"`
	DAUURL      string         `json:"dau_url,omitempty"`
	PkgName     string         `json:"pkg_name,omitempty"`
	PkgVersion  string         `json:"pkg_version,omitempty"`
	HaveData    bool           `json:"have_data,omitempty"`
	Job         *Job           `json:"job,omitempty"`
	Mark        *SlotMark      `json:"mark,omitempty"`
	Notify      *InstallNotify `json:"notify,omitempty"`
}

// ErrBadState is wrapped by DecodeState for a state file it cannot use.
var ErrBadState = errors.New("fumo: bad state file")

// DecodeState parses a state file. It never panics; anything but a known
// schema version with valid State, Op, Phase and mark status values (and
// a mark with a slot) is ErrBadState.
func DecodeState(b []byte) (Snapshot, error) {
	var p Snapshot
	if err := json.Unmarshal(b, &p); err != nil {
		return Snapshot{}, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	if p.V != schemaVersion {
		return Snapshot{}, fmt.Errorf("%w: schema version %d, want %d", ErrBadState, p.V, schemaVersion)
	}
	if !p.State.valid() {
		return Snapshot{}, fmt.Errorf("%w: State %d", ErrBadState, p.State)
	}
	if j := p.Job; j != nil {
		if !j.Op.valid() {
			return Snapshot{}, fmt.Errorf("%w: job op %q", ErrBadState, j.Op)
		}
		if !j.Phase.valid() {
			return Snapshot{}, fmt.Errorf("%w: job phase %q", ErrBadState, j.Phase)
		}
		if j.Size < 0 {
			return Snapshot{}, fmt.Errorf("%w: job size %d", ErrBadState, j.Size)
		}
		if dd := j.DD; dd != nil && (dd.Size < 0 || (dd.ObjectURI == "" && dd.InstallNotifyURI == "")) {
			return Snapshot{}, fmt.Errorf("%w: job descriptor size %d, object %q", ErrBadState, dd.Size, dd.ObjectURI)
		}
	}
	if m := p.Mark; m != nil && (!m.Status.valid() || m.Tries < 0 || m.Slot == "") {
		return Snapshot{}, fmt.Errorf("%w: mark status %q, slot %q, tries %d", ErrBadState, m.Status, m.Slot, m.Tries)
	}
	if n := p.Notify; n != nil && (!n.State.valid() || n.URI == "" || n.Tries < 0 || n.Status < 900 || n.Status > 999) {
		return Snapshot{}, fmt.Errorf("%w: notify state %q, uri %q, status %d, tries %d", ErrBadState, n.State, n.URI, n.Status, n.Tries)
	}
	return p, nil
}

// encodeState is the inverse of DecodeState.
func encodeState(p Snapshot) ([]byte, error) {
	p.V = schemaVersion
	return json.Marshal(p)
}

// loadState reads dir/StateFile; a missing file is the initial state.
func loadState(dir string) (Snapshot, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return Snapshot{V: schemaVersion, State: StateIdle}, nil
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("fumo: read state: %w", err)
	}
	p, err := DecodeState(b)
	if err != nil {
		return Snapshot{}, fmt.Errorf("fumo: %s: %w", filepath.Join(dir, StateFile), err)
	}
	return p, nil
}

// saveState writes p atomically with mode 0600.
func saveState(dir string, p Snapshot) error {
	b, err := encodeState(p)
	if err != nil {
		return fmt.Errorf("fumo: encode state: %w", err)
	}
	return writeAtomic(dir, StateFile, b)
}

func writeAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("fumo: write %s: %w", name, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("fumo: write %s: %w", name, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fumo: write %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fumo: write %s: %w", name, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
