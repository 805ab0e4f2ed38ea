package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// Engine runs DM sessions. It allows one session at a time per server:
// Run waits (honouring ctx) while another session with the same ServerID
// is running. Sessions with different servers may run concurrently, each
// in its caller's goroutine.
type Engine struct {
	cfg    Config
	client *http.Client

	mu    sync.Mutex
	locks map[string]chan struct{}
}

// NewEngine checks cfg, fills in defaults and builds the HTTP client if
// cfg.HTTPClient is nil.
func NewEngine(cfg Config) (*Engine, error) {
	var errs []error
	if cfg.Tree == nil {
		errs = append(errs, errors.New("session: Config.Tree is nil"))
	}
	if cfg.Accounts == nil {
		errs = append(errs, errors.New("session: Config.Accounts is nil"))
	}
	if cfg.MaxMsgSize == 0 {
		cfg.MaxMsgSize = DefaultMaxMsgSize
	}
	if cfg.MaxObjSize == 0 {
		cfg.MaxObjSize = DefaultMaxObjSize
	}
	if cfg.MaxMsgSize < 512 {
		errs = append(errs, fmt.Errorf("session: MaxMsgSize %d is too small (minimum 512)", cfg.MaxMsgSize))
	}
	if cfg.MaxObjSize < 0 {
		errs = append(errs, fmt.Errorf("session: negative MaxObjSize"))
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = DefaultDeadline
	}
	if cfg.AuthAttempts <= 0 {
		cfg.AuthAttempts = DefaultAuthAttempts
	}
	if cfg.UI == nil {
		cfg.UI = Headless{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "omadm-agent/dev"
	}
	cfg.Transport = cfg.Transport.withDefaults()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, client: cfg.HTTPClient, locks: map[string]chan struct{}{}}
	if e.client == nil {
		c, err := NewHTTPClient(cfg.Transport)
		if err != nil {
			return nil, err
		}
		e.client = c
	}
	return e, nil
}

func (e *Engine) lock(ctx context.Context, serverID string) (func(), error) {
	e.mu.Lock()
	ch, ok := e.locks[serverID]
	if !ok {
		ch = make(chan struct{}, 1)
		e.locks[serverID] = ch
	}
	e.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Run runs one session for trig and returns its summary. The error is nil
// only when the session ended normally (the server closed it). The tree is
// flushed at the end whatever happened.
func (e *Engine) Run(ctx context.Context, trig Trigger) (Summary, error) {
	unlock, err := e.lock(ctx, trig.ServerID)
	if err != nil {
		return Summary{ServerID: trig.ServerID, Result: "failed"}, err
	}
	defer unlock()
	s, err := e.newSession(ctx, trig)
	if err != nil {
		return Summary{ServerID: trig.ServerID, Initiator: trig.Initiator, Result: "failed"}, err
	}
	return s.run(ctx)
}

func (e *Engine) newSession(ctx context.Context, trig Trigger) (*session, error) {
	cfg := &e.cfg
	acc, err := cfg.Accounts.Account(ctx, trig.ServerID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownServer, err)
	}
	sid := trig.SessionID
	if sid == "" {
		var b [2]byte
		rand.Read(b[:])
		sid = fmt.Sprintf("%X", uint64(b[0])<<8|uint64(b[1]))
	}
	enc := syncml.WBXML
	if cfg.XML {
		enc = syncml.XML
	}
	if v, ok := cfg.Encodings[trig.ServerID]; ok {
		enc = v
	}
	s := &session{
		cfg:       cfg,
		t:         cfg.Tree,
		acc:       acc,
		trig:      trig,
		client:    e.client,
		tp:        cfg.Transport,
		enc:       enc,
		userAgent: cfg.UserAgent,
		maxMsg:    cfg.MaxMsgSize,
		maxObj:    cfg.MaxObjSize,
		sessionID: sid,
		url:       acc.Addr,
		alertIDs:  map[string]string{},
		adopt:     e.AdoptUnattributed,
		sum: Summary{ServerID: trig.ServerID, SessionID: sid, Initiator: trig.Initiator,
			Statuses: map[int]int{}, Started: time.Now()},
	}
	s.log = cfg.Logger.With("session", sid, "server", trig.ServerID)
	s.principal = serverPrincipal(trig.ServerID)
	return s, nil
}
