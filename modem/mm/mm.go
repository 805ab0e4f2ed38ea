package mm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

// ModemManager D-Bus names (ModemManager1 API, 1.x).
const (
	Service         = "org.freedesktop.ModemManager1"
	ManagerPath     = dbus.ObjectPath("/org/freedesktop/ModemManager1")
	IfaceModem      = "org.freedesktop.ModemManager1.Modem"
	IfaceMessaging  = "org.freedesktop.ModemManager1.Modem.Messaging"
	IfaceSms        = "org.freedesktop.ModemManager1.Sms"
	ifaceObjMgr     = "org.freedesktop.DBus.ObjectManager"
	ifaceProps      = "org.freedesktop.DBus.Properties"
	ifaceDBus       = "org.freedesktop.DBus"
	smsPathPrefix   = "/org/freedesktop/ModemManager1/SMS/"
	modemPathPrefix = "/org/freedesktop/ModemManager1/Modem/"
)

// MMSmsState and MMSmsPduType values (ModemManager-enums.h).
const (
	SmsStateReceiving = 2
	SmsStateReceived  = 3
	SmsPduTypeDeliver = 1

	ModemStateDisabled = 3
)

// Content types accepted by default: the ones the agent's router handles
// (DM notification, DM-profile and CP-profile bootstrap).
var DefaultContentTypes = []string{
	"application/vnd.syncml.notification",
	"application/vnd.syncml.dm+wbxml",
	"application/vnd.wap.connectivity-wbxml",
}

// Sentinel errors.
var (
	// ErrNotOurs: the SMS data is not a WSP push with an accepted content type.
	ErrNotOurs = errors.New("mm: SMS is not a WAP push for the agent")
	// ErrConnClosed: the D-Bus connection given to New was closed; Serve
	// cannot continue (the caller must reconnect and call New again).
	ErrConnClosed = errors.New("mm: D-Bus connection closed")
	// ErrBusy: Serve is already running on this Source.
	ErrBusy = errors.New("mm: Serve already active")
)

