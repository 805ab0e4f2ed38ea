package fumo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
	"github.com/omadm-agent/omadm-agent/csp/window"
	"github.com/omadm-agent/omadm-agent/tree"
)

// DefaultRoot is where Mount puts the FUMO subtree; the one instance is
// DefaultRoot/DefaultInstance, i.e. ./FUMO/1.
const DefaultRoot tree.URI = "./FUMO"

// DefaultInstance is the name of the <x> node.
const DefaultInstance = "1"

// MOType is the MO identifier of the <x> node.
const MOType = "urn:oma:mo:oma-fumo:1.0"

// Node names below <x> (FUMO §10.1; Ext children are this agent's).
const (
	NodePkgName           = "PkgName"
	NodePkgVersion        = "PkgVersion"
	NodeDownload          = "Download"
	NodeUpdate            = "Update"
	NodeDownloadAndUpdate = "DownloadAndUpdate"
	NodePkgURL            = "PkgURL"
	NodePkgData           = "PkgData"
	NodeState             = "State"
	NodeExt               = "Ext"
	NodeProgress          = "Progress" // Ext/Progress: percent of the current phase
	NodeMessage           = "Message"  // Ext/Message: last progress or error message
	NodeSlotGood          = "SlotGood" // Ext/SlotGood: "true", "false" or "" (see MarkGood)
	NodeRebootAt          = "RebootAt" // Ext/RebootAt: when the reboot waits for (RFC 3339 UTC) or ""
)

// Defaults of Config.
const (
	DefaultMaxSize        int64 = 1 << 30 // 1 GiB
	DefaultMinFree        int64 = 1 << 20 // 1 MiB kept free besides the package
	DefaultCallTimeout          = 5 * time.Second
	DefaultInstallTimeout       = time.Hour
	DefaultRetries              = 5
	DefaultRetryBackoff         = 2 * time.Second
	DefaultReportRetry          = 30 * time.Second
	DefaultIdleTimeout          = 60 * time.Second
	DefaultMarkTries            = 5
	DefaultWindowCheck          = time.Minute
	DefaultNotifyTries          = 3
	DefaultNotifyTimeout        = 30 * time.Second
	DefaultNotifyRetry          = 30 * time.Second
)

// Config configures New and Mount. Dir and Report are required.
type Config struct {
	// Root is the mount point; default DefaultRoot ("./FUMO").
	Root tree.URI
	// Instance is the name of the one <x> node, created at mount;
	// default DefaultInstance ("1").
	Instance string
	// Dir holds the state file (StateFile) and the package
	// (PackageFile); it is created 0700 if missing. It must survive
	// reboots and have room for the largest bundle.
	Dir string
	// TLS is the client TLS configuration of the download (cloned). Nil
	// means the system roots. Verification is always on:
	// InsecureSkipVerify is refused by New.
	TLS *tls.Config
	// CAFile, if set, is a PEM file of CA certificates that replaces the
	// root pool of TLS (or of the default).
	CAFile string
	// MaxSize is the largest package accepted (default DefaultMaxSize);
	// larger ones fail with result 501.
	MaxSize int64
	// MinFree is the space that must stay free in Dir besides the
	// package (default DefaultMinFree); less fails with result 501.
	MinFree int64
	// Report delivers the Generic Alert 1226 of a finished job. It is
	// called from the provider's goroutine and retried every ReportRetry
	// until it returns nil; a result is reported at least once and, save
	// for a crash between Report returning and the state file being
	// written, exactly once.
	Report func(ctx context.Context, a tree.Alert) error
	// Reboot, if set, is called once the bundle is installed (and the
	// state saved) to boot into the new slot, as soon as Window is open.
	// Nil: someone else reboots (Window is then not used).
	Reboot func(ctx context.Context) error
	// Window confines the call of Reboot to maintenance windows: after an
	// install outside every window the job stays installed (State 60),
	// Job.NotBefore (Ext/RebootAt) records the next opening, and Reboot
	// is called when it comes, also after an agent restart in the same
	// boot. Download and install are never delayed. Empty: always open.
	Window window.Schedule
	// WindowCheck is how often a wait for Window re-reads the clock (Now),
	// so that a clock set late (NTP after boot) is followed (default
	// DefaultWindowCheck).
	WindowCheck time.Duration
	// BootID identifies the current boot (default: the kernel's
	// /proc/sys/kernel/random/boot_id). A change since the install
	// completed means the device has rebooted.
	BootID func() (string, error)
	// Now is the wall clock (Job.Started, Window); default time.Now.
	Now func() time.Time
	// CallTimeout bounds each D-Bus call (default DefaultCallTimeout).
	CallTimeout time.Duration
	// InstallTimeout bounds one installation (default DefaultInstallTimeout).
	InstallTimeout time.Duration
	// Retries is how many times an interrupted download is resumed within
	// one job (default DefaultRetries; negative means none), RetryBackoff
	// the wait before the first retry (growing linearly).
	Retries      int
	RetryBackoff time.Duration
	// IdleTimeout cuts a download that received nothing for this long
	// (default DefaultIdleTimeout); it is then resumed like a dropped
	// connection, and counts as a time-out (407) when retries run out.
	IdleTimeout time.Duration
	// ReportRetry is the wait before retrying Report or the post-reboot
	// check when RAUC is not yet reachable (default DefaultReportRetry).
	ReportRetry time.Duration

	// MarkGood says whether and when the slot of a successful update is
	// marked good through RAUC (default MarkGoodNone: never).
	MarkGood MarkGood
	// MarkTries bounds the failed Mark calls per job (default
	// DefaultMarkTries); then the mark is given up (MarkFailed).
	MarkTries int
	// Delivered, if set, tells whether the alert a (as given to Report)
	// has reached its server(s), e.g. it is no longer pending in the
	// outbox. With MarkGoodAfterReport the slot is marked only when it
	// says true at a SessionEnded(true); nil: the first successful
	// session end after Report returned is enough. Called from the
	// provider's goroutine; it should not block long.
	Delivered func(ctx context.Context, a tree.Alert) (bool, error)
	// OnMark, if set, is called from the provider's goroutine after every
	// Mark attempt: slot is the RAUC slot name (bootname on failure), err
	// nil when RAUC marked it good. For logging; it must not block long.
	OnMark func(slot string, err error)

	// NotifyTries bounds the POSTs of a DLOTA install notification
	// (default DefaultNotifyTries), counted across restarts; then it is
	// given up (NotifyFailed). Each is bounded by NotifyTimeout (default
	// DefaultNotifyTimeout), NotifyRetry apart (default
	// DefaultNotifyRetry). A failed notification never fails the job.
	NotifyTries   int
	NotifyTimeout time.Duration
	NotifyRetry   time.Duration

	// allowHTTP lets tests use plain http:// URLs.
	allowHTTP bool
}

