package fumo

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// downloader streams a package over HTTP(S) into dir/PackageFile.part,
// resuming with Range requests, then renames it to dir/PackageFile.
type downloader struct {
	client    *http.Client
	maxSize   int64
	minFree   int64
	retries   int
	backoff   time.Duration
	idle      time.Duration // a body read stalled this long is cut (and resumed)
	allowHTTP bool
	freeSpace func(dir string) (int64, error)
}

// errRetry marks a failure worth another (resumed) request.
type errRetry struct{ err *JobError }

func (e errRetry) Error() string { return e.err.Error() }
func (e errRetry) Unwrap() error { return e.err }

func dlErr(r Result, format string, a ...any) *JobError {
	return &JobError{Op: "download", Result: r, Err: fmt.Errorf(format, a...)}
}

// checkURL validates a PkgURL (result 411 when it is unusable).
func (d *downloader) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, dlErr(ResultBadURL, "PkgURL %q: %w", raw, err)
	}
	switch {
	case raw == "":
		return nil, dlErr(ResultBadURL, "PkgURL is empty")
	case u.Scheme == "https":
	case u.Scheme == "http" && d.allowHTTP:
	default:
		return nil, dlErr(ResultBadURL, "PkgURL %q: scheme %q not allowed (https only)", raw, u.Scheme)
	}
	if u.Host == "" {
		return nil, dlErr(ResultBadURL, "PkgURL %q has no host", raw)
	}
	return u, nil
}

