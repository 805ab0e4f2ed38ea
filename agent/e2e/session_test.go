package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// `omadm-agent session` while the daemon runs must not run a second session
// engine on the same state directory: the CLI asks the daemon over D-Bus
// (StartSession) and the daemon runs the client-initiated session. The
// daemon's SessionStarted/SessionFinished signals carry the SessionID the
// test server saw with Alert 1201.
func TestSessionCLIRunsInDaemon(t *testing.T) {
	w := start(t, "cli-session", `
recv
expect alert 1201
expect devinfo
send <Get><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/omadm/Hostname/PrettyHostname</LocURI></Target></Item></Get>
recv
expect status 1 200
expect results ./Vendor/omadm/Hostname/PrettyHostname = Factory default
end
`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watch, err := rig.WatchSignals(ctx, w.peers.Bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	out, err := rig.RunCLI(ctx, agentBin, w.env, "--config", w.cfgPath, "--state-dir", w.stateDir, "session")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("omadm-agent session: %s", out)
	started, err := watch.WaitStarted(ctx, 0)
	if err != nil {
		t.Fatalf("the daemon did not run the session (%v); CLI output: %s", err, out)
	}
	finished, err := watch.WaitFinished(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.waitDone()
	sid, alerts := sessionStart(t, w.srv.Transcript(), 0)
	if !slices.Equal(alerts, []syncml.AlertCode{syncml.AlertClientInitiatedMgmt}) {
		t.Errorf("package 1 alerts: got %v, want [1201]", alerts)
	}
	if started.SessionID != sid || finished.SessionID != sid || finished.Status != 0 || finished.Server != w.acct.ServerID {
		t.Errorf("signals: got %s and %s, want session %s of %s with status 0", started, finished, sid, w.acct.ServerID)
	}
}
