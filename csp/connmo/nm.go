package connmo

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
	"github.com/omadm-agent/omadm-agent/tree"
)

// D-Bus names of NetworkManager (NetworkManager D-Bus API reference:
// org.freedesktop.NetworkManager, .Settings, .Settings.Connection).
const (
	Service       = "org.freedesktop.NetworkManager"
	Path          = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	Iface         = "org.freedesktop.NetworkManager"
	SettingsPath  = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings")
	SettingsIface = "org.freedesktop.NetworkManager.Settings"
	ConnIface     = "org.freedesktop.NetworkManager.Settings.Connection"
)

// NM_CHECKPOINT_CREATE_FLAG_* (nm-dbus-interface.h).
const (
	CheckpointDeleteNewConnections = 0x02
	CheckpointDisconnectNewDevices = 0x04
)

// D-Bus error names the mapping gives a status other than 500.
var (
	// Settings refused: the value is bad (400).
	badValueErrors = map[string]bool{
		"org.freedesktop.DBus.Error.InvalidArgs":                             true,
		"org.freedesktop.NetworkManager.Settings.InvalidArguments":           true,
		"org.freedesktop.NetworkManager.Settings.Connection.InvalidProperty": true,
		"org.freedesktop.NetworkManager.Settings.Connection.InvalidSetting":  true,
		"org.freedesktop.NetworkManager.Settings.Connection.MissingSetting":  true,
		"org.freedesktop.NetworkManager.Settings.Connection.MissingProperty": true,
	}
	// The connection vanished between lookup and call (404).
	goneErrors = map[string]bool{
		"org.freedesktop.DBus.Error.UnknownObject":                  true,
		"org.freedesktop.NetworkManager.DoesNotExist":               true,
		"org.freedesktop.NetworkManager.Settings.InvalidConnection": true,
	}
)

// Settings is a connection's settings as NetworkManager exchanges them
// (D-Bus a{sa{sv}}: setting name → property → value).
type Settings map[string]map[string]dbus.Variant

// clone copies the two map levels (values are not mutated in place).
func (s Settings) clone() Settings {
	c := make(Settings, len(s))
	for k, v := range s {
		m := make(map[string]dbus.Variant, len(v))
		for pk, pv := range v {
			m[pk] = pv
		}
		c[k] = m
	}
	return c
}

func (s Settings) str(setting, prop string) (string, bool) {
	v, ok := s[setting][prop]
	if !ok {
		return "", false
	}
	str, ok := v.Value().(string)
	return str, ok
}

func (s Settings) set(setting, prop string, v any) {
	if s[setting] == nil {
		s[setting] = map[string]dbus.Variant{}
	}
	s[setting][prop] = dbus.MakeVariant(v)
}

// networkManager is the part of NetworkManager's D-Bus API the provider
// needs; busNM implements it over godbus, tests may fake it.
type networkManager interface {
	ListConnections(ctx context.Context) ([]dbus.ObjectPath, error)
	// GetSettings returns the settings without secrets.
	GetSettings(ctx context.Context, conn dbus.ObjectPath) (Settings, error)
	// GetSecrets returns the secrets of one setting (e.g. "gsm").
	GetSecrets(ctx context.Context, conn dbus.ObjectPath, setting string) (Settings, error)
	AddConnection(ctx context.Context, s Settings) (dbus.ObjectPath, error)
	// Update replaces all settings of conn (secrets included).
	Update(ctx context.Context, conn dbus.ObjectPath, s Settings) error
	Delete(ctx context.Context, conn dbus.ObjectPath) error
	CheckpointCreate(ctx context.Context, rollbackTimeout, flags uint32) (dbus.ObjectPath, error)
	CheckpointRollback(ctx context.Context, cp dbus.ObjectPath) (map[string]uint32, error)
	CheckpointDestroy(ctx context.Context, cp dbus.ObjectPath) error
}

// busNM is networkManager over a godbus connection.
type busNM struct {
	conn    *dbus.Conn
	timeout time.Duration
}

// call calls iface.method on path; out receives the reply (may be nil).
// write says the call carries a value NM validates (its refusal is 400).
func (b busNM) call(ctx context.Context, path dbus.ObjectPath, iface, method string, write bool, out []any, args ...any) error {
	member := iface[len(Service):] // ".Settings.Connection" etc.
	if member == "" {
		member = method
	} else {
		member = member[1:] + "." + method
	}
	if b.conn == nil {
		return &csp.BusError{Service: Service, Member: member,
			Err: fmt.Errorf("no D-Bus connection: %w: %w", csp.ErrServiceUnavailable, tree.ErrCommandFailed)}
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	c := b.conn.Object(Service, path).CallWithContext(ctx, iface+"."+method, 0, args...)
	err := c.Err
	if err == nil && len(out) > 0 {
		err = c.Store(out...)
	}
	if err == nil {
		return nil
	}
	return mapErr(ctx, member, err, write)
}

// mapErr turns a godbus error into a *csp.BusError (see the package
// comment for the status of each D-Bus error name).
func mapErr(ctx context.Context, member string, err error, write bool) error {
	e, named := dbuscall.BusError(ctx, Service, member, err)
	if !named {
		return e
	}
	switch {
	case goneErrors[e.Name]:
		e.Err = tree.ErrNotFound
	case write && badValueErrors[e.Name]:
		e.Err = tree.ErrBadRequest
	default:
		e.Err = dbuscall.Classify(e.Name) // absent service: csp.ErrServiceUnavailable
	}
	return e
}

func (b busNM) ListConnections(ctx context.Context) ([]dbus.ObjectPath, error) {
	var ps []dbus.ObjectPath
	err := b.call(ctx, SettingsPath, SettingsIface, "ListConnections", false, []any{&ps})
	return ps, err
}

func (b busNM) GetSettings(ctx context.Context, conn dbus.ObjectPath) (Settings, error) {
	var s Settings
	err := b.call(ctx, conn, ConnIface, "GetSettings", false, []any{&s})
	return s, err
}

func (b busNM) GetSecrets(ctx context.Context, conn dbus.ObjectPath, setting string) (Settings, error) {
	var s Settings
	err := b.call(ctx, conn, ConnIface, "GetSecrets", false, []any{&s}, setting)
	return s, err
}

func (b busNM) AddConnection(ctx context.Context, s Settings) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	err := b.call(ctx, SettingsPath, SettingsIface, "AddConnection", true, []any{&p}, map[string]map[string]dbus.Variant(s))
	return p, err
}

func (b busNM) Update(ctx context.Context, conn dbus.ObjectPath, s Settings) error {
	return b.call(ctx, conn, ConnIface, "Update", true, nil, map[string]map[string]dbus.Variant(s))
}

func (b busNM) Delete(ctx context.Context, conn dbus.ObjectPath) error {
	return b.call(ctx, conn, ConnIface, "Delete", false, nil)
}

func (b busNM) CheckpointCreate(ctx context.Context, rollbackTimeout, flags uint32) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	err := b.call(ctx, Path, Iface, "CheckpointCreate", false, []any{&p}, []dbus.ObjectPath{}, rollbackTimeout, flags)
	return p, err
}

func (b busNM) CheckpointRollback(ctx context.Context, cp dbus.ObjectPath) (map[string]uint32, error) {
	var r map[string]uint32
	err := b.call(ctx, Path, Iface, "CheckpointRollback", false, []any{&r}, cp)
	return r, err
}

func (b busNM) CheckpointDestroy(ctx context.Context, cp dbus.ObjectPath) error {
	return b.call(ctx, Path, Iface, "CheckpointDestroy", false, nil, cp)
}
