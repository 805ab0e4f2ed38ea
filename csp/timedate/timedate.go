package timedate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/omadm-agent/omadm-agent/csp/internal/undo"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Root is where the provider is mounted.
const Root tree.URI = "./Vendor/omadm/Time"

// MOType is the MO identifier of Root.
const MOType = "urn:omadm-agent:mo:time:1.0"

// Leaf names.
const (
	LeafTimezone  = "Timezone"
	LeafNTP       = "NTP"
	LeafLocalTime = "LocalTime"
	LeafUTC       = "UTC"
)

// DefaultZoneinfo is where installed time zones are looked up.
const DefaultZoneinfo = "/usr/share/zoneinfo"

var leaves = []string{LeafTimezone, LeafNTP, LeafLocalTime, LeafUTC}

// timedated is the part of org.freedesktop.timedate1 the provider needs.
type timedated interface {
	Timezone(ctx context.Context) (string, error)
	NTP(ctx context.Context) (bool, error)
	Now(ctx context.Context) (time.Time, error) // property TimeUSec
	SetTimezone(ctx context.Context, zone string) error
	SetNTP(ctx context.Context, use bool) error
}

// Provider serves Root. Create it with New.
type Provider struct {
	td       timedated
	zoneinfo string
	mu       sync.Mutex // serializes writes and guards tx
	tx       *undo.Log
}

func leaf(u tree.URI) (string, error) {
	if u == Root {
		return "", nil
	}
	if u.Parent() == Root && slices.Contains(leaves, u.Base()) {
		return u.Base(), nil
	}
	return "", fmt.Errorf("%s: %w", u, tree.ErrNotFound)
}

// Get returns Root or one of its leaves, read live from timedated.
func (p *Provider) Get(ctx context.Context, u tree.URI) (tree.Node, error) {
	name, err := leaf(u)
	if err != nil {
		return tree.Node{}, err
	}
	if name == "" {
		return tree.Node{URI: u, Interior: true, Props: tree.Props{Format: tree.FormatNode, Type: MOType},
			Children: slices.Clone(leaves)}, nil
	}
	var v string
	format := tree.FormatChr
	switch name {
	case LeafTimezone:
		v, err = p.td.Timezone(ctx)
	case LeafNTP:
		var b bool
		b, err = p.td.NTP(ctx)
		v, format = fmt.Sprint(b), tree.FormatBool
	case LeafUTC:
		var now time.Time
		now, err = p.td.Now(ctx)
		v = now.UTC().Format(time.RFC3339)
	case LeafLocalTime:
		v, err = p.localTime(ctx)
	}
	if err != nil {
		return tree.Node{}, err
	}
	return tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: format, Type: tree.TypeText}}, nil
}

func (p *Provider) localTime(ctx context.Context) (string, error) {
	now, err := p.td.Now(ctx)
	if err != nil {
		return "", err
	}
	zone, err := p.td.Timezone(ctx)
	if err != nil {
		return "", err
	}
	loc, err := p.location(zone)
	if err != nil {
		return "", fmt.Errorf("local time in %q: %w: %w", zone, err, tree.ErrCommandFailed)
	}
	return now.In(loc).Format(time.RFC3339), nil
}

// location loads zone from the zoneinfo directory.
func (p *Provider) location(zone string) (*time.Location, error) {
	data, err := p.zoneFile(zone)
	if err != nil {
		return nil, err
	}
	return time.LoadLocationFromTZData(zone, data)
}

// zoneFile returns the TZif data of zone, refusing names that are not a
// plain relative path of zone-name characters.
func (p *Provider) zoneFile(zone string) ([]byte, error) {
	if zone == "" || len(zone) > 255 {
		return nil, errors.New("empty or overlong zone name")
	}
	for _, seg := range strings.Split(zone, "/") {
		if seg == "" || seg == "." || seg == ".." || seg[0] == '-' {
			return nil, fmt.Errorf("zone name %q has a bad segment %q", zone, seg)
		}
		for _, c := range []byte(seg) {
			if !(c == '_' || c == '+' || c == '-' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return nil, fmt.Errorf("zone name %q has the invalid character %q", zone, c)
			}
		}
	}
	path := filepath.Join(p.zoneinfo, filepath.FromSlash(zone))
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("zone %q is not installed", zone)
	}
	if !st.Mode().IsRegular() || st.Size() > 1<<20 {
		return nil, fmt.Errorf("zone %q is not a zone file", zone)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("zone %q: %w", zone, err)
	}
	if !bytes.HasPrefix(data, []byte("TZif")) {
		return nil, fmt.Errorf("zone %q is not a TZif file", zone)
	}
	return data, nil
}

