package system

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbuscall"
	"github.com/omadm-agent/omadm-agent/tree"
)

// D-Bus names of systemd-logind (org.freedesktop.login1(5)) and of the
// systemd manager (org.freedesktop.systemd1(5)).
const (
	LogindService = "org.freedesktop.login1"
	LogindPath    = dbus.ObjectPath("/org/freedesktop/login1")
	LogindIface   = "org.freedesktop.login1.Manager"

	SystemdService = "org.freedesktop.systemd1"
	SystemdPath    = dbus.ObjectPath("/org/freedesktop/systemd1")
	ManagerIface   = "org.freedesktop.systemd1.Manager"
	UnitIface      = "org.freedesktop.systemd1.Unit"
)

// systemd D-Bus error names the provider maps specially.
const (
	ErrNameNoSuchUnit = "org.freedesktop.systemd1.NoSuchUnit" // → 404
	ErrNameUnitMasked = "org.freedesktop.systemd1.UnitMasked" // → 403
)

// jobMode is the mode of StartUnit/StopUnit/RestartUnit.
const jobMode = "replace"

// bus is the D-Bus side of the provider.
type bus struct {
	conn    *dbus.Conn
	timeout time.Duration
}

func (b bus) logind() dbuscall.Object {
	return dbuscall.Object{Conn: b.conn, Service: LogindService, Path: LogindPath, Iface: LogindIface, Timeout: b.timeout}
}

func (b bus) unit(path dbus.ObjectPath) dbuscall.Object {
	return dbuscall.Object{Conn: b.conn, Service: SystemdService, Path: path, Iface: UnitIface, Timeout: b.timeout}
}

// call calls service's method on path (iface.method) and stores the reply
// in out (nil: discard), mapping failures to *csp.BusError.
func (b bus) call(ctx context.Context, service string, path dbus.ObjectPath, iface, method string, out any, args ...any) error {
	if b.conn == nil {
		return &csp.BusError{Service: service, Member: method,
			Err: fmt.Errorf("no D-Bus connection: %w: %w", csp.ErrServiceUnavailable, tree.ErrCommandFailed)}
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeoutOr())
	defer cancel()
	c := b.conn.Object(service, path).CallWithContext(ctx, iface+"."+method, 0, args...)
	var err error
	if out != nil {
		err = c.Store(out)
	} else {
		err = c.Err
	}
	if err != nil {
		return mapErr(ctx, service, method, err)
	}
	return nil
}

func (b bus) timeoutOr() time.Duration {
	if b.timeout > 0 {
		return b.timeout
	}
	return dbuscall.DefaultTimeout
}

// mapErr turns a godbus error into a *csp.BusError: absent service →
// csp.ErrServiceUnavailable (500), NoSuchUnit → 404, UnitMasked → 403,
// anything else 500; the D-Bus error name stays in the message.
func mapErr(ctx context.Context, service, member string, err error) error {
	e, named := dbuscall.BusError(ctx, service, member, err)
	if named {
		e.Err = classify(e.Name)
	}
	return e
}

func classify(name string) error {
	switch name {
	case ErrNameNoSuchUnit:
		return tree.ErrNotFound
	case ErrNameUnitMasked:
		return tree.ErrForbidden
	}
	return dbuscall.Classify(name)
}

// reclassify applies classify to a *csp.BusError returned by dbuscall
// (which knows nothing of systemd's error names).
func reclassify(err error) error {
	var be *csp.BusError
	if errors.As(err, &be) && be.Name != "" {
		be.Err = classify(be.Name)
	}
	return err
}

// canPower asks logind CanReboot/CanPowerOff; "yes" and "challenge" (the
// agent runs privileged, so no prompt is involved) let the operation go
// ahead, anything else ("no", "na") is tree.ErrForbidden.
func (b bus) canPower(ctx context.Context, op string) error {
	var s string
	if err := b.call(ctx, LogindService, LogindPath, LogindIface, "Can"+op, &s); err != nil {
		return err
	}
	switch s {
	case "yes", "challenge":
		return nil
	}
	return fmt.Errorf("%s Can%s answered %q: %w", LogindService, op, s, tree.ErrForbidden)
}

// power calls logind Reboot/PowerOff(interactive=false).
func (b bus) power(ctx context.Context, op string) error {
	return b.logind().Call(ctx, op, false)
}