// Provider serves Config.Root. Create it with New or Mount.
//
// Goroutines: the provider owns at most one worker goroutine at a time,
// started by Exec or Resume and running the job's phases; it ends when the
// job is reported, waits for a reboot, or Close cancels it. While an
// installed job waits for Config.Window it also owns the window
// goroutine, which calls Config.Reboot when the window opens.
type Provider struct {
	cfg  Config
	x    tree.URI // Root/Instance
	dl   *downloader
	r    installer
	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // worker and marker (Wait)
	wwg  sync.WaitGroup // window goroutine (Close only)

	mu       sync.Mutex // guards everything below
	st       Snapshot   // as persisted
	pct      int        // Ext/Progress
	msg      string     // Ext/Message
	running  bool       // the worker goroutine is active
	closed   bool
	rebooted bool // Reboot was called in this process
	marking  bool // the marker goroutine is active
	waiting  bool // the window goroutine is active

	notifyClient *http.Client
	notifying    bool // the notifier goroutine is active
}

// New returns a provider using RAUC over conn (normally the system bus; nil
// makes every RAUC call fail with csp.ErrServiceUnavailable). It loads the
// state file but starts nothing: call Resume once the Report sink is ready.
func New(conn *dbus.Conn, cfg Config) (*Provider, error) {
	if cfg.Dir == "" {
		return nil, errors.New("fumo: Config.Dir is required")
	}
	if cfg.Report == nil {
		return nil, errors.New("fumo: Config.Report is required")
	}
	if cfg.Root == "" {
		cfg.Root = DefaultRoot
	}
	if cfg.Instance == "" {
		cfg.Instance = DefaultInstance
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.MinFree <= 0 {
		cfg.MinFree = DefaultMinFree
	}
	if cfg.BootID == nil {
		cfg.BootID = csp.ReadBootID
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.InstallTimeout <= 0 {
		cfg.InstallTimeout = DefaultInstallTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ReportRetry <= 0 {
		cfg.ReportRetry = DefaultReportRetry
	}
	if cfg.MarkGood < MarkGoodNone || cfg.MarkGood > MarkGoodOnBoot {
		return nil, fmt.Errorf("%w: %s", ErrBadMarkGood, cfg.MarkGood)
	}
	if cfg.MarkTries <= 0 {
		cfg.MarkTries = DefaultMarkTries
	}
	if cfg.WindowCheck <= 0 {
		cfg.WindowCheck = DefaultWindowCheck
	}
	if cfg.NotifyTries <= 0 {
		cfg.NotifyTries = DefaultNotifyTries
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = DefaultNotifyTimeout
	}
	if cfg.NotifyRetry <= 0 {
		cfg.NotifyRetry = DefaultNotifyRetry
	}
	var tc *tls.Config
	if cfg.TLS != nil {
		if cfg.TLS.InsecureSkipVerify {
			return nil, errors.New("fumo: TLS verification must stay on (InsecureSkipVerify)")
		}
		tc = cfg.TLS.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("fumo: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("fumo: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("fumo: %w", err)
	}
	st, err := loadState(cfg.Dir)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       30 * time.Second,
	}
	base, stop := context.WithCancel(context.Background())
	p := &Provider{
		cfg: cfg,
		x:   cfg.Root.Child(cfg.Instance),
		dl: &downloader{client: &http.Client{Transport: tr, CheckRedirect: httpsRedirectsOnly(cfg.allowHTTP)}, maxSize: cfg.MaxSize, minFree: cfg.MinFree,
			retries: cfg.Retries, backoff: cfg.RetryBackoff, idle: cfg.IdleTimeout, allowHTTP: cfg.allowHTTP, freeSpace: statfsFree},
		r: newRAUCBus(conn, cfg.CallTimeout),
		// The install notification: same TLS, no redirects (a POST
		// must not turn into a GET elsewhere).
		notifyClient: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		base: base, stop: stop, st: st,
	}
	return p, nil
}

// ErrInsecureRedirect: a package download was redirected away from HTTPS.
var ErrInsecureRedirect = errors.New("fumo: redirect to a non-https URL refused")

// httpsRedirectsOnly follows at most 10 redirects, each to an https URL
// (TLS verification on every hop), unless plain http is allowed (tests).
func httpsRedirectsOnly(allowHTTP bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("fumo: more than 10 redirects")
		}
		if req.URL.Scheme != "https" && !allowHTTP {
			return fmt.Errorf("%w: %s", ErrInsecureRedirect, req.URL.Redacted())
		}
		return nil
	}
}

// Mount creates New(conn, cfg) and mounts it at cfg.Root of t. A nil conn
// means the shared system bus connection (dbus.SystemBus, which honours
// DBUS_SYSTEM_BUS_ADDRESS). Call Resume on the result once the agent can
// take alerts, and Close at shutdown.
func Mount(t *tree.Tree, conn *dbus.Conn, cfg Config) (*Provider, error) {
	conn, err := dbuscall.OrSystemBus(conn)
	if err != nil {
		return nil, fmt.Errorf("fumo: %w", err)
	}
	p, err := New(conn, cfg)
	if err != nil {
		return nil, err
	}
	if err := t.Mount(p.cfg.Root, p); err != nil {
		p.Close(context.Background())
		return nil, err
	}
	return p, nil
}

// Resume continues the job found in the state file, if any: it resumes an
// interrupted download, re-runs an interrupted installation, decides the
// result of an installation after the reboot (see the package comment),
// and reports a decided but unreported result. It returns at once; the
// work happens in the provider's goroutine.
func (p *Provider) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startLocked()
	p.startNotifyLocked()
	if p.cfg.MarkGood == MarkGoodOnBoot {
		p.startMarkLocked() // a mark that failed before the restart
	}
}

