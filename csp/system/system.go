package system

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
	"github.com/omadm-agent/omadm-agent/csp/window"
	"github.com/omadm-agent/omadm-agent/tree"
)

// Root is where the provider is mounted.
const Root tree.URI = "./Vendor/omadm/System"

// MOType is the MO identifier of Root.
const MOType = "urn:omadm-agent:mo:system:1.0"

// Operations (Marker.Op) and the leaves that run them.
const (
	OpReboot   = "Reboot"
	OpPowerOff = "PowerOff"
)

// Generic Alert (1226) types reporting the outcome of a Reboot or PowerOff
// in the boot that follows it. Data is the result code (Format int): 200
// when the device came back with a new boot id, 500 when the operation did
// not happen (Mark "critical").
const (
	AlertReboot   = "org.omadm.agent.reboot"
	AlertPowerOff = "org.omadm.agent.poweroff"
)

// MarkFailure is the Meta Mark of an alert whose result is not 2xx.
const MarkFailure = "critical"

// Leaves and interior nodes below Root.
const (
	LeafReboot   = "Reboot"
	LeafPowerOff = "PowerOff"
	LeafBootID   = "BootID"
	LeafUptime   = "Uptime"
	LeafLastBoot = "LastBoot"
	NodeServices = "Services"
)

// Leaves below Services/<unit>.
const (
	LeafLoadState     = "LoadState"
	LeafActiveState   = "ActiveState"
	LeafSubState      = "SubState"
	LeafUnitFileState = "UnitFileState"
	LeafStart         = "Start"
	LeafStop          = "Stop"
	LeafRestart       = "Restart"
)

var (
	unitProps = []string{LeafLoadState, LeafActiveState, LeafSubState, LeafUnitFileState}
	unitExecs = map[string]string{LeafStart: "StartUnit", LeafStop: "StopUnit", LeafRestart: "RestartUnit"}
	unitLeafs = []string{LeafLoadState, LeafActiveState, LeafSubState, LeafUnitFileState, LeafStart, LeafStop, LeafRestart}
)

// Defaults of Config.
const (
	DefaultRebootDelay = 30 * time.Second
	DefaultMinUptime   = 10 * time.Minute
	DefaultJobTimeout  = 20 * time.Second
	DefaultReportRetry = 30 * time.Second
)

// ProtectedUnits can never be put in Config.Units: stopping them would cut
// the device off from its DM server or break the D-Bus services the agent
// needs. Mount refuses a configuration that lists one of them.
var ProtectedUnits = []string{
	"omadm-agent.service", "dbus.service", "dbus-broker.service", "dbus.socket",
	"systemd-logind.service", "systemd-journald.service",
}

// Config configures New and Mount.
type Config struct {
	// StateDir holds StateFile, the marker of a pending Reboot/PowerOff
	// (created 0700 if missing; the file is 0600). Required.
	StateDir string
	// Units is the allow-list of units a server may see and control under
	// Services (plain or instance names, e.g. "mosquitto.service",
	// "openvpn@site.service"); nothing else is reachable. Each must pass
	// ValidUnitName and must not be one of ProtectedUnits.
	Units []string
	// PowerOff publishes the PowerOff leaf. Off by default: a gateway that
	// was powered off remotely needs someone on site to come back.
	PowerOff bool
	// RebootDelay is the time between the Exec (answered 202) and the call
	// to logind, so the session can end and its statuses reach the server
	// (default DefaultRebootDelay; a negative value means no delay).
	RebootDelay time.Duration
	// MinUptime is the loop guard: after a Reboot/PowerOff ordered through
	// this provider has completed, another one is refused with 403 until
	// the system has been up this long (default DefaultMinUptime).
	MinUptime time.Duration
	// JobTimeout bounds the wait for a unit job (Start/Stop/Restart) to
	// finish (default DefaultJobTimeout).
	JobTimeout time.Duration
	// CallTimeout bounds each D-Bus call (default dbuscall.DefaultTimeout).
	CallTimeout time.Duration
	// Report delivers the Generic Alert with the outcome of a Reboot or
	// PowerOff. It is called from the provider's goroutine and retried
	// every ReportRetry (or at Resume) until it returns nil. Required.
	Report func(ctx context.Context, a tree.Alert) error
	// ReportRetry is the wait before retrying Report (default DefaultReportRetry).
	ReportRetry time.Duration
	// BootID returns the id of the running boot (default: read
	// /proc/sys/kernel/random/boot_id). Tests simulate a reboot with it.
	BootID func() (string, error)
	// Uptime returns the time since boot (default: /proc/uptime).
	Uptime func() (time.Duration, error)
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// Window confines Reboot and PowerOff to maintenance windows: once
	// the delay has passed, an operation due outside every window waits
	// for the next one to open (Marker.NotBefore) and survives an agent
	// restart in that wait. Empty: no constraint.
	Window window.Schedule
	// WindowCheck is how often a wait for a window re-reads the clock, so
	// that a clock set late (NTP after boot) is followed (default
	// DefaultWindowCheck).
	WindowCheck time.Duration
}

