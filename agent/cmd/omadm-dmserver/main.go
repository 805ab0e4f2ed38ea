// Command omadm-dmserver is a scripted OMA DM 1.2 test server for labs:
// it plays a scenario (testdata/scenarios/*.dms, format in package
// agent/dmtest) against any DM 1.2 client and prints which checks the
// client passed.
//
//	omadm-dmserver --scenario FILE [--listen 127.0.0.1:8443] [--ca-out FILE]
//	               [--server-id ID --server-password P ...] [--push-out FILE --session-id N]
//	               [--transcript] [--forever]
//	omadm-dmserver --replay RECORD_DIR [record options] [the options above]
//	omadm-dmserver --from-record RECORD_DIR [--out FILE.dms] [record options]
//	omadm-dmserver --list
//
// --from-record turns a session record (the directory the agent writes for
// one session with [agent] record_dir or "omadm-agent session --record")
// into a scenario that replays the field server's commands and expects the
// statuses the field client returned (dmtest.ConvertRecord); --replay
// serves that scenario directly. Record options: --auth and --server-cred
// (default: what the record shows), --expect-values (also expect the field
// device's Results values and own alerts), --secret-placeholder TEXT (send
// TEXT where the record holds a redacted secret; without it such a record
// is refused).
//
// It prints its URL, writes the CA certificate the client must trust,
// optionally writes a Package #0 for a server-initiated session, serves
// until the scenario ends, then prints the report and exits 0 if every
// check passed, 1 otherwise (2 for bad usage). Passwords may come from the
// environment (DMSERVER_SERVER_PASSWORD, DMSERVER_CLIENT_PASSWORD) so they
// do not show in the process list; they are never printed.
package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/dmtest"
	"github.com/omadm-agent/omadm-agent/agent/notification"
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := serve(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errFailed):
		return 1
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "omadm-dmserver: %s (see --help)\n", ue.msg)
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "omadm-dmserver: %v\n", err)
		return 1
	}
}

var errFailed = errors.New("checks failed")

