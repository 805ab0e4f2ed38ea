package hostname

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
	"github.com/omadm-agent/omadm-agent/tree"
)

// D-Bus names of systemd-hostnamed (org.freedesktop.hostname1(5)).
const (
	Service = "org.freedesktop.hostname1"
	Path    = dbus.ObjectPath("/org/freedesktop/hostname1")
	Iface   = "org.freedesktop.hostname1"
)

// Option configures New.
type Option func(*dbuscall.Object)

// WithTimeout bounds each D-Bus call (default dbuscall.DefaultTimeout, 5s).
func WithTimeout(d time.Duration) Option { return func(o *dbuscall.Object) { o.Timeout = d } }

// busHostnamed is hostnamed over godbus.
type busHostnamed struct{ obj dbuscall.Object }

func (b busHostnamed) Get(ctx context.Context, prop string) (string, error) {
	var s string
	err := b.obj.Property(ctx, prop, &s)
	return s, err
}

func (b busHostnamed) Set(ctx context.Context, prop, value string) error {
	return b.obj.Call(ctx, "Set"+prop, value, false)
}

// New returns a provider talking to hostnamed over conn (normally the
// system bus). A nil conn makes every D-Bus call fail with
// csp.ErrServiceUnavailable.
func New(conn *dbus.Conn, opts ...Option) *Provider {
	o := dbuscall.Object{Conn: conn, Service: Service, Path: Path, Iface: Iface}
	for _, f := range opts {
		f(&o)
	}
	return newProvider(busHostnamed{obj: o})
}

// Mount mounts New(conn, opts...) at Root of t. A nil conn means the shared
// system bus connection (dbus.SystemBus, which honours
// DBUS_SYSTEM_BUS_ADDRESS).
func Mount(t *tree.Tree, conn *dbus.Conn, opts ...Option) error {
	if conn == nil {
		c, err := dbus.SystemBus()
		if err != nil {
			return fmt.Errorf("hostname: connect to the system bus: %w", err)
		}
		conn = c
	}
	return t.Mount(Root, New(conn, opts...))
}