// fetch downloads j.URL. save persists j (Size and Validator, learnt from
// the first response) so that a restart can resume; progress reports bytes
// on disk and the total (0 when unknown). A cancelled ctx returns the
// context error and leaves the partial file for the next attempt; any
// other failure is a *JobError with the FUMO result code.
func (d *downloader) fetch(ctx context.Context, dir string, j *Job, save func() error, progress func(done, total int64)) error {
	if _, err := d.checkURL(j.URL); err != nil {
		return err
	}
	part := filepath.Join(dir, PackageFile+".part")
	var last error
	for attempt := 0; attempt <= d.retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(d.backoff * time.Duration(max(attempt, 1)))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		err := d.once(ctx, part, j, save, progress)
		if err == errGotDD {
			attempt-- // the descriptor was read: fetch its object at once
			continue
		}
		if err == nil {
			if err := os.Rename(part, filepath.Join(dir, PackageFile)); err != nil {
				return dlErr(ResultDownloadNoMemory, "%w", err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var r errRetry
		if !errors.As(err, &r) {
			return err
		}
		last = r.err
	}
	return last
}

// once makes one request, appending to part when it exists.
func (d *downloader) once(ctx context.Context, part string, j *Job, save func() error, progress func(done, total int64)) error {
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return dlErr(ResultDownloadNoMemory, "open %s: %w", part, err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return dlErr(ResultDownloadNoMemory, "%w", err)
	}
	if j.Size > 0 && have > j.Size {
		have = 0
	}
	// The request dies when no byte arrives for d.idle (a stalled
	// connection); fetch then resumes it like any other cut.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var idle *time.Timer
	if d.idle > 0 {
		idle = time.AfterFunc(d.idle, cancel)
		defer idle.Stop()
	}
	kick := func() {
		if idle != nil {
			idle.Reset(d.idle)
		}
	}
	target := j.URL
	if j.DD != nil {
		target = j.DD.ObjectURI
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, target, nil)
	if err != nil {
		return dlErr(ResultBadURL, "%w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		if j.Validator != "" {
			req.Header.Set("If-Range", j.Validator)
		}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() == nil && rctx.Err() != nil {
			return errRetry{dlErr(ResultTimeout, "no response for %v", d.idle)}
		}
		return classifyNetErr(ctx, err)
	}
	defer resp.Body.Close()

	var total int64
	var body io.Reader = resp.Body
	switch resp.StatusCode {
	case http.StatusOK:
		if j.DD == nil {
			// PkgURL may be a DLOTA download descriptor: by its
			// Content-Type, or by its first bytes.
			br := bufio.NewReaderSize(resp.Body, 1024)
			head, _ := br.Peek(512)
			if isDDType(resp.Header.Get("Content-Type")) || sniffDD(head) {
				kick()
				return d.loadDD(br, resp, part, j, save)
			}
			body = br
		}
		have = 0
		total = max(resp.ContentLength, 0)
		j.Validator = validator(resp)
	case http.StatusPartialContent:
		start, tot, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			// The server sent something else than asked: start over.
			f.Truncate(0)
			j.Validator = ""
			return errRetry{dlErr(ResultServerError, "bad Content-Range %q for offset %d", resp.Header.Get("Content-Range"), have)}
		}
		total = tot
	case http.StatusRequestedRangeNotSatisfiable:
		if j.Size > 0 && have == j.Size {
			progress(have, have)
			return nil
		}
		f.Truncate(0)
		j.Validator = ""
		return errRetry{dlErr(ResultServerError, "range %d- not satisfiable", have)}
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
		return dlErr(ResultAuthFailure, "GET: HTTP %s", resp.Status)
	case http.StatusNotFound, http.StatusGone:
		return dlErr(ResultBadURL, "GET: HTTP %s", resp.Status)
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return errRetry{dlErr(ResultTimeout, "GET: HTTP %s", resp.Status)}
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return errRetry{dlErr(ResultServerUnavailable, "GET: HTTP %s", resp.Status)}
	default:
		if resp.StatusCode >= 500 {
			return errRetry{dlErr(ResultServerError, "GET: HTTP %s", resp.Status)}
		}
		return dlErr(ResultServerError, "GET: unexpected HTTP %s", resp.Status)
	}
	if total > d.maxSize {
		return dlErr(ResultDownloadNoMemory, "package of %d bytes exceeds the limit of %d", total, d.maxSize)
	}
	limit := d.maxSize
	if dd := j.DD; dd != nil {
		// The object must be what the descriptor announced (DLOTA 905).
		if ct := resp.Header.Get("Content-Type"); !dd.accepts(ct) {
			return mismatch(ResultNotAcceptable, "object Content-Type %q, descriptor type %q", ct, dd.Types)
		}
		if total > 0 && total != dd.Size {
			return mismatch(ResultCorrupted, "object of %d bytes, descriptor size %d", total, dd.Size)
		}
		total, limit = dd.Size, dd.Size
	}
	if total != j.Size || resp.StatusCode == http.StatusOK {
		j.Size = total
		if err := save(); err != nil {
			return dlErr(ResultDownloadNoMemory, "%w", err)
		}
	}
	if err := f.Truncate(have); err != nil {
		return dlErr(ResultDownloadNoMemory, "%w", err)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return dlErr(ResultDownloadNoMemory, "%w", err)
	}
	if d.freeSpace != nil {
		need := d.minFree
		if total > 0 {
			need += total - have
		}
		if free, err := d.freeSpace(filepath.Dir(part)); err == nil && free < need {
			return dlErr(ResultDownloadNoMemory, "%d bytes free in %s, %d needed", free, filepath.Dir(part), need)
		}
	}
	progress(have, total)
	kick()
	n, err := copyBody(f, body, limit-have, func(n int64) { kick(); progress(have+n, total) })
	have += n
	if err != nil {
		var je *JobError
		if errors.As(err, &je) {
			if j.DD != nil && je.Result == ResultDownloadNoMemory && errors.Is(err, errTooLong) {
				return mismatch(ResultCorrupted, "object longer than the descriptor size %d", j.DD.Size)
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if rctx.Err() != nil {
			return errRetry{dlErr(ResultTimeout, "body stalled for %v after %d bytes", d.idle, have)}
		}
		return errRetry{dlErr(ResultNetwork, "body cut after %d bytes: %w", have, err)}
	}
	if err := f.Sync(); err != nil {
		return dlErr(ResultDownloadNoMemory, "%w", err)
	}
	if total > 0 && have != total {
		if j.DD != nil && resp.ContentLength < 0 {
			// A complete (chunked) body shorter than announced.
			return mismatch(ResultCorrupted, "object of %d bytes, descriptor size %d", have, total)
		}
		return errRetry{dlErr(ResultNetwork, "got %d of %d bytes", have, total)}
	}
	if total == 0 {
		j.Size = have
		save()
	}
	return nil
}

// copyBufSize is the copy loop's buffer.
const copyBufSize = 64 << 10

// copyBody copies src to dst, at most limit bytes (more is a 501 JobError),
// calling progress with the running count every copyBufSize-ish chunk.
// Write failures (ENOSPC...) are 501 JobErrors; read failures are
// returned as they are.
func copyBody(dst io.Writer, src io.Reader, limit int64, progress func(int64)) (int64, error) {
	buf := make([]byte, copyBufSize)
	var n int64
	for {
		m, rerr := src.Read(buf)
		if m > 0 {
			if n+int64(m) > limit {
				return n, dlErr(ResultDownloadNoMemory, "package %w", errTooLong)
			}
			w, werr := dst.Write(buf[:m])
			n += int64(w)
			if werr != nil {
				return n, dlErr(ResultDownloadNoMemory, "write: %w", werr)
			}
			progress(n)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// validator is the If-Range value: a strong ETag, else Last-Modified.
func validator(resp *http.Response) string {
	if e := resp.Header.Get("ETag"); e != "" && !strings.HasPrefix(e, "W/") {
		return e
	}
	return resp.Header.Get("Last-Modified")
}

// parseContentRange parses "bytes start-end/total" (total may be "*").
func parseContentRange(s string) (start, total int64, ok bool) {
	s, ok = strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, false
	}
	rng, tot, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	if tot == "*" {
		return start, 0, true
	}
	total, err := strconv.ParseInt(tot, 10, 64)
	if err != nil || total <= end {
		return 0, 0, false
	}
	return start, total, true
}

// classifyNetErr maps a transport error to a result code.
func classifyNetErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) || errors.As(err, &ve) {
		return dlErr(ResultAuthFailure, "TLS: %w", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errRetry{dlErr(ResultTimeout, "%w", err)}
	}
	var dnsErr *net.DNSError
	if (errors.As(err, &dnsErr) && dnsErr.IsNotFound) || errors.Is(err, ErrInsecureRedirect) {
		return dlErr(ResultBadURL, "%w", err)
	}
	return errRetry{dlErr(ResultNetwork, "%w", err)}
}

// statfsFree returns the bytes available to unprivileged users in dir.
func statfsFree(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// errTooLong is wrapped by copyBody's size-limit error.
var errTooLong = errors.New("exceeds the size limit")

// errGotDD tells fetch that once read a download descriptor into j.DD:
// the object is fetched next, without counting an attempt.
var errGotDD = errors.New("fumo: download descriptor read")

// mismatch is a DLOTA attribute mismatch (905) with FUMO result r.
func mismatch(r Result, format string, a ...any) *JobError {
	return &JobError{Op: "download", Result: r, Err: &mismatchError{fmt.Errorf("attribute mismatch: "+format, a...)}}
}

// loadDD reads and checks the descriptor in body (the answer to PkgURL):
// strict parse (ParseDD), objectURI and installNotifyURI resolved against
// the descriptor's URL (after redirects), objectURI https, size within
// MaxSize. It records the descriptor in j (saved) and returns errGotDD;
// a bad descriptor is a *JobError wrapping a *DDError (405; 411 for an
// unusable objectURI; 501 beyond MaxSize), with j.DD set when its
// installNotifyURI is known, so that the failure is notified.
func (d *downloader) loadDD(body io.Reader, resp *http.Response, part string, j *Job, save func() error) error {
	if resp.ContentLength > MaxDDSize {
		return dlErr(ResultNotAcceptable, "%w", ddErr(StatusInvalidDescriptor, "%d bytes, limit %d", resp.ContentLength, MaxDDSize))
	}
	b, err := io.ReadAll(io.LimitReader(body, MaxDDSize+1))
	if err != nil {
		return errRetry{dlErr(ResultNetwork, "download descriptor cut: %w", err)}
	}
	base := resp.Request.URL
	dd, perr := ParseDD(b)
	if dd.InstallNotifyURI != "" {
		if u, err := base.Parse(dd.InstallNotifyURI); err == nil {
			dd.InstallNotifyURI = u.String()
		} else {
			dd.InstallNotifyURI = ""
		}
	}
	if perr != nil {
		if dd.InstallNotifyURI != "" {
			j.DD = &Descriptor{InstallNotifyURI: dd.InstallNotifyURI}
		}
		return dlErr(ResultNotAcceptable, "%w", perr)
	}
	u, err := base.Parse(dd.ObjectURI)
	if err != nil {
		j.DD = &Descriptor{InstallNotifyURI: dd.InstallNotifyURI}
		return dlErr(ResultBadURL, "%w", ddErr(StatusInvalidDescriptor, "objectURI %q: %v", dd.ObjectURI, err))
	}
	dd.ObjectURI = u.String()
	if _, err := d.checkURL(dd.ObjectURI); err != nil {
		j.DD = &Descriptor{InstallNotifyURI: dd.InstallNotifyURI}
		return dlErr(ResultBadURL, "%w", ddErr(StatusInvalidDescriptor, "objectURI: %v", err))
	}
	j.DD = &dd
	if dd.Size > d.maxSize {
		return dlErr(ResultDownloadNoMemory, "descriptor size %d exceeds the limit of %d", dd.Size, d.maxSize)
	}
	if err := os.Truncate(part, 0); err != nil {
		return dlErr(ResultDownloadNoMemory, "%w", err)
	}
	j.Size, j.Validator = dd.Size, ""
	if err := save(); err != nil {
		return dlErr(ResultDownloadNoMemory, "%w", err)
	}
	return errGotDD
}
