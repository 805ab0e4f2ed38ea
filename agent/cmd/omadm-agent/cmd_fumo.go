package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/csp/fumo"
	"github.com/omadm-agent/omadm-agent/csp/window"
	"github.com/omadm-agent/omadm-agent/tree"
)

// mountFUMO mounts ./FUMO/1 ([fumo] table): packages are downloaded to
// [fumo] dir (default <state_dir>/fumo) and installed by RAUC on conn; the
// results go to report (the engine's outbox, Generic Alert 1226).
func mountFUMO(t *tree.Tree, conn *dbus.Conn, cfg config.Config, stateDir string, report func(context.Context, tree.Alert) error, ob *outbox.Outbox, log *slog.Logger) (*fumo.Provider, error) {
	dir := cfg.FUMO.Dir
	if dir == "" {
		dir = filepath.Join(stateDir, "fumo")
	}
	mark, err := fumo.ParseMarkGood(cfg.FUMO.MarkGood)
	if err != nil {
		return nil, err
	}
	windows, err := window.Parse(cfg.System.MaintenanceWindows) // validated with the config
	if err != nil {
		return nil, err
	}
	fc := fumo.Config{Dir: dir, CAFile: cfg.FUMO.CAFile, MaxSize: cfg.FUMO.MaxSize, Report: report, MarkGood: mark, Window: windows,
		// The slot is marked good only once the result alert has left the
		// outbox: its server acknowledged it.
		Delivered: func(_ context.Context, a tree.Alert) (bool, error) {
			pending, err := ob.Pending()
			if err != nil {
				return false, err
			}
			for _, e := range pending {
				x := e.Alert
				if x.Type == a.Type && x.Source == a.Source && x.Correlator == a.Correlator && bytes.Equal(x.Data, a.Data) {
					return false, nil
				}
			}
			return true, nil
		},
		OnMark: func(slot string, err error) {
			if err != nil {
				log.Warn("firmware: marking the updated slot good failed; retried after the next session", "slot", slot, "err", err)
				return
			}
			log.Info("firmware: updated slot marked good in RAUC", "slot", slot)
		},
	}
	if cfg.FUMO.Reboot == "logind" {
		fc.Reboot = func(ctx context.Context) error {
			log.Warn("firmware installed: rebooting through logind")
			return logindReboot(ctx, conn)
		}
	}
	p, err := fumo.Mount(t, conn, fc)
	if err != nil {
		return nil, fmt.Errorf("fumo: %w", err)
	}
	return p, nil
}

// logindReboot asks systemd-logind to reboot (Manager.Reboot, not
// interactive: the agent runs as a service).
func logindReboot(ctx context.Context, conn *dbus.Conn) error {
	obj := conn.Object("org.freedesktop.login1", "/org/freedesktop/login1")
	if err := obj.CallWithContext(ctx, "org.freedesktop.login1.Manager.Reboot", 0, false).Err; err != nil {
		return fmt.Errorf("logind Reboot: %w", err)
	}
	return nil
}
