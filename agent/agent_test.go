package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/notification"
)

// fakeRunner records sessions; it can hold them until released and fail
// them on demand. On success it delivers the server's pending alerts.
type fakeRunner struct {
	mu      sync.Mutex
	started []Trigger
	hold    chan struct{} // nil: return at once
	fail    map[string]int
	outbox  *fakeOutbox
	startC  chan Trigger
}

func (r *fakeRunner) RunSession(ctx context.Context, t Trigger) (Result, error) {
	r.mu.Lock()
	r.started = append(r.started, t)
	hold, startC := r.hold, r.startC
	fail := r.fail[t.ServerID]
	if fail > 0 {
		r.fail[t.ServerID]--
	}
	r.mu.Unlock()
	if startC != nil {
		startC <- t
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return Result{Status: -1, Summary: "aborted (1223)"}, ctx.Err()
		}
	}
	if fail > 0 {
		return Result{Status: -1, Summary: "connection refused"}, errors.New("connection refused")
	}
	n := 0
	if r.outbox != nil {
		n = r.outbox.deliver(t.ServerID)
	}
	return Result{Status: 0, Summary: fmt.Sprintf("ok, %d alerts", n), Commands: 3}, nil
}

func (r *fakeRunner) sessions() []Trigger {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Trigger(nil), r.started...)
}

type fakeOutbox struct {
	mu        sync.Mutex
	pending   map[string]int
	delivered map[string]int
	refused   map[string]bool // the server answers 500 to its alerts
}

func (o *fakeOutbox) PendingAlerts(context.Context) (map[string]int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for k, v := range o.pending {
		out[k] = v
	}
	return out, nil
}

func (o *fakeOutbox) deliver(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.refused[id] {
		return 0
	}
	n := o.pending[id]
	delete(o.pending, id)
	o.delivered[id] += n
	return n
}

func startAgent(t *testing.T, cfg Config) (*Agent, context.CancelFunc, chan error) {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return a, cancel, errc
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMerge(t *testing.T) {
	poll := Trigger{ID: "t1", ServerID: "s", Source: SourcePoll}
	local := Trigger{ServerID: "s", Source: SourceLocal}
	alert := Trigger{ServerID: "s", Source: SourceAlert, Alerts: true}
	pushA := Trigger{ServerID: "s", Source: SourcePush, SessionID: "A", UIMode: notification.UIUserInteraction}
	pushB := Trigger{ServerID: "s", Source: SourcePush, SessionID: "B", UIMode: notification.UIBackground, NonceReset: true}
	tests := []struct {
		name        string
		p, n        Trigger
		wantSource  Source
		wantSession string
		wantUI      notification.UIMode
		wantReset   bool
		wantAlerts  bool
	}{
		{"push wins over pending poll", poll, pushA, SourcePush, "A", notification.UIUserInteraction, false, false},
		{"poll folds into pending push", pushA, poll, SourcePush, "A", notification.UIUserInteraction, false, false},
		{"newer push session wins, ui kept", pushA, pushB, SourcePush, "B", notification.UIUserInteraction, true, false},
		{"local beats poll", poll, local, SourceLocal, "", 0, false, false},
		{"poll does not downgrade local", local, poll, SourceLocal, "", 0, false, false},
		{"alerts flag kept", alert, poll, SourceAlert, "", 0, false, true},
		{"alerts flag ORed into push", pushB, alert, SourcePush, "B", notification.UIBackground, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := merge(tc.p, tc.n)
			if got.Source != tc.wantSource || got.SessionID != tc.wantSession || got.UIMode != tc.wantUI ||
				got.NonceReset != tc.wantReset || got.Alerts != tc.wantAlerts {
				t.Errorf("got %+v, want source %s session %q ui %s reset %v alerts %v", got, tc.wantSource, tc.wantSession, tc.wantUI, tc.wantReset, tc.wantAlerts)
			}
			if got.ID != tc.p.ID || got.Merged != 1 || why == "" {
				t.Errorf("got ID %q merged %d why %q; want pending ID kept, merged 1, a reason", got.ID, got.Merged, why)
			}
		})
	}
}

