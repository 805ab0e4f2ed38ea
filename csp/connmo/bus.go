package connmo

import (
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
	"github.com/omadm-agent/omadm-agent/tree"
)

// New returns a provider talking to NetworkManager over conn (normally the
// system bus). A nil conn makes every D-Bus call fail with
// csp.ErrServiceUnavailable.
func New(conn *dbus.Conn, cfg Config) *Provider {
	p := newProvider(nil, cfg)
	p.nm = busNM{conn: conn, timeout: p.cfg.Timeout}
	return p
}

// Mount mounts New(conn, cfg) at Root of t. A nil conn means the shared
// system bus connection (dbus.SystemBus, which honours
// DBUS_SYSTEM_BUS_ADDRESS).
func Mount(t *tree.Tree, conn *dbus.Conn, cfg Config) error {
	conn, err := dbuscall.OrSystemBus(conn)
	if err != nil {
		return fmt.Errorf("connmo: %w", err)
	}
	return t.Mount(Root, New(conn, cfg))
}