// DefaultWindowCheck is the default Config.WindowCheck.
const DefaultWindowCheck = time.Minute

// Provider serves Root. Create it with New or Mount; stop it with Close.
type Provider struct {
	cfg   Config
	b     bus
	units []string
	kick  chan struct{}
	now   chan struct{} // SessionEnded: fire a scheduled power operation now

	ctx    context.Context // cancelled by Close; parent of the goroutines' work
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	m         *Marker // current marker, nil = none
	gen       uint64  // incremented whenever m is replaced
	reporting bool    // the reporter goroutine runs
	closed    bool
}

// New returns a provider talking to logind and systemd over conn (nil:
// every D-Bus call fails with csp.ErrServiceUnavailable). It reads the
// marker in cfg.StateDir: a Reboot/PowerOff requested in an earlier boot is
// now complete and its alert is reported from a goroutine (see Resume). A
// marker that cannot be decoded is renamed to StateFile+".bad".
func New(conn *dbus.Conn, cfg Config) (*Provider, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("system: Config.StateDir is required")
	}
	if cfg.Report == nil {
		return nil, errors.New("system: Config.Report is required")
	}
	var units []string
	for _, u := range cfg.Units {
		if err := ValidUnitName(u); err != nil {
			return nil, fmt.Errorf("system: Config.Units: %w", err)
		}
		if slices.Contains(ProtectedUnits, u) {
			return nil, fmt.Errorf("system: Config.Units: %s is protected and cannot be controlled by a DM server", u)
		}
		if !slices.Contains(units, u) {
			units = append(units, u)
		}
	}
	if cfg.RebootDelay == 0 {
		cfg.RebootDelay = DefaultRebootDelay
	} else if cfg.RebootDelay < 0 {
		cfg.RebootDelay = 0
	}
	if cfg.MinUptime <= 0 {
		cfg.MinUptime = DefaultMinUptime
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.ReportRetry <= 0 {
		cfg.ReportRetry = DefaultReportRetry
	}
	if cfg.BootID == nil {
		cfg.BootID = ReadBootID
	}
	if cfg.Uptime == nil {
		cfg.Uptime = ReadUptime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WindowCheck <= 0 {
		cfg.WindowCheck = DefaultWindowCheck
	}
	p := &Provider{cfg: cfg, b: bus{conn: conn, timeout: cfg.CallTimeout}, units: units, kick: make(chan struct{}, 1), now: make(chan struct{}, 1)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if err := p.recover(); err != nil {
		p.cancel()
		return nil, err
	}
	return p, nil
}

// Mount mounts New(conn, cfg) at Root of t. A nil conn means the shared
// system bus connection (dbus.SystemBus, which honours
// DBUS_SYSTEM_BUS_ADDRESS).
func Mount(t *tree.Tree, conn *dbus.Conn, cfg Config) (*Provider, error) {
	conn, err := dbuscall.OrSystemBus(conn)
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	p, err := New(conn, cfg)
	if err != nil {
		return nil, err
	}
	if err := t.Mount(Root, p); err != nil {
		p.Close(context.Background())
		return nil, fmt.Errorf("system: %w", err)
	}
	return p, nil
}

// recover classifies the marker left by an earlier run.
func (p *Provider) recover() error {
	m, ok, err := loadMarker(p.cfg.StateDir)
	if err != nil {
		if errors.Is(err, ErrBadState) {
			path := filepath.Join(p.cfg.StateDir, StateFile)
			if rerr := os.Rename(path, path+".bad"); rerr != nil {
				return fmt.Errorf("system: %w; set aside: %w", err, rerr)
			}
			return nil
		}
		return fmt.Errorf("system: read %s: %w", StateFile, err)
	}
	if !ok {
		return nil
	}
	if m.Phase == PhaseScheduled && !m.NotBefore.IsZero() {
		boot, err := p.cfg.BootID()
		if err != nil {
			return fmt.Errorf("system: boot id: %w", err)
		}
		if boot == m.BootID {
			// Waiting for a maintenance window when the agent stopped:
			// go on waiting (no delay: the session ended long ago).
			p.m = &m
			p.gen++
			p.wg.Add(1)
			go p.fire(p.gen, m.Op, true)
			return nil
		}
	}
	switch m.Phase {
	case PhaseScheduled, PhaseRequested:
		boot, err := p.cfg.BootID()
		if err != nil {
			return fmt.Errorf("system: boot id: %w", err)
		}
		m.Phase, m.DoneBootID = PhaseReport, boot
		if m.BootID != boot {
			m.Result = tree.StatusOK
		} else {
			m.Result = tree.StatusCommandFailed
			m.Message = "the agent restarted before the " + m.Op + " happened"
		}
		if err := saveMarker(p.cfg.StateDir, m); err != nil {
			return fmt.Errorf("system: save %s: %w", StateFile, err)
		}
	}
	p.m = &m
	if m.Phase == PhaseReport {
		p.startReporter()
	}
	return nil
}

// Resume makes the reporter try to deliver a pending alert now (call it
// once the Report sink works); it never blocks.
func (p *Provider) Resume() {
	p.mu.Lock()
	if !p.closed && p.m != nil && p.m.Phase == PhaseReport {
		p.startReporter()
	}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Close stops the provider's goroutines and waits for them (or for ctx).
// A Reboot/PowerOff still waiting for its delay is cancelled and its marker
// removed: it will not happen and no alert is sent for it. One waiting for
// a maintenance window keeps its marker and goes on waiting after the next
// New in the same boot. One already handed to logind keeps its marker, so
// the next boot reports it.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	if err := csp.Wait(ctx, &p.wg); err != nil {
		return fmt.Errorf("system: close: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m != nil && p.m.Phase == PhaseScheduled && p.m.NotBefore.IsZero() {
		p.m = nil
		p.gen++
		if err := removeMarker(p.cfg.StateDir); err != nil {
			return fmt.Errorf("system: close: %w", err)
		}
	}
	return nil
}

// Pending returns a copy of the current marker, if any (for status output).
func (p *Provider) Pending() (Marker, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		return Marker{}, false
	}
	return *p.m, true
}

// Units returns the allow-list in effect.
func (p *Provider) Units() []string { return slices.Clone(p.units) }

// node kinds of the URI space.
type kind int

const (
	kRoot kind = iota
	kPower
	kInfo
	kServices
	kUnit
	kUnitProp
	kUnitExec
)

// lookup resolves u; unit is the decoded unit name, leaf the last name.
func (p *Provider) lookup(u tree.URI) (k kind, unit, leaf string, err error) {
	notFound := fmt.Errorf("%s: %w", u, tree.ErrNotFound)
	if u == Root {
		return kRoot, "", "", nil
	}
	if !u.HasPrefix(Root) {
		return 0, "", "", notFound
	}
	segs := strings.Split(u.Rel(Root), "/")
	switch segs[0] {
	case LeafReboot:
		if len(segs) == 1 {
			return kPower, "", OpReboot, nil
		}
	case LeafPowerOff:
		if len(segs) == 1 && p.cfg.PowerOff {
			return kPower, "", OpPowerOff, nil
		}
	case LeafBootID, LeafUptime, LeafLastBoot:
		if len(segs) == 1 {
			return kInfo, "", segs[0], nil
		}
	case NodeServices:
		if len(segs) == 1 {
			return kServices, "", "", nil
		}
		name, uerr := tree.UnescapeName(segs[1])
		if uerr != nil {
			return 0, "", "", notFound
		}
		if verr := ValidUnitName(name); verr != nil {
			return 0, "", "", fmt.Errorf("%s: %v: %w", u, verr, tree.ErrNotFound)
		}
		if !slices.Contains(p.units, name) {
			return 0, "", "", fmt.Errorf("%s: unit %s is not in the allow-list: %w", u, name, tree.ErrNotFound)
		}
		switch {
		case len(segs) == 2:
			return kUnit, name, "", nil
		case len(segs) > 3:
		case slices.Contains(unitProps, segs[2]):
			return kUnitProp, name, segs[2], nil
		case unitExecs[segs[2]] != "":
			return kUnitExec, name, segs[2], nil
		}
	}
	return 0, "", "", notFound
}

func leafNode(u tree.URI, format, v string) tree.Node {
	typ := tree.TypeText
	return tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: format, Type: typ}}
}

