package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

// Content types the router handles (protocol.md §1, §2.4).
const (
	CTNotification = "application/vnd.syncml.notification"    // 0x44, Package #0
	CTDMBootstrap  = "application/vnd.syncml.dm+wbxml"        // 0x42, DM-profile bootstrap
	CTCPBootstrap  = "application/vnd.wap.connectivity-wbxml" // 0x36, CP-profile bootstrap
)

// AccountStore is what the agent needs of ./DMAcc (csp/dmacc.Store
// implements it).
type AccountStore interface {
	Account(ctx context.Context, serverID string) (dmacc.Account, error)
	Accounts(ctx context.Context) ([]dmacc.Account, error)
}

// SIM gives the subscriber's IMSI, the NETWPIN key of pushed bootstraps
// (modem.Modem implements it).
type SIM interface {
	IMSI(ctx context.Context) (string, error)
}

// Bootstrapper applies a bootstrap document and persists the result
// (TreeBootstrapper wraps bootstrap.Apply and Tree.Flush).
type Bootstrapper interface {
	Bootstrap(ctx context.Context, doc []byte, opts bootstrap.Options) (bootstrap.Report, error)
}

// Asker asks a person whether a user-interaction session may run ([ui]
// confirm = "ask"). It returns true to accept. Ask must honour ctx, which
// carries the [ui] ask_timeout.
type Asker interface {
	Ask(ctx context.Context, serverID, sessionID string) (bool, error)
}

// Action is what the router did with a push.
type Action int

// Actions.
const (
	// Queued: a verified notification; Decision.Triggers holds the session
	// trigger.
	Queued Action = iota + 1
	// Bootstrapped: a bootstrap document was authenticated and applied;
	// Decision.Triggers holds one trigger per new account.
	Bootstrapped
	// Ignored: not for this agent or not wanted (content type, policy); the
	// push is consumed.
	Ignored
	// Refused: the push failed a check (decoding, digest, MAC, replay, rate
	// limit); it is consumed and logged.
	Refused
	// LeftForModem: the ServerID is unknown and [modem] coexistence is on:
	// the SMS must stay on the modem for its own DM client (not acked).
	LeftForModem
)

var actionNames = [...]string{"", "queued", "bootstrapped", "ignored", "refused", "left for the modem"}

func (a Action) String() string {
	if a > 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Decision is the outcome of routing one push.
type Decision struct {
	Action Action
	// Reason is one line for the log and for a spool .reason file.
	Reason string
	// Check names, for a Refused push, the check it failed, as a short
	// label for counters: decode, credentials, digest, replay, rate_limit,
	// unauthenticated, bootstrap (SEC/MAC or the document), unavailable.
	Check     string
	ServerID  string
	SessionID string
	// Match tells how a notification digest verified (stored or resync
	// nonce).
	Match    notification.Match
	Triggers []Trigger
	Report   *bootstrap.Report
}

// ErrLeftForModem is what HandlePush returns for a push left on the modem
// (coexistence), so that the modem does not delete the SMS.
var ErrLeftForModem = errors.New("push left for the modem's own DM client")

// Policy is the part of the configuration the router applies. Build it
// with PolicyFrom.
type Policy struct {
	ReplayWindow      time.Duration
	RateLimit         int // notifications per minute per server; 0 = none
	UIUserInteraction string
	Confirm           string // [ui] confirm: accept, reject, ask
	AskTimeout        time.Duration
	OnTimeout         string // accept or reject
	Coexistence       bool
}

// PolicyFrom extracts the router policy from a configuration.
func PolicyFrom(c config.Config) Policy {
	return Policy{
		ReplayWindow:      c.Push.ReplayWindow,
		RateLimit:         c.Push.RateLimit,
		UIUserInteraction: c.Push.UIUserInteraction,
		Confirm:           c.UI.Confirm,
		AskTimeout:        c.UI.AskTimeout,
		OnTimeout:         c.UI.OnTimeout,
		Coexistence:       c.Modem.Enabled && c.Modem.Coexistence,
	}
}

// RouterConfig configures a Router. Accounts is required.
type RouterConfig struct {
	Accounts  AccountStore
	SIM       SIM                    // nil: NETWPIN bootstraps are refused
	UserPIN   func() (string, error) // nil: USERPIN bootstraps are refused
	Bootstrap Bootstrapper           // nil: bootstrap pushes are refused
	Asker     Asker                  // nil: "ask" answers with OnTimeout
	Policy    Policy
	Logger    *slog.Logger
	Now       func() time.Time
	// MaxReplay bounds the replay cache (default 1024 entries);
	// MaxServers bounds the rate-limit buckets and the set of unknown
	// ServerIDs already logged (default 64).
	MaxReplay  int
	MaxServers int
}

// Router decides what to do with a WAP push (protocol.md §1.2-§1.5,
// §2.4). It is safe for concurrent use: the modem goroutine, the spool
// watcher and D-Bus ProcessFile may call Route at once. It only decides
// and applies bootstraps; queuing the returned triggers is the caller's job
// (Agent.HandlePush does both).
type Router struct {
	cfg RouterConfig
	log *slog.Logger

	mu       sync.Mutex // guards everything below
	policy   Policy
	replay   *replayCache
	rate     *rateLimiter
	unknown  map[string]bool // ServerIDs already logged as unknown
	counters map[string]int  // decisions by action/reason class
}

// NewRouter returns a Router.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if cfg.Accounts == nil {
		return nil, errors.New("agent: RouterConfig.Accounts is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxReplay <= 0 {
		cfg.MaxReplay = 1024
	}
	if cfg.MaxServers <= 0 {
		cfg.MaxServers = 64
	}
	return &Router{
		cfg: cfg, log: cfg.Logger, policy: cfg.Policy,
		replay:   newReplayCache(cfg.MaxReplay),
		rate:     newRateLimiter(cfg.MaxServers),
		unknown:  map[string]bool{},
		counters: map[string]int{},
	}, nil
}

