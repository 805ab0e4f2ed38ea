// Command omadm-agent is the OMA DM 1.2 client daemon and its technician tools.
//
// Usage:
//
//	omadm-agent [--state-dir DIR] [--config FILE] COMMAND [ARGS]
//
// Run "omadm-agent help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Defaults for the global flags.
const (
	defaultStateDir = "/var/lib/omadm-agent"
	defaultConfig   = "/etc/omadm-agent/agent.toml"
)

// cli carries what every subcommand needs: its streams and the global flags.
// Subcommands never touch os.Stdin/os.Stdout directly so tests can run them
// in-process.
type cli struct {
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	stateDir string
	config   string
}

// command is one subcommand. run returns an error that main prints as one
// line; a *usageError exits with status 2, anything else with status 1.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

// usageError marks a mistake in how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// commands is the table of subcommands. Each group lives in its own cmd_*.go file.
func commands() []command {
	return []command{
		{"version", "print the version and build information", cmdVersion},
		{"syncml", "decode or encode SyncML DM messages (XML and WBXML)", cmdSyncml},
		{"notification", "decode, verify or encode a Package #0 notification", cmdNotification},
		{"tree", "read and change the local DM tree: get|add|set|delete|dump URI [VALUE]", cmdTree},
		{"bootstrap", "apply a bootstrap document (DM SyncML or CP w7) to the tree", cmdBootstrap},
		{"ddf", "print the DDF (syncml:dmddf1.2) of the tree or a subtree", cmdDDF},
		{"session", "run one client-initiated DM session now", cmdSession},
		{"notify", "process a Package #0 file and run the server-initiated session", cmdNotify},
		{"run", "run the agent daemon", cmdRun},
		{"plan", "dry run: what the device would answer to a server package, nothing changed", cmdPlan},
		{"status", "show the agent's state (from the running daemon, or standalone)", cmdStatus},
	}
}

// flags returns a FlagSet for a subcommand that also accepts the global flags.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.stateDir, "state-dir", c.stateDir, "state directory (tree, outbox, nonces)")
	fs.StringVar(&c.config, "config", c.config, "configuration file")
	return fs
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain is main without the process: it returns the exit status.
func runMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, stateDir: defaultStateDir, config: defaultConfig}
	if v := os.Getenv("OMADM_STATE_DIR"); v != "" {
		c.stateDir = v
	}
	if v := os.Getenv("OMADM_CONFIG"); v != "" {
		c.config = v
	}
	fs := c.flags("omadm-agent")
	fs.Usage = func() { printUsage(c.stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
		printUsage(c.stdout)
		if len(rest) == 0 {
			return 2
		}
		return 0
	}
	for _, cmd := range commands() {
		if cmd.name != rest[0] {
			continue
		}
		err := cmd.run(ctx, c, rest[1:])
		if err == nil {
			return 0
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(c.stderr, "omadm-agent %s: %v\n", cmd.name, err)
		var ue *usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(c.stderr, "omadm-agent: unknown command %q (see omadm-agent help)\n", rest[0])
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "omadm-agent %s: OMA DM 1.2 client for embedded Linux gateways\n\n", version)
	fmt.Fprintf(w, "Usage: omadm-agent [--state-dir DIR] [--config FILE] COMMAND [ARGS]\n\nCommands:\n")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, cmd := range cmds {
		fmt.Fprintf(w, "  %-13s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintf(w, "\nGlobal flags: --state-dir (default %s, env OMADM_STATE_DIR), --config (default %s, env OMADM_CONFIG)\n",
		defaultStateDir, defaultConfig)
}

func cmdVersion(_ context.Context, c *cli, args []string) error {
	fs := c.flags("version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "omadm-agent %s %s/%s %s\n", version, runtime.GOOS, runtime.GOARCH, runtime.Version())
	return nil
}

// openInput opens FILE, or standard input for "-" or no argument.
func (c *cli) openInput(args []string) (io.ReadCloser, string, error) {
	if len(args) > 1 {
		return nil, "", usagef("at most one input file, got %d", len(args))
	}
	if len(args) == 0 || args[0] == "-" {
		return io.NopCloser(c.stdin), "stdin", nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, "", err
	}
	return f, args[0], nil
}