// Config configures a Source. Zero values take the defaults noted.
type Config struct {
	// ContentTypes are the WSP content types (MIME names) taken as ours;
	// default DefaultContentTypes. ModemManager strips the UDH, so the WDP
	// port 2948 cannot be checked: the content type is the only criterion.
	ContentTypes []string
	// EnableModem: call Modem.Enable(true) on a disabled modem (ModemManager
	// receives no SMS while the modem is disabled). Off by default: on most
	// gateways NetworkManager or the operator's scripts enable the modem.
	EnableModem bool
	// RetryInterval: re-offer a push the consumer refused; default 1 min.
	RetryInterval time.Duration
	// MinBackoff/MaxBackoff bound the retry of a failed scan while
	// ModemManager is absent or failing (NameOwnerChanged wakes earlier);
	// defaults 1 s and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// CallTimeout bounds each D-Bus call; default 10 s (Enable: 6×).
	CallTimeout time.Duration
	// Logger: nil discards.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.ContentTypes == nil {
		c.ContentTypes = DefaultContentTypes
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = time.Minute
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Source receives WAP pushes through ModemManager's Messaging API.
type Source struct {
	conn    *dbus.Conn
	cfg     Config
	log     *slog.Logger
	running atomic.Bool
	// seen maps SMS object paths already dealt with to a reason (not ours,
	// delivered but Delete failed). Only the Serve goroutine touches it; it
	// is pruned to the paths ModemManager still lists at every scan.
	seen map[dbus.ObjectPath]string
	// refused maps pushes the consumer refused to when; they are offered
	// again only after Config.RetryInterval. Pruned like seen.
	refused map[dbus.ObjectPath]time.Time
	// scans counts scans (tests, idle benchmark).
	scans atomic.Int64
}

// New returns a Source using conn, a connection to the bus ModemManager is
// on (the system bus in production: dbus.ConnectSystemBus). The Source
// does not close conn.
func New(conn *dbus.Conn, cfg Config) *Source {
	cfg.setDefaults()
	return &Source{conn: conn, cfg: cfg, log: cfg.Logger, seen: map[dbus.ObjectPath]string{}, refused: map[dbus.ObjectPath]time.Time{}}
}

// Handler takes one decoded push. Returning nil accepts it: the SMS is then
// deleted from ModemManager (Messaging.Delete, which also deletes it from
// the modem's storage). An error leaves it; it is offered again after
// Config.RetryInterval or at the next Serve.
type Handler func(ctx context.Context, p wappush.Push) error

// Decode classifies the Data of one ModemManager SMS (the user data with the
// UDH already stripped): a WSP Push / ConfirmedPush whose content type is in
// accept is returned decoded; anything else gives an error wrapping
// ErrNotOurs (with the wappush.DecodeError when the bytes are no WSP push).
func Decode(data []byte, accept []string) (wappush.Push, error) {
	p, err := wappush.Decode(data)
	if err != nil {
		return wappush.Push{}, fmt.Errorf("%w: %w", ErrNotOurs, err)
	}
	if p.ContentType == "" || !slices.Contains(accept, p.ContentType) {
		ct := p.ContentType
		if ct == "" {
			ct = fmt.Sprintf("code 0x%02X", p.ContentTypeCode)
		}
		return wappush.Push{}, fmt.Errorf("%w: content type %s", ErrNotOurs, ct)
	}
	return p, nil
}

// ParseTimestamp parses ModemManager's Sms.Timestamp (ISO 8601, e.g.
// "2026-11-21T10:00:00+01" or "...+01:00"); the zero time if it cannot.
func ParseTimestamp(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05-07", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Serve delivers the WAP pushes ModemManager receives to h until ctx ends,
// and returns ctx.Err(). At start, and whenever ModemManager (re)appears or
// a modem is added, it lists the stored messages of every modem so that a
// push received while the agent was down is not lost; in between it reacts
// to Messaging.Added and to Sms State changes (a multipart message becoming
// complete). If the D-Bus connection closes, Serve returns an error
// wrapping ErrConnClosed. A push is deleted from ModemManager only after h returned nil;
// messages that are not ours are never deleted. While ModemManager is
// absent Serve waits for its bus name. Only one Serve may run per Source.
func (s *Source) Serve(ctx context.Context, h Handler) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrBusy
	}
	defer s.running.Store(false)

	sigs := make(chan *dbus.Signal, 32)
	s.conn.Signal(sigs)
	defer s.conn.RemoveSignal(sigs)
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchSender(ifaceDBus), dbus.WithMatchInterface(ifaceDBus), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, Service)},
		{dbus.WithMatchSender(Service), dbus.WithMatchInterface(ifaceObjMgr)},
		{dbus.WithMatchSender(Service), dbus.WithMatchInterface(IfaceMessaging), dbus.WithMatchMember("Added")},
		{dbus.WithMatchSender(Service), dbus.WithMatchInterface(ifaceProps), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchArg(0, IfaceSms)},
	}
	for _, m := range matches {
		if err := s.conn.AddMatchSignalContext(ctx, m...); err != nil {
			if !s.conn.Connected() {
				return fmt.Errorf("%w: subscribe to ModemManager signals: %w", ErrConnClosed, err)
			}
			return fmt.Errorf("mm: subscribe to ModemManager signals: %w", err)
		}
		defer s.conn.RemoveMatchSignal(m...)
	}

	// The watcher turns relevant signals into one pending "scan" kick, so
	// memory stays bounded however many signals arrive while h runs.
	kick := make(chan struct{}, 1)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go watch(wctx, sigs, kick)

	backoff := s.cfg.MinBackoff
	var timer *time.Timer
	for {
		retry, err := s.scan(ctx, h)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var wait time.Duration
		switch {
		case err != nil && !s.conn.Connected():
			return fmt.Errorf("%w: %w", ErrConnClosed, err)
		case err != nil:
			s.log.Warn("mm: ModemManager unavailable; waiting", "err", err)
			wait = backoff
			backoff = min(backoff*2, s.cfg.MaxBackoff)
		case retry:
			backoff = s.cfg.MinBackoff
			wait = s.cfg.RetryInterval
		default:
			backoff = s.cfg.MinBackoff
		}
		var tc <-chan time.Time
		if wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
				defer timer.Stop()
			} else {
				timer.Reset(wait)
			}
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.conn.Context().Done():
			return ErrConnClosed
		case <-kick:
		case <-tc:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// watch forwards a kick for every ModemManager signal that may bring a new
