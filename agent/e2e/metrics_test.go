package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/agent/metrics/metricstest"
)

// The metrics file of a running daemon, read by the real node_exporter's
// textfile collector: a forged push counts as refused (digest), a good one
// as queued, and the session it starts as one ok session with a last
// success time; when the daemon stops, the file says so.
func TestMetricsThroughNodeExporter(t *testing.T) {
	mdir := t.TempDir()
	prom := filepath.Join(mdir, "omadm.prom")
	w := startWith(t, "metrics", `
recv
expect alert 1200
expect sessionid 5A
expect devinfo
end
`, worldOpts{extraConfig: fmt.Sprintf("[metrics]\ntextfile = %q\ninterval = \"100ms\"\n", prom)},
		func(a *rig.Account) { a.ServerAuth = "BASIC" })
	ne := metricstest.StartNodeExporter(t, mdir)
	begin := time.Now()

	good := w.notify(0x5A)
	forged := slices.Clone(good)
	forged[3] ^= 0x5A
	mark := w.agent.Mark()
	w.deliver(w.sms(forged))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := w.agent.WaitLine(ctx, mark, rig.Contains(`msg="push routed"`, "digest does not match")); err != nil {
		t.Fatalf("forged push not refused: %v", err)
	}
	w.deliver(w.sms(good))
	w.waitDone()

	id := w.acct.ServerID
	got := waitScrape(t, ne, func(s metricstest.Samples) bool {
		v, _ := s.Value("omadm_sessions_total", "server", id, "outcome", "ok")
		return v == 1
	})
	want := []struct {
		name   string
		labels []string
		value  float64
	}{
		{"node_textfile_scrape_error", nil, 0},
		{"omadm_sessions_total", []string{"server", id, "outcome", "ok"}, 1},
		{"omadm_sessions_total", []string{"server", id, "outcome", "auth"}, 0},
		{"omadm_sessions_total", []string{"server", id, "outcome", "transport"}, 0},
		{"omadm_session_last_status", []string{"server", id}, 0},
		{"omadm_server_account", []string{"server", id}, 1},
		{"omadm_pushes_total", []string{"verdict", "queued"}, 1},
		{"omadm_pushes_total", []string{"verdict", "refused"}, 1},
		{"omadm_pushes_refused_total", []string{"check", "digest"}, 1},
		{"omadm_pushes_refused_total", []string{"check", "replay"}, 0},
		{"omadm_alerts_pending", nil, 0},
		{"omadm_agent_state", []string{"state", "idle"}, 1},
	}
	for _, c := range want {
		if v, ok := got.Value(c.name, c.labels...); !ok || v != c.value {
			t.Errorf("%s = %v (present %t), want %v", metricstest.ID(c.name, c.labels...), v, ok, c.value)
		}
	}
	last, ok := got.Value("omadm_session_last_success_timestamp_seconds", "server", id)
	if now := float64(time.Now().UnixMilli()) / 1000; !ok || last < float64(begin.Unix()) || last > now {
		t.Errorf("last success %v (present %t), want between %d and %v", last, ok, begin.Unix(), now)
	}
	if fi, err := os.Stat(prom); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("metrics file: %v, mode %v; want 0644", err, fi.Mode().Perm())
	}

	// A clean stop leaves the file saying the agent stopped.
	if err := w.agent.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	got = waitScrape(t, ne, func(s metricstest.Samples) bool {
		v, _ := s.Value("omadm_agent_state", "state", "stopping")
		return v == 1
	})
	if v, _ := got.Value("omadm_sessions_total", "server", id, "outcome", "ok"); v != 1 {
		t.Errorf("after the stop, ok sessions = %v, want 1", v)
	}

	// A restarted agent counts from zero again (Prometheus counters do),
	// but the last success is kept: "no success for a day" alerts must
	// not reset with the agent.
	again, err := rig.StartAgent(agentBin, w.env, nil, "--config", w.cfgPath, "--state-dir", w.stateDir, "run")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := again.Stop(10 * time.Second); err != nil {
			t.Errorf("restarted agent: %v", err)
		}
	})
	got = waitScrape(t, ne, func(s metricstest.Samples) bool {
		v, _ := s.Value("omadm_agent_state", "state", "idle")
		ok, present := s.Value("omadm_sessions_total", "server", id, "outcome", "ok")
		return v == 1 && present && ok == 0
	})
	if v, ok := got.Value("omadm_session_last_success_timestamp_seconds", "server", id); !ok || v != last {
		t.Errorf("after a restart, last success = %v (present %t), want %v (kept)", v, ok, last)
	}
}

// waitScrape scrapes ne until ok accepts the samples (the daemon writes the
// file at most once per interval) and returns them.
func waitScrape(t *testing.T, ne *metricstest.NodeExporter, ok func(metricstest.Samples) bool) metricstest.Samples {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var (
		s   metricstest.Samples
		err error
	)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err = ne.Scrape(ctx)
		cancel()
		if err == nil && ok(s) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("metrics never reached the expected state (last scrape error %v):\n%v", err, s)
	return nil
}
