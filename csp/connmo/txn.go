package connmo

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/tree"
)

// txn is one Atomic: an NM checkpoint plus a journal of the connections
// the provider changed, so that Rollback restores them even where NM's
// checkpoint does not (a checkpoint restores the connections applied on
// its devices and deletes new ones; edits to inactive profiles and deleted
// inactive profiles are restored from the journal).
type txn struct {
	p     *Provider
	cp    dbus.ObjectPath
	order []string            // UUIDs touched, first touch first
	saved map[string]Settings // UUID → full settings at first touch; nil: created in the txn
	done  bool
}

// touched records the settings of connection uuid before its first change
// in the transaction. The caller holds p.mu.
func (x *txn) touched(uuid string, before Settings) {
	if _, ok := x.saved[uuid]; ok {
		return
	}
	x.order = append(x.order, uuid)
	x.saved[uuid] = before.clone()
}

// created records that the transaction adds connection uuid. The caller
// holds p.mu.
func (x *txn) created(uuid string) {
	if _, ok := x.saved[uuid]; ok {
		return
	}
	x.order = append(x.order, uuid)
	x.saved[uuid] = nil
}

// Begin creates an NM checkpoint of all devices (CheckpointCreate with no
// device paths, RollbackTimeout, DELETE_NEW_CONNECTIONS |
// DISCONNECT_NEW_DEVICES). If NM refuses, Begin fails and the Atomic fails
// before anything is applied.
func (p *Provider) Begin(ctx context.Context) (tree.ProviderTx, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx != nil {
		return nil, fmt.Errorf("connmo: a transaction is already open: %w", tree.ErrCommandFailed)
	}
	secs := math.Ceil(p.cfg.RollbackTimeout.Seconds())
	cp, err := p.nm.CheckpointCreate(ctx, uint32(secs), CheckpointDeleteNewConnections|CheckpointDisconnectNewDevices)
	if err != nil {
		return nil, fmt.Errorf("connmo: NetworkManager checkpoint for the Atomic: %w", err)
	}
	p.tx = &txn{p: p, cp: cp, saved: map[string]Settings{}}
	return p.tx, nil
}

func (x *txn) end() bool {
	if x.done {
		return false
	}
	x.done = true
	if x.p.tx == x {
		x.p.tx = nil
	}
	return true
}

// Commit keeps the changes and destroys the checkpoint
// (CheckpointDestroy). It fails if NM already rolled back by itself
// because RollbackTimeout passed. It runs even when ctx is cancelled: a
// checkpoint left behind would make NM undo the committed changes when
// RollbackTimeout expires.
func (x *txn) Commit(ctx context.Context) error {
	x.p.mu.Lock()
	defer x.p.mu.Unlock()
	if !x.end() {
		return tree.ErrTxnDone
	}
	ctx = context.WithoutCancel(ctx)
	if err := x.p.nm.CheckpointDestroy(ctx, x.cp); err != nil {
		return fmt.Errorf("connmo: destroy checkpoint %s: %w", x.cp, err)
	}
	return nil
}

// Rollback calls CheckpointRollback, then puts back, newest first, every
// connection the journal holds: one created in the transaction is deleted
// if still there; a changed one gets its saved settings (Update), a
// deleted one is re-added with its UUID (AddConnection). It runs even when
// ctx is cancelled (the session may be ending).
func (x *txn) Rollback(ctx context.Context) error {
	x.p.mu.Lock()
	defer x.p.mu.Unlock()
	if !x.end() {
		return tree.ErrTxnDone
	}
	ctx = context.WithoutCancel(ctx)
	var errs []error
	res, err := x.p.nm.CheckpointRollback(ctx, x.cp)
	if err != nil {
		errs = append(errs, fmt.Errorf("connmo: checkpoint rollback %s: %w", x.cp, err))
	}
	for dev, code := range res {
		if code != 0 { // NM_ROLLBACK_RESULT_OK
			errs = append(errs, fmt.Errorf("connmo: checkpoint rollback: device %s: result %d: %w", dev, code, tree.ErrCommandFailed))
		}
	}
	if len(x.order) == 0 {
		return errors.Join(errs...)
	}
	cs, err := x.p.list(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	byUUID := map[string]conn{}
	for _, c := range cs {
		byUUID[c.ident().UUID] = c
	}
	for i := len(x.order) - 1; i >= 0; i-- {
		uuid := x.order[i]
		saved := x.saved[uuid]
		c, exists := byUUID[uuid]
		switch {
		case saved == nil && exists:
			if err := x.p.nm.Delete(ctx, c.path); err != nil && !errors.Is(err, tree.ErrNotFound) {
				errs = append(errs, fmt.Errorf("connmo: rollback: delete added connection %s: %w", uuid, err))
			}
		case saved == nil:
		case exists:
			if err := x.p.nm.Update(ctx, c.path, saved); err != nil {
				errs = append(errs, fmt.Errorf("connmo: rollback: restore connection %s: %w", uuid, err))
			}
		default:
			if _, err := x.p.nm.AddConnection(ctx, saved); err != nil {
				errs = append(errs, fmt.Errorf("connmo: rollback: re-add connection %s: %w", uuid, err))
			}
		}
	}
	return errors.Join(errs...)
}
