package timedate

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
	"github.com/omadm-agent/omadm-agent/tree"
)

// D-Bus names of systemd-timedated (org.freedesktop.timedate1(5)).
const (
	Service = "org.freedesktop.timedate1"
	Path    = dbus.ObjectPath("/org/freedesktop/timedate1")
	Iface   = "org.freedesktop.timedate1"
)

type options struct {
	timeout  time.Duration
	zoneinfo string
}

// Option configures New.
type Option func(*options)

// WithTimeout bounds each D-Bus call (default dbuscall.DefaultTimeout, 5s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithZoneinfo sets the tzdata directory zones are checked in (default
// DefaultZoneinfo).
func WithZoneinfo(dir string) Option { return func(o *options) { o.zoneinfo = dir } }

// busTimedated is timedated over godbus.
type busTimedated struct{ obj dbuscall.Object }

func (b busTimedated) Timezone(ctx context.Context) (string, error) {
	var s string
	err := b.obj.Property(ctx, "Timezone", &s)
	return s, err
}

func (b busTimedated) NTP(ctx context.Context) (bool, error) {
	var v bool
	err := b.obj.Property(ctx, "NTP", &v)
	return v, err
}

func (b busTimedated) Now(ctx context.Context) (time.Time, error) {
	var us uint64
	if err := b.obj.Property(ctx, "TimeUSec", &us); err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(int64(us)), nil
}

func (b busTimedated) SetTimezone(ctx context.Context, zone string) error {
	return b.obj.Call(ctx, "SetTimezone", zone, false)
}

func (b busTimedated) SetNTP(ctx context.Context, use bool) error {
	return b.obj.Call(ctx, "SetNTP", use, false)
}

// New returns a provider talking to timedated over conn (normally the
// system bus). A nil conn makes every D-Bus call fail with
// csp.ErrServiceUnavailable.
func New(conn *dbus.Conn, opts ...Option) *Provider {
	o := options{zoneinfo: DefaultZoneinfo}
	for _, f := range opts {
		f(&o)
	}
	obj := dbuscall.Object{Conn: conn, Service: Service, Path: Path, Iface: Iface, Timeout: o.timeout}
	return &Provider{td: busTimedated{obj: obj}, zoneinfo: o.zoneinfo}
}

// Mount mounts New(conn, opts...) at Root of t. A nil conn means the shared
// system bus connection (dbus.SystemBus, which honours
// DBUS_SYSTEM_BUS_ADDRESS).
func Mount(t *tree.Tree, conn *dbus.Conn, opts ...Option) error {
	if conn == nil {
		c, err := dbus.SystemBus()
		if err != nil {
			return fmt.Errorf("timedate: connect to the system bus: %w", err)
		}
		conn = c
	}
	return t.Mount(Root, New(conn, opts...))
}
