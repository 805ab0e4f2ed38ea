package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
)

// TestAtomicRollsBackNetworkManager: the daemon mounts the cellular
// connections when NetworkManager is on the bus; a server sets an APN,
// then an Atomic changes it again and fails; the agent rolls the change
// back through NetworkManager's checkpoint (CheckpointCreate, then
// CheckpointRollback), and NetworkManager itself holds the APN of the
// committed Replace afterwards.
func TestAtomicRollsBackNetworkManager(t *testing.T) {
	var nm *dbusmockrun.Mock
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const apnURI = "./Vendor/omadm/Network/Cellular/Telekom/APN"
	w := startWith(t, "connmo-atomic", `
recv
expect alert 1200
expect sessionid 7C
send <Replace><CmdID>1</CmdID><Item><Target><LocURI>`+apnURI+`</LocURI></Target><Data>internet.v2</Data></Item></Replace>
send <Atomic><CmdID>10</CmdID>
  <Replace><CmdID>11</CmdID><Item><Target><LocURI>`+apnURI+`</LocURI></Target><Data>broken.apn</Data></Item></Replace>
  <Replace><CmdID>12</CmdID><Item><Target><LocURI>./Vendor/omadm/Network/Cellular/Telekom/NoSuchLeaf</LocURI></Target><Data>x</Data></Item></Replace>
</Atomic>
send <Get><CmdID>20</CmdID><Item><Target><LocURI>`+apnURI+`</LocURI></Target></Item></Get>
recv
expect status 1 200
expect status 10 507
expect status 11 216
expect status 12 4xx
expect status 20 200
expect results `+apnURI+` = internet.v2
end
`, worldOpts{beforeAgent: func(w *world) {
		var err error
		nm, err = dbusmockrun.StartNetworkManager(ctx, w.peers.Bus.Addr, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nm.Stop() })
		if _, err := nm.AddNMConnection(ctx, map[string]map[string]dbus.Variant{
			"connection": {"id": dbus.MakeVariant("Telekom"), "uuid": dbus.MakeVariant("11111111-1111-4111-8111-111111111111"),
				"type": dbus.MakeVariant("gsm"), "autoconnect": dbus.MakeVariant(true)},
			"gsm":  {"apn": dbus.MakeVariant("internet.telekom")},
			"ipv4": {"method": dbus.MakeVariant("auto")},
		}); err != nil {
			t.Fatal(err)
		}
	}})

	w.deliver(w.sms(w.notify(0x7C)))
	w.waitDone()

	// NetworkManager's own view, not the agent's.
	var paths []dbus.ObjectPath
	if err := nm.Conn.Object(dbusmockrun.NMService, dbusmockrun.NMSettingsPath).CallWithContext(ctx, dbusmockrun.NMSettingsIface+".ListConnections", 0).Store(&paths); err != nil || len(paths) != 1 {
		t.Fatalf("ListConnections: %v, %v; want one connection", paths, err)
	}
	var s map[string]map[string]dbus.Variant
	if err := nm.Conn.Object(dbusmockrun.NMService, paths[0]).CallWithContext(ctx, "org.freedesktop.NetworkManager.Settings.Connection.GetSettings", 0).Store(&s); err != nil {
		t.Fatal(err)
	}
	if apn, _ := s["gsm"]["apn"].Value().(string); apn != "internet.v2" {
		t.Errorf("NetworkManager's APN after the session: got %q, want internet.v2 (the committed Replace; the Atomic's rolled back)", apn)
	}
	for method, want := range map[string]int{"CheckpointCreate": 1, "CheckpointRollback": 1, "CheckpointDestroy": 0} {
		calls, err := nm.MethodCalls(ctx, method)
		if err != nil || len(calls) != want {
			t.Errorf("%s calls: got %d (%v), want %d", method, len(calls), err, want)
		}
	}
}
