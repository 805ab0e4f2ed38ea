package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent"
	"github.com/omadm-agent/omadm-agent/agent/metrics"
	"github.com/omadm-agent/omadm-agent/agent/metrics/metricstest"
)

var t0 = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

func snapshot() agent.Snapshot {
	return agent.Snapshot{
		Version: "1.2.3", State: "idle", Started: t0, PendingAlerts: 2, ModemState: "registered", Queued: 1,
		Servers: []agent.ServerState{
			{ServerID: "z.example", HasAccount: false},
			{ServerID: "dm.example", HasAccount: true, Running: true, Sessions: 5,
				Outcomes: map[string]uint64{"ok": 3, "auth": 1, "transport": 1},
				LastEnd:  t0.Add(90 * time.Second), LastStatus: -1, LastResult: "dial tcp: refused",
				LastSuccess: t0.Add(30 * time.Second), LastDuration: 1500 * time.Millisecond,
				NextPoll: t0.Add(time.Hour)},
		},
		Stats: agent.Stats{Queued: 7, Merged: 2, Dropped: 1, DropReasons: map[string]uint64{"queue full": 1}},
		Pushes: map[string]int{
			"queued": 4, "refused": 3, "refused:digest": 2, "refused:replay": 1, "left for the modem": 1, "error": 1,
		},
	}
}

func render(t *testing.T, s agent.Snapshot) string {
	t.Helper()
	var b bytes.Buffer
	if err := metrics.Render(&b, metrics.FromSnapshot(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFromSnapshot(t *testing.T) {
	out := render(t, snapshot())
	got, err := metricstest.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("our own output does not parse: %v\n%s", err, out)
	}
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"omadm_build_info", []string{"version", "1.2.3"}, 1},
		{"omadm_start_time_seconds", nil, float64(t0.Unix())},
		{"omadm_agent_state", []string{"state", "idle"}, 1},
		{"omadm_agent_state", []string{"state", "session"}, 0},
		{"omadm_sessions_total", []string{"server", "dm.example", "outcome", "ok"}, 3},
		{"omadm_sessions_total", []string{"server", "dm.example", "outcome", "auth"}, 1},
		{"omadm_sessions_total", []string{"server", "dm.example", "outcome", "transport"}, 1},
		{"omadm_sessions_total", []string{"server", "dm.example", "outcome", "status"}, 0},
		{"omadm_sessions_total", []string{"server", "z.example", "outcome", "ok"}, 0},
		{"omadm_server_account", []string{"server", "dm.example"}, 1},
		{"omadm_server_account", []string{"server", "z.example"}, 0},
		{"omadm_session_running", []string{"server", "dm.example"}, 1},
		{"omadm_session_last_end_timestamp_seconds", []string{"server", "dm.example"}, float64(t0.Unix() + 90)},
		{"omadm_session_last_success_timestamp_seconds", []string{"server", "dm.example"}, float64(t0.Unix() + 30)},
		{"omadm_session_last_status", []string{"server", "dm.example"}, -1},
		{"omadm_session_last_duration_seconds", []string{"server", "dm.example"}, 1.5},
		{"omadm_server_next_poll_timestamp_seconds", []string{"server", "dm.example"}, float64(t0.Unix() + 3600)},
		{"omadm_triggers_total", []string{"disposition", "queued"}, 7},
		{"omadm_triggers_total", []string{"disposition", "merged"}, 2},
		{"omadm_triggers_total", []string{"disposition", "dropped"}, 1},
		{"omadm_triggers_dropped_total", []string{"reason", "queue full"}, 1},
		{"omadm_triggers_queued", nil, 1},
		{"omadm_pushes_total", []string{"verdict", "queued"}, 4},
		{"omadm_pushes_total", []string{"verdict", "refused"}, 3},
		{"omadm_pushes_total", []string{"verdict", "left_for_modem"}, 1},
		{"omadm_pushes_total", []string{"verdict", "error"}, 1},
		{"omadm_pushes_total", []string{"verdict", "bootstrapped"}, 0},
		{"omadm_pushes_refused_total", []string{"check", "digest"}, 2},
		{"omadm_pushes_refused_total", []string{"check", "replay"}, 1},
		{"omadm_pushes_refused_total", []string{"check", "rate_limit"}, 0},
		{"omadm_alerts_pending", nil, 2},
		{"omadm_modem_info", []string{"state", "registered"}, 1},
	}
	for _, tt := range tests {
		v, ok := got.Value(tt.name, tt.labels...)
		if !ok {
			t.Errorf("%s missing", metricstest.ID(tt.name, tt.labels...))
			continue
		}
		if v != tt.want {
			t.Errorf("%s = %v, want %v", metricstest.ID(tt.name, tt.labels...), v, tt.want)
		}
	}
	// Servers without a finished session have no last-session samples.
	for _, name := range []string{"omadm_session_last_end_timestamp_seconds", "omadm_session_last_success_timestamp_seconds", "omadm_server_next_poll_timestamp_seconds"} {
		if _, ok := got.Value(name, "server", "z.example"); ok {
			t.Errorf("%s for a server that never had a session", name)
		}
	}
	if _, ok := got.Value("omadm_pushes_total", "verdict", "left for the modem"); ok {
		t.Error("verdict label not normalised")
	}
	// Every family has HELP and TYPE once, before its samples.
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			n := strings.Fields(name)[0]
			if seen[n] {
				t.Errorf("TYPE of %s twice", n)
			}
			seen[n] = true
		} else if line != "" && !strings.HasPrefix(line, "#") {
			n := line[:strings.IndexAny(line, "{ ")]
			if !seen[n] {
				t.Errorf("sample of %s before its TYPE", n)
			}
		}
	}
}