// ValidZone reports, wrapping tree.ErrBadRequest, why zone is not a time
// zone installed in the provider's zoneinfo directory.
func (p *Provider) ValidZone(zone string) error {
	if _, err := p.zoneFile(zone); err != nil {
		return fmt.Errorf("invalid or not installed time zone: %w: %w", err, tree.ErrBadRequest)
	}
	return nil
}

// Replace sets Timezone or NTP.
func (p *Provider) Replace(ctx context.Context, u tree.URI, v tree.Value) error {
	name, err := leaf(u)
	if err != nil {
		return err
	}
	var set func(ctx context.Context) error
	switch name {
	case LeafTimezone:
		if v.Format != "" && v.Format != tree.FormatChr {
			return fmt.Errorf("%s takes chr, not %s: %w", u, v.Format, tree.ErrUnsupportedMedia)
		}
		zone := string(v.Data)
		if err := p.ValidZone(zone); err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		set = func(ctx context.Context) error { return p.td.SetTimezone(ctx, zone) }
	case LeafNTP:
		if v.Format != tree.FormatBool {
			return fmt.Errorf("%s takes bool, not %q: %w", u, v.Format, tree.ErrUnsupportedMedia)
		}
		var use bool
		switch string(v.Data) {
		case "true":
			use = true
		case "false":
		default:
			return fmt.Errorf("%s: bool value %q: %w", u, v.Data, tree.ErrBadRequest)
		}
		set = func(ctx context.Context) error { return p.td.SetNTP(ctx, use) }
	default:
		return fmt.Errorf("%s is read-only: %w", u, tree.ErrNotAllowed)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx != nil {
		p.tx.Changed(name)
	}
	return set(ctx)
}

// Describe returns the DDF of Root.
func (p *Provider) Describe() []tree.Desc {
	d := func(leaf string, access tree.AccessType, format, desc string) tree.Desc {
		return tree.Desc{Path: string(Root.Child(leaf)), Access: access, Format: format, Type: tree.TypeText,
			Occurrence: "One", Scope: tree.ScopePermanent, Description: desc}
	}
	rw := tree.AccessGet | tree.AccessReplace
	return []tree.Desc{
		{Path: string(Root), Access: tree.AccessGet, Format: tree.FormatNode, Type: MOType, Occurrence: "One",
			Scope: tree.ScopePermanent, Description: "Clock and time zone (systemd-timedated, org.freedesktop.timedate1)"},
		d(LeafTimezone, rw, tree.FormatChr, "Time zone, a name installed in the system tzdata, e.g. Europe/Berlin"),
		d(LeafNTP, rw, tree.FormatBool, "Whether the clock is synchronized by NTP"),
		d(LeafLocalTime, tree.AccessGet, tree.FormatChr, "Current local time, RFC 3339"),
		d(LeafUTC, tree.AccessGet, tree.FormatChr, "Current UTC time, RFC 3339"),
	}
}

// Begin records the current Timezone and NTP; Rollback restores the ones
// replaced in the transaction, newest first.
func (p *Provider) Begin(ctx context.Context) (tree.ProviderTx, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx != nil {
		return nil, fmt.Errorf("timedate: a transaction is already open: %w", tree.ErrCommandFailed)
	}
	zone, err := p.td.Timezone(ctx)
	if err != nil {
		return nil, fmt.Errorf("timedate: record Timezone: %w", err)
	}
	ntp, err := p.td.NTP(ctx)
	if err != nil {
		return nil, fmt.Errorf("timedate: record NTP: %w", err)
	}
	var tx *undo.Log
	tx = undo.New(&p.mu, func(ctx context.Context, leaf string) error {
		switch leaf {
		case LeafTimezone:
			if err := p.td.SetTimezone(ctx, zone); err != nil {
				return fmt.Errorf("timedate: restore Timezone to %q: %w", zone, err)
			}
		case LeafNTP:
			if err := p.td.SetNTP(ctx, ntp); err != nil {
				return fmt.Errorf("timedate: restore NTP to %v: %w", ntp, err)
			}
		}
		return nil
	}, func() {
		if p.tx == tx {
			p.tx = nil
		}
	})
	p.tx = tx
	return tx, nil
}