// Close stops the worker, marker and window goroutines and waits for
// them until ctx is done.
// The job stays in the state file and continues after the next Resume; a
// wait for the maintenance window keeps its Job.NotBefore and goes on
// after the next Resume in the same boot.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stop()
	if err := csp.Wait(ctx, &p.wg); err != nil {
		return fmt.Errorf("fumo: close: %w", err)
	}
	if err := csp.Wait(ctx, &p.wwg); err != nil {
		return fmt.Errorf("fumo: close: %w", err)
	}
	return nil
}

// Wait blocks until the worker goroutine is idle (job reported, waiting
// for a reboot or for the maintenance window, or stopped), no Mark
// attempt runs and no install notification is being sent, or ctx is
// done. It does not wait for the window.
func (p *Provider) Wait(ctx context.Context) error { return csp.Wait(ctx, &p.wg) }

// Status is a snapshot of the provider for tools and tests.
type Status struct {
	State    State
	Phase    Phase // "" when there is no job
	Op       Op
	Result   Result // decided result, 0 before
	Detail   string
	HaveData bool
	Progress int
	Message  string
	// The mark of the last successful update (SlotMark; zero when none).
	MarkStatus MarkStatus
	MarkSlot   string
	MarkTries  int
	MarkError  string
	// RebootAt is when an installed job calls Config.Reboot (the next
	// opening of Config.Window); zero when it does not wait for one.
	RebootAt time.Time
	// The DLOTA install notification of the last job that had a
	// download descriptor with an installNotifyURI (zero when none).
	NotifyStatus NotifyStatus
	NotifyState  NotifyState
	NotifyTries  int
	NotifyError  string
}

