package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/omadm-agent/omadm-agent/agent/dbusapi"
	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/agent/session"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

const planUsage = `usage: omadm-agent plan [--server SERVERID] FILE   (a server package, SyncML DM XML or WBXML; - for stdin)

A dry run: what the device would answer to each command of FILE if the
server sent it now (existence, DDF, format, the server's ACL, whether the
object supports the command), with nothing changed and no session opened.
FILE is typically a NNNN-server.xml of a session record ([agent] record_dir
or "session --record"). When the agent daemon runs, it makes the plan on its
full tree (the D-Bus objects ./Vendor/omadm, ./FUMO included); otherwise the
plan covers the stored tree and the device objects only.
`

// cmdPlan prints the plan of a server package (session.Engine.Plan).
func cmdPlan(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("plan")
	server := fs.String("server", "", "ServerID of the account in ./DMAcc whose rights apply (default: the only one)")
	fs.Usage = func() { fmt.Fprint(c.stderr, planUsage); fs.PrintDefaults() }
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("plan takes one FILE")
	}
	in, name, err := c.openInput(pos)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(in, dbusapi.MaxFileSize+1))
	in.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > dbusapi.MaxFileSize {
		return fmt.Errorf("%s: larger than %d bytes", name, dbusapi.MaxFileSize)
	}
	if _, _, err := syncml.Decode(data); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cl := c.runningAgent(ctx); cl != nil {
		defer cl.Close()
		f, err := pipeOf(data)
		if err != nil {
			return err
		}
		defer f.Close()
		out, err := cl.PlanFile(ctx, f, *server)
		if err != nil {
			return fmt.Errorf("agent daemon: %s", oneLine(err))
		}
		fmt.Fprintf(c.stdout, "(planned by the agent daemon)\n%s", out)
		return nil
	}
	t, accs, err := c.openSessionTree(ctx)
	if err != nil {
		return err
	}
	out, err := planText(ctx, c, t, accs, *server, data)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "(standalone: the agent daemon is not running, so the D-Bus objects are not mounted and their commands show 404)\n%s", out)
	return nil
}

// planText plans pkg for serverID on the standalone tree t.
func planText(ctx context.Context, c *cli, t *tree.Tree, accs *dmacc.Store, serverID string, pkg []byte) (string, error) {
	cfg, err := c.loadConfigOrDefault()
	if err != nil {
		return "", err
	}
	ob, err := outbox.Open(filepath.Join(c.stateDir, "outbox"))
	if err != nil {
		return "", err
	}
	ui := &liveUI{}
	ui.set(cfg.UI)
	eng, err := session.NewEngine(engineConfig(cfg, t, accs, ob, ui, slog.New(slog.DiscardHandler)))
	if err != nil {
		return "", err
	}
	return planWith(ctx, eng, accs, serverID, pkg)
}

// planWith decodes pkg and plans it with eng for serverID ("" = the only
// account): the daemon's PlanFile and the standalone command share it.
func planWith(ctx context.Context, eng *session.Engine, accs *dmacc.Store, serverID string, pkg []byte) (string, error) {
	msg, _, err := syncml.Decode(pkg)
	if err != nil {
		return "", err
	}
	if serverID == "" {
		all, err := accs.Accounts(ctx)
		if err != nil {
			return "", err
		}
		if len(all) != 1 {
			return "", fmt.Errorf("%d accounts in ./DMAcc: say which server with --server", len(all))
		}
		serverID = all[0].ServerID
	}
	steps, err := eng.Plan(ctx, serverID, msg)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = session.WritePlan(&b, serverID, steps)
	return b.String(), err
}

// pipeOf returns the read end of a pipe that yields data (for passing a
// descriptor over D-Bus).
func pipeOf(data []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	go func() {
		_, _ = w.Write(data)
		w.Close()
	}()
	return r, nil
}
