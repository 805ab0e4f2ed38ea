package agent

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

// SessionRunner runs one DM session for a trigger (agent/session adapts
// its engine to this). It must return promptly once ctx ends, after a
// best-effort Alert 1223 to the server.
type SessionRunner interface {
	RunSession(ctx context.Context, t Trigger) (Result, error)
}

// Result is the outcome of one session.
type Result struct {
	SessionID string
	// Status is 0 on success, otherwise the SyncML status code that ended
	// the session (401, 407, 500...) or -1 for a transport failure.
	Status int
	// Summary is one line for logs, STATUS= and SessionFinished.
	Summary string
	// Commands is how many server commands were executed.
	Commands int
}

// AlertSource reports the Generic Alerts waiting in the outbox, per
// ServerID (each outbox entry is for one server). With an error, a non-nil
// map still counts the entries that could be read.
type AlertSource interface {
	PendingAlerts(ctx context.Context) (map[string]int, error)
}

// Observer is told about sessions and state changes (the D-Bus signals,
// systemd STATUS= lines). Calls come from the agent goroutine and must not
// block; they must not call back into the Agent synchronously.
type Observer interface {
	SessionStarted(t Trigger)
	SessionFinished(t Trigger, r Result, err error)
	StateChanged(s Snapshot)
}

// Errors.
var (
	// ErrUnknownServer: StartSession for a ServerID with no ./DMAcc account.
	ErrUnknownServer = errors.New("unknown server")
	// ErrStopped: the agent is not running (any more).
	ErrStopped = errors.New("agent stopped")
	// ErrNoReload: the agent was built without a configuration loader.
	ErrNoReload = errors.New("configuration reload not available")
	// ErrBadInput: ProcessFile got something that is neither a Package #0
	// nor a bootstrap document, or was refused.
	ErrBadInput = errors.New("bad input")
)

// Config configures an Agent. Runner and Accounts are required.
type Config struct {
	// Config is the effective configuration at start.
	Config config.Config
	// ConfigFiles are the files it was read from (for GetState).
	ConfigFiles []string
	// Load re-reads the configuration (SIGHUP, D-Bus Reload, the file
	// watcher). nil: reload is not available.
	Load func() (config.Config, config.Sources, error)

	Runner    SessionRunner
	Accounts  AccountStore
	Alerts    AlertSource  // nil: no outbox
	Bootstrap Bootstrapper // nil: bootstraps refused
	SIM       SIM          // nil: no NETWPIN
	Asker     Asker
	Observer  Observer

	Logger *slog.Logger
	// Level, if set, is changed live when agent.log_level changes.
	Level *slog.LevelVar
	// Version is reported in GetState.
	Version string
	// ModemState reports "disabled", "absent", "opening", "ready" or
	// "error: ..."; nil means "disabled". Called from reader goroutines.
	ModemState func() string

	// MaxServers bounds the queue (servers with a pending trigger) and the
	// router's per-server maps; default 64.
	MaxServers int
	// MaxSessions is how many sessions (with different servers) may run
	// at once; default 1.
	MaxSessions int
	// Heartbeat, if > 0, makes the main loop wake up at this interval even
	// when idle, so that the liveness timestamp the watchdog checks keeps
	// advancing. Set it to a fraction of the watchdog interval; leave it 0
	// without a watchdog (no idle wakeups at all).
	Heartbeat time.Duration
	// OnReload, if set, is called (in the agent goroutine) with the new
	// effective configuration after a reload was applied, for the parts
	// wired outside the agent (the session engine's UI policy).
	OnReload func(config.Config)
	// LoopHook, if set, is called at the top of every main loop iteration
	// (tests: blocking it simulates a stuck loop).
	LoopHook func(ctx context.Context)
	Now      func() time.Time
}

