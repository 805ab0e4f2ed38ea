package modemstatus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
	"github.com/omadm-agent/omadm-agent/tree"
)

// Root is where the provider is mounted.
const Root tree.URI = "./Vendor/omadm/Modem"

// MOType is the MO identifier of Root.
const MOType = "urn:omadm-agent:mo:modem:1.0"

// ModemManager D-Bus names.
const (
	Service        = "org.freedesktop.ModemManager1"
	ManagerPath    = dbus.ObjectPath("/org/freedesktop/ModemManager1")
	IfaceModem     = "org.freedesktop.ModemManager1.Modem"
	IfaceModem3gpp = "org.freedesktop.ModemManager1.Modem.Modem3gpp"
	IfaceSim       = "org.freedesktop.ModemManager1.Sim"
	ifaceObjMgr    = "org.freedesktop.DBus.ObjectManager"
)

// Leaf names.
const (
	LeafManufacturer       = "Manufacturer"
	LeafModel              = "Model"
	LeafRevision           = "Revision"
	LeafIMEI               = "IMEI"
	LeafState              = "State"
	LeafSignalQuality      = "SignalQuality"
	LeafAccessTechnologies = "AccessTechnologies"
	LeafOperatorName       = "OperatorName"
	LeafOperatorCode       = "OperatorCode"
	LeafICCID              = "ICCID"
	LeafIMSI               = "IMSI"
)

type leafDef struct {
	name   string
	iface  string // where the property lives
	prop   string
	format string
	desc   string
}

var leafDefs = []leafDef{
	{LeafManufacturer, IfaceModem, "Manufacturer", tree.FormatChr, "Modem manufacturer (Modem.Manufacturer)"},
	{LeafModel, IfaceModem, "Model", tree.FormatChr, "Modem model (Modem.Model)"},
	{LeafRevision, IfaceModem, "Revision", tree.FormatChr, "Modem firmware revision (Modem.Revision)"},
	{LeafIMEI, IfaceModem, "EquipmentIdentifier", tree.FormatChr, "IMEI (Modem.EquipmentIdentifier)"},
	{LeafState, IfaceModem, "State", tree.FormatChr, "Modem state: failed, unknown, initializing, locked, disabled, disabling, enabling, enabled, searching, registered, disconnecting, connecting, connected (Modem.State)"},
	{LeafSignalQuality, IfaceModem, "SignalQuality", tree.FormatInt, "Signal quality 0-100 % (Modem.SignalQuality)"},
	{LeafAccessTechnologies, IfaceModem, "AccessTechnologies", tree.FormatChr, "Current access technologies, comma-separated, e.g. lte or umts,hsdpa (Modem.AccessTechnologies)"},
	{LeafOperatorName, IfaceModem3gpp, "OperatorName", tree.FormatChr, "Registered network operator name (Modem3gpp.OperatorName)"},
	{LeafOperatorCode, IfaceModem3gpp, "OperatorCode", tree.FormatChr, "Registered network MCC+MNC (Modem3gpp.OperatorCode)"},
	{LeafICCID, IfaceSim, "SimIdentifier", tree.FormatChr, "SIM ICCID (Sim.SimIdentifier)"},
	{LeafIMSI, IfaceSim, "Imsi", tree.FormatChr, "SIM IMSI (Sim.Imsi)"},
}

// ErrNoModem: ModemManager exports no modem. It wraps tree.ErrCommandFailed
// (status 500).
var ErrNoModem = fmt.Errorf("no modem exported by ModemManager: %w", tree.ErrCommandFailed)

// Option configures New.
type Option func(*Provider)

// WithTimeout bounds each D-Bus call (default dbuscall.DefaultTimeout, 5s).
func WithTimeout(d time.Duration) Option { return func(p *Provider) { p.timeout = d } }

// Provider serves Root, read-only. Create it with New.
type Provider struct {
	conn    *dbus.Conn
	timeout time.Duration
}

// New returns a provider reading ModemManager over conn (the system bus in
// production). A nil conn makes every Get of a leaf fail with
// csp.ErrServiceUnavailable.
func New(conn *dbus.Conn, opts ...Option) *Provider {
	p := &Provider{conn: conn}
	for _, f := range opts {
		f(p)
	}
	return p
}

// Mount mounts New(conn, opts...) at Root of t. A nil conn means the shared
// system bus connection (dbus.SystemBus).
func Mount(t *tree.Tree, conn *dbus.Conn, opts ...Option) error {
	conn, err := dbuscall.OrSystemBus(conn)
	if err != nil {
		return fmt.Errorf("modemstatus: %w", err)
	}
	return t.Mount(Root, New(conn, opts...))
}

func (p *Provider) object(path dbus.ObjectPath, iface string) dbuscall.Object {
	return dbuscall.Object{Conn: p.conn, Service: Service, Path: path, Iface: iface, Timeout: p.timeout}
}

func children() []string {
	out := make([]string, len(leafDefs))
	for i, d := range leafDefs {
		out[i] = d.name
	}
	return out
}

func find(u tree.URI) (leafDef, bool, error) {
	if u == Root {
		return leafDef{}, true, nil
	}
	if u.Parent() == Root {
		for _, d := range leafDefs {
			if d.name == u.Base() {
				return d, false, nil
			}
		}
	}
	return leafDef{}, false, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
}

