package e2e

import (
	"context"
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