func interior(u tree.URI, typ string, children ...string) tree.Node {
	return tree.Node{URI: u, Interior: true, Props: tree.Props{Format: tree.FormatNode, Type: typ}, Children: children}
}

// Get returns a node; only the unit state leaves call D-Bus (live, nothing
// is cached). Exec leaves have Format null and an empty value.
func (p *Provider) Get(ctx context.Context, u tree.URI) (tree.Node, error) {
	k, unit, leaf, err := p.lookup(u)
	if err != nil {
		return tree.Node{}, err
	}
	switch k {
	case kRoot:
		ch := []string{LeafReboot}
		if p.cfg.PowerOff {
			ch = append(ch, LeafPowerOff)
		}
		return interior(u, MOType, append(ch, LeafBootID, LeafUptime, LeafLastBoot, NodeServices)...), nil
	case kPower, kUnitExec:
		return tree.Node{URI: u, Props: tree.Props{Format: tree.FormatNull, Type: tree.TypeText}}, nil
	case kInfo:
		return p.info(u, leaf)
	case kServices:
		ch := make([]string, len(p.units))
		for i, n := range p.units {
			ch[i] = tree.EscapeName(n)
		}
		return interior(u, "", ch...), nil
	case kUnit:
		return interior(u, "", unitLeafs...), nil
	case kUnitProp:
		v, err := p.b.unitProp(ctx, unit, leaf)
		if err != nil {
			return tree.Node{}, fmt.Errorf("%s: %w", u, err)
		}
		return leafNode(u, tree.FormatChr, v), nil
	}
	return tree.Node{}, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
}

