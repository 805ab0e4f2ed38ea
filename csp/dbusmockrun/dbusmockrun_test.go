package dbusmockrun_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
)

// TestStartStop: the bus and both stand-ins start, serve their properties
// and methods, and Stop leaves no process behind.
func TestStartStop(t *testing.T) {
	dbustest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := dbusmockrun.StartBus(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	h, err := dbusmockrun.StartHostnamed(ctx, b.Addr, dbusmockrun.Hostnames{Static: "gw1", Pretty: "Gateway 1"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	td, err := dbusmockrun.StartTimedated(ctx, b.Addr, dbusmockrun.Timedate{Timezone: "Europe/Berlin", NTP: true, TimeUSec: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer td.Stop()

	props := []struct {
		m    *dbusmockrun.Mock
		name string
		want any
	}{
		{h, "Hostname", "gw1"},
		{h, "StaticHostname", "gw1"},
		{h, "PrettyHostname", "Gateway 1"},
		{td, "Timezone", "Europe/Berlin"},
		{td, "NTP", true},
		{td, "TimeUSec", uint64(42)},
	}
	for _, p := range props {
		got, err := p.m.Property(ctx, p.name)
		if err != nil || got != p.want {
			t.Errorf("%s %s: got %#v (%v), want %#v", p.m.Service, p.name, got, err, p.want)
		}
	}
	if err := h.Conn.Object(h.Service, h.Path).CallWithContext(ctx, dbusmockrun.HostnameIface+".SetStaticHostname", 0, "gw2", false).Err; err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"StaticHostname": "gw2", "Hostname": "gw2"} {
		if got, _ := h.Property(ctx, name); got != want {
			t.Errorf("after SetStaticHostname: %s = %v, want %s", name, got, want)
		}
	}
	calls, err := h.MethodCalls(ctx, "SetStaticHostname")
	if err != nil || len(calls) != 1 || len(calls[0].Args) != 2 || calls[0].Args[0] != "gw2" || calls[0].Args[1] != false {
		t.Errorf("GetMethodCalls: got %+v (%v), want one call (gw2, false)", calls, err)
	}

	pids := []int{h.PID(), td.PID(), b.PID()}
	for _, stop := range []func() error{h.Stop, td.Stop, b.Stop} {
		if err := stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Stop (kill 0: %v)", pid, err)
		}
	}
}

// TestStartMockBadTemplate: a mock that dies before owning its name gives
// an error (not a wait until the deadline).
func TestStartMockBadTemplate(t *testing.T) {
	dbustest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := dbusmockrun.StartBus(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	_, err = dbusmockrun.StartMock(ctx, b.Addr, dbusmockrun.Spec{Template: "no-such-template", Service: "org.example.None"})
	if err == nil {
		t.Fatal("StartMock with an unknown template: got nil error")
	}
}