// SetPolicy replaces the policy (after a configuration reload).
func (r *Router) SetPolicy(p Policy) {
	r.mu.Lock()
	r.policy = p
	r.mu.Unlock()
}

// Counters returns how many pushes ended in each action ("queued",
// "refused", ...) and, for refusals, in each failed check
// ("refused:digest", ...; see Decision.Check); "error" counts pushes that
// could not be judged (left for a retry).
func (r *Router) Counters() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.counters))
	for k, v := range r.counters {
		out[k] = v
	}
	return out
}

// countDecision counts d's action and, for a refusal, "refused:<check>".
func (r *Router) countDecision(d Decision) {
	r.count(d.Action.String())
	if d.Action == Refused && d.Check != "" {
		r.count(Refused.String() + ":" + d.Check)
	}
}

func (r *Router) count(key string) {
	r.mu.Lock()
	r.counters[key]++
	r.mu.Unlock()
}

// Route decides what to do with push p. The error is non-nil only when the
// push could not be judged (the tree or the SIM could not be read, ctx
// ended); the caller should then leave the SMS for a later retry.
//
// Notifications (application/vnd.syncml.notification): Package #0 is
// decoded; the ServerID must name a ./DMAcc account (unknown: Ignored, or
// LeftForModem with coexistence; logged once per ServerID); the digest is
// verified with the SRVCRED secret and nonce, then with the resync nonce
// (Trigger.NonceReset); a notification already accepted within the replay
// window is Refused, and so is one over the server's rate limit; a
// user-interaction ui-mode is handled by the [push]/[ui] policy (accept,
// reject, ask through the Asker). Route blocks while asking.
//
// Bootstraps (application/vnd.syncml.dm+wbxml,
// application/vnd.wap.connectivity-wbxml): the SEC/MAC parameters are
// required and checked (NETWPIN from the SIM's IMSI, USERPIN from the pin
// file) before the document is parsed; only then is it applied.
//
// Anything else is Ignored.
func (r *Router) Route(ctx context.Context, p wappush.Push) (Decision, error) {
	var (
		d   Decision
		err error
	)
	switch p.ContentType {
	case CTNotification:
		d, err = r.routeNotification(ctx, p.Body)
	case CTDMBootstrap, CTCPBootstrap:
		d, err = r.routeBootstrap(ctx, p)
	default:
		ct := p.ContentType
		if ct == "" {
			ct = fmt.Sprintf("code 0x%02X", p.ContentTypeCode)
		}
		d = Decision{Action: Ignored, Reason: "content type " + ct + " is not for the DM agent"}
	}
	if err != nil {
		r.count("error")
		return d, err
	}
	r.countDecision(d)
	return d, nil
}

