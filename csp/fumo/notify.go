package fumo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// NotifyStatus is a DLOTA 1.0 install notification status code, POSTed
// to the DD's installNotifyURI as "<code> <text>".
type NotifyStatus int

// DLOTA 1.0 status codes.
const (
	StatusSuccess            NotifyStatus = 900 // Success
	StatusInsufficientMemory NotifyStatus = 901 // Insufficient memory
	StatusUserCancelled      NotifyStatus = 902 // User Cancelled (never sent: no UI)
	StatusLossOfService      NotifyStatus = 903 // Loss of Service
	StatusAttributeMismatch  NotifyStatus = 905 // Attribute mismatch
	StatusInvalidDescriptor  NotifyStatus = 906 // Invalid descriptor
	StatusInvalidDDVersion   NotifyStatus = 951 // Invalid DDVersion
	StatusDeviceAborted      NotifyStatus = 952 // Device Aborted
	StatusNonAcceptable      NotifyStatus = 953 // Non-Acceptable Content
	StatusLoaderError        NotifyStatus = 954 // Loader Error
)

func (s NotifyStatus) String() string {
	switch s {
	case StatusSuccess:
		return "900 Success"
	case StatusInsufficientMemory:
		return "901 Insufficient memory"
	case StatusUserCancelled:
		return "902 User Cancelled"
	case StatusLossOfService:
		return "903 Loss of Service"
	case StatusAttributeMismatch:
		return "905 Attribute mismatch"
	case StatusInvalidDescriptor:
		return "906 Invalid descriptor"
	case StatusInvalidDDVersion:
		return "951 Invalid DDVersion"
	case StatusDeviceAborted:
		return "952 Device Aborted"
	case StatusNonAcceptable:
		return "953 Non-Acceptable Content"
	case StatusLoaderError:
		return "954 Loader Error"
	}
	return strconv.Itoa(int(s))
}

// NotifyState is the progress of an install notification.
type NotifyState string

// Install notification states.
const (
	NotifyPending NotifyState = "pending" // to be POSTed (again)
	NotifySent    NotifyState = "sent"    // the server answered 2xx
	NotifyFailed  NotifyState = "failed"  // given up after Config.NotifyTries attempts, or no usable URI
)

func (s NotifyState) valid() bool {
	return s == NotifyPending || s == NotifySent || s == NotifyFailed
}

// InstallNotify is the install notification of the last job that used a
// DD with an installNotifyURI, persisted in the state file (key
// "notify"). Like SlotMark it outlives its job.
type InstallNotify struct {
	URI    string       `json:"uri"`
	Status NotifyStatus `json:"status"`
	Job    time.Time    `json:"job"` // Job.Started of the job it reports
	State  NotifyState  `json:"state"`
	Tries  int          `json:"tries,omitempty"`
	Error  string       `json:"error,omitempty"`
}

// mismatchError is an object that does not match its DD (DLOTA 905).
type mismatchError struct{ err error }

func (e *mismatchError) Error() string { return e.err.Error() }
func (e *mismatchError) Unwrap() error { return e.err }

// notifyStatusOf maps a failed job's error to the DLOTA status code.
func notifyStatusOf(err error) NotifyStatus {
	var de *DDError
	if errors.As(err, &de) {
		return de.Status
	}
	var me *mismatchError
	if errors.As(err, &me) {
		return StatusAttributeMismatch
	}
	var je *JobError
	if !errors.As(err, &je) {
		return StatusDeviceAborted
	}
	switch je.Result {
	case ResultDownloadNoMemory, ResultUpdateNoMemory:
		return StatusInsufficientMemory
	case ResultNetwork, ResultTimeout, ResultServerUnavailable:
		return StatusLossOfService
	case ResultCorrupted, ResultMismatch, ResultValidation, ResultNotAcceptable:
		return StatusNonAcceptable
	}
	if je.Op == "download" {
		return StatusLoaderError
	}
	return StatusDeviceAborted
}

// queueNotifyLocked records the install notification of j (once per job)
// in p.st; it is saved with the job's next transition and sent by the
// notifier goroutine.
func (p *Provider) queueNotifyLocked(j *Job, s NotifyStatus) {
	if j.DD == nil || j.DD.Notified {
		return
	}
	dd := *j.DD // j.DD may be shared with p.st.Job
	dd.Notified = true
	j.DD = &dd
	if dd.InstallNotifyURI == "" {
		return
	}
	n := &InstallNotify{URI: j.DD.InstallNotifyURI, Status: s, Job: j.Started, State: NotifyPending}
	if _, err := p.dl.checkURL(n.URI); err != nil {
		n.State, n.Error = NotifyFailed, "installNotifyURI not used: "+err.Error()
	}
	p.st.Notify = n
}

func (p *Provider) queueNotify(j *Job, s NotifyStatus) {
	p.mu.Lock()
	p.queueNotifyLocked(j, s)
	p.mu.Unlock()
}

// startNotifyLocked starts the notifier goroutine when a notification is
// pending and none runs.
func (p *Provider) startNotifyLocked() {
	if p.notifying || p.closed || p.st.Notify == nil || p.st.Notify.State != NotifyPending {
		return
	}
	p.notifying = true
	p.wg.Add(1)
	go p.notify(*p.st.Notify)
}

// notify POSTs n until the server answers 2xx or Config.NotifyTries
// attempts (counted across restarts) failed; each attempt is bounded by
// Config.NotifyTimeout. Its outcome is saved in the state file.
func (p *Provider) notify(n InstallNotify) {
	defer p.wg.Done()
	ctx := p.base
	defer func() {
		p.mu.Lock()
		p.notifying = false
		p.mu.Unlock()
	}()
	for n.Tries < p.cfg.NotifyTries {
		if n.Tries > 0 {
			t := time.NewTimer(p.cfg.NotifyRetry)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		err := p.postNotify(ctx, n)
		if ctx.Err() != nil {
			return
		}
		n.Tries++
		n.State, n.Error = NotifySent, ""
		if err != nil {
			n.Error = err.Error()
			n.State = NotifyPending
			if n.Tries >= p.cfg.NotifyTries {
				n.State = NotifyFailed
			}
		}
		if !p.saveNotify(n) || n.State != NotifyPending {
			return
		}
	}
}

// saveNotify stores n unless the record was replaced by a newer job's;
// false means stop.
func (p *Provider) saveNotify(n InstallNotify) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.st.Notify
	if cur == nil || !cur.Job.Equal(n.Job) || cur.URI != n.URI {
		return false
	}
	st := p.st
	nn := n
	st.Notify = &nn
	if err := saveState(p.cfg.Dir, st); err != nil {
		p.msg = err.Error()
	}
	p.st = st
	return true
}

// postNotify makes one POST of the status line.
func (p *Provider) postNotify(ctx context.Context, n InstallNotify) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URI, strings.NewReader(n.Status.String()))
	if err != nil {
		return fmt.Errorf("install notify: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := p.notifyClient.Do(req)
	if err != nil {
		return fmt.Errorf("install notify: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("install notify: HTTP %s", resp.Status)
	}
	return nil
}
