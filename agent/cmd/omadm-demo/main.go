// Command omadm-demo is the end-to-end demonstration behind `make demo`: it
// shows the real omadm-agent daemon receive an authenticated WAP-push SMS,
// run the server-initiated DM session it asks for against the in-repository
// test server over HTTPS, change the host name and time zone through its
// D-Bus CSPs, then run a client-initiated session, and prints a transcript a
// person can follow.
//
// Everything goes through real processes and wire formats: the agent is
// the built binary (bin/omadm-agent run) in its own process; the DM server
// (agent/dmtest) listens on loopback HTTPS with a fresh CA the agent is
// configured to trust; the modem is a fake AT modem on a pty
// (modem/modemtest) the agent opens as a tty; hostnamed and timedated are
// python3-dbusmock stand-ins on a private dbus-daemon (csp/dbusmockrun).
// The SMS PDU is encoded by python3-gammu.
//
// Usage:
//
//	omadm-demo [-agent bin/omadm-agent] [-scenario testdata/demo/demo.dms] [-v] [-keep]
//
// Exit status 0 when every step passed; otherwise one line says which step
// failed and why, and the status is 1 (2 for bad usage). Every process the
// demo starts is stopped by PID and the temporary directory is removed
// (unless -keep).
//
// It is not shipped in the packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	fs := flag.NewFlagSet("omadm-demo", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.agentBin, "agent", "bin/omadm-agent", "the omadm-agent binary to run")
	fs.StringVar(&o.scenario, "scenario", "testdata/demo/demo.dms", "the DM server's scenario")
	fs.BoolVar(&o.verbose, "v", false, "also print every line the agent logs")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (state, config, logs)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: omadm-demo [-agent BIN] [-scenario FILE] [-v] [-keep]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Stdout, o)
	stop()
	os.Exit(code)
}

type options struct {
	agentBin string
	scenario string
	verbose  bool
	keep     bool
}

// run runs the demo and returns the exit status.
func run(ctx context.Context, w io.Writer, o options) int {
	d := &demo{w: w, opts: o}
	err := d.run(ctx)
	d.cleanup()
	if err != nil {
		var se *stepError
		if errors.As(err, &se) && ctx.Err() != nil {
			fmt.Fprintf(w, "\nomadm-demo: FAILED at step %d (%s): interrupted by a signal\n", se.n, se.name)
		} else if errors.As(err, &se) {
			fmt.Fprintf(w, "\nomadm-demo: FAILED at step %d (%s): %v\n", se.n, se.name, se.err)
		} else {
			fmt.Fprintf(w, "\nomadm-demo: FAILED: %v\n", err)
		}
		return 1
	}
	fmt.Fprintf(w, "\nomadm-demo: OK (%d steps, %.1fs)\n", d.step, d.elapsed().Seconds())
	return 0
}