// message or modem. It owns nothing but the kick sends.
func watch(ctx context.Context, sigs <-chan *dbus.Signal, kick chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig, ok := <-sigs:
			if !ok {
				return // the connection closed; Serve sees it at its next call
			}
			if sig == nil || !relevant(sig) {
				continue
			}
			select {
			case kick <- struct{}{}:
			default:
			}
		}
	}
}

func relevant(sig *dbus.Signal) bool {
	switch sig.Name {
	case ifaceDBus + ".NameOwnerChanged":
		// A new owner: rescan. A vanished one: nothing to do until it returns.
		return len(sig.Body) == 3 && sig.Body[0] == Service && sig.Body[2] != ""
	case ifaceObjMgr + ".InterfacesAdded":
		return sig.Path == ManagerPath
	case IfaceMessaging + ".Added":
		return strings.HasPrefix(string(sig.Path), modemPathPrefix)
	case ifaceProps + ".PropertiesChanged":
		if !strings.HasPrefix(string(sig.Path), smsPathPrefix) || len(sig.Body) < 2 {
			return false
		}
		changed, _ := sig.Body[1].(map[string]dbus.Variant)
		st, ok := changed["State"]
		if !ok {
			return false
		}
		v, _ := st.Value().(uint32)
		return v == SmsStateReceived
	}
	return false
}

func (s *Source) callCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// modems returns the modem objects that have the Messaging interface, with
// their Modem.State.
func (s *Source) modems(ctx context.Context) (map[dbus.ObjectPath]int32, error) {
	cctx, cancel := s.callCtx(ctx, s.cfg.CallTimeout)
	defer cancel()
	var objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := s.conn.Object(Service, ManagerPath).CallWithContext(cctx, ifaceObjMgr+".GetManagedObjects", 0).Store(&objs); err != nil {
		return nil, fmt.Errorf("mm: GetManagedObjects: %w", err)
	}
	out := map[dbus.ObjectPath]int32{}
	for p, ifs := range objs {
		if _, ok := ifs[IfaceMessaging]; !ok {
			continue
		}
		st, _ := ifs[IfaceModem]["State"].Value().(int32)
		out[p] = st
	}
	return out, nil
}

