package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/dbusapi"
	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/agent/session"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

const planUsage = `usage: omadm-agent plan [--server SERVERID] FILE|RECORD_DIR   (a server package, SyncML DM XML or WBXML; - for stdin;
                                                          or a session record: each server message in order)

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
	files := []string{pos[0]}
	if fi, err := os.Stat(pos[0]); err == nil && fi.IsDir() {
		if files, err = serverMessages(pos[0]); err != nil {
			return err
		}
	}
	var packages [][]byte
	for _, name := range files {
		in, name, err := c.openInput([]string{name})
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
		packages = append(packages, data)
	}
	var plan func(data []byte) (string, error)
	if cl := c.runningAgent(ctx); cl != nil {
		defer cl.Close()
		fmt.Fprintln(c.stdout, "(planned by the agent daemon)")
		plan = func(data []byte) (string, error) {
			f, err := pipeOf(data)
			if err != nil {
				return "", err
			}
			defer f.Close()
			out, err := cl.PlanFile(ctx, f, *server)
			if err != nil {
				return "", fmt.Errorf("agent daemon: %s", oneLine(err))
			}
			return out, nil
		}
	} else {
		t, accs, err := c.openSessionTree(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "(standalone: the agent daemon is not running, so the D-Bus objects are not mounted and their commands show 404)")
		plan = func(data []byte) (string, error) { return planText(ctx, c, t, accs, *server, data) }
	}
	for i, data := range packages {
		if len(files) > 1 {
			fmt.Fprintf(c.stdout, "== %s\n", filepath.Base(files[i]))
		}
		out, err := plan(data)
		if err != nil {
			return fmt.Errorf("%s: %w", files[i], err)
		}
		fmt.Fprint(c.stdout, out)
	}
	return nil
}

// serverMessages lists the server messages of a session record directory
// (NNNN-server.xml or .wbxml, in order), or of the one record inside dir
// (what "session --record DIR" writes).
func serverMessages(dir string) ([]string, error) {
	list := func(d string) []string {
		var out []string
		for _, ext := range []string{"xml", "wbxml"} {
			m, _ := filepath.Glob(filepath.Join(d, "[0-9][0-9][0-9][0-9]-server."+ext))
			out = append(out, m...)
		}
		sort.Strings(out)
		return out
	}
	if files := list(dir); len(files) > 0 {
		return files, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var subs []string
	for _, e := range ents {
		if e.IsDir() {
			if files := list(filepath.Join(dir, e.Name())); len(files) > 0 {
				subs = append(subs, e.Name())
			}
		}
	}
	switch len(subs) {
	case 0:
		return nil, fmt.Errorf("%s: no server messages (NNNN-server.xml or .wbxml) of a session record", dir)
	case 1:
		return list(filepath.Join(dir, subs[0])), nil
	}
	return nil, fmt.Errorf("%s holds %d session records (%s): name one", dir, len(subs), strings.Join(subs, ", "))
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