// secretBytes decodes a nonce given as text, "b64:..." or "hex:...".
func secretBytes(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "b64:"):
		return base64.StdEncoding.DecodeString(s[4:])
	case strings.HasPrefix(s, "hex:"):
		return hex.DecodeString(s[4:])
	}
	return []byte(s), nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("omadm-dmserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		scenario   = fs.String("scenario", "", "scenario file (.dms) to play")
		replay     = fs.String("replay", "", "session record directory to replay (converted as --from-record does)")
		fromRecord = fs.String("from-record", "", "convert this session record directory into a scenario, print it (or write --out) and exit")
		outFile    = fs.String("out", "", "with --from-record: write the scenario to this file instead of stdout")
		srvCredDir = fs.String("server-cred", "", "with --from-record/--replay: the scenario's server-cred none, basic, md5, hmac (default: what the record shows)")
		expValues  = fs.Bool("expect-values", false, "with --from-record/--replay: also expect the field device's Results values and own alerts (default: comments)")
		secretPH   = fs.String("secret-placeholder", "", "with --from-record/--replay: send this text where the record holds a redacted secret (default: refuse such a record)")
		list       = fs.Bool("list", false, "list the built-in checks and exit")
		listen     = fs.String("listen", "127.0.0.1:8443", "listen address")
		host       = fs.String("host", "", "host name or address of this machine as the device sees it (URL and certificate)")
		path       = fs.String("path", "/dm", "URL path of the DM endpoint")
		plain      = fs.Bool("plain", false, "serve plain HTTP instead of HTTPS")
		caOut      = fs.String("ca-out", "", "write the CA certificate (PEM) the client must trust to this file")
		serverID   = fs.String("server-id", "omadm-dmtest", "server identifier (DMAcc ServerID)")
		serverPW   = fs.String("server-password", "", "server password (SRVCRED); or set DMSERVER_SERVER_PASSWORD")
		serverNon  = fs.String("server-nonce", "", "server nonce (SRVCRED AAuthData): text, b64:... or hex:...")
		clientUser = fs.String("client-user", "", "client user name (CLCRED AAuthName)")
		clientPW   = fs.String("client-password", "", "client password (CLCRED); or set DMSERVER_CLIENT_PASSWORD")
		clientNon  = fs.String("client-nonce", "", "client nonce (CLCRED AAuthData): text, b64:... or hex:...")
		authMode   = fs.String("auth", "", "client authentication required: none, basic, md5, hmac (default: the scenario's, or what the record shows)")
		encoding   = fs.String("encoding", "", "reply encoding: xml or wbxml (default: the client's)")
		maxMsg     = fs.Int("maxmsgsize", 0, "MaxMsgSize to advertise and enforce (default: the scenario's)")
		pushOut    = fs.String("push-out", "", "write a Package #0 (server-initiated session trigger) to this file")
		bootOut    = fs.String("bootstrap-out", "", "write a DM bootstrap document (XML, mode 0600) giving a device an account for this server")
		devID      = fs.String("dev-id", "IMEI:493005100592800", "device id the bootstrap document is addressed to")
		sessionID  = fs.Int("session-id", -1, "Package #0 session id 0..65535 (default: the scenario's, else 1)")
		uiMode     = fs.String("ui-mode", "background", "Package #0 UI mode: not-specified, background, informative, user-interaction")
		transcript = fs.Bool("transcript", false, "print a readable transcript of the session before the report")
		forever    = fs.Bool("forever", false, "after the scenario ends, print the report and play it again (until interrupted)")
		timeout    = fs.Duration("timeout", 0, "give up when the scenario has not finished after this long (default: the scenario's, else none)")
		verbose    = fs.Bool("v", false, "log every exchange to stderr")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: omadm-dmserver --scenario FILE [options]\n"+
			"       omadm-dmserver --replay RECORD_DIR [record options] [options]\n"+
			"       omadm-dmserver --from-record RECORD_DIR [--out FILE.dms] [record options]\n"+
			"       omadm-dmserver --list\n\n"+
			"A RECORD_DIR is the directory of one session recorded by the agent\n"+
			"([agent] record_dir, or omadm-agent session --record DIR: a DIR holding\n"+
			"a single session is taken as that session). Record options: --auth,\n"+
			"--server-cred, --expect-values, --secret-placeholder.\n\noptions:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *list {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tKIND\tRULE")
		for _, c := range dmtest.Checks() {
			kind := "required"
			if c.Advisory {
				kind = "advisory"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, kind, c.Desc)
		}
		fmt.Fprintln(tw, "line N: expect ...\trequired\teach expectation of the scenario")
		return tw.Flush()
	}
	modes := 0
	for _, v := range []string{*scenario, *replay, *fromRecord} {
		if v != "" {
			modes++
		}
	}
	switch {
	case modes == 0:
		return usageError{"--scenario, --replay or --from-record is required"}
	case modes > 1:
		return usageError{"give only one of --scenario, --replay and --from-record"}
	case *outFile != "" && *fromRecord == "":
		return usageError{"--out goes with --from-record"}
	case *scenario != "" && (*srvCredDir != "" || *expValues || *secretPH != ""):
		return usageError{"--server-cred, --expect-values and --secret-placeholder go with --from-record or --replay"}
	}
	for name, v := range map[string]string{"--auth": *authMode, "--server-cred": *srvCredDir} {
		switch v {
		case "", dmtest.AuthNone, dmtest.AuthBasic, dmtest.AuthMD5, dmtest.AuthHMAC:
		default:
			return usageError{fmt.Sprintf("%s: want none, basic, md5 or hmac, got %q", name, v)}
		}
	}
	var sc *dmtest.Scenario
	if *scenario != "" {
		var err error
		if sc, err = dmtest.LoadScenario(*scenario); err != nil {
			return err
		}
	} else {
		dir := *replay + *fromRecord
		conv, err := dmtest.ConvertRecord(dir, dmtest.RecordOptions{Auth: *authMode, ServerCred: *srvCredDir,
			Values: *expValues, SecretPlaceholder: *secretPH})
		if err != nil {
			return err
		}
		for _, w := range conv.Warnings {
			fmt.Fprintf(stderr, "omadm-dmserver: record: %s\n", w)
		}
		if *fromRecord != "" {
			if *outFile == "" {
				_, err := stdout.Write(conv.DMS)
				return err
			}
			if err := os.WriteFile(*outFile, conv.DMS, 0o600); err != nil {
				return fmt.Errorf("writing the scenario: %w", err)
			}
			fmt.Fprintf(stdout, "omadm-dmserver: scenario %s (%d rounds) written to %s\n", conv.Scenario.Name, conv.Scenario.Rounds(), *outFile)
			return nil
		}
		sc = conv.Scenario
	}
	if *serverPW == "" {
		*serverPW = os.Getenv("DMSERVER_SERVER_PASSWORD")
	}
	if *clientPW == "" {
		*clientPW = os.Getenv("DMSERVER_CLIENT_PASSWORD")
	}
	sn, err := secretBytes(*serverNon)
	if err != nil {
		return usageError{"--server-nonce: " + err.Error()}
	}
	cn, err := secretBytes(*clientNon)
	if err != nil {
		return usageError{"--client-nonce: " + err.Error()}
	}
	ui, err := notification.ParseUIMode(*uiMode)
	if err != nil {
		return usageError{"--ui-mode: " + err.Error()}
	}
	if *sessionID > 0xFFFF {
		return usageError{"--session-id must be 0..65535"}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	opts := dmtest.Options{
		ServerID: *serverID, ServerPassword: *serverPW, ServerNonce: sn,
		ClientUser: *clientUser, ClientPassword: *clientPW, ClientNonce: cn,
		Auth: *authMode, Encoding: *encoding, MaxMsgSize: *maxMsg,
		Logger: logger, Plain: *plain, Addr: *listen, PublicHost: *host, Path: *path, Timeout: *timeout,
	}
	srv, err := dmtest.NewServer(sc, opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "omadm-dmserver: scenario %s (%d rounds)", sc.Name, sc.Rounds())
	if sc.Description != "" {
		fmt.Fprintf(stdout, ": %s", sc.Description)
	}
	fmt.Fprintf(stdout, "\nomadm-dmserver: serving %s\n", srv.URL())
	if *caOut != "" {
		if *plain {
			return usageError{"--ca-out makes no sense with --plain"}
		}
		if err := os.WriteFile(*caOut, srv.CACertPEM(), 0o644); err != nil {
			return fmt.Errorf("writing the CA certificate: %w", err)
		}
		fmt.Fprintf(stdout, "omadm-dmserver: CA certificate written to %s\n", *caOut)
	}
	if *bootOut != "" {
		if err := os.WriteFile(*bootOut, srv.BootstrapXML("dmtest", *devID), 0o600); err != nil {
			return fmt.Errorf("writing the bootstrap document: %w", err)
		}
		fmt.Fprintf(stdout, "omadm-dmserver: bootstrap document for ./DMAcc/dmtest written to %s (holds secrets)\n", *bootOut)
	}
	if *pushOut != "" {
		id := *sessionID
		if id < 0 {
			if sid, ok := sc.SessionID(); ok {
				id = int(sid)
			} else {
				id = 1
			}
		}
		p0, err := srv.Notification(uint16(id), ui)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*pushOut, p0, 0o644); err != nil {
			return fmt.Errorf("writing the Package #0: %w", err)
		}
		fmt.Fprintf(stdout, "omadm-dmserver: Package #0 (session id %d, SyncHdr SessionID %X, %d bytes) written to %s\n", id, id, len(p0), *pushOut)
	}
	for run := 1; ; run++ {
		select {
		case <-srv.Done():
		case <-ctx.Done():
			fmt.Fprintln(stdout, "omadm-dmserver: interrupted")
		}
		interrupted := ctx.Err() != nil
		if *transcript {
			fmt.Fprintln(stdout, "\n--- transcript ---")
			dmtest.FormatTranscript(stdout, srv.Transcript())
		}
		rep := srv.Report()
		fmt.Fprintln(stdout, "\n--- report ---")
		fmt.Fprint(stdout, rep.String())
		if !*forever || interrupted {
			if !rep.Passed() {
				return errFailed
			}
			return nil
		}
		fmt.Fprintf(stdout, "\nomadm-dmserver: run %d done at %s; playing the scenario again\n", run, time.Now().Format(time.TimeOnly))
		srv.Restart()
	}
}
