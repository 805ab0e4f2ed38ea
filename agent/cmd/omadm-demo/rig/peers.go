package rig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
)

// ErrMissingDeps says a Debian program the run needs is not installed.
var ErrMissingDeps = errors.New("missing Debian packages (run `make deps`)")

// CheckDeps reports the Debian programs and Python modules a run needs that
// are missing, as one error wrapping ErrMissingDeps.
func CheckDeps() error {
	var missing []string
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		missing = append(missing, "dbus")
	}
	if _, err := os.Stat(dbusmockrun.Python); err != nil {
		missing = append(missing, "python3 ("+dbusmockrun.Python+")")
	} else {
		for _, m := range []struct{ mod, pkg string }{{"dbusmock", "python3-dbusmock"}, {"gammu", "python3-gammu"}} {
			if err := exec.Command(dbusmockrun.Python, "-c", "import "+m.mod).Run(); err != nil {
				missing = append(missing, m.pkg)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingDeps, strings.Join(missing, ", "))
	}
	return nil
}

// Peers is a private D-Bus system bus with the hostnamed and timedated
// stand-ins on it.
type Peers struct {
	Bus       *dbusmockrun.Bus
	Hostnamed *dbusmockrun.Mock
	Timedated *dbusmockrun.Mock
}

// StartPeers starts dbus-daemon (socket in dir) and the two stand-ins with
// the given initial state. On error everything started is stopped.
func StartPeers(ctx context.Context, dir string, hn dbusmockrun.Hostnames, td dbusmockrun.Timedate) (*Peers, error) {
	p := &Peers{}
	var err error
	if p.Bus, err = dbusmockrun.StartBus(ctx, dir); err != nil {
		return nil, fmt.Errorf("dbus-daemon: %w", err)
	}
	if p.Hostnamed, err = dbusmockrun.StartHostnamed(ctx, p.Bus.Addr, hn); err != nil {
		p.Stop()
		return nil, fmt.Errorf("hostnamed stand-in: %w", err)
	}
	if p.Timedated, err = dbusmockrun.StartTimedated(ctx, p.Bus.Addr, td); err != nil {
		p.Stop()
		return nil, fmt.Errorf("timedated stand-in: %w", err)
	}
	return p, nil
}

// Stop stops the stand-ins and the bus, each by PID. It is idempotent.
func (p *Peers) Stop() error {
	var errs []error
	if p.Timedated != nil {
		errs = append(errs, p.Timedated.Stop())
	}
	if p.Hostnamed != nil {
		errs = append(errs, p.Hostnamed.Stop())
	}
	if p.Bus != nil {
		errs = append(errs, p.Bus.Stop())
	}
	return errors.Join(errs...)
}

// SystemState is what hostnamed and timedated report.
type SystemState struct {
	Hostname       string // transient
	StaticHostname string
	PrettyHostname string
	Timezone       string
	NTP            bool
}

func (s SystemState) String() string {
	return fmt.Sprintf("hostname %q (static %q, pretty %q), timezone %q, NTP %t",
		s.Hostname, s.StaticHostname, s.PrettyHostname, s.Timezone, s.NTP)
}

// ReadState reads the state over D-Bus, as any client of hostnamed and
// timedated would: a fresh connection to the bus at addr and
// org.freedesktop.DBus.Properties.Get on both services.
func ReadState(ctx context.Context, addr string) (SystemState, error) {
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return SystemState{}, fmt.Errorf("connect %s: %w", addr, err)
	}
	defer conn.Close()
	var st SystemState
	hn := conn.Object(dbusmockrun.HostnameService, dbusmockrun.HostnamePath)
	td := conn.Object(dbusmockrun.TimedateService, dbusmockrun.TimedatePath)
	gets := []struct {
		obj   dbus.BusObject
		iface string
		name  string
		dst   any
	}{
		{hn, dbusmockrun.HostnameIface, "Hostname", &st.Hostname},
		{hn, dbusmockrun.HostnameIface, "StaticHostname", &st.StaticHostname},
		{hn, dbusmockrun.HostnameIface, "PrettyHostname", &st.PrettyHostname},
		{td, dbusmockrun.TimedateIface, "Timezone", &st.Timezone},
		{td, dbusmockrun.TimedateIface, "NTP", &st.NTP},
	}
	for _, g := range gets {
		var v dbus.Variant
		if err := g.obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, g.iface, g.name).Store(&v); err != nil {
			return SystemState{}, fmt.Errorf("get %s.%s: %w", g.iface, g.name, err)
		}
		if err := v.Store(g.dst); err != nil {
			return SystemState{}, fmt.Errorf("%s.%s: %w", g.iface, g.name, err)
		}
	}
	return st, nil
}