func (p *Provider) info(u tree.URI, leaf string) (tree.Node, error) {
	if leaf == LeafBootID {
		id, err := p.cfg.BootID()
		if err != nil {
			return tree.Node{}, fmt.Errorf("%s: %w: %w", u, err, tree.ErrCommandFailed)
		}
		return leafNode(u, tree.FormatChr, id), nil
	}
	up, err := p.cfg.Uptime()
	if err != nil {
		return tree.Node{}, fmt.Errorf("%s: %w: %w", u, err, tree.ErrCommandFailed)
	}
	if leaf == LeafUptime {
		return leafNode(u, tree.FormatInt, strconv.FormatInt(int64(up/time.Second), 10)), nil
	}
	boot := p.cfg.Now().Add(-up).UTC().Truncate(time.Second)
	return leafNode(u, tree.FormatChr, boot.Format(time.RFC3339)), nil
}

// Exec runs Reboot/PowerOff (202, outcome reported after the restart) or a
// unit's Start/Stop/Restart (200 once systemd's job is done). data is
// ignored.
func (p *Provider) Exec(ctx context.Context, u tree.URI, data []byte, correlator string) error {
	k, unit, leaf, err := p.lookup(u)
	if err != nil {
		return err
	}
	switch k {
	case kPower:
		return p.power(ctx, u, leaf, correlator)
	case kUnitExec:
		if err := p.b.unitJob(ctx, unitExecs[leaf], unit, p.cfg.JobTimeout); err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		return nil
	}
	return fmt.Errorf("%s is not executable: %w", u, tree.ErrNotAllowed)
}

// power schedules op (see the package comment).
func (p *Provider) power(ctx context.Context, u tree.URI, op, correlator string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("%s: the provider is closed: %w", u, tree.ErrCommandFailed)
	}
	boot, err := p.cfg.BootID()
	if err != nil {
		return fmt.Errorf("%s: boot id: %w: %w", u, err, tree.ErrCommandFailed)
	}
	if m := p.m; m != nil {
		switch m.Phase {
		case PhaseScheduled, PhaseRequested:
			return fmt.Errorf("%s: a %s is already %s: %w", u, m.Op, m.Phase, tree.ErrForbidden)
		}
		if m.Result == tree.StatusOK && m.DoneBootID == boot {
			up, err := p.cfg.Uptime()
			if err != nil {
				return fmt.Errorf("%s: uptime: %w: %w", u, err, tree.ErrCommandFailed)
			}
			if up < p.cfg.MinUptime {
				return fmt.Errorf("%s: refused (reboot loop guard): this boot follows a %s ordered by a DM server and the system has been up only %v of the required %v: %w",
					u, m.Op, up.Truncate(time.Second), p.cfg.MinUptime, tree.ErrForbidden)
			}
		}
	}
	if err := p.b.canPower(ctx, op); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	m := Marker{V: 1, Op: op, Phase: PhaseScheduled, BootID: boot, Requested: p.cfg.Now().UTC(),
		Source: string(u), Correlator: correlator}
	if err := saveMarker(p.cfg.StateDir, m); err != nil {
		return fmt.Errorf("%s: save %s: %w: %w", u, StateFile, err, tree.ErrCommandFailed)
	}
	p.m = &m
	p.gen++
	gen := p.gen
	select { // a SessionEnded left over from an earlier operation
	case <-p.now:
	default:
	}
	p.wg.Add(1)
	go p.fire(gen, op, false)
	return tree.ErrAsync
}

