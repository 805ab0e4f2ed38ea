package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const planMsg = `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>%s</MsgID><Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>https://dm.example.com/dm</LocURI></Source></SyncHdr><SyncBody>%s<Final/></SyncBody></SyncML>`

// TestPlanRecordDir: "plan DIR" plans every server message of a session
// record in order (standalone: no daemon on the bus), and refuses a
// directory holding several records or none.
func TestPlanRecordDir(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "none.toml")
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(dir, "no-bus"))
	state := filepath.Join(dir, "state")
	if code, _, stderr := runCLI(t, nil, "--config", conf, "--state-dir", state, "bootstrap", filepath.Join("..", "..", "..", "testdata", "bootstrap", "cp-w7.xml")); code != 0 {
		t.Fatalf("bootstrap: exit %d: %s", code, stderr)
	}
	rec := filepath.Join(dir, "rec")
	one := filepath.Join(rec, "20261122T050000.000Z-dm.example.com-1")
	if err := os.MkdirAll(one, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, msgID, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(one, name), []byte(strings.Replace(strings.Replace(planMsg, "%s", msgID, 1), "%s", body, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("0001-client.xml", "1", "") // client messages are not planned
	write("0002-server.xml", "1", `<Get><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI></Target></Item></Get>`)
	write("0004-server.xml", "2", `<Replace><CmdID>3</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI></Target><Data>x</Data></Item></Replace>`)

	for _, arg := range []string{rec, one} {
		code, out, stderr := runCLI(t, nil, "--config", conf, "--state-dir", state, "plan", arg)
		if code != 0 {
			t.Fatalf("plan %s: exit %d: %s", arg, code, stderr)
		}
		i2, i4 := strings.Index(out, "== 0002-server.xml"), strings.Index(out, "== 0004-server.xml")
		if i2 < 0 || i4 < i2 || !strings.Contains(out, "2    Get      200 ./DevInfo/Man") || !strings.Contains(out, "3    Replace  405 ./DevInfo/Man") ||
			strings.Contains(out, "0001-client") {
			t.Errorf("plan %s:\n%s", arg, out)
		}
	}
	// Two records: ambiguous.
	if err := os.MkdirAll(filepath.Join(rec, "20261122T060000.000Z-dm.example.com-2"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rec, "20261122T060000.000Z-dm.example.com-2", "0002-server.xml"), []byte(strings.Replace(strings.Replace(planMsg, "%s", "1", 1), "%s", "", 1)), 0o600)
	if code, _, stderr := runCLI(t, nil, "--config", conf, "--state-dir", state, "plan", rec); code == 0 || !strings.Contains(stderr, "holds 2 session records") {
		t.Errorf("two records: exit %d, stderr %q; want a refusal naming them", code, stderr)
	}
	// No record at all.
	if code, _, stderr := runCLI(t, nil, "--config", conf, "--state-dir", state, "plan", t.TempDir()); code == 0 || !strings.Contains(stderr, "no server messages") {
		t.Errorf("empty directory: exit %d, stderr %q", code, stderr)
	}
}