// Status returns the current state.
func (p *Provider) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{State: p.st.State, HaveData: p.st.HaveData, Progress: p.pct, Message: p.msg}
	if j := p.st.Job; j != nil {
		s.Phase, s.Op, s.Result, s.Detail = j.Phase, j.Op, j.Result, j.Detail
	}
	s.RebootAt = p.rebootAtLocked()
	if m := p.st.Mark; m != nil {
		s.MarkStatus, s.MarkSlot, s.MarkTries, s.MarkError = m.Status, m.Slot, m.Tries, m.Error
	}
	if n := p.st.Notify; n != nil {
		s.NotifyStatus, s.NotifyState, s.NotifyTries, s.NotifyError = n.Status, n.State, n.Tries, n.Error
	}
	return s
}

// uri helpers
func (p *Provider) node(rel ...string) tree.URI {
	u := p.x
	for _, r := range rel {
		u = u.Child(r)
	}
	return u
}

// Get serves the subtree.
func (p *Provider) Get(ctx context.Context, u tree.URI) (tree.Node, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	interior := func(typ string, children ...string) (tree.Node, error) {
		return tree.Node{URI: u, Interior: true, Props: tree.Props{Format: tree.FormatNode, Type: typ}, Children: children}, nil
	}
	leaf := func(format, v string) (tree.Node, error) {
		return tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: format, Type: tree.TypeText}}, nil
	}
	switch u {
	case p.cfg.Root:
		return interior("", p.x.Base())
	case p.x:
		return interior(MOType, NodePkgName, NodePkgVersion, NodeDownload, NodeUpdate, NodeDownloadAndUpdate, NodeState, NodeExt)
	case p.node(NodePkgName):
		return leaf(tree.FormatChr, p.st.PkgName)
	case p.node(NodePkgVersion):
		return leaf(tree.FormatChr, p.st.PkgVersion)
	case p.node(NodeDownload):
		return interior("", NodePkgURL)
	case p.node(NodeDownload, NodePkgURL):
		return leaf(tree.FormatChr, p.st.DownloadURL)
	case p.node(NodeUpdate):
		return interior("", NodePkgData)
	case p.node(NodeUpdate, NodePkgData):
		// Replace-only (the package is not read back over DM).
		return tree.Node{URI: u, Props: tree.Props{Format: tree.FormatBin, Type: "application/octet-stream"}}, nil
	case p.node(NodeDownloadAndUpdate):
		return interior("", NodePkgURL)
	case p.node(NodeDownloadAndUpdate, NodePkgURL):
		return leaf(tree.FormatChr, p.st.DAUURL)
	case p.node(NodeState):
		return leaf(tree.FormatInt, strconv.Itoa(int(p.st.State)))
	case p.node(NodeExt):
		return interior("", NodeProgress, NodeMessage, NodeSlotGood, NodeRebootAt)
	case p.node(NodeExt, NodeProgress):
		return leaf(tree.FormatInt, strconv.Itoa(p.pct))
	case p.node(NodeExt, NodeMessage):
		return leaf(tree.FormatChr, p.msg)
	case p.node(NodeExt, NodeSlotGood):
		return leaf(tree.FormatChr, p.slotGoodLocked())
	case p.node(NodeExt, NodeRebootAt):
		v := ""
		if t := p.rebootAtLocked(); !t.IsZero() {
			v = t.UTC().Format(time.RFC3339)
		}
		return leaf(tree.FormatChr, v)
	}
	return tree.Node{}, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
}

// busyLocked reports whether a job is running or not yet reported.
func (p *Provider) busyLocked() bool {
	return p.running || (p.st.Job != nil && p.st.Job.Phase != PhaseDone)
}