func TestQueueBounded(t *testing.T) {
	q := newQueue(3)
	for i := range 3 {
		if _, _, err := q.add(Trigger{ServerID: fmt.Sprint(i), Source: SourcePoll}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := q.add(Trigger{ServerID: "x", Source: SourcePoll}); !errors.Is(err, ErrQueueFull) {
		t.Errorf("got %v, want ErrQueueFull", err)
	}
	if _, why, err := q.add(Trigger{ServerID: "1", Source: SourceLocal}); err != nil || why == "" {
		t.Errorf("merge into a full queue: got %q, %v; want a merge", why, err)
	}
	got, ok := q.next(func(id string) bool { return id == "0" })
	if !ok || got.ServerID != "1" || got.Source != SourceLocal {
		t.Errorf("got %+v, want server 1 (0 busy), merged to local", got)
	}
}

// TestAgentSessions: triggers for a server merge while its session runs,
// one session at a time per server, signals and state as expected.
func TestAgentSessions(t *testing.T) {
	accs := newAccounts("a", "b")
	r := &fakeRunner{hold: make(chan struct{}), startC: make(chan Trigger, 10)}
	obs := &recObserver{}
	a, _, _ := startAgent(t, Config{Runner: r, Accounts: accs, Config: config.Default(), Observer: obs, Version: "test"})
	ctx := context.Background()

	id1, err := a.StartSession(ctx, "a")
	if err != nil || id1 == "" {
		t.Fatalf("StartSession: %q, %v", id1, err)
	}
	first := <-r.startC
	if first.ServerID != "a" || first.Source != SourceLocal || first.Session == "" || first.ServerInitiated() {
		t.Fatalf("got first session %+v, want a client-initiated local session to a", first)
	}
	// While a runs: a poll is dropped, a push for a queues, two local requests merge.
	if _, err := a.Enqueue(ctx, Trigger{ServerID: "a", Source: SourcePoll}); err != nil {
		t.Fatal(err)
	}
	p, err := a.Enqueue(ctx, Trigger{ServerID: "a", Source: SourcePush, SessionID: "ABC", UIMode: notification.UIBackground})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := a.Enqueue(ctx, Trigger{ServerID: "a", Source: SourceLocal})
	if p2.ID != p.ID || p2.SessionID != "ABC" {
		t.Errorf("got %+v, want the local request merged into pending push %s", p2, p.ID)
	}
	if _, err := a.StartSession(ctx, "nobody"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("unknown server: got %v, want ErrUnknownServer", err)
	}
	snap := a.Snapshot()
	if snap.State != "session" || snap.Queued != 1 || snap.Version != "test" {
		t.Errorf("got snapshot %+v, want state session, 1 queued", snap)
	}
	r.hold <- struct{}{}
	second := <-r.startC
	if second.ServerID != "a" || second.Session != "ABC" || !second.ServerInitiated() {
		t.Errorf("got second session %+v, want the server-initiated ABC", second)
	}
	r.hold <- struct{}{}
	waitFor(t, "idle", func() bool { return a.Snapshot().State == "idle" })
	st := a.Stats()
	if st.Started != 2 || st.Finished != 2 || st.Merged != 1 || st.Dropped != 1 {
		t.Errorf("got stats %+v, want 2 started/finished, 1 merged, 1 dropped (poll while running)", st)
	}
	// An unknown server is refused by StartSession before the queue.
	if st.DropReasons["a session with this server is running"] != 1 {
		t.Errorf("got drop reasons %v", st.DropReasons)
	}
	ev := obs.events()
	want := []string{"started a " + first.Session, "finished a " + first.Session + " 0", "started a ABC", "finished a ABC 0"}
	if strings.Join(ev, "|") != strings.Join(want, "|") {
		t.Errorf("got events %q, want %q", ev, want)
	}
	var sa ServerState
	for _, s := range a.Snapshot().Servers {
		if s.ServerID == "a" {
			sa = s
		}
	}
	if sa.LastEnd.IsZero() || sa.LastResult != "ok, 0 alerts" {
		t.Errorf("got server state %+v, want a last session ok", sa)
	}
}

type recObserver struct {
	mu  sync.Mutex
	ev  []string
	now Snapshot
}

func (o *recObserver) SessionStarted(t Trigger) {
	o.mu.Lock()
	o.ev = append(o.ev, "started "+t.ServerID+" "+t.Session)
	o.mu.Unlock()
}

func (o *recObserver) SessionFinished(t Trigger, r Result, _ error) {
	o.mu.Lock()
	o.ev = append(o.ev, fmt.Sprintf("finished %s %s %d", t.ServerID, r.SessionID, r.Status))
	o.mu.Unlock()
}

func (o *recObserver) StateChanged(s Snapshot) {
	o.mu.Lock()
	o.now = s
	o.mu.Unlock()
}

func (o *recObserver) events() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.ev...)
}

