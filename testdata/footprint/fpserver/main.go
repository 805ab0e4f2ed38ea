// Command fpserver serves one dmtest scenario over HTTPS for the footprint
// measurement (testdata/footprint/measure.sh). It is a thin wrapper around
// agent/dmtest, kept here rather than using omadm-dmserver so that the
// measurement script does not depend on that command's flags.
//
// It writes the server URL and the CA certificate (PEM) to files, waits
// until the scenario is over (or SIGTERM/SIGINT, or -timeout), writes the
// report to -report and exits 0 if the scenario passed, 1 otherwise.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/dmtest"
)

func main() {
	scenario := flag.String("scenario", "", "scenario file (.dms)")
	urlFile := flag.String("url-file", "", "write the server URL here")
	caFile := flag.String("ca-file", "", "write the CA certificate (PEM) here")
	report := flag.String("report", "", "write the report here (default stdout)")
	serverID := flag.String("server-id", "footprint.example", "ServerID")
	user := flag.String("client-user", "", "client user name (CLCRED AAuthName)")
	pass := flag.String("client-password", "", "client password (CLCRED AAuthSecret)")
	nonce := flag.String("client-nonce-hex", "", "client nonce (CLCRED AAuthData), hex")
	srvPass := flag.String("server-password", "", "server password (SRVCRED AAuthSecret)")
	srvNonce := flag.String("server-nonce-hex", "", "server nonce (SRVCRED AAuthData), hex")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if err := run(*scenario, *urlFile, *caFile, *report, *timeout, dmtest.Options{
		ServerID: *serverID, ClientUser: *user, ClientPassword: *pass, ServerPassword: *srvPass,
		ClientNonce: mustHex(*nonce), ServerNonce: mustHex(*srvNonce),
	}); err != nil {
		fmt.Fprintln(os.Stderr, "fpserver:", err)
		os.Exit(1)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fpserver: bad hex:", err)
		os.Exit(2)
	}
	return b
}

func run(path, urlFile, caFile, reportFile string, timeout time.Duration, opts dmtest.Options) error {
	sc, err := dmtest.LoadScenario(path)
	if err != nil {
		return err
	}
	opts.Timeout = timeout
	srv, err := dmtest.NewServer(sc, opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := os.WriteFile(caFile, srv.CACertPEM(), 0o644); err != nil {
		return err
	}
	// The URL file is written last: the script waits for it.
	if err := os.WriteFile(urlFile+".tmp", []byte(srv.URL()+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(urlFile+".tmp", urlFile); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	select {
	case <-srv.Done():
	case <-ctx.Done():
	}
	rep := srv.Report()
	out := os.Stdout
	if reportFile != "" {
		f, err := os.Create(reportFile)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	fmt.Fprint(out, rep.String())
	if !rep.Passed() {
		return fmt.Errorf("scenario %s failed (%d failed checks)", rep.Scenario, len(rep.Failed()))
	}
	return nil
}
