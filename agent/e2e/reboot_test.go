package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/system"
)

// TestRebootAfterTheSession: a server Execs ./Vendor/omadm/System/Reboot;
// the agent answers 202, finishes the session, and only then asks logind
// (dbusmock's logind template) to reboot: SessionEndGrace after the session
// ended, long before the configured fallback delay of 10 minutes.
func TestRebootAfterTheSession(t *testing.T) {
	var logind *dbusmockrun.Mock
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := startWith(t, "reboot", `
recv
expect alert 1200
expect sessionid 4B
send <Exec><CmdID>1</CmdID><Correlator>rb-1</Correlator><Item><Target><LocURI>./Vendor/omadm/System/Reboot</LocURI></Target></Item></Exec>
recv
expect status 1 202
end
`, worldOpts{
		extraConfig: "\n[system]\nreboot_delay = \"10m\"\n",
		beforeAgent: func(w *world) {
			var err error
			logind, err = dbusmockrun.StartMock(ctx, w.peers.Bus.Addr, dbusmockrun.Spec{Template: "logind",
				Service: system.LogindService, Path: system.LogindPath, Iface: system.LogindIface})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { logind.Stop() })
		},
	}, func(a *rig.Account) {
		a.Grants = append(a.Grants, rig.Grant{URI: "./Vendor/omadm/System", ACL: "Get=*&Exec=" + a.ServerID})
	})

	w.deliver(w.sms(w.notify(0x4B)))
	w.waitDone()
	// The agent ends the session after the server received its last
	// package, so a Reboot in logind's log less than SessionEndGrace after
	// that came too early. Only an answer that arrives within that window
	// can tell: on a loaded machine a later one proves nothing either way
	// and is not taken as a failure.
	exs := w.srv.Transcript()
	last := exs[len(exs)-1].Time
	calls, err := logind.MethodCalls(ctx, "Reboot")
	if err != nil {
		t.Fatal(err)
	}
	if since := time.Since(last); len(calls) != 0 && since < system.SessionEndGrace {
		t.Fatalf("Reboot called %v after the session's last package, want none before SessionEndGrace (%v)", since, system.SessionEndGrace)
	}
	deadline := time.Now().Add(2*system.SessionEndGrace + 5*time.Second)
	for time.Now().Before(deadline) {
		calls, err := logind.MethodCalls(ctx, "Reboot")
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) == 1 {
			if len(calls[0].Args) != 1 || calls[0].Args[0] != false {
				t.Errorf("Reboot call: got %+v, want Reboot(false)", calls[0])
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("logind's Reboot was not called within %v of the session's end", 2*system.SessionEndGrace+5*time.Second)
}

// TestRebootWaitsForMaintenanceWindow: with [system] maintenance_windows
// set to a window twelve hours away, the server's Reboot is still
// answered 202, but logind is not asked once the session has ended; the
// technician's status shows when the reboot will happen.
func TestRebootWaitsForMaintenanceWindow(t *testing.T) {
	var logind *dbusmockrun.Mock
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := time.Now().Add(12 * time.Hour).Truncate(time.Minute)
	spec := open.Format("15:04") + "-" + open.Add(time.Minute).Format("15:04")
	w := startWith(t, "reboot-window", `
recv
expect alert 1200
expect sessionid 4C
send <Exec><CmdID>1</CmdID><Correlator>rb-w</Correlator><Item><Target><LocURI>./Vendor/omadm/System/Reboot</LocURI></Target></Item></Exec>
recv
expect status 1 202
end
`, worldOpts{
		extraConfig: "\n[system]\nreboot_delay = \"1s\"\nmaintenance_windows = [\"" + spec + "\"]\n",
		beforeAgent: func(w *world) {
			var err error
			logind, err = dbusmockrun.StartMock(ctx, w.peers.Bus.Addr, dbusmockrun.Spec{Template: "logind",
				Service: system.LogindService, Path: system.LogindPath, Iface: system.LogindIface})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { logind.Stop() })
		},
	}, func(a *rig.Account) {
		a.Grants = append(a.Grants, rig.Grant{URI: "./Vendor/omadm/System", ACL: "Get=*&Exec=" + a.ServerID})
	})

	w.deliver(w.sms(w.notify(0x4C)))
	w.waitDone()
	// Past the session-end grace and the 1 s fallback delay: the reboot
	// waits for the window (recorded in the marker), logind is not called.
	want := "waits for the maintenance window at " + open.Format(time.RFC3339)
	deadline := time.Now().Add(20 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		var err error
		out, err = rig.RunCLI(ctx, agentBin, w.env, "--config", w.cfgPath, "--state-dir", w.stateDir, "status")
		if err == nil && strings.Contains(out, want) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(out, want) {
		t.Fatalf("status does not say %q:\n%s", want, out)
	}
	calls, err := logind.MethodCalls(ctx, "Reboot")
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Errorf("logind Reboot called %d times outside the maintenance window", len(calls))
	}
}
