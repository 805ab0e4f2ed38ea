package device

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/csp/devdetail"
	"github.com/omadm-agent/omadm-agent/csp/devinfo"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/store"
)

// TreeFile is the name of the tree snapshot inside the state directory.
const TreeFile = "tree.db"

// Options describe the device the tree is built for.
type Options struct {
	// StateDir holds TreeFile. It is created with mode 0700 if missing.
	StateDir string
	// Device is the [device] table of the configuration.
	Device config.Device
	// Version is the agent version (DevInfo DmV default).
	Version string
	// IMEI returns the modem's IMEI; nil when there is no modem.
	IMEI devinfo.IMEISource
	// MachineIDPath and OSReleasePath override /etc/machine-id and
	// /etc/os-release (tests).
	MachineIDPath string
	OSReleasePath string
	// TreeOptions are passed to tree.Open (limits, clock).
	TreeOptions []tree.Option
}

// OpenTree opens the persistent management tree of the agent: the snapshot
// StateDir/tree.db (a new tree if it does not exist; files are written 0600
// by tree/store), ./DevInfo and ./DevDetail mounted as read-only providers,
// and the ./DMAcc DDF declared with its Inbox routes. The daemon, the
// session CLI and the tree CLI all build the tree with this function. The
// caller calls Flush on the tree to persist changes.
func OpenTree(ctx context.Context, opts Options) (*tree.Tree, error) {
	if opts.StateDir == "" {
		return nil, fmt.Errorf("device: no state directory")
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("device: state directory: %w", err)
	}
	st := store.NewFile(filepath.Join(opts.StateDir, TreeFile))
	t, err := tree.Open(ctx, st, opts.TreeOptions...)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	d := opts.Device
	info := devinfo.New(devinfo.Config{
		DevID: d.DevID, Man: d.Manufacturer, Mod: d.Model, DmV: d.DMVersion, Version: opts.Version,
		Lang: d.Lang, MachineIDPath: opts.MachineIDPath,
	}, opts.IMEI)
	if err := t.Mount(devinfo.Root, info); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	detail := devdetail.New(devdetail.Config{
		DevTyp: d.DevType, OEM: d.OEM, FwV: d.FWVersion, SwV: d.SWVersion, HwV: d.HWVersion,
		Limits: t.Limits(), OSReleasePath: opts.OSReleasePath,
	})
	if err := t.Mount(devdetail.Root, detail); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if err := dmacc.Declare(t); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return t, nil
}
