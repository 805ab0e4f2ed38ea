package fumo

import (
	"errors"
	"fmt"
	"strconv"
)

// State is the value of ./FUMO/<x>/State (FUMO §10.1, protocol.md §6.9).
type State int

// State values.
const (
	StateIdle                  State = 10  // Idle / Start
	StateDownloadFailed        State = 20  // Download Failed
	StateDownloadProgressing   State = 30  // Download Progressing
	StateDownloadComplete      State = 40  // Download Complete
	StateReadyToUpdate         State = 50  // Ready to Update
	StateUpdateProgressing     State = 60  // Update Progressing
	StateUpdateFailedHaveData  State = 70  // Update Failed / Have Data
	StateUpdateFailedNoData    State = 80  // Update Failed / No Data
	StateUpdateSuccessHaveData State = 90  // Update Successful / Have Data
	StateUpdateSuccessNoData   State = 100 // Update Successful / No Data
)

func (s State) String() string {
	switch s {
	case StateIdle:
		return "Idle"
	case StateDownloadFailed:
		return "Download Failed"
	case StateDownloadProgressing:
		return "Download Progressing"
	case StateDownloadComplete:
		return "Download Complete"
	case StateReadyToUpdate:
		return "Ready to Update"
	case StateUpdateProgressing:
		return "Update Progressing"
	case StateUpdateFailedHaveData:
		return "Update Failed / Have Data"
	case StateUpdateFailedNoData:
		return "Update Failed / No Data"
	case StateUpdateSuccessHaveData:
		return "Update Successful / Have Data"
	case StateUpdateSuccessNoData:
		return "Update Successful / No Data"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// valid reports whether s is one of the ten defined values.
func (s State) valid() bool { return s >= 10 && s <= 100 && s%10 == 0 }

// Result is a FUMO result code, the Data of the Generic Alert 1226
// (FUMO §10.1 result code table, protocol.md §6.9).
type Result int

// Result codes used by this package.
const (
	ResultSuccess           Result = 200 // Successful
	ResultClientError       Result = 400 // Management client error
	ResultCorrupted         Result = 402 // Corrupted firmware update package
	ResultMismatch          Result = 403 // Package/device mismatch
	ResultValidation        Result = 404 // Failed package validation (signature)
	ResultNotAcceptable     Result = 405 // Package not acceptable
	ResultAuthFailure       Result = 406 // Alternate download authentication failure
	ResultTimeout           Result = 407 // Alternate download request time-out
	ResultUndefined         Result = 409 // Undefined error
	ResultUpdateFailed      Result = 410 // Firmware update failed
	ResultBadURL            Result = 411 // Malformed or bad URL
	ResultServerUnavailable Result = 412 // Alternate download server unavailable
	ResultServerError       Result = 500 // Alternate download server error
	ResultDownloadNoMemory  Result = 501 // Download failed: out of memory (storage)
	ResultUpdateNoMemory    Result = 502 // Update failed: out of memory
	ResultNetwork           Result = 503 // Download failed: network issues
)

// Alert Meta Types of the Generic Alert 1226 (FUMO §10.1).
const (
	TypeDownload          = "org.openmobilealliance.dm.firmwareupdate.download"
	TypeUpdate            = "org.openmobilealliance.dm.firmwareupdate.update"
	TypeDownloadAndUpdate = "org.openmobilealliance.dm.firmwareupdate.downloadandupdate"
)

// MarkFailure is the alert Mark of a failed operation (the spec forbids
// "informational" on failure); success carries no Mark (the default,
// informational).
const MarkFailure = "critical"

// Sentinels callers and tests branch on; each is wrapped by a *JobError.
var (
	// ErrBusy is wrapped (with tree.ErrForbidden, 403) when an Exec or a
	// Replace arrives while a job is running.
	ErrBusy = errors.New("fumo: a firmware job is already running")
	// ErrNoPackage is wrapped (with tree.ErrForbidden) when Update is
	// executed without a downloaded or delivered package.
	ErrNoPackage = errors.New("fumo: no firmware package on the device")
)

// JobError is why a job failed: the FUMO result code reported in the alert
// and the cause (a *csp.BusError for D-Bus failures, keeping the D-Bus
// error name, or RAUC's LastError text).
type JobError struct {
	Op     string // "download", "install", "verify", "reboot check"
	Result Result
	Err    error
}

func (e *JobError) Error() string {
	return fmt.Sprintf("fumo %s: result %d: %v", e.Op, e.Result, e.Err)
}

func (e *JobError) Unwrap() error { return e.Err }

// resultOf returns the result code carried by err (a *JobError), else
// fallback.
func resultOf(err error, fallback Result) Result {
	var je *JobError
	if errors.As(err, &je) {
		return je.Result
	}
	return fallback
}
