package mmtest

import (
	"context"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	m, err := Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	t.Logf("modem %s exported and enabled in %v", m.Modem, time.Since(start))
	t.Logf("commands: %q", m.Fake.Commands())
}
