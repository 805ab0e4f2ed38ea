package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/acl"
)

// AlertAttributor is implemented by an Outbox that can remember
// asynchronous Execs and attribute old entries (*outbox.Outbox does).
// Without it, alerts raised outside a session go by the ACL fallback only
// and unattributed entries are never sent.
type AlertAttributor interface {
	// Expect records that serverID's Exec of source was answered 202.
	Expect(serverID string, source tree.URI, correlator string) error
	// Expected returns the server whose recorded Exec a reports on.
	Expected(a tree.Alert) (serverID string, ok bool)
	// Assign attributes an unattributed entry to serverIDs.
	Assign(id string, serverIDs ...string) error
}

// AccountLister is implemented by Accounts stores that can list every
// account (*dmacc.Store does); the alert fallback needs it.
type AccountLister interface {
	Accounts(ctx context.Context) ([]dmacc.Account, error)
}

// Attribution reasons (AlertOwners).
const (
	ByExec     = "exec"      // the server whose Exec was answered 202
	ByACL      = "exec-acl"  // the servers allowed to Exec the node
	ByOnly     = "only"      // the only account
	ByAll      = "all"       // nothing else decides: every account
	ByNoServer = "no-server" // no account at all
)

// ErrNoOwner: an alert cannot be attributed because there is no account.
var ErrNoOwner = errors.New("no DM account to send the alert to")

// AlertOwners decides which server(s) a Generic Alert raised by a provider
// is for, in this order:
//
//  1. the server whose Exec of the alert's node (matched by Correlator,
//     else by Source) was answered 202, as recorded by the engine in the
//     outbox (this survives a reboot);
//  2. otherwise (an alert raised outside any Exec, a record lost or
//     forgotten): the accounts whose ServerID the effective ACL of the
//     alert's Source (or of its closest existing ancestor) grants Exec:
//     they are the ones allowed to act on that node;
//  3. otherwise the only account, if there is exactly one;
//  4. otherwise every account (each gets its own copy and acknowledges it
//     separately): an alert is never dropped, and a server without rights
//     on the node gets it only when nothing tells the servers apart.
func (e *Engine) AlertOwners(ctx context.Context, a tree.Alert) ([]string, string, error) {
	if at, ok := e.cfg.Outbox.(AlertAttributor); ok {
		if id, ok := at.Expected(a); ok {
			if _, err := e.cfg.Accounts.Account(ctx, id); err == nil {
				return []string{id}, ByExec, nil
			}
		}
	}
	lister, ok := e.cfg.Accounts.(AccountLister)
	if !ok {
		return nil, ByNoServer, fmt.Errorf("%w: the account store cannot list accounts", ErrNoOwner)
	}
	accs, err := lister.Accounts(ctx)
	if len(accs) == 0 {
		if err == nil {
			err = ErrNoOwner
		}
		return nil, ByNoServer, fmt.Errorf("%w: %w", ErrNoOwner, err)
	}
	ids := make([]string, len(accs))
	for i, acc := range accs {
		ids[i] = acc.ServerID
	}
	if a.Source != "" {
		if eff, ok := e.effectiveACL(ctx, a.Source); ok {
			var allowed []string
			for _, id := range ids {
				if eff.Allows(acl.Exec, id) {
					allowed = append(allowed, id)
				}
			}
			if len(allowed) > 0 {
				return allowed, ByACL, nil
			}
		}
	}
	if len(ids) == 1 {
		return ids, ByOnly, nil
	}
	return ids, ByAll, nil
}

// effectiveACL returns the first non-empty ACL of u or its ancestors
// (missing nodes are skipped: the node may be gone after a reboot).
func (e *Engine) effectiveACL(ctx context.Context, src tree.URI) (acl.ACL, bool) {
	u, _, err := tree.ParseURI(string(src), tree.DefaultLimits)
	if err != nil {
		return acl.ACL{}, false
	}
	for {
		r, err := e.cfg.Tree.Get(ctx, tree.LocalPrincipal, string(u)+"?prop=ACL")
		if err == nil && len(r.Items) == 1 && len(r.Items[0].Data) > 0 {
			a, perr := acl.Parse(string(r.Items[0].Data))
			return a, perr == nil
		}
		if u.IsRoot() {
			return acl.ACL{}, false
		}
		u = u.Parent()
	}
}

// ReportAlert persists a Generic Alert a provider raised (the func(Alert)
// providers are given) for the server(s) AlertOwners names, and returns
// them. The caller then tells the agent (AlertsChanged) so a session
// delivers it.
func (e *Engine) ReportAlert(ctx context.Context, a tree.Alert) ([]string, error) {
	if e.cfg.Outbox == nil {
		return nil, errors.New("session: no outbox configured")
	}
	ids, why, err := e.AlertOwners(ctx, a)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, id := range ids {
		if _, err := e.cfg.Outbox.Add(id, a); err != nil {
			errs = append(errs, err)
		}
	}
	e.cfg.Logger.Info("generic alert queued", "type", a.Type, "source", string(a.Source), "server_ids", ids, "attributed_by", why)
	return ids, errors.Join(errs...)
}

// AdoptUnattributed attributes the outbox entries that have no ServerID
// (written by an older version) with AlertOwners. The engine does it at
// the start of every session; the daemon also does it before counting the
// pending alerts per server.
func (e *Engine) AdoptUnattributed(ctx context.Context) error {
	at, ok := e.cfg.Outbox.(AlertAttributor)
	if !ok || e.cfg.Outbox == nil {
		return nil
	}
	es, err := e.cfg.Outbox.Pending()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, en := range es {
		if en.ServerID != "" {
			continue
		}
		ids, why, err := e.AlertOwners(ctx, en.Alert)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := at.Assign(en.ID, ids...); err != nil {
			errs = append(errs, err)
			continue
		}
		e.cfg.Logger.Info("pending generic alert from an older outbox attributed", "id", en.ID, "server_ids", ids, "attributed_by", why)
	}
	return errors.Join(errs...)
}

// recordAsyncExec remembers that the session's server executed target and
// was answered 202, so the provider's later alert goes to this server.
func (s *session) recordAsyncExec(target, correlator string) {
	at, ok := s.cfg.Outbox.(AlertAttributor)
	if !ok {
		return
	}
	u, _, err := tree.ParseURI(target, tree.DefaultLimits)
	if err != nil {
		return
	}
	if err := at.Expect(s.trig.ServerID, u, correlator); err != nil {
		s.log.Warn("cannot record the asynchronous Exec; its alert will be attributed by ACL", "target", target, "err", err)
	}
}
