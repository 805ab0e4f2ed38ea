package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/sdnotify"
)

// journaldHelperEnv marks the re-executed test binary running inside the
// private mount namespace.
const journaldHelperEnv = "OMADM_JOURNALD_HELPER"

const journaldBin = "/lib/systemd/systemd-journald"

// TestJournaldReal runs the daemon with its stderr connected to a real
// systemd-journald (test-peers.md §3 "real journald"), the way systemd
// connects StandardError=journal: the test re-executes itself under
// `unshare -m` (helper-process pattern); the child mounts tmpfs over
// /run/systemd, /run/log and /var/log/journal (so the machine's journal is
// untouched), starts journald, connects fd 2 to journald's stdout stream
// with $JOURNAL_STREAM set, runs the daemon through a bootstrap (whose
// document carries secrets) and its session, stops journald by PID, and
// reads everything back with journalctl -o json.
func TestJournaldReal(t *testing.T) {
	if os.Getenv(journaldHelperEnv) == "1" {
		journaldChild(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("the real-journald test needs root (unshare -m and tmpfs mounts); CI runs as root")
	}
	for _, p := range []string{"unshare", "journalctl", journaldBin} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s not found (%v): run `make deps` (util-linux, systemd)", p, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-m", "--propagation", "private",
		os.Args[0], "-test.run=^TestJournaldReal$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), journaldHelperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("journald helper (in a private mount namespace) failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "JOURNALD-CHECKS-DONE") {
		t.Fatalf("journald helper did not run its checks:\n%s", out)
	}
	t.Logf("helper output:\n%s", out)
}

func journaldChild(t *testing.T) {
	for _, dir := range []string{"/run/systemd", "/run/log", "/var/log/journal"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
			t.Fatalf("mount tmpfs on %s (inside unshare -m): %v", dir, err)
		}
	}
	if err := os.MkdirAll("/run/systemd/journal", 0o755); err != nil {
		t.Fatal(err)
	}
	jd := exec.Command(journaldBin)
	var jdOut bytes.Buffer
	jd.Stdout, jd.Stderr = &jdOut, &jdOut
	if err := jd.Start(); err != nil {
		t.Fatalf("start journald: %v", err)
	}
	stopped := false
	stopJournald := func() {
		if stopped {
			return
		}
		stopped = true
		_ = syscall.Kill(jd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { jd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(jd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	defer stopJournald()
	waitUntil(t, "journald sockets", func() bool {
		_, e1 := os.Stat("/run/systemd/journal/socket")
		_, e2 := os.Stat("/run/systemd/journal/stdout")
		return e1 == nil && e2 == nil
	})

	// Not the journal yet: plain slog text (checked on a daemon below).
	os.Unsetenv("JOURNAL_STREAM")
	if sdnotify.UseJournal() {
		t.Fatal("UseJournal without JOURNAL_STREAM: got true")
	}

	// Connect fd 2 to journald's stdout stream, as systemd does.
	conn, err := net.Dial("unix", "/run/systemd/journal/stdout")
	if err != nil {
		t.Fatal(err)
	}
	// identifier, unit, priority, level prefix, syslog, kmsg, console
	if _, err := conn.Write([]byte("omadm-agent\n\n6\n0\n0\n0\n0\n")); err != nil {
		t.Fatal(err)
	}
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(f.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer syscall.Dup3(saved, 2, 0)
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	if !sdnotify.UseJournal() {
		t.Fatal("UseJournal with stderr on the journal stream: got false")
	}

	// The daemon: a bootstrap (secrets devpass/srvpass) and its session.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	e := startDaemon(t, "session", daemonOptions{})
	dropFile(t, e.spool, "cp-w7.xml", readRepo(t, "bootstrap/cp-w7.xml"))
	waitUntil(t, "bootstrap session", func() bool { return len(e.runner.sessions()) == 1 })
	waitUntil(t, "idle", func() bool { return e.agent.Snapshot().State == "idle" })
	sess := e.runner.sessions()[0]
	e.stop(t)
	if s := e.stderr.String(); s != "" {
		t.Errorf("the daemon wrote text to its stderr writer while on the journal: %q", s)
	}

	// Read the journal back (journald may take a moment to store).
	var recs []map[string]any
	var raw []byte
	var finished map[string]any
	waitUntil(t, "session finished record in the journal", func() bool {
		raw, err = exec.Command("journalctl", "--no-pager", "-o", "json").Output()
		if err != nil {
			return false
		}
		recs = recs[:0]
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				recs = append(recs, m)
			}
		}
		for _, m := range recs {
			if m["SYSLOG_IDENTIFIER"] == "omadm-agent" && strings.HasPrefix(fmt.Sprint(m["MESSAGE"]), "session finished") {
				finished = m
				return true
			}
		}
		return false
	})
	want := map[string]string{"SERVER_ID": "dm.example.com", "SESSION_ID": sess.Session, "COMMANDS": "1", "STATUS": "0", "PRIORITY": "6"}
	for k, v := range want {
		if got := fmt.Sprint(finished[k]); got != v {
			t.Errorf("session finished record: %s = %q, want %q", k, got, v)
		}
	}
	// A warning carries priority 4: the D-Bus warning at start.
	var warned bool
	for _, m := range recs {
		if strings.HasPrefix(fmt.Sprint(m["MESSAGE"]), "D-Bus unavailable") {
			warned = true
			if m["PRIORITY"] != "4" {
				t.Errorf("warning record: PRIORITY %v, want 4", m["PRIORITY"])
			}
		}
	}
	if !warned {
		t.Error("no D-Bus warning record in the journal")
	}
	// No secret anywhere in the journal, in clear or base64.
	for _, secret := range []string{"devpass", "srvpass"} {
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte("devuser:" + secret))} {
			if bytes.Contains(raw, []byte(form)) {
				t.Errorf("the journal contains the secret %q (as %q)", secret, form)
			}
		}
	}
	stopJournald()
	if !t.Failed() {
		fmt.Printf("JOURNALD-CHECKS-DONE: %d records, session %s\n", len(recs), sess.Session)
	}
}

// TestDaemonLogsPlainTextWithoutJournal: with $JOURNAL_STREAM naming
// another file than stderr, the daemon logs slog text to stderr.
func TestDaemonLogsPlainTextWithoutJournal(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "1:1")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	e := startDaemon(t, "session", daemonOptions{})
	e.stop(t)
	re := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="agent ready" version=\S+ state_dir=`)
	if !re.MatchString(e.stderr.String()) {
		t.Errorf("stderr is not slog text:\n%s", e.stderr)
	}
}