// SessionEndGrace is how long a scheduled power operation still waits after
// SessionEnded, so the last HTTP exchange of the session is really over.
const SessionEndGrace = 2 * time.Second

// SessionEnded tells the provider that a DM session ended: a Reboot or
// PowerOff the server ordered then runs SessionEndGrace later instead of
// waiting out RebootDelay (the delay is the fallback for a session that
// never ends). It never blocks.
func (p *Provider) SessionEnded() {
	p.mu.Lock()
	scheduled := p.m != nil && p.m.Phase == PhaseScheduled
	p.mu.Unlock()
	if scheduled {
		select {
		case p.now <- struct{}{}:
		default:
		}
	}
}

// fire waits RebootDelay (or SessionEndGrace after SessionEnded), unless
// resumed, then for a maintenance window, then asks logind. It owns
// nothing but its timers.
func (p *Provider) fire(gen uint64, op string, resumed bool) {
	defer p.wg.Done()
	t := time.NewTimer(p.cfg.RebootDelay)
	defer t.Stop()
	if resumed {
		t.Reset(0)
	}
	select {
	case <-p.ctx.Done():
		return
	case <-t.C:
	case <-p.now:
		if p.cfg.RebootDelay > SessionEndGrace {
			t.Reset(SessionEndGrace)
			select {
			case <-p.ctx.Done():
				return
			case <-t.C:
			}
		}
	}
	if !p.waitWindow(gen) {
		return
	}
	err := p.b.power(p.ctx, op)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gen != gen || p.m == nil {
		return
	}
	m := *p.m
	switch {
	case err == nil:
		m.Phase = PhaseRequested
	case p.ctx.Err() != nil:
		return // closing: Close decides
	default:
		msg := err.Error()
		if len(msg) > 1000 {
			msg = msg[:1000]
		}
		m.Phase, m.DoneBootID, m.Result, m.Message = PhaseReport, m.BootID, tree.StatusCommandFailed, msg
	}
	// A failed save only loses crash safety: the state in memory is right.
	_ = saveMarker(p.cfg.StateDir, m)
	p.m = &m
	if m.Phase == PhaseReport {
		p.startReporter()
	}
}

// waitWindow waits until Config.Window is open, recording in the marker
// when that will be; false when the provider closed or the marker was
// replaced meanwhile.
func (p *Provider) waitWindow(gen uint64) bool {
	return p.cfg.Window.Wait(p.ctx, p.cfg.Now, p.cfg.WindowCheck, func(next time.Time) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.gen != gen || p.m == nil {
			return false
		}
		if !p.m.NotBefore.Equal(next.UTC()) {
			m := *p.m
			m.NotBefore = next.UTC()
			// A failed save only loses the wait across a restart.
			_ = saveMarker(p.cfg.StateDir, m)
			p.m = &m
		}
		return true
	})
}

// startReporter starts the reporter goroutine unless it runs; p.mu held.
func (p *Provider) startReporter() {
	if p.reporting || p.closed {
		return
	}
	p.reporting = true
	p.wg.Add(1)
	go p.reporter()
}

// reporter delivers the alert of the marker in PhaseReport, retrying until
// Report succeeds, the marker is replaced, or Close.
func (p *Provider) reporter() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if p.m == nil || p.m.Phase != PhaseReport || p.ctx.Err() != nil {
			p.reporting = false
			p.mu.Unlock()
			return
		}
		m, gen := *p.m, p.gen
		p.mu.Unlock()

		err := p.cfg.Report(p.ctx, alertOf(m))
		if err == nil {
			p.mu.Lock()
			if p.gen == gen && p.m != nil && p.m.Phase == PhaseReport {
				done := *p.m
				done.Phase = PhaseReported
				// If this save fails the alert is sent again after a restart.
				_ = saveMarker(p.cfg.StateDir, done)
				p.m = &done
			}
			p.mu.Unlock()
			continue
		}
		t := time.NewTimer(p.cfg.ReportRetry)
		select {
		case <-p.ctx.Done():
		case <-t.C:
		case <-p.kick:
		}
		t.Stop()
	}
}