// Stats counts what happened to triggers.
type Stats struct {
	Queued   uint64 // accepted into the queue on their own
	Merged   uint64 // folded into a pending trigger
	Dropped  uint64 // not queued (see DropReasons)
	Started  uint64 // sessions started
	Finished uint64 // sessions ended (Failed included)
	Failed   uint64
	// DropReasons counts drops by reason.
	DropReasons map[string]uint64
	// Wakeups counts main loop iterations (for the idle measurement).
	Wakeups uint64
}

// ServerState is one server in a Snapshot.
type ServerState struct {
	ServerID   string
	HasAccount bool
	LastEnd    time.Time // zero: never
	LastStatus int
	LastResult string
	NextPoll   time.Time // zero: none scheduled
	Pending    bool      // a trigger is queued
	Running    bool      // a session is running
	// Counters since the agent started.
	Sessions    uint64            // sessions ended
	Outcomes    map[string]uint64 // ended sessions by Outcome
	LastSuccess time.Time         // zero: none since start
	// LastDuration is how long the last session took.
	LastDuration time.Duration
}

// Outcome classifies how a session ended, for counters: "ok", "auth"
// (401/407: credentials refused), "transport" (no answer, TLS, HTTP),
// "aborted" (cancelled: the agent stopped or the deadline passed) or
// "status" (the server ended it with another status code).
func Outcome(r Result, err error) string {
	switch {
	case err == nil && r.Status == 0:
		return "ok"
	case r.Status == 401 || r.Status == 407:
		return "auth"
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return "aborted"
	case r.Status == -1 || (err != nil && r.Status == 0):
		return "transport"
	}
	return "status"
}

// Snapshot is a read-only copy of the agent's state.
type Snapshot struct {
	Version       string
	State         string // starting, idle, session, stopping
	Servers       []ServerState
	PendingAlerts uint32
	ModemState    string
	ConfigFiles   []string
	Queued        int
	LastSession   string // one line about the last finished session
	Stats         Stats
	// Pushes counts pushes and local inputs by verdict (Router.Counters).
	Pushes map[string]int
	// Started is when the agent was created.
	Started time.Time
}

type serverState struct {
	lastEnd      time.Time
	lastStatus   int
	lastResult   string
	lastSuccess  time.Time
	lastDuration time.Duration
	sessions     uint64
	outcomes     map[string]uint64
}

type sessionDone struct {
	t     Trigger
	r     Result
	err   error
	start time.Time
}

// Agent runs DM sessions one at a time per server from a single trigger
// queue fed by pushes, polls, local requests, pending alerts and
// bootstraps. Methods other than Run are safe for concurrent use: they only
// send requests to the agent goroutine or read a snapshot.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	router *Router

	reqs    chan func()
	pollNow chan struct{}
	nudge   chan struct{}
	done    chan sessionDone
	stopped chan struct{}
	runCtx  context.Context

	alive   atomic.Int64
	wakeups atomic.Uint64
	snap    atomic.Pointer[Snapshot]
	running atomic.Bool

	statsMu sync.Mutex
	stats   Stats

	// Owned by the agent goroutine.
	conf    config.Config
	files   []string
	q       *queue
	sched   *scheduler
	active  map[string]Trigger
	servers map[string]*serverState
	known   map[string]bool
	failed  map[string]bool
	// seen is, per server, how many of its alerts were still pending when
	// its last successful session ended: the server saw them and did not
	// acknowledge them (e.g. Status 500). They go with its next session but
	// do not trigger one by themselves (no session loop).
	seen     map[string]int
	alerts   uint32
	state    string
	started  time.Time
	lastLine string
	seq      uint64
	dirty    bool
}