// TestAgentRetryAndAlerts: a failing server is retried on the backoff
// schedule, its alerts are delivered by the session that finally works.
func TestAgentRetryAndAlerts(t *testing.T) {
	accs := newAccounts("a")
	ob := &fakeOutbox{pending: map[string]int{"a": 2}, delivered: map[string]int{}}
	r := &fakeRunner{fail: map[string]int{"a": 2}, outbox: ob}
	cfg := config.Default()
	cfg.Transport.InitialBackoff = 20 * time.Millisecond
	cfg.Transport.MaxBackoff = 50 * time.Millisecond
	a, _, _ := startAgent(t, Config{Runner: r, Accounts: accs, Alerts: ob, Config: cfg})
	waitFor(t, "alerts delivered", func() bool {
		ob.mu.Lock()
		defer ob.mu.Unlock()
		return ob.delivered["a"] == 2
	})
	waitFor(t, "idle", func() bool { return a.Snapshot().State == "idle" })
	s := r.sessions()
	if len(s) != 3 || s[0].Source != SourceAlert || s[1].Source != SourceRetry || s[2].Source != SourceRetry || !s[2].Alerts {
		t.Errorf("got sessions %v, want alert, retry, retry(alerts)", s)
	}
	if st := a.Stats(); st.Failed != 2 || st.Finished != 3 {
		t.Errorf("got stats %+v, want 2 failed of 3", st)
	}
	if a.Snapshot().PendingAlerts != 0 {
		t.Errorf("pending alerts not cleared")
	}
}

// TestAgentPollSchedule: polls follow first_interval × first_retries then
// steady; SIGUSR1-style PollAll polls every account at once.
func TestAgentPollSchedule(t *testing.T) {
	accs := newAccounts("a", "b")
	r := &fakeRunner{}
	cfg := config.Default()
	cfg.Servers = []config.Server{{ServerID: "a", FirstInterval: 30 * time.Millisecond, FirstRetries: 2, SteadyInterval: time.Hour}}
	a, _, _ := startAgent(t, Config{Runner: r, Accounts: accs, Config: cfg})
	waitFor(t, "two polls", func() bool { return len(r.sessions()) == 2 })
	time.Sleep(100 * time.Millisecond)
	if n := len(r.sessions()); n != 2 {
		t.Errorf("got %d polls, want 2 before the steady hour", n)
	}
	var next time.Time
	for _, s := range a.Snapshot().Servers {
		if s.ServerID == "a" {
			next = s.NextPoll
		}
	}
	if d := time.Until(next); d < 59*time.Minute || d > time.Hour {
		t.Errorf("next poll in %v, want about 1h", d)
	}
	a.PollAll()
	waitFor(t, "poll all", func() bool { return len(r.sessions()) == 4 })
	for _, s := range r.sessions() {
		if s.Source != SourcePoll {
			t.Errorf("got %s session, want poll", s.Source)
		}
	}
}

// TestAgentLoad: 1,000 triggers in a burst from 50 goroutines over 20
// servers while sessions are held: memory stays bounded (one pending trigger
// per server), every trigger is accounted for (queued, merged or dropped
// with a reason), sessions are merged, and the pending alerts all arrive.
func TestAgentLoad(t *testing.T) {
	const servers, total, workers = 20, 1000, 50
	var ids []string
	for i := range servers {
		ids = append(ids, fmt.Sprintf("srv%02d", i))
	}
	accs := newAccounts(ids...)
	ob := &fakeOutbox{pending: map[string]int{"srv03": 5, "srv07": 1, "srv19": 9}, delivered: map[string]int{}}
	r := &fakeRunner{hold: make(chan struct{}), outbox: ob}
	a, _, _ := startAgent(t, Config{Runner: r, Accounts: accs, Alerts: ob, Config: config.Default(), MaxSessions: 2})
	waitFor(t, "first sessions", func() bool { return len(r.sessions()) == 2 })

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < total; i += workers {
				tr := Trigger{ServerID: ids[i%servers], Source: Source(1 + i%5)}
				if i%7 == 0 {
					tr.Source, tr.SessionID = SourcePush, fmt.Sprintf("%X", 1+i)
				}
				if _, err := a.Enqueue(ctx, tr); err != nil {
					t.Errorf("Enqueue: %v", err)
				}
			}
		})
	}
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	heapGrowth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	snap := a.Snapshot()
	t.Logf("heap before %d B, after burst %d B (growth %d B); queued servers %d", before.HeapAlloc, after.HeapAlloc, heapGrowth, snap.Queued)
	if snap.Queued > servers {
		t.Errorf("got %d pending triggers, want at most %d (one per server)", snap.Queued, servers)
	}
	if heapGrowth > 256<<10 {
		t.Errorf("heap grew by %d B for a burst of %d triggers, want < 256 KiB", heapGrowth, total)
	}
	st := a.Stats()
	// 3 alert triggers were queued at start on top of the burst.
	if got := st.Queued + st.Merged + st.Dropped; got != total+3 {
		t.Errorf("got queued %d + merged %d + dropped %d = %d, want %d: a trigger went missing", st.Queued, st.Merged, st.Dropped, got, total+3)
	}
	close(r.hold) // let every session run
	waitFor(t, "all sessions done", func() bool { s := a.Snapshot(); return s.State == "idle" && s.Queued == 0 })
	st = a.Stats()
	t.Logf("stats: %+v", st)
	if st.Started > 2*servers+2 {
		t.Errorf("got %d sessions for %d servers, want the burst merged (at most %d)", st.Started, servers, 2*servers+2)
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if len(ob.pending) != 0 || ob.delivered["srv03"] != 5 || ob.delivered["srv07"] != 1 || ob.delivered["srv19"] != 9 {
		t.Errorf("got pending %v delivered %v, want every alert delivered once", ob.pending, ob.delivered)
	}
}