func alertOf(m Marker) tree.Alert {
	typ := AlertReboot
	if m.Op == OpPowerOff {
		typ = AlertPowerOff
	}
	a := tree.Alert{Type: typ, Format: tree.FormatInt, Source: tree.URI(m.Source), Correlator: m.Correlator,
		Data: []byte(strconv.Itoa(m.Result))}
	if m.Result < 200 || m.Result > 299 {
		a.Mark = MarkFailure
	}
	return a
}

// Describe returns the DDF of Root.
func (p *Provider) Describe() []tree.Desc {
	g, ge := tree.AccessGet, tree.AccessGet|tree.AccessExec
	d := func(rel string, acc tree.AccessType, format, typ, occ, desc string) tree.Desc {
		path := string(Root)
		if rel != "" {
			path += "/" + rel
		}
		return tree.Desc{Path: path, Access: acc, Format: format, Type: typ, Occurrence: occ, Scope: tree.ScopePermanent, Description: desc}
	}
	ds := []tree.Desc{
		d("", g, tree.FormatNode, MOType, "One", "Device-level operations (systemd-logind, systemd)"),
		d(LeafReboot, ge, tree.FormatNull, tree.TypeText, "One",
			"Exec: reboot through logind after a delay; 202, then Generic Alert "+AlertReboot+" (200) after the restart"),
	}
	if p.cfg.PowerOff {
		ds = append(ds, d(LeafPowerOff, ge, tree.FormatNull, tree.TypeText, "One",
			"Exec: power off through logind after a delay; 202, then Generic Alert "+AlertPowerOff+" at the next boot"))
	}
	return append(ds,
		d(LeafBootID, g, tree.FormatChr, tree.TypeText, "One", "Id of the running boot (/proc/sys/kernel/random/boot_id)"),
		d(LeafUptime, g, tree.FormatInt, tree.TypeText, "One", "Seconds since boot"),
		d(LeafLastBoot, g, tree.FormatChr, tree.TypeText, "One", "Time of the last boot, RFC 3339 UTC (wall clock minus uptime)"),
		d(NodeServices, g, tree.FormatNode, "", "One", "Units the device allows a DM server to control (allow-list)"),
		d(NodeServices+"/*", g, tree.FormatNode, "", "ZeroOrMore", "One allowed systemd unit, named by its unit name"),
		d(NodeServices+"/*/"+LeafLoadState, g, tree.FormatChr, tree.TypeText, "One", "Unit property LoadState"),
		d(NodeServices+"/*/"+LeafActiveState, g, tree.FormatChr, tree.TypeText, "One", "Unit property ActiveState"),
		d(NodeServices+"/*/"+LeafSubState, g, tree.FormatChr, tree.TypeText, "One", "Unit property SubState"),
		d(NodeServices+"/*/"+LeafUnitFileState, g, tree.FormatChr, tree.TypeText, "One", "Unit property UnitFileState"),
		d(NodeServices+"/*/"+LeafStart, ge, tree.FormatNull, tree.TypeText, "One", "Exec: StartUnit(name, \"replace\"), waits for the job"),
		d(NodeServices+"/*/"+LeafStop, ge, tree.FormatNull, tree.TypeText, "One", "Exec: StopUnit(name, \"replace\"), waits for the job"),
		d(NodeServices+"/*/"+LeafRestart, ge, tree.FormatNull, tree.TypeText, "One", "Exec: RestartUnit(name, \"replace\"), waits for the job"),
	)
}

// ReadBootID reads /proc/sys/kernel/random/boot_id.
func ReadBootID() (string, error) { return csp.ReadBootID() }

// ReadUptime reads the first field of /proc/uptime.
func ReadUptime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	return ParseUptime(string(b))
}

// ParseUptime parses the content of /proc/uptime ("12345.67 54321.00").
func ParseUptime(s string) (time.Duration, error) {
	f, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil || !(v >= 0 && v <= 1e9) { // also refuses NaN
		return 0, fmt.Errorf("/proc/uptime %q: unexpected form", s)
	}
	return time.Duration(v * float64(time.Second)), nil
}