// scan lists the messages of every modem and handles the new ones. retry
// reports a push the consumer refused.
func (s *Source) scan(ctx context.Context, h Handler) (retry bool, err error) {
	s.scans.Add(1)
	mods, err := s.modems(ctx)
	if err != nil {
		return false, err
	}
	listed := map[dbus.ObjectPath]bool{}
	var firstErr error
	for _, mp := range sortedKeys(mods) {
		if s.cfg.EnableModem && mods[mp] == ModemStateDisabled {
			cctx, cancel := s.callCtx(ctx, 6*s.cfg.CallTimeout)
			err := s.conn.Object(Service, mp).CallWithContext(cctx, IfaceModem+".Enable", 0, true).Err
			cancel()
			if err != nil {
				s.log.Warn("mm: enabling the modem failed", "modem", mp, "err", err)
			}
		}
		cctx, cancel := s.callCtx(ctx, s.cfg.CallTimeout)
		var paths []dbus.ObjectPath
		err := s.conn.Object(Service, mp).CallWithContext(cctx, IfaceMessaging+".List", 0).Store(&paths)
		cancel()
		if err != nil {
			// A modem being disabled or removed: not fatal for the others.
			s.log.Debug("mm: Messaging.List failed", "modem", mp, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, p := range paths {
			listed[p] = true
			if _, done := s.seen[p]; done {
				continue
			}
			if at, ok := s.refused[p]; ok && time.Since(at) < s.cfg.RetryInterval {
				retry = true
				continue
			}
			if s.handle(ctx, mp, p, h) {
				retry = true
			}
			if ctx.Err() != nil {
				return retry, ctx.Err()
			}
		}
	}
	for p := range s.seen {
		if !listed[p] {
			delete(s.seen, p)
		}
	}
	for p := range s.refused {
		if !listed[p] {
			delete(s.refused, p)
		}
	}
	if len(mods) > 0 && len(listed) == 0 && firstErr != nil {
		return retry, fmt.Errorf("mm: Messaging.List: %w", firstErr)
	}
	return retry, nil
}

// handle reads one SMS object and delivers it if it is ours. It reports
// whether the consumer refused it (so a retry is due).
func (s *Source) handle(ctx context.Context, modem, path dbus.ObjectPath, h Handler) (refused bool) {
	cctx, cancel := s.callCtx(ctx, s.cfg.CallTimeout)
	var props map[string]dbus.Variant
	err := s.conn.Object(Service, path).CallWithContext(cctx, ifaceProps+".GetAll", 0, IfaceSms).Store(&props)
	cancel()
	if err != nil {
		s.log.Debug("mm: reading SMS failed", "sms", path, "err", err)
		return false // gone or not ready: the next scan decides
	}
	state, _ := props["State"].Value().(uint32)
	pduType, _ := props["PduType"].Value().(uint32)
	if state != SmsStateReceived {
		return false // receiving (multipart) or an outgoing message: not yet / not ours
	}
	if pduType != SmsPduTypeDeliver {
		s.seen[path] = "not a deliver PDU"
		return false
	}
	data, _ := props["Data"].Value().([]byte)
	p, err := Decode(data, s.cfg.ContentTypes)
	if err != nil {
		s.seen[path] = "not ours"
		return false
	}
	p.From, _ = props["Number"].Value().(string)
	ts, _ := props["Timestamp"].Value().(string)
	p.At = ParseTimestamp(ts)
	delete(s.refused, path)
	if err := h(ctx, p); err != nil {
		s.log.Warn("mm: push consumer refused the push; left in ModemManager", "sms", path, "from", p.From, "err", err)
		s.refused[path] = time.Now()
		return true
	}
	cctx, cancel = s.callCtx(ctx, s.cfg.CallTimeout)
	err = s.conn.Object(Service, modem).CallWithContext(cctx, IfaceMessaging+".Delete", 0, path).Err
	cancel()
	if err != nil {
		// Never deliver it twice while ModemManager still lists it.
		s.seen[path] = "delivered; delete failed"
		s.log.Warn("mm: deleting the delivered push failed", "sms", path, "err", err)
	}
	return false
}

func sortedKeys(m map[dbus.ObjectPath]int32) []dbus.ObjectPath {
	ks := make([]dbus.ObjectPath, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// IMEI returns the EquipmentIdentifier of the first modem ModemManager
// exports (the IMEI on a 3GPP modem).
func (s *Source) IMEI(ctx context.Context) (string, error) {
	cctx, cancel := s.callCtx(ctx, s.cfg.CallTimeout)
	defer cancel()
	var objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := s.conn.Object(Service, ManagerPath).CallWithContext(cctx, ifaceObjMgr+".GetManagedObjects", 0).Store(&objs); err != nil {
		return "", fmt.Errorf("mm: GetManagedObjects: %w", err)
	}
	paths := make([]dbus.ObjectPath, 0, len(objs))
	for p := range objs {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if m, ok := objs[p][IfaceModem]; ok {
			if id, _ := m["EquipmentIdentifier"].Value().(string); id != "" {
				return id, nil
			}
		}
	}
	return "", ErrNoModem
}

// ErrNoModem: ModemManager exports no modem (with an equipment identifier).
var ErrNoModem = errors.New("mm: no modem")