// Replace sets a PkgURL or delivers a package through Update/PkgData.
func (p *Provider) Replace(ctx context.Context, u tree.URI, v tree.Value) error {
	switch u {
	case p.node(NodeDownload, NodePkgURL), p.node(NodeDownloadAndUpdate, NodePkgURL):
		if v.Format != "" && v.Format != tree.FormatChr {
			return fmt.Errorf("%s takes chr, not %s: %w", u, v.Format, tree.ErrUnsupportedMedia)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		st := p.st
		if u.Parent().Base() == NodeDownload {
			st.DownloadURL = string(v.Data)
		} else {
			st.DAUURL = string(v.Data)
		}
		if err := saveState(p.cfg.Dir, st); err != nil {
			return fmt.Errorf("%s: %w: %w", u, err, tree.ErrCommandFailed)
		}
		p.st = st
		return nil
	case p.node(NodeUpdate, NodePkgData):
		if v.Format != "" && v.Format != tree.FormatBin && v.Format != tree.FormatB64 {
			return fmt.Errorf("%s takes bin, not %s: %w", u, v.Format, tree.ErrUnsupportedMedia)
		}
		if int64(len(v.Data)) > p.cfg.MaxSize {
			return fmt.Errorf("%s: package of %d bytes exceeds %d: %w", u, len(v.Data), p.cfg.MaxSize, tree.ErrDeviceFull)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.busyLocked() {
			return fmt.Errorf("%s: %w: %w", u, ErrBusy, tree.ErrForbidden)
		}
		if free, err := statfsFree(p.cfg.Dir); err == nil && free < int64(len(v.Data))+p.cfg.MinFree {
			return fmt.Errorf("%s: %d bytes free: %w", u, free, tree.ErrDeviceFull)
		}
		if err := writeAtomic(p.cfg.Dir, PackageFile, v.Data); err != nil {
			return fmt.Errorf("%s: %w: %w", u, err, tree.ErrCommandFailed)
		}
		st := p.st
		st.HaveData, st.State, st.PkgName, st.PkgVersion = true, StateDownloadComplete, "", ""
		if err := saveState(p.cfg.Dir, st); err != nil {
			return fmt.Errorf("%s: %w: %w", u, err, tree.ErrCommandFailed)
		}
		p.st = st
		return nil
	}
	if _, err := p.Get(ctx, u); err != nil {
		return err
	}
	return fmt.Errorf("%s is not replaceable: %w", u, tree.ErrNotAllowed)
}

// Exec starts Download, Update or DownloadAndUpdate and returns
// tree.ErrAsync (202); the result follows as a Generic Alert through
// Config.Report. A job already running or not yet reported gives
// ErrBusy (403); Update without a package gives ErrNoPackage (403).
func (p *Provider) Exec(ctx context.Context, u tree.URI, data []byte, correlator string) error {
	var op Op
	switch u {
	case p.node(NodeDownload):
		op = OpDownload
	case p.node(NodeUpdate):
		op = OpUpdate
	case p.node(NodeDownloadAndUpdate):
		op = OpDownloadAndUpdate
	default:
		if _, err := p.Get(ctx, u); err != nil {
			return err
		}
		return fmt.Errorf("%s is not executable: %w", u, tree.ErrNotAllowed)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%s: provider closed: %w", u, tree.ErrCommandFailed)
	}
	if p.busyLocked() {
		return fmt.Errorf("%s: %w (phase %s): %w", u, ErrBusy, p.st.Job.Phase, tree.ErrForbidden)
	}
	j := &Job{Op: op, Source: u, Correlator: correlator, Started: p.cfg.Now().UTC()}
	st := p.st
	switch op {
	case OpDownload, OpDownloadAndUpdate:
		j.Phase, j.URL = PhaseDownload, st.DownloadURL
		if op == OpDownloadAndUpdate {
			j.URL = st.DAUURL
		}
		os.Remove(filepath.Join(p.cfg.Dir, PackageFile))
		os.Remove(filepath.Join(p.cfg.Dir, PackageFile+".part"))
		st.HaveData, st.State, st.PkgName, st.PkgVersion = false, StateDownloadProgressing, "", ""
	case OpUpdate:
		if _, err := os.Stat(filepath.Join(p.cfg.Dir, PackageFile)); err != nil || !st.HaveData {
			return fmt.Errorf("%s: %w (State %d): %w", u, ErrNoPackage, st.State, tree.ErrForbidden)
		}
		j.Phase, st.State = PhaseVerify, StateReadyToUpdate
	}
	st.Job = j
	if err := saveState(p.cfg.Dir, st); err != nil {
		return fmt.Errorf("%s: %w: %w", u, err, tree.ErrCommandFailed)
	}
	p.st = st
	p.pct, p.msg = 0, ""
	p.startLocked()
	return tree.ErrAsync
}

// startLocked starts the worker unless it runs or there is nothing to do.
func (p *Provider) startLocked() {
	if p.running || p.closed || p.st.Job == nil || p.st.Job.Phase == PhaseDone {
		return
	}
	p.running = true
	p.wg.Add(1)
	go p.work()
}

// work runs the job's phases until it is done, waits for a reboot, or the
// provider is closed. Each transition is persisted before the next phase.
func (p *Provider) work() {
	defer p.wg.Done()
	ctx := p.base
	for {
		p.mu.Lock()
		if p.st.Job == nil || p.st.Job.Phase == PhaseDone || ctx.Err() != nil {
			p.running = false
			p.mu.Unlock()
			return
		}
		j := *p.st.Job
		p.mu.Unlock()

		next, wait, err := p.handle(ctx, &j)
		if ctx.Err() != nil {
			p.mu.Lock()
			p.running = false
			p.mu.Unlock()
			return
		}
		if err != nil {
			// Transient (RAUC not up yet after the boot, Report failed):
			// keep the phase and try again later.
			p.setMsg(err.Error())
			t := time.NewTimer(p.cfg.ReportRetry)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			continue
		}
		j.Phase = next
		p.mu.Lock()
		st := p.st
		st.Job = &j
		if serr := saveState(p.cfg.Dir, st); serr != nil {
			p.msg = serr.Error()
		}
		p.st = st
		p.startNotifyLocked()
		if wait {
			if j.Phase == PhaseInstalled && !j.NotBefore.IsZero() {
				p.startWindowLocked(j.Started)
			}
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// setState sets the State node (persisted with the next transition).
func (p *Provider) setState(s State, haveData bool) {
	p.mu.Lock()
	p.st.State, p.st.HaveData = s, haveData
	p.mu.Unlock()
}

func (p *Provider) setMsg(m string) {
	p.mu.Lock()
	p.msg = m
	p.mu.Unlock()
}

func (p *Provider) setProgress(pct int, m string) {
	p.mu.Lock()
	p.pct, p.msg = pct, m
	p.mu.Unlock()
}

// fail records a failed job: result code, detail and State.
func (p *Provider) fail(j *Job, err error, fallback Result, s State, haveData bool) (Phase, bool, error) {
	j.Result = resultOf(err, fallback)
	j.Detail = err.Error()
	p.queueNotify(j, notifyStatusOf(err))
	p.setState(s, haveData)
	p.setMsg(j.Detail)
	if !haveData {
		os.Remove(filepath.Join(p.cfg.Dir, PackageFile))
		os.Remove(filepath.Join(p.cfg.Dir, PackageFile+".part"))
	}
	return PhaseReport, false, nil
}

// handle runs one phase and returns the next one; wait stops the worker
// (a reboot is awaited); err is transient (retry the same phase later).
func (p *Provider) handle(ctx context.Context, j *Job) (next Phase, wait bool, err error) {
	pkg := filepath.Join(p.cfg.Dir, PackageFile)
	switch j.Phase {
	case PhaseDownload:
		p.setState(StateDownloadProgressing, false)
		save := func() error {
			p.mu.Lock()
			defer p.mu.Unlock()
			st := p.st
			jj := *j
			st.Job = &jj
			if err := saveState(p.cfg.Dir, st); err != nil {
				return err
			}
			p.st = st
			return nil
		}
		err := p.dl.fetch(ctx, p.cfg.Dir, j, save, func(done, total int64) {
			pct := 0
			if total > 0 {
				pct = int(done * 100 / total)
			}
			p.setProgress(pct, "downloaded "+strconv.FormatInt(done, 10)+" bytes")
		})
		if err != nil {
			if ctx.Err() != nil {
				return "", false, ctx.Err()
			}
			return p.fail(j, err, ResultNetwork, StateDownloadFailed, false)
		}
		p.setState(StateDownloadComplete, true)
		return PhaseVerify, false, nil

	case PhaseVerify:
		compat, version, err := p.r.Info(ctx, pkg)
		if err == nil {
			j.Compatible, j.Version = compat, version
			p.mu.Lock()
			p.st.PkgName, p.st.PkgVersion = compat, version
			p.mu.Unlock()
		}
		unavailable := errors.Is(err, csp.ErrServiceUnavailable)
		switch {
		case j.Op == OpDownload && err != nil && !unavailable:
			// RAUC cannot read it: not a (valid, signed) bundle.
			return p.fail(j, &JobError{Op: "verify", Result: ResultCorrupted, Err: err}, ResultCorrupted, StateDownloadFailed, false)
		case j.Op == OpDownload:
			// Verified, or RAUC absent: the download itself succeeded.
			j.Result = ResultSuccess
			p.queueNotify(j, StatusSuccess)
			p.setState(StateDownloadComplete, true)
			return PhaseReport, false, nil
		case unavailable:
			return p.fail(j, &JobError{Op: "verify", Result: ResultUpdateFailed, Err: err}, ResultUpdateFailed, StateUpdateFailedHaveData, true)
		}
		// An Info error other than "no RAUC" is left to InstallBundle,
		// whose LastError tells signature from format problems.
		p.setState(StateReadyToUpdate, true)
		return PhaseInstall, false, nil

	case PhaseInstall:
		p.setState(StateUpdateProgressing, true)
		ictx, cancel := context.WithTimeout(ctx, p.cfg.InstallTimeout)
		defer cancel()
		// After a restart RAUC may still be installing: wait for it to
		// finish, then install again (the same bundle gives the same slot).
		for {
			op, err := p.r.Operation(ictx)
			if err != nil {
				if ctx.Err() != nil {
					return "", false, ctx.Err()
				}
				return p.fail(j, &JobError{Op: "install", Result: ResultUpdateFailed, Err: err}, ResultUpdateFailed, StateUpdateFailedHaveData, true)
			}
			if op == "idle" {
				break
			}
			select {
			case <-ictx.Done():
				if ctx.Err() != nil {
					return "", false, ctx.Err()
				}
				return p.fail(j, &JobError{Op: "install", Result: ResultUpdateFailed, Err: fmt.Errorf("RAUC busy (%s): %w", op, ictx.Err())}, ResultUpdateFailed, StateUpdateFailedHaveData, true)
			case <-time.After(pollEvery):
			}
		}
		err := p.r.Install(ictx, pkg, func(pct int, m string) { p.setProgress(pct, m) })
		if err != nil {
			if ctx.Err() != nil {
				return "", false, ctx.Err()
			}
			r := resultOf(err, ResultUpdateFailed)
			if errors.Is(err, context.DeadlineExceeded) {
				r = ResultUpdateFailed
			}
			switch r {
			case ResultCorrupted, ResultValidation, ResultMismatch:
				// Useless package: drop it.
				return p.fail(j, &JobError{Op: "install", Result: r, Err: err}, r, StateUpdateFailedNoData, false)
			}
			return p.fail(j, &JobError{Op: "install", Result: r, Err: err}, r, StateUpdateFailedHaveData, true)
		}
		slot, err := p.targetSlot(ctx, j.Version)
		if err != nil {
			return p.fail(j, &JobError{Op: "install", Result: ResultUpdateFailed, Err: err}, ResultUpdateFailed, StateUpdateFailedHaveData, true)
		}
		boot, err := p.cfg.BootID()
		if err != nil {
			return p.fail(j, &JobError{Op: "install", Result: ResultUpdateFailed, Err: err}, ResultUpdateFailed, StateUpdateFailedHaveData, true)
		}
		j.TargetSlot, j.BootID = slot, boot
		p.queueNotify(j, StatusSuccess) // DLOTA: the object is installed (RAUC wrote the slot)
		p.setMsg("installed into slot " + slot + "; waiting for the reboot")
		return PhaseInstalled, false, nil

	case PhaseInstalled:
		boot, err := p.cfg.BootID()
		if err != nil {
			return "", false, fmt.Errorf("fumo: boot id: %w", err)
		}
		if boot == j.BootID {
			p.rebootOrWait(ctx, j)
			return PhaseInstalled, true, nil
		}
		j.NotBefore = time.Time{} // the device rebooted: no wait left
		return p.afterReboot(ctx, j)

	case PhaseReport:
		a := j.alert()
		if err := p.cfg.Report(ctx, a); err != nil {
			return "", false, fmt.Errorf("fumo: report result %d: %w", j.Result, err)
		}
		p.mu.Lock()
		if m := p.st.Mark; m != nil && m.Status == MarkQueued && m.Job.Equal(j.Started) {
			mm := *m
			mm.Status = MarkPending // saved with PhaseDone
			p.st.Mark = &mm
		}
		p.mu.Unlock()
		return PhaseDone, false, nil
	}
	return PhaseDone, false, nil
}

// alert is the Generic Alert 1226 carrying j's result.
func (j *Job) alert() tree.Alert {
	a := tree.Alert{Type: j.Op.alertType(), Format: tree.FormatInt, Source: j.Source,
		Correlator: j.Correlator, Data: []byte(strconv.Itoa(int(j.Result)))}
	if j.Result < 200 || j.Result > 299 {
		a.Mark = MarkFailure
	}
	return a
}

// targetSlot returns the bootname of the slot RAUC just wrote: the
// non-booted slot carrying version (when known) with the newest
// installed.timestamp.
func (p *Provider) targetSlot(ctx context.Context, version string) (string, error) {
	slots, err := p.r.Slots(ctx)
	if err != nil {
		return "", err
	}
	var best *Slot
	for i := range slots {
		s := &slots[i]
		if s.State == "booted" || s.Installed == "" || s.BootName == "" {
			continue
		}
		if version != "" && s.BundleVersion != version {
			continue
		}
		if best == nil || s.Installed > best.Installed {
			best = s
		}
	}
	if best == nil {
		return "", fmt.Errorf("fumo: RAUC reports no installed non-booted slot (version %q)", version)
	}
	return best.BootName, nil
}

// afterReboot decides the result once the device has rebooted: success
// when RAUC's BootSlot is the slot the bundle was written to and that
// slot carries the bundle's version.
func (p *Provider) afterReboot(ctx context.Context, j *Job) (Phase, bool, error) {
	booted, err := p.r.BootSlot(ctx)
	if err != nil {
		return "", false, fmt.Errorf("fumo: after the reboot: %w", err)
	}
	slots, err := p.r.Slots(ctx)
	if err != nil {
		return "", false, fmt.Errorf("fumo: after the reboot: %w", err)
	}
	idx := slices.IndexFunc(slots, func(s Slot) bool { return s.BootName == booted })
	ok := booted == j.TargetSlot && idx >= 0 && (j.Version == "" || slots[idx].BundleVersion == j.Version)
	if ok {
		j.Result = ResultSuccess
		os.Remove(filepath.Join(p.cfg.Dir, PackageFile))
		p.setState(StateUpdateSuccessNoData, false)
		p.setProgress(100, "booted slot "+booted+" with version "+j.Version)
		p.mu.Lock()
		m := p.st.Mark
		p.mu.Unlock()
		if m == nil || !m.Job.Equal(j.Started) { // not yet made by an earlier run of this phase
			if m = p.markAfterBoot(ctx, j, j.alert()); m != nil {
				p.mu.Lock()
				st := p.st
				st.Mark = m
				if err := saveState(p.cfg.Dir, st); err != nil {
					p.msg = err.Error()
				}
				p.st = st
				p.mu.Unlock()
			}
		}
		return PhaseReport, false, nil
	}
	have := false
	if _, err := os.Stat(filepath.Join(p.cfg.Dir, PackageFile)); err == nil {
		have = true
	}
	s := StateUpdateFailedNoData
	if have {
		s = StateUpdateFailedHaveData
	}
	got := ""
	if idx >= 0 {
		got = slots[idx].BundleVersion
	}
	p.mu.Lock()
	if m := p.st.Mark; m != nil && m.Job.Equal(j.Started) {
		p.st.Mark = nil // decided by an earlier run that saw the new slot booted
	}
	p.mu.Unlock()
	return p.fail(j, &JobError{Op: "reboot check", Result: ResultUpdateFailed,
		Err: fmt.Errorf("booted slot %q (version %q), want slot %q (version %q)", booted, got, j.TargetSlot, j.Version)},
		ResultUpdateFailed, s, have)
}

// Describe returns the DDF of the FUMO subtree (FUMO §10.1, figure 10.1).
func (p *Provider) Describe() []tree.Desc {
	x := string(p.cfg.Root) + "/*"
	d := func(rel string, acc tree.AccessType, format, typ, occ, desc string) tree.Desc {
		path := x
		if rel != "" {
			path += "/" + rel
		}
		return tree.Desc{Path: path, Access: acc, Format: format, Type: typ, Occurrence: occ, Scope: tree.ScopePermanent, Description: desc}
	}
	g, gr, ge := tree.AccessGet, tree.AccessGet|tree.AccessReplace, tree.AccessGet|tree.AccessExec
	return []tree.Desc{
		{Path: string(p.cfg.Root), Access: g, Format: tree.FormatNode, Occurrence: "One", Scope: tree.ScopePermanent,
			Description: "Firmware update management objects"},
		d("", g, tree.FormatNode, MOType, "One", "FUMO instance (RAUC)"),
		d(NodePkgName, g, tree.FormatChr, tree.TypeText, "ZeroOrOne", "Name (RAUC compatible) of the package"),
		d(NodePkgVersion, g, tree.FormatChr, tree.TypeText, "ZeroOrOne", "Version of the package"),
		d(NodeDownload, ge, tree.FormatNode, "", "ZeroOrOne", "Exec: download the package from PkgURL"),
		d(NodeDownload+"/"+NodePkgURL, gr, tree.FormatChr, tree.TypeText, "One", "https URL of the package or of an OMA download descriptor"),
		d(NodeUpdate, ge, tree.FormatNode, "", "ZeroOrOne", "Exec: install the package present on the device"),
		d(NodeUpdate+"/"+NodePkgData, tree.AccessReplace, tree.FormatBin, "", "One", "The package delivered through DM"),
		d(NodeDownloadAndUpdate, ge, tree.FormatNode, "", "ZeroOrOne", "Exec: download from PkgURL, then install"),
		d(NodeDownloadAndUpdate+"/"+NodePkgURL, gr, tree.FormatChr, tree.TypeText, "One", "https URL of the package or of an OMA download descriptor"),
		d(NodeState, g, tree.FormatInt, tree.TypeText, "One", "10 Idle ... 100 Update Successful / No Data"),
		d(NodeExt, g, tree.FormatNode, "", "ZeroOrOne", "Vendor extensions"),
		d(NodeExt+"/"+NodeProgress, g, tree.FormatInt, tree.TypeText, "One", "Percent done of the current phase"),
		d(NodeExt+"/"+NodeMessage, g, tree.FormatChr, tree.TypeText, "One", "Last progress or error message"),
		d(NodeExt+"/"+NodeSlotGood, g, tree.FormatChr, tree.TypeText, "One", "true: the updated slot was marked good; false: not yet or failed; empty: nothing to mark"),
		d(NodeExt+"/"+NodeRebootAt, g, tree.FormatChr, tree.TypeText, "One", "When the reboot into the installed slot waits for (next maintenance window, RFC 3339 UTC); empty: no wait"),
	}
}