// unitPath returns the object of unit: GetUnit, or LoadUnit when the unit
// is not loaded (NoSuchUnit). A unit whose LoadState is "not-found" gives
// tree.ErrNotFound.
func (b bus) unitPath(ctx context.Context, unit string) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	err := b.call(ctx, SystemdService, SystemdPath, ManagerIface, "GetUnit", &p, unit)
	var be *csp.BusError
	if errors.As(err, &be) && be.Name == ErrNameNoSuchUnit {
		err = b.call(ctx, SystemdService, SystemdPath, ManagerIface, "LoadUnit", &p, unit)
	}
	if err != nil {
		return "", err
	}
	var load string
	if err := b.unit(p).Property(ctx, "LoadState", &load); err != nil {
		return "", reclassify(err)
	}
	if load == "not-found" {
		return "", fmt.Errorf("unit %s: LoadState not-found: %w", unit, tree.ErrNotFound)
	}
	return p, nil
}

// unitProp reads the string property prop of unit.
func (b bus) unitProp(ctx context.Context, unit, prop string) (string, error) {
	p, err := b.unitPath(ctx, unit)
	if err != nil {
		return "", err
	}
	var s string
	if err := b.unit(p).Property(ctx, prop, &s); err != nil {
		return "", reclassify(err)
	}
	return s, nil
}

// JobError is a unit job that ended with a result other than "done" (or
// "skipped"), or did not end within the job timeout (Result "").
type JobError struct {
	Unit   string
	Method string // RestartUnit, StartUnit, StopUnit
	Job    dbus.ObjectPath
	Result string // systemd job result: failed, timeout, canceled, dependency...; "" = not finished
	Wait   time.Duration
}

func (e *JobError) Error() string {
	if e.Result == "" {
		return fmt.Sprintf("%s %s: job %s not finished within %v (it may still complete; read ActiveState)", e.Method, e.Unit, e.Job, e.Wait)
	}
	return fmt.Sprintf("%s %s: job %s ended with result %q", e.Method, e.Unit, e.Job, e.Result)
}

// Unwrap maps every JobError to 500.
func (e *JobError) Unwrap() error { return tree.ErrCommandFailed }

// unitJob calls method(unit, "replace") on the systemd manager and waits,
// at most wait, for the Manager's JobRemoved signal of the returned job.
// It calls Manager.Subscribe first (systemd sends JobRemoved only when a
// client subscribed; an error is ignored, the signal may still come).
func (b bus) unitJob(ctx context.Context, method, unit string, wait time.Duration) error {
	if b.conn == nil {
		return b.call(ctx, SystemdService, SystemdPath, ManagerIface, method, nil, unit, jobMode)
	}
	match := []dbus.MatchOption{
		dbus.WithMatchObjectPath(SystemdPath),
		dbus.WithMatchInterface(ManagerIface),
		dbus.WithMatchMember("JobRemoved"),
	}
	mctx, cancel := context.WithTimeout(ctx, b.timeoutOr())
	err := b.conn.AddMatchSignalContext(mctx, match...)
	cancel()
	if err != nil {
		return mapErr(ctx, "org.freedesktop.DBus", "AddMatch", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.timeoutOr())
		defer cancel()
		_ = b.conn.RemoveMatchSignalContext(rctx, match...)
	}()
	ch := make(chan *dbus.Signal, 64)
	b.conn.Signal(ch)
	defer b.conn.RemoveSignal(ch)

	_ = b.call(ctx, SystemdService, SystemdPath, ManagerIface, "Subscribe", nil)

	var job dbus.ObjectPath
	if err := b.call(ctx, SystemdService, SystemdPath, ManagerIface, method, &job, unit, jobMode); err != nil {
		return err
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case s := <-ch:
			if s == nil || s.Name != ManagerIface+".JobRemoved" || len(s.Body) != 4 {
				continue
			}
			if p, ok := s.Body[1].(dbus.ObjectPath); !ok || p != job {
				continue
			}
			res, _ := s.Body[3].(string)
			switch res {
			case "done", "skipped":
				return nil
			}
			return &JobError{Unit: unit, Method: method, Job: job, Result: res}
		case <-timer.C:
			return &JobError{Unit: unit, Method: method, Job: job, Wait: wait}
		case <-ctx.Done():
			return fmt.Errorf("%s %s: waiting for job %s: %w: %w", method, unit, job, ctx.Err(), tree.ErrCommandFailed)
		}
	}
}
