package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/dbusapi"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/agent/session"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

const sessionUsage = `usage: omadm-agent session [--server SERVERID] [--timeout DUR] [--record DIR] [--xml] [-v]

When the agent daemon runs (its D-Bus name has an owner on the [dbus] bus),
the session is run by the daemon: StartSession, then the matching
SessionFinished is awaited (--timeout). Otherwise the session runs here.`
const notifyUsage = `usage: omadm-agent notify [--timeout DUR] [--record DIR] [--xml] [-v] FILE   (Package #0, binary or hex; - for stdin)

When the agent daemon runs, the Package #0 is passed to it (ProcessFile)
and the session it starts is awaited (--timeout).`

// defaultWaitTimeout bounds the wait for a daemon-run session.
const defaultWaitTimeout = 15 * time.Minute

// sessionFlags are the flags shared by session and notify.
type sessionFlags struct {
	record  string
	xml     bool
	verbose bool
	timeout time.Duration
}

func (f *sessionFlags) register(fs interface {
	StringVar(*string, string, string, string)
	BoolVar(*bool, string, bool, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}) {
	fs.StringVar(&f.record, "record", "", "record every message of the session (secrets redacted) under DIR (standalone only)")
	fs.BoolVar(&f.xml, "xml", false, "use XML instead of WBXML (standalone only)")
	fs.BoolVar(&f.verbose, "v", false, "log the session on stderr (debug level; standalone only)")
	fs.DurationVar(&f.timeout, "timeout", defaultWaitTimeout, "with a running agent: how long to wait for the session to finish")
}

// runningAgent returns a client of the running daemon, or nil when none
// owns the bus name on the configured bus ([dbus] bus; the address comes
// from DBUS_SYSTEM_BUS_ADDRESS / DBUS_SESSION_BUS_ADDRESS).
func (c *cli) runningAgent(ctx context.Context) *dbusapi.Client {
	cfg, _, err := c.loadDaemonConfig()
	if err != nil {
		cfg = config.Default()
	}
	// The connection must outlive qctx (godbus closes it with its
	// context); the caller closes it.
	cl, err := dbusapi.Connect(context.WithoutCancel(ctx), cfg.DBus.Bus)
	if err != nil {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !cl.Running(qctx) {
		cl.Close()
		return nil
	}
	return cl
}

// viaDaemon checks that sf makes sense for a daemon-run session.
func (sf sessionFlags) viaDaemon() error {
	if sf.record != "" || sf.xml {
		return usagef("the agent daemon is running and runs the session: --record and --xml apply only to a standalone session (set [agent] record_dir or a [[server]] encoding instead)")
	}
	if sf.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	return nil
}

// waitDaemon runs start (StartSession or ProcessFile through cl) and
// waits for the sessions it queued; it prints one line per session and
// fails if any failed.
func (c *cli) waitDaemon(ctx context.Context, sf sessionFlags, run func(ctx context.Context) ([]dbusapi.Finished, error)) error {
	wctx, cancel := context.WithTimeout(ctx, sf.timeout)
	defer cancel()
	fs, err := run(wctx)
	var failed []string
	for _, f := range fs {
		fmt.Fprintf(c.stdout, "session %s with %s (run by the agent daemon): %s\n", f.SessionID, f.ServerID, f.Result)
		if !f.OK() {
			failed = append(failed, fmt.Sprintf("session %s with %s failed (status %d): %s", f.SessionID, f.ServerID, f.Status, oneLine(errors.New(f.Result))))
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("the agent daemon did not finish the session within %s (it may still run it: see omadm-agent status)", sf.timeout)
	case err != nil:
		return fmt.Errorf("agent daemon: %s", oneLine(err))
	case len(failed) > 0:
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// cmdSession runs one client-initiated session now (Alert 1201).
func cmdSession(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("session")
	fs.Usage = func() { fmt.Fprintln(c.stderr, sessionUsage); fs.PrintDefaults() }
	server := fs.String("server", "", "ServerID of the account in ./DMAcc (default: the only one)")
	var sf sessionFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("%s", sessionUsage)
	}
	if cl := c.runningAgent(ctx); cl != nil {
		// Never run the engine here while the daemon runs: it owns the
		// sessions (one per server at a time).
		defer cl.Close()
		if err := sf.viaDaemon(); err != nil {
			return err
		}
		return c.waitDaemon(ctx, sf, func(ctx context.Context) ([]dbusapi.Finished, error) {
			return cl.RunSession(ctx, *server)
		})
	}
	unlock, err := lockStateDir(c.stateDir, "session")
	if err != nil {
		return fmt.Errorf("%w: the agent daemon may be running without D-Bus, or another session is running", err)
	}
	defer unlock()
	t, accs, err := c.openSessionTree(ctx)
	if err != nil {
		return err
	}
	id := *server
	if id == "" {
		all, aerr := accs.Accounts(ctx)
		switch {
		case len(all) == 0 && aerr != nil:
			return fmt.Errorf("no usable DM account in ./DMAcc: %s", oneLine(aerr))
		case len(all) == 0:
			return errors.New("no DM account in ./DMAcc (bootstrap one first)")
		case len(all) > 1:
			ids := make([]string, len(all))
			for i, a := range all {
				ids[i] = a.ServerID
			}
			sort.Strings(ids)
			return usagef("several DM accounts (%s): choose one with --server", strings.Join(ids, ", "))
		}
		id = all[0].ServerID
	} else if _, err := accs.Account(ctx, id); err != nil {
		return fmt.Errorf("server %q: no such account in ./DMAcc", id)
	}
	return c.runSession(ctx, t, accs, sf, session.Trigger{ServerID: id, Initiator: session.ClientInitiated})
}

// cmdNotify processes a Package #0 from a file exactly as if it had come
// over the air, then runs the server-initiated session (Alert 1200).
func cmdNotify(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("notify")
	fs.Usage = func() { fmt.Fprintln(c.stderr, notifyUsage); fs.PrintDefaults() }
	var sf sessionFlags
	sf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("%s", notifyUsage)
	}
	in, name, err := c.openInput(pos)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(in, 64<<10))
	in.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b, err := hexOrBinary(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	n, err := notification.Decode(b)
	if n == nil {
		return fmt.Errorf("%s: %s", name, oneLine(err))
	}
	if cl := c.runningAgent(ctx); cl != nil {
		defer cl.Close()
		if err := sf.viaDaemon(); err != nil {
			return err
		}
		return c.waitDaemon(ctx, sf, func(ctx context.Context) ([]dbusapi.Finished, error) {
			return cl.ProcessDataAndWait(ctx, b, agent.KindNotification)
		})
	}
	unlock, err := lockStateDir(c.stateDir, "session")
	if err != nil {
		return fmt.Errorf("%w: the agent daemon may be running without D-Bus, or another session is running", err)
	}
	defer unlock()
	t, accs, err := c.openSessionTree(ctx)
	if err != nil {
		return err
	}
	acc, err := accs.Account(ctx, n.ServerID)
	if err != nil {
		return fmt.Errorf("notification refused: unknown server %q", n.ServerID)
	}
	m, err := notification.VerifyWithResync(n, notification.Credentials{ServerID: acc.ServerID, AAuthName: acc.Server.Name,
		Password: acc.Server.Secret, Nonce: acc.Server.Nonce})
	if err != nil {
		return fmt.Errorf("notification refused: digest does not verify against the SRVCRED of %q", n.ServerID)
	}
	fmt.Fprintf(c.stdout, "notification: server %s, session %s, ui-mode %v, verified (%s)\n", n.ServerID, n.SessionIDHex(), n.UIMode, m)
	trig := session.Trigger{ServerID: acc.ServerID, Initiator: session.ServerInitiated, SessionID: n.SessionIDHex(),
		NonceReset: m.Nonce == notification.NonceResync}
	return c.runSession(ctx, t, accs, sf, trig)
}

// openSessionTree opens the device tree and its account store.
func (c *cli) openSessionTree(ctx context.Context) (*tree.Tree, *dmacc.Store, error) {
	t, err := c.openDeviceTree(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the tree in %s: %w", c.stateDir, err)
	}
	return t, dmacc.New(t), nil
}

func (c *cli) runSession(ctx context.Context, t *tree.Tree, accs *dmacc.Store, sf sessionFlags, trig session.Trigger) error {
	cfg, err := c.loadConfigOrDefault()
	if err != nil {
		return err
	}
	level := slog.LevelError
	if sf.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
	ob, err := outbox.Open(filepath.Join(c.stateDir, "outbox"))
	if err != nil {
		return err
	}
	ui := &liveUI{}
	ui.set(cfg.UI)
	ecfg := engineConfig(cfg, t, accs, ob, ui, log)
	if sf.record != "" {
		if err := os.MkdirAll(sf.record, 0o700); err != nil {
			return err
		}
		ecfg.RecordDir = sf.record
	}
	if sf.xml {
		ecfg.XML = true
		delete(ecfg.Encodings, trig.ServerID)
	}
	eng, err := session.NewEngine(ecfg)
	if err != nil {
		return err
	}
	sum, err := eng.Run(ctx, trig)
	printSummary(c.stdout, sum)
	if err != nil {
		return fmt.Errorf("session %s with %s: %s", sum.SessionID, trig.ServerID, oneLine(err))
	}
	return nil
}

func printSummary(w io.Writer, s session.Summary) {
	fmt.Fprintf(w, "session %s with %s (%s-initiated): %s\n", s.SessionID, s.ServerID, s.Initiator, s.Result)
	fmt.Fprintf(w, "  messages: %d sent, %d received, %d round trips in %s\n", s.MessagesSent, s.MessagesReceived, s.RoundTrips, s.Duration.Round(time.Millisecond))
	codes := make([]int, 0, len(s.Statuses))
	for k, v := range s.Statuses {
		if v > 0 {
			codes = append(codes, k)
		}
	}
	sort.Ints(codes)
	var parts []string
	for _, k := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", s.Statuses[k], k))
	}
	fmt.Fprintf(w, "  commands: %d (statuses sent: %s)\n", s.Commands, strings.Join(parts, " "))
	fmt.Fprintf(w, "  auth: client %s, server %s\n", yesNo(s.ClientAuthenticated), yesNo(s.ServerAuthenticated))
	if s.AlertsSent > 0 {
		fmt.Fprintf(w, "  generic alerts: %d sent, %d acknowledged\n", s.AlertsSent, s.AlertsAcked)
	}
	if s.RecordDir != "" {
		fmt.Fprintf(w, "  recorded in %s\n", s.RecordDir)
	}
}

func yesNo(b bool) string {
	if b {
		return "authenticated"
	}
	return "not authenticated"
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
