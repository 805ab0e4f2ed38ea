package dbusmockrun

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// NetworkManager's names (the NetworkManager D-Bus API).
const (
	NMService       = "org.freedesktop.NetworkManager"
	NMPath          = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	NMIface         = "org.freedesktop.NetworkManager"
	NMSettingsPath  = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings")
	NMSettingsIface = "org.freedesktop.NetworkManager.Settings"
)

// nmRealBehaviour runs inside the networkmanager template (dbusmock 0.28.7) and
// makes it behave like a real NetworkManager where the provider depends on
// it: Update replaces all settings (the template merges), GetSettings
// leaves out the gsm secrets and GetSecrets("gsm") returns them (the
// template keeps secrets in a nested "secrets" key). It is installed as the
// method org.omadm.Test.Setup of the manager object and called once, before
// any connection exists (connection objects bind these functions when they
// are created).
const nmRealBehaviour = `
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

// StartNetworkManager starts dbusmock's "networkmanager" template on the
// bus at addr, made to behave like a real NetworkManager where the
// connection settings are concerned (nmRealBehaviour), with the checkpoint
// methods CheckpointCreate(aouu)→o, CheckpointRollback(o)→a{su} and
// CheckpointDestroy(o) when checkpoints is true. Add connections with
// AddNMConnection.
func StartNetworkManager(ctx context.Context, addr string, checkpoints bool) (*Mock, error) {
	m, err := StartMock(ctx, addr, Spec{Template: "networkmanager", Service: NMService, Path: NMPath, Iface: NMIface})
	if err != nil {
		return nil, err
	}
	return m.setup(ctx, func(ctx context.Context) error {
		if err := m.AddMethod(ctx, "org.omadm.Test", "Setup", "", "", nmRealBehaviour); err != nil {
			return err
		}
		if err := m.Conn.Object(NMService, NMPath).CallWithContext(ctx, "org.omadm.Test.Setup", 0).Err; err != nil {
			return fmt.Errorf("dbusmockrun: set up the NetworkManager mock: %w\n%s", err, m.Output())
		}
		if !checkpoints {
			return nil
		}
		for _, c := range []struct{ name, in, out, code string }{
			{"CheckpointCreate", "aouu", "o", cpCreate},
			{"CheckpointRollback", "o", "a{su}", cpRollback},
			{"CheckpointDestroy", "o", "", cpDestroy},
		} {
			if err := m.AddMethod(ctx, NMIface, c.name, c.in, c.out, c.code); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddNMConnection adds a connection (settings as NetworkManager's
// a{sa{sv}}) to a StartNetworkManager stand-in and returns its path.
func (m *Mock) AddNMConnection(ctx context.Context, settings map[string]map[string]dbus.Variant) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	err := m.Conn.Object(NMService, NMSettingsPath).CallWithContext(ctx, NMSettingsIface+".AddConnection", 0, settings).Store(&p)
	if err != nil {
		return "", fmt.Errorf("dbusmockrun: AddConnection: %w", err)
	}
	return p, nil
}