func TestRenderDeterministic(t *testing.T) {
	a := render(t, snapshot())
	for range 20 { // map iteration order differs from run to run
		if b := render(t, snapshot()); b != a {
			t.Fatalf("rendering changed:\n%s\n---\n%s", a, b)
		}
	}
}

func TestRenderEscapes(t *testing.T) {
	fams := []metrics.Family{
		{Name: "x", Type: metrics.Gauge, Help: "a\\b\nc", Samples: []metrics.Sample{{Labels: []metrics.Label{{Name: "l", Value: "q\"b\\n\nz"}}, Value: 0.25}}},
		{Name: "empty", Type: metrics.Gauge, Help: "never rendered"},
	}
	var b bytes.Buffer
	if err := metrics.Render(&b, fams); err != nil {
		t.Fatal(err)
	}
	want := "# HELP x a\\\\b\\nc\n# TYPE x gauge\nx{l=\"q\\\"b\\\\n\\nz\"} 0.25\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestTextfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "omadm.prom")
	s := snapshot()
	var errs []error
	tf := metrics.NewTextfile(path, time.Hour, func() []metrics.Family { return metrics.FromSnapshot(s) }, func(err error) { errs = append(errs, err) })
	if err := tf.Write(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if string(b) != render(t, s) {
		t.Errorf("file differs from the rendering")
	}
	// Unchanged metrics: the file is not rewritten (same inode, mtime).
	before, _ := os.Stat(path)
	if err := tf.Write(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("unchanged metrics rewrote the file")
	}
	// A change is written, replacing the file.
	s.PendingAlerts = 9
	if err := tf.Write(); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if !strings.Contains(string(b), "omadm_alerts_pending 9\n") {
		t.Errorf("change not written:\n%s", b)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(ents))
	}
}

func TestTextfileWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "textfile")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "omadm.prom")
	s := snapshot()
	var errs []error
	tf := metrics.NewTextfile(path, 10*time.Millisecond, func() []metrics.Family { return metrics.FromSnapshot(s) }, func(err error) { errs = append(errs, err) })
	if err := tf.Write(); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	// Replace the directory by a file: no temporary file can be created.
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(sub, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sub, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s.PendingAlerts = 5
	err := tf.Write()
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want an error naming %s", err, path)
	}
	kept, _ := os.ReadFile(filepath.Join(moved, "omadm.prom"))
	if !bytes.Equal(kept, old) {
		t.Error("the previous file was changed by a failed write")
	}
	// Recovery: the change is written once the directory is back.
	os.Remove(sub)
	if err := os.Rename(moved, sub); err != nil {
		t.Fatal(err)
	}
	if err := tf.Write(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "omadm_alerts_pending 5\n") {
		t.Errorf("change not written after recovery")
	}
}

func TestTextfileRunReportsErrorsOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "omadm.prom")
	s := snapshot()
	errc := make(chan error, 10)
	n := 0
	tf := metrics.NewTextfile(path, 5*time.Millisecond, func() []metrics.Family {
		n++ // a change at every write, so each tick really tries to write
		s.PendingAlerts = uint32(n)
		return metrics.FromSnapshot(s)
	}, func(err error) { errc <- err })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tf.Run(ctx) }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("recovery reported before any failure")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write failure not reported")
	}
	// Several more failing writes happen; none is reported again.
	for range 3 {
		tf.Kick()
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.Mkdir(filepath.Join(dir, "missing"), 0o755); err != nil {
		t.Fatal(err)
	}
	tf.Kick()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("got a second error report %v, want the recovery (nil)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("recovery not reported")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("file not written after recovery: %v", err)
	}
}