// Get returns Root or one of its leaves, read live from ModemManager (the
// first modem in object path order).
func (p *Provider) Get(ctx context.Context, u tree.URI) (tree.Node, error) {
	d, root, err := find(u)
	if err != nil {
		return tree.Node{}, err
	}
	if root {
		return tree.Node{URI: u, Interior: true, Props: tree.Props{Format: tree.FormatNode, Type: MOType},
			Children: children()}, nil
	}
	v, err := p.value(ctx, d)
	if err != nil {
		return tree.Node{}, fmt.Errorf("%s: %w", u, err)
	}
	return tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: d.format, Type: tree.TypeText}}, nil
}

func (p *Provider) value(ctx context.Context, d leafDef) (string, error) {
	var objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := p.object(ManagerPath, ifaceObjMgr).CallStore(ctx, "GetManagedObjects", []any{&objs}); err != nil {
		return "", err
	}
	var modems []dbus.ObjectPath
	for path, ifs := range objs {
		if _, ok := ifs[IfaceModem]; ok {
			modems = append(modems, path)
		}
	}
	if len(modems) == 0 {
		return "", ErrNoModem
	}
	slices.Sort(modems)
	ifs := objs[modems[0]]
	if d.iface == IfaceSim {
		sim, _ := ifs[IfaceModem]["Sim"].Value().(dbus.ObjectPath)
		if sim == "" || sim == "/" {
			return "", nil // no SIM inserted
		}
		var s string
		if err := p.object(sim, IfaceSim).Property(ctx, d.prop, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	v, ok := ifs[d.iface][d.prop]
	if !ok {
		if d.iface == IfaceModem3gpp {
			return "", nil // not a 3GPP modem
		}
		return "", fmt.Errorf("property %s.%s missing: %w", d.iface, d.prop, tree.ErrCommandFailed)
	}
	return format(d.name, v)
}

var errType = errors.New("unexpected property type")

func format(leaf string, v dbus.Variant) (string, error) {
	switch leaf {
	case LeafState:
		st, ok := v.Value().(int32)
		if !ok {
			return "", fmt.Errorf("State %s: %w: %w", v.Signature(), errType, tree.ErrCommandFailed)
		}
		return StateName(st), nil
	case LeafSignalQuality:
		// (ub): percentage, recent.
		sq, ok := v.Value().([]any)
		if !ok || len(sq) != 2 {
			return "", fmt.Errorf("SignalQuality %s: %w: %w", v.Signature(), errType, tree.ErrCommandFailed)
		}
		q, _ := sq[0].(uint32)
		return strconv.FormatUint(uint64(q), 10), nil
	case LeafAccessTechnologies:
		bits, ok := v.Value().(uint32)
		if !ok {
			return "", fmt.Errorf("AccessTechnologies %s: %w: %w", v.Signature(), errType, tree.ErrCommandFailed)
		}
		return AccessTechnologies(bits), nil
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("%s %s: %w: %w", leaf, v.Signature(), errType, tree.ErrCommandFailed)
	}
	return s, nil
}

// MMModemState names (ModemManager-enums.h), from MM_MODEM_STATE_FAILED (-1).
var stateNames = []string{"failed", "unknown", "initializing", "locked", "disabled", "disabling",
	"enabling", "enabled", "searching", "registered", "disconnecting", "connecting", "connected"}

// StateName returns the name of an MMModemState value ("unknown" for values
// out of range).
func StateName(st int32) string {
	if i := int(st) + 1; i >= 0 && i < len(stateNames) {
		return stateNames[i]
	}
	return "unknown"
}

// MMModemAccessTechnology flag names, bit 0 upwards.
var accessNames = []string{"pots", "gsm", "gsm-compact", "gprs", "edge", "umts", "hsdpa", "hsupa",
	"hspa", "hspa-plus", "1xrtt", "evdo0", "evdoa", "evdob", "lte", "5gnr", "lte-cat-m", "lte-nb-iot"}

// AccessTechnologies renders an MMModemAccessTechnology bit mask as
// comma-separated names ("unknown" for 0, "0x<bit>" for bits without a name).
func AccessTechnologies(bits uint32) string {
	if bits == 0 {
		return "unknown"
	}
	var out []string
	for i := range 32 {
		if bits&(1<<i) == 0 {
			continue
		}
		if i < len(accessNames) {
			out = append(out, accessNames[i])
		} else {
			out = append(out, fmt.Sprintf("0x%x", uint32(1)<<i))
		}
	}
	return strings.Join(out, ",")
}

// Describe returns the DDF of Root.
func (p *Provider) Describe() []tree.Desc {
	ds := []tree.Desc{{Path: string(Root), Access: tree.AccessGet, Format: tree.FormatNode, Type: MOType,
		Occurrence: "One", Scope: tree.ScopePermanent,
		Description: "Cellular modem status, read live from ModemManager (org.freedesktop.ModemManager1)"}}
	for _, d := range leafDefs {
		ds = append(ds, tree.Desc{Path: string(Root.Child(d.name)), Access: tree.AccessGet, Format: d.format,
			Type: tree.TypeText, Occurrence: "One", Scope: tree.ScopePermanent, Description: d.desc})
	}
	return ds
}
