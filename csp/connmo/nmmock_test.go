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

// nmSetup runs inside the networkmanager template (dbusmock 0.28.7) and
// makes it behave like a real NetworkManager where the provider depends on
// it: Update replaces all settings (the template merges), GetSettings
// leaves out the gsm secrets and GetSecrets("gsm") returns them (the
// template keeps secrets in a nested "secrets" key). It is installed as the
// method org.omadm.Test.Setup of the manager object and called once, before
// any connection exists (connection objects bind these functions when they
// are created).
const nmSetup = `
import sys
nmt = sys.modules['dbusmock.templates.networkmanager']
SECRET = ('password', 'pin')
def _copy(st):
    return dbus.Dictionary({k: dbus.Dictionary(dict(v), signature='sv') for k, v in st.items()}, signature='sa{sv}')
def _update(self, settings, nmt=nmt, _copy=_copy):
    if self.connection_path not in get_object(nmt.SETTINGS_OBJ).ListConnections():
        raise dbus.exceptions.DBusException('gone', name='org.freedesktop.NetworkManager.DoesNotExist')
    self.settings = _copy(settings)
    self.EmitSignal(nmt.CSETTINGS_IFACE, 'Updated', '', [])
def _get(self, _copy=_copy, SECRET=SECRET):
    out = _copy(self.settings)
    if 'gsm' in out:
        for k in SECRET:
            out['gsm'].pop(k, None)
    return out
def _secrets(self, setting, SECRET=SECRET):
    st = self.settings.get(setting, {})
    return dbus.Dictionary({setting: dbus.Dictionary({k: st[k] for k in SECRET if k in st}, signature='sv')}, signature='sa{sv}')
nmt.ConnectionUpdate = _update
nmt.ConnectionGetSettings = _get
nmt.ConnectionGetSecrets = _secrets
`

// Checkpoints: CheckpointCreate snapshots every connection's full
// settings; CheckpointRollback deletes all connections and re-creates the
// snapshot (so the connection set and settings are exactly those at
// CheckpointCreate), then forgets the checkpoint; CheckpointDestroy forgets
// it. Unknown checkpoints give org.freedesktop.NetworkManager.InvalidArguments.
const (
	cpCreate = `
import sys
nmt = sys.modules['dbusmock.templates.networkmanager']
s = get_object(nmt.SETTINGS_OBJ)
snap = [dbus.Dictionary({k: dbus.Dictionary(dict(v), signature='sv') for k, v in get_object(p).settings.items()}, signature='sa{sv}') for p in s.ListConnections()]
self.cp_n = getattr(self, 'cp_n', 0) + 1
if not hasattr(self, 'checkpoints'):
    self.checkpoints = {}
path = '/org/freedesktop/NetworkManager/Checkpoint/%d' % self.cp_n
self.checkpoints[path] = snap
ret = dbus.ObjectPath(path)
`
	cpRollback = `
import sys
nmt = sys.modules['dbusmock.templates.networkmanager']
cps = getattr(self, 'checkpoints', {})
if str(args[0]) not in cps:
    raise dbus.exceptions.DBusException('no checkpoint ' + str(args[0]), name='org.freedesktop.NetworkManager.InvalidArguments')
snap = cps.pop(str(args[0]))
s = get_object(nmt.SETTINGS_OBJ)
for p in list(s.ListConnections()):
    o = get_object(p)
    o.ConnectionDelete(o)
for st in snap:
    s.SettingsAddConnection(dbus.Dictionary({k: dbus.Dictionary(dict(v), signature='sv') for k, v in st.items()}, signature='sa{sv}'))
ret = dbus.Dictionary({}, signature='su')
`
	cpDestroy = `
cps = getattr(self, 'checkpoints', {})
if str(args[0]) not in cps:
    raise dbus.exceptions.DBusException('no checkpoint ' + str(args[0]), name='org.freedesktop.NetworkManager.InvalidArguments')
cps.pop(str(args[0]))
`
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
	m, err := dbusmockrun.StartMock(ctxT(t), b.Addr, dbusmockrun.Spec{
		Template: "networkmanager", Service: connmo.Service, Path: connmo.Path, Iface: connmo.Iface,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stop NetworkManager mock: %v", err)
		}
	})
	n := &nm{mock: m, conn: m.Conn}
	if err := m.AddMethod(ctxT(t), "org.omadm.Test", "Setup", "", "", nmSetup); err != nil {
		t.Fatal(err)
	}
	if err := n.conn.Object(connmo.Service, connmo.Path).CallWithContext(ctxT(t), "org.omadm.Test.Setup", 0).Err; err != nil {
		t.Fatalf("set up the NetworkManager mock: %v\n%s", err, m.Output())
	}
	if checkpoints {
		dbustest.AddMethod(t, m, "CheckpointCreate", "aouu", "o", cpCreate)
		dbustest.AddMethod(t, m, "CheckpointRollback", "o", "a{su}", cpRollback)
		dbustest.AddMethod(t, m, "CheckpointDestroy", "o", "", cpDestroy)
	}
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
	var p dbus.ObjectPath
	err := n.conn.Object(connmo.Service, connmo.SettingsPath).CallWithContext(ctxT(t), connmo.SettingsIface+".AddConnection", 0,
		map[string]map[string]dbus.Variant(s)).Store(&p)
	if err != nil {
		t.Fatalf("AddConnection: %v", err)
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
