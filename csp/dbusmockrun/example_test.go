package dbusmockrun_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
)

// Example shows how a demo program brings up the stand-ins: a private
// system bus with hostnamed and timedated on it, then the agent's providers
// on a connection to that bus (hostname.Mount / timedate.Mount with
// DBUS_SYSTEM_BUS_ADDRESS set to bus.Addr).
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "demo-bus")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bus, err := dbusmockrun.StartBus(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Stop()
	hn, err := dbusmockrun.StartHostnamed(ctx, bus.Addr, dbusmockrun.Hostnames{Static: "gw1", Pretty: "Gateway 1"})
	if err != nil {
		log.Fatal(err)
	}
	defer hn.Stop()
	td, err := dbusmockrun.StartTimedated(ctx, bus.Addr, dbusmockrun.Timedate{Timezone: "Europe/Berlin", NTP: true})
	if err != nil {
		log.Fatal(err)
	}
	defer td.Stop()
	// os.Setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.Addr) and run the agent here.
	v, _ := hn.Property(ctx, "StaticHostname")
	z, _ := td.Property(ctx, "Timezone")
	fmt.Println(v, z)
	// Output: gw1 Europe/Berlin
}
