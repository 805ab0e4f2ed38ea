package hostname_test

import (
	"context"
	"testing"

	"github.com/omadm-agent/omadm-agent/csp/hostname"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
)

// BenchmarkGet is one live Get of StaticHostname: a Properties.Get round
// trip to the dbusmock stand-in (a Python process, so this measures the
// stand-in more than the provider).
func BenchmarkGet(b *testing.B) {
	bus := dbustest.New(b)
	bus.Hostnamed(b, initial)
	p := hostname.New(bus.Connect(b))
	u := hostname.Root.Child("StaticHostname")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Get(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidStatic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := hostname.ValidStatic("gateway-0042.site-17.example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
