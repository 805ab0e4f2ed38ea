package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
)

// A dry run through the running daemon: "omadm-agent plan" hands a server
// package to the daemon (PlanFile), which checks every command against its
// full tree, D-Bus objects included, with the server's ACL, and changes
// nothing: hostnamed and timedated keep their values, no session starts.
func TestPlanThroughDaemon(t *testing.T) {
	w := start(t, "plan", "recv\nend\n")
	pkg := filepath.Join(w.dir, "pkg.xml")
	body := `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>7</SessionID><MsgID>2</MsgID>` +
		`<Target><LocURI>` + w.acct.DevID + `</LocURI></Target><Source><LocURI>` + w.acct.URL + `</LocURI></Source></SyncHdr><SyncBody>` +
		`<Replace><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/omadm/Hostname/StaticHostname</LocURI></Target><Data>gw-lab-7</Data></Item></Replace>` +
		`<Atomic><CmdID>3</CmdID>` +
		`<Replace><CmdID>4</CmdID><Item><Target><LocURI>./Vendor/omadm/Time/Timezone</LocURI></Target><Data>Europe/Berlin</Data></Item></Replace>` +
		`<Replace><CmdID>5</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI></Target><Data>Evil</Data></Item></Replace>` +
		`</Atomic>` +
		`<Get><CmdID>6</CmdID><Item><Target><LocURI>./Vendor/omadm/Hostname/PrettyHostname</LocURI></Target></Item></Get>` +
		`<Final/></SyncBody></SyncML>`
	if err := os.WriteFile(pkg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := rig.RunCLI(ctx, agentBin, w.env, "--config", w.cfgPath, "--state-dir", w.stateDir, "plan", pkg)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	for _, want := range []string{
		"(planned by the agent daemon)",
		"plan for server " + w.acct.ServerID,
		`2    Replace  200 ./Vendor/omadm/Hostname/StaticHostname: "gw-factory" -> "gw-lab-7" (allowed; would be applied)`,
		"3    Atomic   507",
		`  4    Replace  200 ./Vendor/omadm/Time/Timezone: "Etc/UTC" -> "Europe/Berlin"`,
		`  5    Replace  405 ./DevInfo/Man`,
		`6    Get      200 ./Vendor/omadm/Hostname/PrettyHostname (the server would read: Factory default)`,
		"2 change(s) allowed, 1 refused",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if st := w.state(); st != initialState {
		t.Errorf("system state after the plan: got %+v, want %+v (unchanged)", st, initialState)
	}
	if n := len(w.srv.Transcript()); n != 0 {
		t.Errorf("the plan contacted the DM server (%d exchanges)", n)
	}
	// Bad input: one clear line, non-zero exit.
	bad := filepath.Join(w.dir, "bad.xml")
	os.WriteFile(bad, []byte("<SyncML><SyncHdr>"), 0o600)
	out, err = rig.RunCLI(ctx, agentBin, w.env, "--config", w.cfgPath, "--state-dir", w.stateDir, "plan", bad)
	if err == nil || !strings.Contains(out, "plan:") {
		t.Errorf("plan of a broken file: err %v, output %q; want a failure naming the command", err, out)
	}
}
