package fumo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
)

// D-Bus names of the RAUC service (rauc-service 1.8,
// /usr/share/dbus-1/interfaces/de.pengutronix.rauc.Installer.xml).
const (
	RAUCService = "de.pengutronix.rauc"
	RAUCPath    = dbus.ObjectPath("/")
	RAUCIface   = "de.pengutronix.rauc.Installer"
)

// Slot is one entry of GetSlotStatus, the keys this package reads.
type Slot struct {
	Name          string // e.g. "rootfs.1"
	Class         string // "class"
	BootName      string // "bootname"
	State         string // "state": "booted", "active" or "inactive"
	BundleVersion string // "bundle.version" of the last install
	Installed     string // "installed.timestamp"
}

// installer is the part of RAUC the provider needs.
type installer interface {
	Info(ctx context.Context, bundle string) (compatible, version string, err error)
	// Install runs InstallBundle and waits for Completed; progress gets
	// the Progress property as it changes. It returns nil on Completed(0)
	// and a *JobError carrying LastError otherwise.
	Install(ctx context.Context, bundle string, progress func(pct int, msg string)) error
	BootSlot(ctx context.Context) (string, error)
	Operation(ctx context.Context) (string, error)
	Slots(ctx context.Context) ([]Slot, error)
	// Mark calls Mark(state, slot identifier) and returns the slot name
	// and RAUC's message.
	Mark(ctx context.Context, state, slot string) (name, msg string, err error)
}

// raucBus is installer over godbus; calls and error mapping are
// csp/internal/dbuscall's.
type raucBus struct {
	conn *dbus.Conn
	obj  dbuscall.Object // RAUCService, RAUCPath, RAUCIface; per-call timeout
}

func newRAUCBus(conn *dbus.Conn, timeout time.Duration) *raucBus {
	return &raucBus{conn: conn, obj: dbuscall.Object{Conn: conn, Service: RAUCService, Path: RAUCPath, Iface: RAUCIface, Timeout: timeout}}
}

func (r *raucBus) busErr(member string, err error) error {
	return dbuscall.Err(context.Background(), RAUCService, member, err)
}

func (r *raucBus) call(ctx context.Context, method string, out []any, args ...any) error {
	return r.obj.CallStore(ctx, method, out, args...)
}

func (r *raucBus) prop(ctx context.Context, name string, out any) error {
	return r.obj.Property(ctx, name, out)
}

func (r *raucBus) Info(ctx context.Context, bundle string) (string, string, error) {
	var c, v string
	err := r.call(ctx, "Info", []any{&c, &v}, bundle)
	return c, v, err
}

func (r *raucBus) Mark(ctx context.Context, state, slot string) (string, string, error) {
	var name, msg string
	err := r.call(ctx, "Mark", []any{&name, &msg}, state, slot)
	return name, msg, err
}

func (r *raucBus) BootSlot(ctx context.Context) (string, error) {
	var s string
	return s, r.prop(ctx, "BootSlot", &s)
}

func (r *raucBus) Operation(ctx context.Context) (string, error) {
	var s string
	return s, r.prop(ctx, "Operation", &s)
}

func (r *raucBus) Slots(ctx context.Context) ([]Slot, error) {
	var raw []struct {
		Name  string
		Props map[string]dbus.Variant
	}
	if err := r.call(ctx, "GetSlotStatus", []any{&raw}); err != nil {
		return nil, err
	}
	str := func(m map[string]dbus.Variant, k string) string {
		s, _ := m[k].Value().(string)
		return s
	}
	out := make([]Slot, 0, len(raw))
	for _, s := range raw {
		out = append(out, Slot{Name: s.Name, Class: str(s.Props, "class"), BootName: str(s.Props, "bootname"),
			State: str(s.Props, "state"), BundleVersion: str(s.Props, "bundle.version"), Installed: str(s.Props, "installed.timestamp")})
	}
	return out, nil
}

// pollEvery is how often Install checks that RAUC is still on the bus.
const pollEvery = time.Second

func (r *raucBus) Install(ctx context.Context, bundle string, progress func(int, string)) error {
	if r.conn == nil {
		return r.call(ctx, "InstallBundle", nil)
	}
	match := []dbus.MatchOption{dbus.WithMatchObjectPath(RAUCPath), dbus.WithMatchSender(RAUCService)}
	sigMatch := append([]dbus.MatchOption{dbus.WithMatchInterface(RAUCIface), dbus.WithMatchMember("Completed")}, match...)
	propMatch := append([]dbus.MatchOption{dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged")}, match...)
	for _, m := range [][]dbus.MatchOption{sigMatch, propMatch} {
		if err := r.conn.AddMatchSignalContext(ctx, m...); err != nil {
			return r.busErr("AddMatch", err)
		}
		defer r.conn.RemoveMatchSignalContext(context.WithoutCancel(ctx), m...)
	}
	ch := make(chan *dbus.Signal, 64)
	r.conn.Signal(ch)
	defer r.conn.RemoveSignal(ch)

	// Signals carry the sender's unique name, not the well-known one.
	var owner string
	if err := r.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, RAUCService).Store(&owner); err != nil {
		return &JobError{Op: "install", Result: ResultUpdateFailed, Err: r.busErr("GetNameOwner", err)}
	}
	if err := r.call(ctx, "InstallBundle", nil, bundle, map[string]dbus.Variant{}); err != nil {
		return &JobError{Op: "install", Result: ResultUpdateFailed, Err: err}
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s := <-ch:
			if s == nil || s.Sender != owner || s.Path != RAUCPath {
				continue
			}
			switch s.Name {
			case RAUCIface + ".Completed":
				code, _ := s.Body[0].(int32)
				if code == 0 {
					return nil
				}
				var last string
				if err := r.prop(ctx, "LastError", &last); err != nil {
					last = fmt.Sprintf("Completed(%d); LastError unreadable: %v", code, err)
				}
				return &JobError{Op: "install", Result: installResult(last), Err: fmt.Errorf("RAUC Completed(%d): %s", code, last)}
			case "org.freedesktop.DBus.Properties.PropertiesChanged":
				if len(s.Body) < 2 {
					continue
				}
				if iface, _ := s.Body[0].(string); iface != RAUCIface {
					continue
				}
				ch, _ := s.Body[1].(map[string]dbus.Variant)
				if v, ok := ch["Progress"]; ok {
					var p struct {
						Pct   int32
						Msg   string
						Depth int32
					}
					if dbus.Store([]any{v.Value()}, &p) == nil {
						progress(int(p.Pct), p.Msg)
					}
				}
			}
		case <-tick.C:
			// RAUC gone (crashed, stopped) means no Completed will come.
			var now string
			err := r.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, RAUCService).Store(&now)
			if err != nil || now != owner {
				return &JobError{Op: "install", Result: ResultUpdateFailed,
					Err: fmt.Errorf("RAUC left the bus during the installation: %w", csp.ErrServiceUnavailable)}
			}
		}
	}
}

// installResult maps RAUC's LastError text (rauc 1.8 messages) to a
// FUMO result code.
func installResult(last string) Result {
	switch {
	case strings.Contains(last, "signature verification failed"),
		strings.Contains(last, "Verify error"):
		return ResultValidation // 404
	case strings.Contains(last, "Compatible mismatch"):
		return ResultMismatch // 403
	case strings.Contains(last, "Invalid bundle format"),
		strings.Contains(last, "Failed mounting bundle"),
		strings.Contains(last, "manifest"):
		return ResultCorrupted // 402
	case strings.Contains(last, "No space left"):
		return ResultUpdateNoMemory // 502
	}
	return ResultUpdateFailed // 410
}