// TestAgentShutdown: cancelling Run ends the running session (its context
// is cancelled, so it aborts) and Run returns nil.
func TestAgentShutdown(t *testing.T) {
	r := &fakeRunner{hold: make(chan struct{}), startC: make(chan Trigger, 1)}
	a, err := New(Config{Runner: r, Accounts: newAccounts("a"), Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	if _, err := a.StartSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	<-r.startC
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if st := a.Stats(); st.Finished != 1 {
		t.Errorf("got %d finished, want the aborted session recorded", st.Finished)
	}
	if _, err := a.Enqueue(context.Background(), Trigger{ServerID: "a", Source: SourceLocal}); !errors.Is(err, ErrStopped) {
		t.Errorf("Enqueue after stop: got %v, want ErrStopped", err)
	}
}

// TestApplyLive: after ApplyLive the only differences left are the ones
// that need a restart, exactly as config.Diff reports them.
func TestApplyLive(t *testing.T) {
	old := config.Default()
	nc := config.Default()
	nc.Agent.LogLevel = "debug"
	nc.Agent.SessionDeadline = time.Minute
	nc.Modem.Device = "/dev/ttyUSB9"
	nc.Transport.ConnRetryFreq = 9
	nc.Push.UIUserInteraction = "reject"
	nc.Push.RateLimit = 1
	nc.UI.Confirm = "reject"
	nc.Servers = []config.Server{{ServerID: "x", SteadyInterval: time.Hour}}
	live, restart := config.Diff(old, nc)
	eff := ApplyLive(old, nc)
	live2, restart2 := config.Diff(eff, nc)
	if len(live2) != 0 {
		t.Errorf("live changes left after ApplyLive: %v", live2)
	}
	if fmt.Sprint(restart2) != fmt.Sprint(restart) {
		t.Errorf("got restart changes %v, want %v", restart2, restart)
	}
	if len(live) != 5 || len(restart) != 3 {
		t.Errorf("got %d live, %d restart changes, want 5 and 3: %v / %v", len(live), len(restart), live, restart)
	}
}

// TestAgentUnacknowledgedAlertsNoLoop: a server that ends its session
// normally but does not acknowledge its alerts (Status 500) is not asked
// again and again for the same alerts; a new alert for it triggers one
// more session, and alerts for another server trigger that server only.
func TestAgentUnacknowledgedAlertsNoLoop(t *testing.T) {
	accs := newAccounts("a", "b")
	ob := &fakeOutbox{pending: map[string]int{"a": 1}, delivered: map[string]int{}, refused: map[string]bool{"a": true}}
	r := &fakeRunner{outbox: ob}
	a, _, _ := startAgent(t, Config{Runner: r, Accounts: accs, Alerts: ob, Config: config.Default()})
	waitFor(t, "first alert session", func() bool { return len(r.sessions()) == 1 })
	time.Sleep(150 * time.Millisecond)
	if n := len(r.sessions()); n != 1 {
		t.Fatalf("got %d sessions for one unacknowledged alert, want 1", n)
	}
	ob.mu.Lock()
	ob.pending["a"] = 2
	ob.pending["b"] = 1
	ob.mu.Unlock()
	a.AlertsChanged()
	waitFor(t, "sessions for the new alerts", func() bool { return len(r.sessions()) == 3 })
	time.Sleep(150 * time.Millisecond)
	s := r.sessions()
	if len(s) != 3 {
		t.Fatalf("got %d sessions, want 3", len(s))
	}
	got := map[string]int{}
	for _, x := range s[1:] {
		if x.Source != SourceAlert {
			t.Errorf("got a %s session, want alert", x.Source)
		}
		got[x.ServerID]++
	}
	if got["a"] != 1 || got["b"] != 1 {
		t.Errorf("got sessions per server %v, want a:1 b:1", got)
	}
	ob.mu.Lock()
	if ob.delivered["b"] != 1 || ob.pending["a"] != 2 {
		t.Errorf("got delivered %v pending %v", ob.delivered, ob.pending)
	}
	ob.mu.Unlock()
}

// TestStartSessionRefMatchesSession: the reference StartSession returns
// names the SessionID of the session that serves the request, also when a
// session with that server is running at the time (the request waits for
// the next one) and when it merges into a pending trigger.
func TestStartSessionRefMatchesSession(t *testing.T) {
	accs := newAccounts("a")
	r := &fakeRunner{hold: make(chan struct{}), startC: make(chan Trigger, 4)}
	a, _, _ := startAgent(t, Config{Runner: r, Accounts: accs, Config: config.Default()})
	ctx := context.Background()
	ref1, err := a.StartSession(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	first := <-r.startC // running, held
	ref2, err := a.StartSession(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	ref3, err := a.StartSession(ctx, "a") // merges into ref2's trigger
	if err != nil {
		t.Fatal(err)
	}
	_, s1, _ := strings.Cut(ref1, "/")
	_, s2, _ := strings.Cut(ref2, "/")
	if s1 != first.Session || s1 == "" {
		t.Errorf("first ref %q, want session %q", ref1, first.Session)
	}
	if ref3 != ref2 || s2 == s1 {
		t.Errorf("refs %q %q %q: want the 2nd and 3rd equal and a new session", ref1, ref2, ref3)
	}
	close(r.hold)
	second := <-r.startC
	if second.Session != s2 {
		t.Errorf("second session %q, want %q from the ref", second.Session, s2)
	}
}

// TestMergePromised: a push that replaces a pending request keeps the
// SessionID that request's caller was given, so the session finishes that
// promise too; repeated replacements keep at most MaxPromised.
func TestMergePromised(t *testing.T) {
	local := Trigger{ID: "t1", ServerID: "s", Source: SourceLocal, Session: "11"}
	pushA := Trigger{ServerID: "s", Source: SourcePush, SessionID: "A"}
	pushB := Trigger{ServerID: "s", Source: SourcePush, SessionID: "B"}

	got, _ := merge(local, pushA)
	if got.SessionID != "A" || len(got.Promised) != 1 || got.Promised[0] != "11" {
		t.Errorf("push replaces local: got SessionID %q promised %v, want A and [11]", got.SessionID, got.Promised)
	}
	got, _ = merge(got, pushB)
	if got.SessionID != "B" || strings.Join(got.Promised, ",") != "11,A" {
		t.Errorf("newer push: got SessionID %q promised %v, want B and [11 A]", got.SessionID, got.Promised)
	}
	same, _ := merge(got, pushB)
	if strings.Join(same.Promised, ",") != "11,A" {
		t.Errorf("same push again: got promised %v, want [11 A] (nothing new promised)", same.Promised)
	}
	folded, _ := merge(pushA, local)
	if folded.SessionID != "A" || len(folded.Promised) != 0 {
		t.Errorf("local folded into push: got %+v, want SessionID A and nothing promised (its caller got A)", folded)
	}
	cur := local
	for i := range 3 * MaxPromised {
		cur, _ = merge(cur, Trigger{ServerID: "s", Source: SourcePush, SessionID: fmt.Sprintf("%X", i+1)})
	}
	if len(cur.Promised) != MaxPromised || cur.Promised[len(cur.Promised)-1] != fmt.Sprintf("%X", 3*MaxPromised-1) {
		t.Errorf("after %d replacements: got promised %v, want the last %d", 3*MaxPromised, cur.Promised, MaxPromised)
	}
	if got.ID != "t1" {
		t.Errorf("got ID %q, want the pending trigger's ID kept", got.ID)
	}
}