// New returns an Agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	if cfg.Runner == nil {
		return nil, errors.New("agent: Config.Runner is nil")
	}
	if cfg.Accounts == nil {
		return nil, errors.New("agent: Config.Accounts is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxServers <= 0 {
		cfg.MaxServers = 64
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 1
	}
	r, err := NewRouter(RouterConfig{
		Accounts: cfg.Accounts, SIM: cfg.SIM, Bootstrap: cfg.Bootstrap, Asker: cfg.Asker,
		UserPIN: pinReader(cfg.Config.Push.UserPINFile),
		Policy:  PolicyFrom(cfg.Config), Logger: cfg.Logger, Now: cfg.Now, MaxServers: cfg.MaxServers,
	})
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg: cfg, log: cfg.Logger, router: r,
		reqs:    make(chan func()),
		pollNow: make(chan struct{}, 1),
		nudge:   make(chan struct{}, 1),
		done:    make(chan sessionDone, cfg.MaxSessions),
		stopped: make(chan struct{}),
		conf:    cfg.Config,
		files:   cfg.ConfigFiles,
		q:       newQueue(cfg.MaxServers),
		sched:   newScheduler(),
		active:  map[string]Trigger{},
		servers: map[string]*serverState{},
		known:   map[string]bool{},
		failed:  map[string]bool{},
		seen:    map[string]int{},
		state:   "starting",
	}
	a.stats.DropReasons = map[string]uint64{}
	a.started = cfg.Now()
	a.alive.Store(cfg.Now().UnixNano())
	a.publish()
	return a, nil
}

// Router returns the push router (for tests and the CLI).
func (a *Agent) Router() *Router { return a.router }

// Liveness returns when the main loop last made progress. The watchdog
// pinger stops pinging when it gets old.
func (a *Agent) Liveness() time.Time { return time.Unix(0, a.alive.Load()) }

// Stats returns a copy of the trigger counters.
func (a *Agent) Stats() Stats {
	a.statsMu.Lock()
	defer a.statsMu.Unlock()
	s := a.stats
	s.DropReasons = make(map[string]uint64, len(a.stats.DropReasons))
	for k, v := range a.stats.DropReasons {
		s.DropReasons[k] = v
	}
	s.Wakeups = a.wakeups.Load()
	return s
}

// Snapshot returns the agent's state as last published by the agent
// goroutine (plus the modem state, read now).
func (a *Agent) Snapshot() Snapshot {
	s := *a.snap.Load()
	s.ModemState = "disabled"
	if a.cfg.ModemState != nil {
		s.ModemState = a.cfg.ModemState()
	}
	s.Stats = a.Stats()
	s.Pushes = a.router.Counters()
	return s
}

// Run runs the agent until ctx ends; it then lets the running sessions end
// (their context is cancelled too, so they abort with 1223) and returns
// nil.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("agent: Run already called")
	}
	defer close(a.stopped)
	a.runCtx = ctx
	now := a.cfg.Now()
	a.sched.configure(a.conf.Servers, now)
	a.refreshAccounts(ctx)
	a.checkAlerts(ctx, "")
	a.state = "idle"
	a.dirty = true

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var hb <-chan time.Time
	if a.cfg.Heartbeat > 0 {
		t := time.NewTicker(a.cfg.Heartbeat)
		defer t.Stop()
		hb = t.C
	}
	for {
		a.wakeups.Add(1)
		if a.cfg.LoopHook != nil {
			a.cfg.LoopHook(ctx)
		}
		a.alive.Store(a.cfg.Now().UnixNano())
		if ctx.Err() != nil {
			break
		}
		a.startSessions(ctx)
		if a.dirty {
			a.publish()
		}
		var timerC <-chan time.Time
		if at, ok := a.sched.earliest(); ok {
			timer.Reset(max(at.Sub(a.cfg.Now()), 0))
			timerC = timer.C
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
		case f := <-a.reqs:
			f()
		case d := <-a.done:
			a.finished(ctx, d)
		case <-a.pollNow:
			a.pollAll(ctx)
		case <-a.nudge:
			a.checkAlerts(ctx, "")
		case <-timerC:
			a.fire(ctx)
		case <-hb:
		}
	}
	a.state = "stopping"
	a.publish()
	for len(a.active) > 0 {
		a.finished(ctx, <-a.done)
	}
	a.publish()
	return nil
}

