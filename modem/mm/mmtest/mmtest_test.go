package mmtest

import (
	"context"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// TestStart checks that the real ModemManager probes the fake, exports it
// with the identity the fake reports, and enables it.
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
	o := m.Conn.Object(Service, m.Modem)
	for prop, want := range map[string]any{
		"Manufacturer": Manufacturer, "Model": Model, "Revision": Revision, "EquipmentIdentifier": IMEI,
	} {
		v, err := o.GetProperty(ifaceModem + "." + prop)
		if err != nil || v.Value() != want {
			t.Errorf("%s: got %v, %v, want %q", prop, v, err, want)
		}
	}
	var all map[string]dbus.Variant
	if err := o.Call("org.freedesktop.DBus.Properties.GetAll", 0, ifaceModem).Store(&all); err != nil {
		t.Fatal(err)
	}
	t.Logf("Modem: %v", all)
	if err := o.Call("org.freedesktop.DBus.Properties.GetAll", 0, ifaceModem+".Modem3gpp").Store(&all); err != nil {
		t.Fatal(err)
	}
	t.Logf("Modem3gpp: %v", all)
	pid := m.PID()
	if err := m.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if !m.exited() {
		t.Errorf("ModemManager %d still running after Stop", pid)
	}
}
