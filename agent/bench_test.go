package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/notification"
)

// BenchmarkRouteNotification: decode, account lookup, digest verification,
// replay and rate checks of one Package #0 (distinct session ids, so no
// replay hits; replay window and rate limit off so the caches stay small).
func BenchmarkRouteNotification(b *testing.B) {
	pol := PolicyFrom(config.Default())
	pol.ReplayWindow, pol.RateLimit = 0, 0
	r, err := NewRouter(RouterConfig{Accounts: newAccounts(vecServer), Policy: pol})
	if err != nil {
		b.Fatal(err)
	}
	push := notifPush(pkg0(b, vecServer, 0x1234, notification.UIBackground, vecPassword, []byte(vecNonce)))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := r.Route(ctx, push)
		if err != nil || d.Action != Queued {
			b.Fatalf("%v %v", d, err)
		}
	}
}

// BenchmarkEnqueueMerge: one trigger through the agent goroutine into a
// queue where it merges (the burst case).
func BenchmarkEnqueueMerge(b *testing.B) {
	hold := make(chan struct{})
	r := &fakeRunner{hold: hold}
	a, err := New(Config{Runner: r, Accounts: newAccounts("a", "b"), Config: config.Default()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, err := a.StartSession(ctx, "a"); err != nil { // occupies a
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := a.Enqueue(ctx, Trigger{ServerID: "b", Source: SourceLocal, SessionID: fmt.Sprint(i % 3)}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIdleWakeupsWithSchedule: with a poll due in a minute and no
// heartbeat, the idle loop does not wake at all within a second (the timer
// is armed for the due time only).
func TestIdleWakeupsWithSchedule(t *testing.T) {
	cfg := config.Default()
	cfg.Servers = []config.Server{{ServerID: "a", SteadyInterval: time.Minute}}
	a, _, _ := startAgent(t, Config{Runner: &fakeRunner{}, Accounts: newAccounts("a"), Config: cfg})
	waitFor(t, "idle", func() bool { return a.Snapshot().State == "idle" })
	before := a.Stats().Wakeups
	time.Sleep(time.Second)
	if n := a.Stats().Wakeups - before; n != 0 {
		t.Errorf("got %d wakeups in 1s idle, want 0", n)
	}
}