// RouteNotification routes a Package #0 given as raw bytes (a spool file or
// a D-Bus ProcessFile), with exactly the checks used over the air.
func (r *Router) RouteNotification(ctx context.Context, pkg0 []byte) (Decision, error) {
	return r.Route(ctx, wappush.Push{ContentType: CTNotification, ContentTypeCode: wappush.CodeSyncMLNotification, Body: pkg0, SEC: wappush.SECNone})
}

// RouteLocalBootstrap applies a bootstrap document given by the local
// operator (a root-owned spool file, root calling ProcessFile): no SEC/MAC
// is required, exactly like "omadm-agent bootstrap FILE". origin is recorded
// in ./DMAcc/<x>/Ext/Origin.
func (r *Router) RouteLocalBootstrap(ctx context.Context, doc []byte, origin string) (Decision, error) {
	if r.cfg.Bootstrap == nil {
		d := Decision{Action: Refused, Check: "unavailable", Reason: "bootstrap is not available"}
		r.countDecision(d)
		return d, nil
	}
	rep, err := r.cfg.Bootstrap.Bootstrap(ctx, doc, bootstrap.Options{Origin: origin})
	d := r.bootstrapDecision(rep, err)
	r.countDecision(d)
	if err != nil && ctx.Err() != nil {
		return d, ctx.Err()
	}
	return d, nil
}

func (r *Router) routeNotification(ctx context.Context, body []byte) (Decision, error) {
	n, err := notification.Decode(body)
	if err != nil && n == nil {
		return Decision{Action: Refused, Check: "decode", Reason: "Package #0: " + err.Error()}, nil
	}
	if err != nil {
		// Unsupported version: decoded anyway (protocol.md §1.4: lenient).
		r.log.Info("notification version outside 1.0-1.2; accepted", "server_id", n.ServerID, "version", n.VersionString())
	}
	d := Decision{ServerID: n.ServerID, SessionID: n.SessionIDHex()}
	r.mu.Lock()
	pol := r.policy
	r.mu.Unlock()

	acc, err := r.cfg.Accounts.Account(ctx, n.ServerID)
	if errors.Is(err, dmacc.ErrUnknownServer) {
		r.mu.Lock()
		first := !r.unknown[n.ServerID]
		if first && len(r.unknown) < r.cfg.MaxServers {
			r.unknown[n.ServerID] = true
		}
		r.mu.Unlock()
		d.Action, d.Reason = Ignored, "unknown ServerID (no ./DMAcc account)"
		if pol.Coexistence {
			d.Action, d.Reason = LeftForModem, "unknown ServerID: left on the modem for its own DM client (coexistence)"
		}
		lvl := slog.LevelDebug
		if first {
			lvl = slog.LevelInfo
		}
		r.log.Log(ctx, lvl, "notification for an unknown server", "server_id", n.ServerID, "action", d.Action.String())
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("read account %q: %w", n.ServerID, err)
	}
	if acc.Server.Node == "" {
		d.Action, d.Check, d.Reason = Refused, "credentials", "account has no SRVCRED credentials to verify the digest"
		return d, nil
	}
	m, err := notification.VerifyWithResync(n, notification.Credentials{
		ServerID: acc.ServerID, AAuthName: acc.Server.Name, Password: acc.Server.Secret, Nonce: acc.Server.Nonce,
	})
	if err != nil {
		d.Action, d.Check, d.Reason = Refused, "digest", "digest does not match (stored nor resync nonce)"
		return d, nil
	}
	d.Match = m
	now := r.cfg.Now()
	key := n.ServerID + "\x00" + d.SessionID + "\x00" + hex.EncodeToString(n.Digest[:])
	r.mu.Lock()
	replayed := r.replay.check(key, now, pol.ReplayWindow)
	limited := !replayed && !r.rate.allow(n.ServerID, now, pol.RateLimit)
	r.mu.Unlock()
	if replayed {
		d.Action, d.Check, d.Reason = Refused, "replay", fmt.Sprintf("replay: session %s already notified within %s", d.SessionID, pol.ReplayWindow)
		return d, nil
	}
	if limited {
		d.Action, d.Check, d.Reason = Refused, "rate_limit", fmt.Sprintf("rate limit: more than %d notifications per minute", pol.RateLimit)
		return d, nil
	}
	ui := n.UIMode
	if ui == notification.UIUserInteraction {
		ok, why, err := r.uiPolicy(ctx, pol, n)
		if err != nil {
			return d, err
		}
		if !ok {
			d.Action, d.Reason = Ignored, why
			return d, nil
		}
		if pol.UIUserInteraction == "background" {
			ui = notification.UIBackground
		}
	}
	d.Action = Queued
	d.Reason = "verified with " + m.String()
	d.Triggers = []Trigger{{
		ServerID: n.ServerID, Source: SourcePush, SessionID: d.SessionID, UIMode: ui,
		NonceReset: m.Nonce == notification.NonceResync, At: now,
	}}
	return d, nil
}

