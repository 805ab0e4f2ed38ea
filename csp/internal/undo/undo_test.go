package undo

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
)

func TestRollbackNewestFirstOnce(t *testing.T) {
	var mu sync.Mutex
	var restored []string
	released := 0
	boom := errors.New("boom")
	l := New(&mu, func(_ context.Context, leaf string) error {
		restored = append(restored, leaf)
		if leaf == "B" {
			return boom
		}
		return nil
	}, func() { released++ })
	for _, leaf := range []string{"A", "B", "A", "C"} {
		l.Changed(leaf)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a cancelled session still rolls back
	err := l.Rollback(ctx)
	if want := []string{"C", "B", "A"}; !slices.Equal(restored, want) {
		t.Errorf("restored %v, want %v (each leaf once, newest first)", restored, want)
	}
	if !errors.Is(err, boom) {
		t.Errorf("Rollback error %v, want the failed restore", err)
	}
	if err := l.Rollback(ctx); !errors.Is(err, tree.ErrTxnDone) {
		t.Errorf("second Rollback: got %v, want ErrTxnDone", err)
	}
	if err := l.Commit(ctx); !errors.Is(err, tree.ErrTxnDone) {
		t.Errorf("Commit after Rollback: got %v, want ErrTxnDone", err)
	}
	if released != 1 {
		t.Errorf("release called %d times, want 1", released)
	}
}

func TestCommitRestoresNothing(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	l := New(&mu, func(context.Context, string) error { calls++; return nil }, func() {})
	l.Changed("A")
	if err := l.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("Commit restored %d leaves, want 0", calls)
	}
}