// do runs f in the agent goroutine and waits for it.
func (a *Agent) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case a.reqs <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-a.stopped:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Enqueue queues t (merging it with the server's pending trigger) and
// returns the trigger now pending for that server. A dropped trigger gives
// an error saying why (ErrQueueFull...).
func (a *Agent) Enqueue(ctx context.Context, t Trigger) (Trigger, error) {
	var (
		out Trigger
		err error
	)
	if e := a.do(ctx, func() { out, err = a.enqueue(a.runCtx, t) }); e != nil {
		return Trigger{}, e
	}
	return out, err
}

// StartSession queues a client-initiated session (a local request) with
// serverID, or with every account when serverID is "". It returns the
// reference(s) of the pending trigger(s) that will serve the request
// (Trigger.Ref: "<trigger id>/<SessionID>"), comma-separated: the
// SessionID is the one SessionStarted and SessionFinished will report.
func (a *Agent) StartSession(ctx context.Context, serverID string) (string, error) {
	var ids []string
	if serverID == "" {
		accs, err := a.cfg.Accounts.Accounts(ctx)
		if accs == nil && err != nil {
			return "", fmt.Errorf("read accounts: %w", err)
		}
		if len(accs) == 0 {
			return "", fmt.Errorf("%w: no server accounts", ErrUnknownServer)
		}
		for _, acc := range accs {
			ids = append(ids, acc.ServerID)
		}
	} else {
		if _, err := a.cfg.Accounts.Account(ctx, serverID); err != nil {
			if errors.Is(err, dmacc.ErrUnknownServer) {
				return "", fmt.Errorf("%w: %q", ErrUnknownServer, serverID)
			}
			return "", err
		}
		ids = []string{serverID}
	}
	var out []string
	for _, id := range ids {
		t, err := a.Enqueue(ctx, Trigger{ServerID: id, Source: SourceLocal})
		if err != nil {
			return strings.Join(out, ","), err
		}
		out = append(out, t.Ref())
	}
	return strings.Join(out, ","), nil
}

// PollAll asks for a poll of every server account now (SIGUSR1). It never
// blocks.
func (a *Agent) PollAll() {
	select {
	case a.pollNow <- struct{}{}:
	default:
	}
}

// AlertsChanged tells the agent the outbox changed. It never blocks.
func (a *Agent) AlertsChanged() {
	select {
	case a.nudge <- struct{}{}:
	default:
	}
}

// Reload re-reads the configuration and applies what can change live. It
// returns the keys that changed but need a restart (they are ignored, and
// logged). On an invalid configuration nothing changes and the error lists
// every problem.
func (a *Agent) Reload(ctx context.Context) ([]string, error) {
	var (
		keys []string
		err  error
	)
	if e := a.do(ctx, func() { keys, err = a.reload() }); e != nil {
		return nil, e
	}
	return keys, err
}

// HandlePush routes a push from the modem and queues the resulting
// triggers. It is a modem.Handler: a nil error lets the modem delete the
// SMS; ErrLeftForModem (coexistence) or a routing error keeps it.
func (a *Agent) HandlePush(ctx context.Context, p wappush.Push) error {
	d, err := a.router.Route(ctx, p)
	if err != nil {
		a.log.Warn("push not processed; left on the modem for a retry", "content_type", p.ContentType, "err", err)
		return err
	}
	a.logDecision(ctx, "push", d)
	if err := a.queueDecision(ctx, d); err != nil {
		return err
	}
	if d.Action == LeftForModem {
		return ErrLeftForModem
	}
	return nil
}

// Input kinds for ProcessData (the D-Bus ProcessFile kind argument).
const (
	KindNotification = "notification"
	KindBootstrap    = "bootstrap"
)

// ProcessData handles a Package #0 or a bootstrap document that did not
// come over the air (spool file, D-Bus ProcessFile) with the same router
// code. kind is KindNotification, KindBootstrap or "" to detect. local
// says the input comes from root (a root-owned spool file, a root caller):
// only then is a bootstrap applied without SEC/MAC (as "omadm-agent
// bootstrap FILE" would); Package #0 digests are always verified. origin
// is recorded for bootstrapped accounts. The returned error wraps
// ErrBadInput when the input was refused.
func (a *Agent) ProcessData(ctx context.Context, data []byte, kind string, local bool, origin string) (Decision, []string, error) {
	if kind == "" {
		kind = KindNotification
		if _, _, err := bootstrap.Detect(data); err == nil {
			kind = KindBootstrap
		}
	}
	var (
		d   Decision
		err error
	)
	switch kind {
	case KindNotification:
		d, err = a.router.RouteNotification(ctx, data)
	case KindBootstrap:
		if !local {
			return Decision{Action: Refused, Reason: "a bootstrap document from a non-root source needs SEC/MAC: push it over the air or have root drop it in the spool"},
				nil, fmt.Errorf("%w: unauthenticated bootstrap from a non-root source", ErrBadInput)
		}
		d, err = a.router.RouteLocalBootstrap(ctx, data, origin)
	default:
		return Decision{}, nil, fmt.Errorf("%w: kind %q (want notification, bootstrap or \"\")", ErrBadInput, kind)
	}
	if err != nil {
		return d, nil, err
	}
	a.logDecision(ctx, origin, d)
	var ids []string
	for _, t := range d.Triggers {
		p, err := a.Enqueue(ctx, t)
		if err != nil {
			return d, ids, err
		}
		ids = append(ids, p.Ref())
	}
	switch d.Action {
	case Queued, Bootstrapped:
		return d, ids, nil
	}
	return d, nil, fmt.Errorf("%w: %s: %s", ErrBadInput, d.Action, d.Reason)
}

func (a *Agent) queueDecision(ctx context.Context, d Decision) error {
	for _, t := range d.Triggers {
		if _, err := a.Enqueue(ctx, t); err != nil && !errors.Is(err, ErrQueueFull) {
			return err
		}
	}
	return nil
}

func (a *Agent) logDecision(ctx context.Context, via string, d Decision) {
	lvl := slog.LevelInfo
	switch d.Action {
	case Refused:
		lvl = slog.LevelWarn
	case Ignored, LeftForModem:
		lvl = slog.LevelDebug
	}
	attrs := []any{"via", via, "action", d.Action.String(), "reason", d.Reason}
	if d.ServerID != "" {
		attrs = append(attrs, "server_id", d.ServerID)
	}
	if d.SessionID != "" {
		attrs = append(attrs, "session_id", d.SessionID)
	}
	a.log.Log(ctx, lvl, "push routed", attrs...)
}

// --- agent goroutine only below ---

func (a *Agent) drop(t Trigger, reason string) {
	a.statsMu.Lock()
	a.stats.Dropped++
	a.stats.DropReasons[reason]++
	a.statsMu.Unlock()
	if a.log.Enabled(context.Background(), slog.LevelDebug) {
		a.log.Debug("trigger dropped", "trigger", t.String(), "reason", reason)
	}
}

// enqueue is Enqueue in the agent goroutine.
func (a *Agent) enqueue(ctx context.Context, t Trigger) (Trigger, error) {
	if t.ID == "" {
		a.seq++
		t.ID = "t" + strconv.FormatUint(a.seq, 10)
	}
	if t.At.IsZero() {
		t.At = a.cfg.Now()
	}
	if t.Source == SourceBootstrap {
		a.refreshAccounts(ctx)
		a.sched.restart(t.ServerID, a.cfg.Now())
	}
	if !a.known[t.ServerID] {
		a.refreshAccounts(ctx)
		if !a.known[t.ServerID] {
			a.drop(t, "no ./DMAcc account")
			return Trigger{}, fmt.Errorf("%w: %q", ErrUnknownServer, t.ServerID)
		}
	}
	if r, busy := a.active[t.ServerID]; busy {
		switch {
		case t.Source == SourcePoll || t.Source == SourceRetry:
			a.drop(t, "a session with this server is running")
			return r, nil
		case t.Source == SourceAlert:
			a.drop(t, "a session with this server is running; alerts are checked again when it ends")
			return r, nil
		case t.ServerInitiated() && t.SessionID == r.SessionID:
			a.drop(t, "this server-initiated session is running")
			return r, nil
		}
	}
	p, why, err := a.q.add(t)
	if err != nil {
		a.drop(t, "queue full")
		return Trigger{}, err
	}
	if p.SessionID == "" && p.Session == "" {
		// A client-initiated session gets its SessionID now, so a caller
		// can match the SessionFinished signal of the session serving it.
		p.Session = randomSessionID()
		a.q.pending[p.ServerID] = p
	}
	a.dirty = true
	a.statsMu.Lock()
	if why != "" {
		a.stats.Merged++
	} else {
		a.stats.Queued++
	}
	a.statsMu.Unlock()
	if a.log.Enabled(ctx, slog.LevelDebug) {
		if why != "" {
			a.log.Debug("trigger merged", "trigger", t.String(), "into", p.ID, "reason", why)
		} else {
			a.log.Debug("trigger queued", "trigger", t.String())
		}
	}
	return p, nil
}

func (a *Agent) refreshAccounts(ctx context.Context) {
	accs, err := a.cfg.Accounts.Accounts(ctx)
	if err != nil {
		a.log.Warn("some ./DMAcc accounts are unusable", "err", err)
	}
	if accs == nil && err != nil {
		return
	}
	known := make(map[string]bool, len(accs))
	for _, acc := range accs {
		known[acc.ServerID] = true
	}
	a.known = known
	a.dirty = true
}

// checkAlerts reads the outbox and queues a session with every server
// that has alerts it has not seen yet. delivered is the server whose
// session just ended successfully (""): what is still pending for it was
// sent and not acknowledged, and waits for its next session.
func (a *Agent) checkAlerts(ctx context.Context, delivered string) {
	if a.cfg.Alerts == nil {
		return
	}
	m, err := a.cfg.Alerts.PendingAlerts(ctx)
	if err != nil {
		// Some entries are unreadable: deliver the readable ones anyway.
		a.log.Warn("cannot read the whole outbox", "err", err)
		if m == nil {
			return
		}
	}
	var total uint32
	ids := make([]string, 0, len(m))
	for id, n := range m {
		if n > 0 {
			total += uint32(n)
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if total != a.alerts {
		a.alerts, a.dirty = total, true
	}
	if delivered != "" {
		a.seen[delivered] = m[delivered]
	}
	for id, n := range a.seen {
		if m[id] < n {
			a.seen[id] = m[id] // acknowledged since
		}
		if a.seen[id] == 0 {
			delete(a.seen, id)
		}
	}
	for _, id := range ids {
		if a.failed[id] {
			continue // a retry carries them; no session storm while failing
		}
		if m[id] <= a.seen[id] {
			continue // the server saw them and did not acknowledge them
		}
		_, _ = a.enqueue(ctx, Trigger{ServerID: id, Source: SourceAlert, Alerts: true})
	}
}

func (a *Agent) pollAll(ctx context.Context) {
	a.refreshAccounts(ctx)
	ids := make([]string, 0, len(a.known))
	for id := range a.known {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	a.log.Info("polling every server now", "servers", len(ids))
	for _, id := range ids {
		_, _ = a.enqueue(ctx, Trigger{ServerID: id, Source: SourcePoll})
	}
}

func (a *Agent) fire(ctx context.Context) {
	polls, retries := a.sched.due(a.cfg.Now())
	sort.Strings(polls)
	sort.Strings(retries)
	for _, id := range polls {
		_, _ = a.enqueue(ctx, Trigger{ServerID: id, Source: SourcePoll})
	}
	for _, id := range retries {
		_, _ = a.enqueue(ctx, Trigger{ServerID: id, Source: SourceRetry, Alerts: a.cfg.Alerts != nil && a.failed[id]})
	}
	a.dirty = true
}

func (a *Agent) startSessions(ctx context.Context) {
	for len(a.active) < a.cfg.MaxSessions {
		t, ok := a.q.next(func(id string) bool { _, busy := a.active[id]; return busy })
		if !ok {
			return
		}
		if t.SessionID != "" {
			t.Session = t.SessionID // server-initiated: the Package #0 SessionID
		} else if t.Session == "" {
			t.Session = randomSessionID()
		}
		a.active[t.ServerID] = t
		a.state, a.dirty = "session", true
		a.statsMu.Lock()
		a.stats.Started++
		a.statsMu.Unlock()
		a.log.Info("session starting", "server_id", t.ServerID, "session_id", t.Session, "trigger", t.String())
		if a.cfg.Observer != nil {
			a.cfg.Observer.SessionStarted(t)
		}
		sctx, cancel := context.WithCancel(ctx)
		if d := a.conf.Agent.SessionDeadline; d > 0 {
			sctx, cancel = context.WithTimeout(ctx, d)
		}
		start := a.cfg.Now()
		go func() {
			defer cancel()
			r, err := a.cfg.Runner.RunSession(sctx, t)
			a.done <- sessionDone{t: t, r: r, err: err, start: start}
		}()
	}
}

func (a *Agent) finished(ctx context.Context, d sessionDone) {
	t := d.t
	delete(a.active, t.ServerID)
	if len(a.active) == 0 && a.state == "session" {
		a.state = "idle"
	}
	a.dirty = true
	ok := d.err == nil && d.r.Status == 0
	if d.r.SessionID == "" {
		d.r.SessionID = t.Session
	}
	if d.r.Summary == "" {
		switch {
		case d.err != nil:
			d.r.Summary = d.err.Error()
		case ok:
			d.r.Summary = "ok"
		default:
			d.r.Summary = fmt.Sprintf("status %d", d.r.Status)
		}
	}
	outcome := Outcome(d.r, d.err)
	if d.err != nil && d.r.Status == 0 {
		d.r.Status = -1
	}
	now := a.cfg.Now()
	st := a.servers[t.ServerID]
	if st == nil {
		st = &serverState{outcomes: map[string]uint64{}}
		a.servers[t.ServerID] = st
	}
	st.lastEnd, st.lastStatus, st.lastResult = now, d.r.Status, d.r.Summary
	st.lastDuration = now.Sub(d.start)
	st.sessions++
	st.outcomes[outcome]++
	if ok {
		st.lastSuccess = now
	}
	a.lastLine = fmt.Sprintf("last session: %s %s: %s", t.ServerID, d.r.SessionID, d.r.Summary)
	a.statsMu.Lock()
	a.stats.Finished++
	if !ok {
		a.stats.Failed++
	}
	a.statsMu.Unlock()
	lvl := slog.LevelInfo
	if !ok {
		lvl = slog.LevelWarn
	}
	a.log.Log(ctx, lvl, "session finished", "server_id", t.ServerID, "session_id", d.r.SessionID,
		"status", d.r.Status, "commands", d.r.Commands, "duration", now.Sub(d.start).Round(time.Millisecond), "result", d.r.Summary)
	if a.cfg.Observer != nil {
		a.cfg.Observer.SessionFinished(t, d.r, d.err)
	}
	if ctx.Err() != nil {
		return // stopping: no retries, no new work
	}
	if ok {
		delete(a.failed, t.ServerID)
		a.sched.succeeded(t.ServerID)
		a.refreshAccounts(ctx)
	} else {
		a.failed[t.ServerID] = true
		if wait, retry := a.sched.failed(t.ServerID, a.conf.Transport, now); retry {
			a.log.Info("session will be retried", "server_id", t.ServerID, "in", wait)
		} else {
			a.log.Info("session not retried (retry_on_failure off or conn_retry_freq reached)", "server_id", t.ServerID)
			delete(a.failed, t.ServerID)
		}
	}
	done := ""
	if ok {
		done = t.ServerID
	}
	a.checkAlerts(ctx, done)
}

func (a *Agent) reload() ([]string, error) {
	if a.cfg.Load == nil {
		return nil, ErrNoReload
	}
	nc, src, err := a.cfg.Load()
	if err != nil {
		a.log.Error("configuration reload refused; keeping the running configuration", "err", strings.ReplaceAll(err.Error(), "\n", "; "))
		return nil, err
	}
	live, restart := config.Diff(a.conf, nc)
	keys := make([]string, 0, len(restart))
	for _, c := range restart {
		keys = append(keys, c.Key)
		a.log.Warn(c.Key+" changed: needs a restart; ignored", "old", c.Old, "new", c.New)
	}
	if len(live) == 0 {
		a.log.Info("configuration reloaded: nothing to apply live", "ignored", len(restart))
	} else {
		parts := make([]string, len(live))
		for i, c := range live {
			parts[i] = c.String()
		}
		a.log.Info("configuration reloaded: "+strings.Join(parts, "; "), "ignored", len(restart))
	}
	a.files = src.Files
	a.apply(ApplyLive(a.conf, nc))
	if a.cfg.OnReload != nil {
		a.cfg.OnReload(a.conf)
	}
	return keys, nil
}

// apply makes c the running configuration (only live fields differ).
func (a *Agent) apply(c config.Config) {
	a.conf = c
	if a.cfg.Level != nil {
		a.cfg.Level.Set(c.Agent.Level())
	}
	a.router.SetPolicy(PolicyFrom(c))
	a.sched.configure(c.Servers, a.cfg.Now())
	a.dirty = true
}

// ApplyLive returns old with the fields that may change live (the
// `reload:"live"` fields of agent/config) taken from new.
func ApplyLive(old, new config.Config) config.Config {
	out := old
	out.Agent.LogLevel = new.Agent.LogLevel
	out.Transport.ConnRetryFreq = new.Transport.ConnRetryFreq
	out.Transport.InitialBackoff = new.Transport.InitialBackoff
	out.Transport.MaxBackoff = new.Transport.MaxBackoff
	out.Push.UIUserInteraction = new.Push.UIUserInteraction
	out.UI = new.UI
	out.Servers = slices.Clone(new.Servers)
	return out
}

// publish stores a new snapshot for readers and tells the observer.
func (a *Agent) publish() {
	a.dirty = false
	ids := map[string]bool{}
	for id := range a.known {
		ids[id] = true
	}
	for _, s := range a.conf.Servers {
		ids[s.ServerID] = true
	}
	for id := range a.servers {
		ids[id] = true
	}
	s := &Snapshot{
		Version: a.cfg.Version, State: a.state, PendingAlerts: a.alerts, Started: a.started,
		ConfigFiles: slices.Clone(a.files), Queued: a.q.len(), LastSession: a.lastLine,
	}
	for id := range ids {
		ss := ServerState{ServerID: id, HasAccount: a.known[id], NextPoll: a.sched.nextPoll(id)}
		if st := a.servers[id]; st != nil {
			ss.LastEnd, ss.LastStatus, ss.LastResult = st.lastEnd, st.lastStatus, st.lastResult
			ss.LastSuccess, ss.LastDuration, ss.Sessions = st.lastSuccess, st.lastDuration, st.sessions
			ss.Outcomes = maps.Clone(st.outcomes)
		}
		_, ss.Pending = a.q.get(id)
		_, ss.Running = a.active[id]
		s.Servers = append(s.Servers, ss)
	}
	sort.Slice(s.Servers, func(i, j int) bool { return s.Servers[i].ServerID < s.Servers[j].ServerID })
	a.snap.Store(s)
	if a.cfg.Observer != nil {
		a.cfg.Observer.StateChanged(*s)
	}
}

// randomSessionID returns a SessionID for a client-initiated session:
// 1..FFFF in upper-case hex, like the Package #0 mapping (§6.2.2.10).
func randomSessionID() string {
	var b [2]byte
	for {
		_, _ = rand.Read(b[:])
		if v := binary.BigEndian.Uint16(b[:]); v != 0 {
			return strings.ToUpper(strconv.FormatUint(uint64(v), 16))
		}
	}
}
