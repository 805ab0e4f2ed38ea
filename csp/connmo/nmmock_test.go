package connmo_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/connmo"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
)

// nm is a running NetworkManager stand-in on a private bus.
type nm struct {
	mock *dbusmockrun.Mock
	conn *dbus.Conn // control connection of the test (not the provider's)
}

// gsm is a connection the tests create in the stand-in.
type gsm struct {
	id, uuid, apn, user, password string
	autoconnect                   bool
}

var initialConns = []gsm{
	{id: "Telekom", uuid: "11111111-1111-4111-8111-111111111111", apn: "internet.telekom", user: "tm", password: "tm-secret", autoconnect: true},
	{id: "M2M Private", uuid: "22222222-2222-4222-8222-222222222222", apn: "m2m.example.com"},
}

func ctxT(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// startNM starts the networkmanager template on b with the real-NM
// behaviour above and the checkpoint methods (when checkpoints is true),
// then adds conns plus one ethernet connection that the provider must not
// show.
func startNM(t *testing.T, b *dbustest.Bus, checkpoints bool, conns ...gsm) *nm {
	t.Helper()
	m, err := dbusmockrun.StartNetworkManager(ctxT(t), b.Addr, checkpoints)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stop NetworkManager mock: %v", err)
		}
	})
	n := &nm{mock: m, conn: m.Conn}
	n.add(t, connmo.Settings{
		"connection": {"id": dbus.MakeVariant("Wired"), "uuid": dbus.MakeVariant("33333333-3333-4333-8333-333333333333"),
			"type": dbus.MakeVariant("802-3-ethernet")},
	})
	for _, c := range conns {
		s := connmo.Settings{
			"connection": {"id": dbus.MakeVariant(c.id), "uuid": dbus.MakeVariant(c.uuid), "type": dbus.MakeVariant("gsm"),
				"autoconnect": dbus.MakeVariant(c.autoconnect)},
			"gsm":  {},
			"ipv4": {"method": dbus.MakeVariant("auto")},
		}
		for k, v := range map[string]string{"apn": c.apn, "username": c.user, "password": c.password} {
			if v != "" {
				s["gsm"][k] = dbus.MakeVariant(v)
			}
		}
		n.add(t, s)
	}
	return n
}

func (n *nm) add(t *testing.T, s connmo.Settings) dbus.ObjectPath {
	t.Helper()
	p, err := n.mock.AddNMConnection(ctxT(t), s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// state reads every connection straight from the stand-in (not through
// the provider): UUID → settings with secrets, rendered as sorted text.
func (n *nm) state(t *testing.T) map[string]string {
	t.Helper()
	var paths []dbus.ObjectPath
	if err := n.conn.Object(connmo.Service, connmo.SettingsPath).CallWithContext(ctxT(t), connmo.SettingsIface+".ListConnections", 0).Store(&paths); err != nil {
		t.Fatalf("ListConnections: %v", err)
	}
	out := map[string]string{}
	for _, p := range paths {
		obj := n.conn.Object(connmo.Service, p)
		var s, sec connmo.Settings
		if err := obj.CallWithContext(ctxT(t), connmo.ConnIface+".GetSettings", 0).Store(&s); err != nil {
			t.Fatalf("GetSettings %s: %v", p, err)
		}
		if err := obj.CallWithContext(ctxT(t), connmo.ConnIface+".GetSecrets", 0, "gsm").Store(&sec); err != nil {
			t.Fatalf("GetSecrets %s: %v", p, err)
		}
		for k, v := range sec["gsm"] {
			if s["gsm"] == nil {
				s["gsm"] = map[string]dbus.Variant{}
			}
			s["gsm"][k] = v
		}
		uuid, _ := s["connection"]["uuid"].Value().(string)
		out[uuid] = render(s)
	}
	return out
}

func render(s connmo.Settings) string {
	var lines []string
	for setting, props := range s {
		for k, v := range props {
			lines = append(lines, fmt.Sprintf("%s.%s=%s", setting, k, v.String()))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// get returns one property of the connection uuid straight from the stand-in.
func (n *nm) get(t *testing.T, uuid, setting, prop string) (string, bool) {
	t.Helper()
	for _, kv := range strings.Split(n.state(t)[uuid], "\n") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == setting+"."+prop {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// writes returns how many write calls (AddConnection, Update, Delete) the
// stand-in logged on the Settings object and on every connection.
func (n *nm) writes(t *testing.T) int {
	t.Helper()
	count := func(p dbus.ObjectPath, method string) int {
		var raw []struct {
			Time uint64
			Args []dbus.Variant
		}
		if err := n.conn.Object(connmo.Service, p).CallWithContext(ctxT(t), dbusmockrun.MockIface+".GetMethodCalls", 0, method).Store(&raw); err != nil {
			t.Fatalf("GetMethodCalls %s %s: %v", p, method, err)
		}
		return len(raw)
	}
	total := count(connmo.SettingsPath, "AddConnection")
	var paths []dbus.ObjectPath
	if err := n.conn.Object(connmo.Service, connmo.SettingsPath).CallWithContext(ctxT(t), connmo.SettingsIface+".ListConnections", 0).Store(&paths); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		total += count(p, "Update") + count(p, "Delete")
	}
	return total
}