// uiPolicy applies [push] ui_user_interaction and [ui] confirm to a
// user-interaction notification.
func (r *Router) uiPolicy(ctx context.Context, pol Policy, n *notification.Notification) (bool, string, error) {
	switch pol.UIUserInteraction {
	case "background":
		return true, "", nil
	case "reject":
		return false, "user-interaction notification rejected ([push] ui_user_interaction = reject)", nil
	}
	switch pol.Confirm {
	case "reject":
		return false, "user-interaction notification rejected ([ui] confirm = reject)", nil
	case "ask":
		if r.cfg.Asker == nil {
			return pol.OnTimeout == "accept", "user-interaction: no UI agent; [ui] on_timeout = " + pol.OnTimeout, nil
		}
		actx, cancel := context.WithTimeout(ctx, pol.AskTimeout)
		defer cancel()
		ok, err := r.cfg.Asker.Ask(actx, n.ServerID, n.SessionIDHex())
		if err != nil {
			if ctx.Err() != nil {
				return false, "", ctx.Err()
			}
			return pol.OnTimeout == "accept", "user-interaction: no answer (" + err.Error() + "); [ui] on_timeout = " + pol.OnTimeout, nil
		}
		if !ok {
			return false, "user-interaction notification declined by the user", nil
		}
	}
	return true, "", nil
}

func (r *Router) routeBootstrap(ctx context.Context, p wappush.Push) (Decision, error) {
	if r.cfg.Bootstrap == nil {
		return Decision{Action: Refused, Check: "unavailable", Reason: "bootstrap is not available"}, nil
	}
	if p.SEC == wappush.SECNone || p.MAC == "" {
		return Decision{Action: Refused, Check: "unauthenticated", Reason: "unauthenticated bootstrap push (no SEC/MAC)"}, nil
	}
	sec := auth.SecMethod(p.SEC)
	bp := &bootstrap.Push{Sec: sec, MAC: p.MAC}
	if sec == auth.SecNetwPIN || sec == auth.SecUserNetwPIN {
		if r.cfg.SIM == nil {
			return Decision{Action: Refused, Check: "bootstrap", Reason: "bootstrap SEC " + sec.String() + ": no SIM to read the IMSI from"}, nil
		}
		imsi, err := r.cfg.SIM.IMSI(ctx)
		if err != nil {
			return Decision{}, fmt.Errorf("bootstrap SEC %s: read IMSI: %w", sec, err)
		}
		bp.IMSI = imsi
	}
	if sec == auth.SecUserPIN || sec == auth.SecUserNetwPIN {
		if r.cfg.UserPIN == nil {
			return Decision{Action: Refused, Check: "bootstrap", Reason: "bootstrap SEC " + sec.String() + ": no [push] user_pin_file configured"}, nil
		}
		pin, err := r.cfg.UserPIN()
		if err != nil {
			return Decision{Action: Refused, Check: "bootstrap", Reason: "bootstrap SEC " + sec.String() + ": " + err.Error()}, nil
		}
		bp.PIN = pin
	}
	rep, err := r.cfg.Bootstrap.Bootstrap(ctx, p.Body, bootstrap.Options{Origin: "push", Push: bp})
	if err != nil && ctx.Err() != nil {
		return Decision{}, ctx.Err()
	}
	return r.bootstrapDecision(rep, err), nil
}

func (r *Router) bootstrapDecision(rep bootstrap.Report, err error) Decision {
	if err != nil {
		return Decision{Action: Refused, Check: "bootstrap", Reason: err.Error()}
	}
	d := Decision{Action: Bootstrapped, Report: &rep,
		Reason: fmt.Sprintf("bootstrap applied (%s/%s): %d new, %d changed accounts", rep.Kind, rep.Encoding, len(rep.Added), len(rep.Changed))}
	now := r.cfg.Now()
	for _, id := range rep.Added {
		d.Triggers = append(d.Triggers, Trigger{ServerID: id, Source: SourceBootstrap, At: now})
	}
	return d
}
