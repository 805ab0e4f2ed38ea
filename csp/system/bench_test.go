package system_test

import (
	"context"
	"testing"

	"github.com/omadm-agent/omadm-agent/csp/system"
)

// BenchmarkGetActiveState is one live Get of a unit's ActiveState: GetUnit,
// LoadState and ActiveState round trips to the dbusmock stand-in (a Python
// process, so this measures the stand-in more than the provider).
func BenchmarkGetActiveState(b *testing.B) {
	bus := newBenchEnv(b)
	u := system.Root.Child("Services").Child(unitA).Child("ActiveState")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bus.Get(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
}

func newBenchEnv(b *testing.B) *system.Provider {
	b.Helper()
	e := newEnvTB(b)
	addUnit(b, e.systemd, unitA)
	p, err := system.New(e.conn, e.config(unitA))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(context.Background()) })
	return p
}
