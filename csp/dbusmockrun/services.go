package dbusmockrun

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// hostname1 names (org.freedesktop.hostname1(5)).
const (
	HostnameService = "org.freedesktop.hostname1"
	HostnamePath    = dbus.ObjectPath("/org/freedesktop/hostname1")
	HostnameIface   = "org.freedesktop.hostname1"
)

// timedate1 names (org.freedesktop.timedate1(5)).
const (
	TimedateService = "org.freedesktop.timedate1"
	TimedatePath    = dbus.ObjectPath("/org/freedesktop/timedate1")
	TimedateIface   = "org.freedesktop.timedate1"
)

// Hostnames is the initial state of the hostnamed stand-in.
type Hostnames struct {
	Hostname string // transient (kernel) hostname; default Static, or "localhost"
	Static   string
	Pretty   string
}

// StartHostnamed starts a generic dbusmock for org.freedesktop.hostname1
// with the properties Hostname, StaticHostname and PrettyHostname and the
// methods SetStaticHostname(sb) (which, like hostnamed, also sets the
// transient Hostname unless the static one is cleared), SetPrettyHostname(sb)
// and SetHostname(sb). It does not validate names: the stand-in is for
// testing the client.
func StartHostnamed(ctx context.Context, addr string, st Hostnames) (*Mock, error) {
	if st.Hostname == "" {
		st.Hostname = st.Static
	}
	if st.Hostname == "" {
		st.Hostname = "localhost"
	}
	m, err := StartMock(ctx, addr, Spec{Service: HostnameService, Path: HostnamePath, Iface: HostnameIface})
	if err != nil {
		return nil, err
	}
	return m.setup(ctx, func(ctx context.Context) error {
		if err := m.AddProperties(ctx, HostnameIface, map[string]dbus.Variant{
			"Hostname":       dbus.MakeVariant(st.Hostname),
			"StaticHostname": dbus.MakeVariant(st.Static),
			"PrettyHostname": dbus.MakeVariant(st.Pretty),
		}); err != nil {
			return err
		}
		methods := []struct{ name, code string }{
			{"SetStaticHostname", fmt.Sprintf(
				"self.UpdateProperties(%[1]q, {'StaticHostname': args[0], 'Hostname': args[0] or self.Get(%[1]q, 'Hostname')})",
				HostnameIface)},
			{"SetPrettyHostname", fmt.Sprintf("self.UpdateProperties(%q, {'PrettyHostname': args[0]})", HostnameIface)},
			{"SetHostname", fmt.Sprintf("self.UpdateProperties(%q, {'Hostname': args[0]})", HostnameIface)},
		}
		for _, mt := range methods {
			if err := m.AddMethod(ctx, HostnameIface, mt.name, "sb", "", mt.code); err != nil {
				return err
			}
		}
		return nil
	})
}

// Timedate is the initial state of the timedated stand-in.
type Timedate struct {
	Timezone string // default "Etc/UTC"
	NTP      bool
	TimeUSec uint64 // CLOCK_REALTIME in µs reported by TimeUSec
}

// StartTimedated starts dbusmock's "timedated" template (Timezone, LocalRTC,
// NTP, NTPSynchronized, CanNTP; SetTimezone, SetNTP, SetLocalRTC, SetTime)
// and adds the TimeUSec property the template lacks. Like the template, it
// does not validate zones.
func StartTimedated(ctx context.Context, addr string, st Timedate) (*Mock, error) {
	if st.Timezone == "" {
		st.Timezone = "Etc/UTC"
	}
	m, err := StartMock(ctx, addr, Spec{
		Template: "timedated",
		Params:   map[string]any{"Timezone": st.Timezone, "NTP": st.NTP},
		Service:  TimedateService, Path: TimedatePath, Iface: TimedateIface,
	})
	if err != nil {
		return nil, err
	}
	return m.setup(ctx, func(ctx context.Context) error {
		return m.AddProperties(ctx, TimedateIface, map[string]dbus.Variant{"TimeUSec": dbus.MakeVariant(st.TimeUSec)})
	})
}