// TestNodeExporterReadsTextfile: the real node_exporter's textfile
// collector accepts the file (node_textfile_scrape_error 0) and serves
// every sample with the value we wrote, label escapes included.
func TestNodeExporterReadsTextfile(t *testing.T) {
	dir := t.TempDir()
	s := snapshot()
	s.Servers = append(s.Servers, agent.ServerState{ServerID: `odd "id" \ with
newline`, HasAccount: true, Outcomes: map[string]uint64{"ok": 1}, LastEnd: t0, LastSuccess: t0})
	path := filepath.Join(dir, "omadm.prom")
	tf := metrics.NewTextfile(path, time.Second, func() []metrics.Family { return metrics.FromSnapshot(s) }, nil)
	if err := tf.Write(); err != nil {
		t.Fatal(err)
	}
	ne := metricstest.StartNodeExporter(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := ne.Scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Value("node_textfile_scrape_error"); !ok || v != 0 {
		t.Fatalf("node_textfile_scrape_error = %v (present %v), want 0", v, ok)
	}
	ours, err := metricstest.Parse(strings.NewReader(render(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range ours {
		if v, ok := got[id]; !ok {
			t.Errorf("node_exporter does not serve %s", id)
		} else if v != want {
			t.Errorf("node_exporter serves %s = %v, want %v", id, v, want)
		}
	}
	if _, ok := got.Value("omadm_sessions_total", "server", "odd \"id\" \\ with\nnewline", "outcome", "ok"); !ok {
		t.Error("escaped label value not served as written")
	}
}

func FuzzRenderParse(f *testing.F) {
	f.Add("dm.example", "version 1", 3.5)
	f.Add(`a"b\c`, "x\ny", -1.0)
	f.Add("bad\xffutf8", "ok", 1e300)
	f.Fuzz(func(t *testing.T, server, version string, v float64) {
		fams := []metrics.Family{{Name: "m", Type: metrics.Gauge, Help: version,
			Samples: []metrics.Sample{{Labels: []metrics.Label{{Name: "server", Value: server}, {Name: "version", Value: version}}, Value: v}}}}
		var b bytes.Buffer
		if err := metrics.Render(&b, fams); err != nil {
			t.Fatal(err)
		}
		got, err := metricstest.Parse(&b)
		if err != nil {
			t.Fatalf("rendered output does not parse: %v\n%q", err, b.String())
		}
		if len(got) != 1 {
			t.Fatalf("got %d samples, want 1: %q", len(got), b.String())
		}
		// Invalid UTF-8 is rendered as U+FFFD (collectors refuse it).
		w, ok := got.Value("m", "server", strings.ToValidUTF8(server, "\uFFFD"), "version", strings.ToValidUTF8(version, "\uFFFD"))
		if !ok {
			t.Fatalf("sample identity lost: %q", b.String())
		}
		if !(w == v || (w != w && v != v)) {
			t.Fatalf("value %v, want %v", w, v)
		}
	})
}

// BenchmarkTextfileWrite: one rendering of a 4-server agent and its
// comparison with the last write (the file is rewritten only on change):
// the daemon's cost per interval while metrics are on.
func BenchmarkTextfileWrite(b *testing.B) {
	s := snapshot()
	for i := range 2 {
		s.Servers = append(s.Servers, agent.ServerState{ServerID: fmt.Sprintf("dm%d.example", i), HasAccount: true,
			Outcomes: map[string]uint64{"ok": 10}, LastEnd: t0, LastSuccess: t0, NextPoll: t0})
	}
	tf := metrics.NewTextfile(filepath.Join(b.TempDir(), "omadm.prom"), time.Second, func() []metrics.Family { return metrics.FromSnapshot(s) }, nil)
	if err := tf.Write(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := tf.Write(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLastSuccess: the last-success times survive a reopen (an agent
// restart), only move forward, and fill in servers without a success
// since the start; a damaged file is reported and then rewritten.
func TestLastSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics", "last-success.json")
	l, err := metrics.OpenLastSuccess(path)
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	t1 := t0.Add(time.Hour)
	if err := l.Record("dm.example", t1); err != nil {
		t.Fatal(err)
	}
	if err := l.Record("dm.example", t0); err != nil { // older: ignored
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	l2, err := metrics.OpenLastSuccess(path)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := l2.Merge(agent.Snapshot{Servers: []agent.ServerState{{ServerID: "dm.example"}, {ServerID: "other"}}})
	if !s.Servers[0].LastSuccess.Equal(t1) || !s.Servers[1].LastSuccess.IsZero() {
		t.Errorf("after reopen: %v, %v; want %v and zero", s.Servers[0].LastSuccess, s.Servers[1].LastSuccess, t1)
	}
	// A success in this run is newer: it wins and is saved by Merge.
	t2 := t1.Add(time.Minute)
	s, err = l2.Merge(agent.Snapshot{Servers: []agent.ServerState{{ServerID: "dm.example", LastSuccess: t2}}})
	if err != nil || !s.Servers[0].LastSuccess.Equal(t2) {
		t.Errorf("newer in-memory success: %v, %v", s.Servers[0].LastSuccess, err)
	}
	l5, err := metrics.OpenLastSuccess(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := l5.Merge(agent.Snapshot{Servers: []agent.ServerState{{ServerID: "dm.example"}}}); !s.Servers[0].LastSuccess.Equal(t2) {
		t.Errorf("Merge did not save the newer success: %v", s.Servers[0].LastSuccess)
	}
	// Damaged: an error, an empty store, and the next Record repairs it.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	l3, err := metrics.OpenLastSuccess(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("damaged file: got %v, want an error naming it", err)
	}
	if err := l3.Record("dm.example", t2); err != nil {
		t.Fatal(err)
	}
	if l4, err := metrics.OpenLastSuccess(path); err != nil {
		t.Errorf("after the rewrite: %v", err)
	} else if s, _ := l4.Merge(agent.Snapshot{Servers: []agent.ServerState{{ServerID: "dm.example"}}}); !s.Servers[0].LastSuccess.Equal(t2) {
		t.Errorf("after the rewrite: %v, want %v", s.Servers[0].LastSuccess, t2)
	}
}
