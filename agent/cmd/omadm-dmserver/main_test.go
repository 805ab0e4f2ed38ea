package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestList(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--list"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	for _, want := range []string{"status.synchdr", "hdr.maxmsgsize", "auth.hmac", "advisory"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("--list lacks %q", want)
		}
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no scenario", nil},
		{"bad flag", []string{"--nope"}},
		{"extra arg", []string{"--scenario", "x", "y"}},
		{"bad nonce", []string{"--scenario", "../../../testdata/scenarios/plain-1201.dms", "--client-nonce", "b64:!!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %s)", code, errb.String())
			}
		})
	}
}

// TestServeScenarioFails: a client that sends one malformed request and
// leaves: the scenario times out, the report fails, exit status 1, and the
// CA and Package #0 files are written.
func TestServeScenarioFails(t *testing.T) {
	dir := t.TempDir()
	ca, push := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "p0.bin")
	var out, errb bytes.Buffer
	pr, pw := newPipe()
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"--scenario", "../../../testdata/scenarios/plain-1201.dms", "--listen", "127.0.0.1:0",
			"--ca-out", ca, "--push-out", push, "--session-id", "7", "--timeout", "3s", "--transcript", "--server-password", "s3cret-value"}, pw, &errb)
	}()
	url := waitURL(t, pr)
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file does not parse")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Post(url, "application/vnd.syncml.dm+xml", strings.NewReader("<nope/>"))
	if err != nil {
		t.Fatalf("POST over TLS with the written CA: %v", err)
	}
	resp.Body.Close()
	var code int
	select {
	case code = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("omadm-dmserver did not exit")
	}
	out.Write(pr.all())
	if code != 1 {
		t.Fatalf("exit %d, want 1; output:\n%s", code, out.String())
	}
	if st, err := os.Stat(push); err != nil || st.Size() < 24 {
		t.Fatalf("Package #0 not written: %v", err)
	}
	s := out.String()
	for _, want := range []string{"FAIL  msg.decode", "FAIL  scenario.timeout", "--- transcript ---", "FAILED"} {
		if !strings.Contains(s, want) {
			t.Fatalf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "s3cret-value") || strings.Contains(errb.String(), "s3cret-value") {
		t.Fatal("a password was printed")
	}
}

var urlRE = regexp.MustCompile(`serving (https://\S+)`)

func waitURL(t *testing.T, p *pipe) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := urlRE.FindSubmatch(p.all()); m != nil {
			return string(m[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no URL printed: %s", p.all())
	return ""
}
