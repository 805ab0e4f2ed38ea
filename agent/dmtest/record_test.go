package dmtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// ---- building synthetic records (the layout agent/session writes) ----

type recFiles struct {
	files map[string][]byte
	index strings.Builder
	n     int
}

func newRec() *recFiles { return &recFiles{files: map[string][]byte{}} }

// add encodes m as the next message of side; hmac adds an x-syncml-hmac
// header to its index line, note a note.
func (r *recFiles) add(t testing.TB, side string, enc syncml.Encoding, m *syncml.Message, hmac bool, note string) string {
	t.Helper()
	b, err := syncml.Encode(m, enc)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	r.n++
	name := fmt.Sprintf("%04d-%s.%s", r.n, side, enc)
	r.files[name] = b
	line := fmt.Sprintf("2026-01-02T03:04:05.%09dZ %s %d bytes", r.n, name, len(b))
	if hmac {
		line += ` x-syncml-hmac: algorithm=MD5, username="dev", mac=REDACTED`
	}
	if note != "" {
		line += " " + note
	}
	r.index.WriteString(line + "\n")
	return name
}

func (r *recFiles) fs() fstest.MapFS {
	m := fstest.MapFS{}
	for k, v := range r.files {
		m[k] = &fstest.MapFile{Data: v, Mode: 0o600}
	}
	m["index.log"] = &fstest.MapFile{Data: []byte(r.index.String()), Mode: 0o600}
	return m
}

func (r *recFiles) write(t testing.TB, dir string) {
	t.Helper()
	for k, v := range r.fs() {
		if err := os.WriteFile(filepath.Join(dir, k), v.Data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func hdr(msgID string) syncml.Header {
	return syncml.Header{VerDTD: "1.2", VerProto: "DM/1.2", SessionID: "1A2B", MsgID: msgID,
		Target: &syncml.Location{LocURI: "https://dm.example.com/dm"}, Source: &syncml.Location{LocURI: "IMEI:1"}}
}

func srvHdr(msgID string) syncml.Header {
	return syncml.Header{VerDTD: "1.2", VerProto: "DM/1.2", SessionID: "1A2B", MsgID: msgID,
		Target: &syncml.Location{LocURI: "IMEI:1"}, Source: &syncml.Location{LocURI: "https://dm.example.com/dm"}}
}

func mkMsg(h syncml.Header, final bool, cmds ...*syncml.Command) *syncml.Message {
	return &syncml.Message{Hdr: h, Body: cmds, Final: final}
}

func item(uri, data string) *syncml.Item {
	it := &syncml.Item{Target: &syncml.Location{LocURI: uri}}
	if data != "" {
		it.Data = syncml.TextData(data)
	}
	return it
}

func cmdOf(kind, id string, items ...*syncml.Item) *syncml.Command {
	return &syncml.Command{Kind: kind, CmdID: id, Items: items}
}

func alertCmd(id string, code int) *syncml.Command {
	return &syncml.Command{Kind: syncml.KindAlert, CmdID: id, Data: fmt.Sprint(code)}
}

func statusCmd(id, msgRef, cmdRef, cmd string, code int) *syncml.Command {
	return &syncml.Command{Kind: syncml.KindStatus, CmdID: id, MsgRef: msgRef, CmdRef: cmdRef, Cmd: cmd, Data: fmt.Sprint(code)}
}

func resultsCmd(id, msgRef, cmdRef, uri, data string, more bool) *syncml.Command {
	return &syncml.Command{Kind: syncml.KindResults, CmdID: id, MsgRef: msgRef, CmdRef: cmdRef,
		Items: []*syncml.Item{{Source: &syncml.Location{LocURI: uri}, Data: syncml.TextData(data), MoreData: more}}}
}

func devInfo(id string) *syncml.Command {
	c := &syncml.Command{Kind: syncml.KindReplace, CmdID: id}
	for _, k := range []string{"DevId", "Man", "Mod", "DmV", "Lang"} {
		c.Items = append(c.Items, &syncml.Item{Source: &syncml.Location{LocURI: "./DevInfo/" + k}, Data: syncml.TextData("x")})
	}
	return c
}

// simpleRecord is a client-initiated session: package 1, one Get and one
// Replace, the answers, and the server's closing package.
func simpleRecord(t testing.TB, enc syncml.Encoding) *recFiles {
	r := newRec()
	r.add(t, "client", enc, mkMsg(hdr("1"), true, alertCmd("1", 1201), devInfo("2")), false, "")
	r.add(t, "server", enc, mkMsg(srvHdr("1"), true, statusCmd("1", "1", "0", "SyncHdr", 200),
		cmdOf("Get", "3", item("./DevDetail/FwV", "")), cmdOf("Replace", "4", item("./Vendor/x", "new value"))), false, "")
	r.add(t, "client", enc, mkMsg(hdr("2"), true, statusCmd("1", "1", "0", "SyncHdr", 200),
		statusCmd("2", "1", "3", "Get", 200), resultsCmd("3", "1", "3", "./DevDetail/FwV", "1.4.2", false),
		statusCmd("4", "1", "4", "Replace", 404)), false, "")
	r.add(t, "server", enc, mkMsg(srvHdr("2"), true, statusCmd("1", "2", "0", "SyncHdr", 200)), false, "")
	return r
}

func convertFS(t testing.TB, r *recFiles, opts RecordOptions) (*Conversion, error) {
	t.Helper()
	return ConvertRecordFS(r.fs(), "rec", "rec", opts)
}

// ---- tests ----

func TestConvertRecordSimple(t *testing.T) {
	for _, enc := range []syncml.Encoding{syncml.XML, syncml.WBXML} {
		t.Run(enc.String(), func(t *testing.T) {
			dir := t.TempDir()
			simpleRecord(t, enc).write(t, dir)
			c, err := ConvertRecord(dir, RecordOptions{})
			if err != nil {
				t.Fatal(err)
			}
			dms := string(c.DMS)
			for _, want := range []string{
				"\nauth none\n", "\nrecv\nexpect alert 1201\nexpect devinfo\n",
				"send <Get><CmdID>1.3</CmdID><Item><Target><LocURI>./DevDetail/FwV</LocURI></Target></Item></Get>\n",
				"send <Replace><CmdID>1.4</CmdID><Item><Target><LocURI>./Vendor/x</LocURI></Target><Data>new value</Data></Item></Replace>\n",
				"\nexpect status 1.3 200\nexpect results ./DevDetail/FwV\n# expect results ./DevDetail/FwV = 1.4.2",
				"\nexpect status 1.4 404\n", "\nend\n",
			} {
				if !strings.Contains(dms, want) {
					t.Errorf("scenario lacks %q:\n%s", want, dms)
				}
			}
			if c.Scenario.Rounds() != 2 {
				t.Errorf("got %d rounds, want 2", c.Scenario.Rounds())
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings: %q", c.Warnings)
			}
			// The .dms text is the scenario: parsing it gives the same.
			sc, err := ParseScenario("x", bytes.NewReader(c.DMS))
			if err != nil || sc.Rounds() != 2 || len(sc.rounds[0].out) != 2 {
				t.Fatalf("reparse: %v", err)
			}
			// Values: the field device's value becomes an expectation.
			cv, err := ConvertRecord(dir, RecordOptions{Values: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(cv.DMS), "\nexpect results ./DevDetail/FwV = 1.4.2\n") {
				t.Errorf("Values: no value expectation:\n%s", cv.DMS)
			}
		})
	}
}

// TestConvertRecordPerItemStatuses: a field client that answered commands
// of several Items with one Status per Item gives "expect status LABEL
// CODES ITEM" per Item; one whose Statuses were duplicates gives the codes
// of all and a comment saying why.
func TestConvertRecordPerItemStatuses(t *testing.T) {
	enc := syncml.XML
	sti := func(id, cmdRef, cmd string, code int, target string) *syncml.Command {
		c := statusCmd(id, "1", cmdRef, cmd, code)
		c.TargetRefs = []string{target}
		return c
	}
	r := newRec()
	r.add(t, "client", enc, mkMsg(hdr("1"), true, alertCmd("1", 1201), devInfo("2")), false, "")
	chunk := item("./T/M3", "first")
	chunk.MoreData = true
	chunk.Meta = &syncml.Meta{Size: "10"}
	r.add(t, "server", enc, mkMsg(srvHdr("1"), true, statusCmd("1", "1", "0", "SyncHdr", 200),
		cmdOf("Add", "3", item("./T/M1", "one"), item("./T/M2", "two"), chunk),
		cmdOf("Get", "4", item("./T/G1", ""), item("./T/G2", "")),
		cmdOf("Delete", "5", item("./T/D1", ""), item("./T/D2", ""))), false, "")
	r.add(t, "client", enc, mkMsg(hdr("2"), true, statusCmd("1", "1", "0", "SyncHdr", 200),
		sti("2", "3", "Add", 200, "./T/M1"), sti("3", "3", "Add", 200, "./T/M2"), sti("4", "3", "Add", 213, "./T/M3"),
		sti("5", "4", "Get", 404, "./T/G1"), sti("6", "4", "Get", 200, "./T/G2"), resultsCmd("7", "1", "4", "./T/G2", "g2", false),
		sti("8", "5", "Delete", 200, "./T/D1"), sti("9", "5", "Delete", 404, "./T/D1")), false, "")
	r.add(t, "server", enc, mkMsg(srvHdr("2"), true, statusCmd("1", "2", "0", "SyncHdr", 200)), false, "")
	c, err := convertFS(t, r, RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dms := string(c.DMS)
	for _, want := range []string{
		"\nexpect status 1.3 200 ./T/M1\nexpect status 1.3 200 ./T/M2\nexpect status 1.3 213 ./T/M3\n",
		"\nexpect status 1.4 404 ./T/G1\nexpect status 1.4 200 ./T/G2\nexpect results ./T/G2\n",
		"(200,404), not one per Item: an earlier Status already answered Item ./T/D1\nexpect status 1.5 200,404\n",
	} {
		if !strings.Contains(dms, want) {
			t.Errorf("scenario lacks %q:\n%s", want, dms)
		}
	}
	if strings.Contains(dms, "expect status 1.3 213\n") || strings.Contains(dms, "expect status 1.4 200\n") {
		t.Errorf("a per-Item answer became an expectation on the whole command:\n%s", dms)
	}
	if sc, err := ParseScenario("x", bytes.NewReader(c.DMS)); err != nil || sc.Rounds() != 2 {
		t.Fatalf("reparse: %v", err)
	}
}

// TestConvertRecordFeatures: a server-initiated HMAC session with a
// client package in two messages, server Cred, MaxMsgSize, RespURI, a UI
// alert, an Exec answered by a generic alert, chunked Results, an unknown
// command and a server abort.
func TestConvertRecordFeatures(t *testing.T) {
	enc := syncml.XML
	r := newRec()
	// Package 1 in two messages.
	r.add(t, "client", enc, mkMsg(hdr("1"), false, alertCmd("1", 1200), devInfo("2")), true, "")
	h := srvHdr("1")
	h.Meta = &syncml.Meta{MaxMsgSize: "8000", MaxObjSize: "100000"}
	h.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: "syncml:auth-md5", Format: "b64"}, Data: RecordRedacted}
	r.add(t, "server", enc, mkMsg(h, false, statusCmd("1", "1", "0", "SyncHdr", 200), alertCmd("2", 1222)), false, "")
	gen := alertCmd("3", 1226)
	gen.Items = []*syncml.Item{{Meta: &syncml.Meta{Type: "org.example.state"}, Data: syncml.TextData("x")}}
	r.add(t, "client", enc, mkMsg(hdr("2"), true, statusCmd("1", "1", "0", "SyncHdr", 212), alertCmd("2", 1222), gen), true, "")
	// Package 2 in two messages: RespURI, a UI alert, an Exec, a Get,
	// an unknown command.
	h = srvHdr("2")
	h.Meta = &syncml.Meta{MaxMsgSize: "8000"}
	h.RespURI = "https://dm.example.com/dm/next?s=1"
	ui := alertCmd("3", 1101)
	ui.Items = []*syncml.Item{{Data: syncml.TextData("Go?")}}
	exec := cmdOf("Exec", "4", item("./FUMO/1/Update", ""))
	exec.Correlator = "corr-1"
	raw := &syncml.Command{Kind: "Frob", Raw: &syncml.Element{Text: "x"}}
	raw.Raw.Name.Local = "Frob"
	r.add(t, "server", enc, mkMsg(h, false, statusCmd("1", "2", "0", "SyncHdr", 200), ui, exec), false, "")
	r.add(t, "client", enc, mkMsg(hdr("3"), false, statusCmd("1", "2", "0", "SyncHdr", 200),
		statusCmd("2", "2", "3", "Alert", 200), statusCmd("3", "2", "4", "Exec", 202), alertCmd("4", 1222)), true, "")
	h = srvHdr("3")
	h.Meta = &syncml.Meta{MaxMsgSize: "4000"}
	h.RespURI = "https://dm.example.com/dm/next?s=1"
	r.add(t, "server", enc, mkMsg(h, true, statusCmd("1", "3", "0", "SyncHdr", 200), cmdOf("Get", "2", item("./Big", "")), raw), false, "")
	// Package 2 of the client: chunked Results in two messages, the
	// generic alert for the Exec.
	r.add(t, "client", enc, mkMsg(hdr("4"), false, statusCmd("1", "3", "0", "SyncHdr", 200),
		statusCmd("2", "3", "2", "Get", 200), resultsCmd("3", "3", "2", "./Big", "abc", true)), true, "")
	r.add(t, "server", enc, mkMsg(srvHdr("4"), false, statusCmd("1", "4", "0", "SyncHdr", 200), statusCmd("2", "4", "3", "Results", 213), alertCmd("3", 1222)), false, "")
	done := alertCmd("2", 1226)
	done.Correlator = "corr-1"
	done.Items = []*syncml.Item{{Meta: &syncml.Meta{Type: "org.openmobilealliance.dm.firmwareupdate.update"}, Data: syncml.TextData("200")}}
	r.add(t, "client", enc, mkMsg(hdr("5"), true, statusCmd("1", "4", "0", "SyncHdr", 200), resultsCmd("3", "3", "2", "./Big", "defg", false), done), true, "")
	// The server aborts.
	r.add(t, "server", enc, mkMsg(srvHdr("5"), true, statusCmd("1", "5", "0", "SyncHdr", 200), alertCmd("2", 1223)), false, "")

	c, err := convertFS(t, r, RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dms := string(c.DMS)
	for _, want := range []string{
		"\nauth hmac\n", "\nserver-cred md5\n", "\nmaxmsgsize 8000\n", "\nmaxobjsize 100000\n", "\nsessionid 0x1A2B\n",
		"\nrecv\nexpect alert 1200\n", "\nexpect devinfo\n",
		"# expect alert 1226 type org.example.state    (the device sent it on its own)",
		"\nrespuri /dm/next?s=1\n",
		"send <Alert><CmdID>2.3</CmdID><Data>1101</Data>",
		"send <Exec><CmdID>2.4</CmdID><Correlator>corr-1</Correlator>",
		"\nno-final\n",
		"\nmaxmsgsize 4000\n",
		"send <Get><CmdID>3.2</CmdID>",
		"\nexpect status 2.3 200\nexpect status 2.4 202\n",
		"\nexpect status 3.2 200\nexpect results ./Big\n# expect results ./Big = abcdefg",
		"\nexpect alert 1226 correlator corr-1 type org.openmobilealliance.dm.firmwareupdate.update\n",
		"\nabort\nend\n",
	} {
		if !strings.Contains(dms, want) {
			t.Errorf("scenario lacks %q:\n%s", want, dms)
		}
	}
	if strings.Contains(dms, "Frob") && !strings.Contains(dms, "# 0006-server.xml: <Frob>") {
		t.Errorf("the unknown command is not commented out:\n%s", dms)
	}
	if w := strings.Join(c.Warnings, "\n"); !strings.Contains(w, "<Frob>") {
		t.Errorf("warnings %q do not mention the unknown command", c.Warnings)
	}
	sc := c.Scenario
	if sc.Rounds() != 2 || sc.auth != AuthHMAC || sc.serverCred != AuthMD5 || sc.sessionID != 0x1A2B || !sc.rounds[1].abort {
		t.Fatalf("scenario: %d rounds, auth %s, server-cred %s, sessionid %d", sc.Rounds(), sc.auth, sc.serverCred, sc.sessionID)
	}
	if n := len(sc.rounds[0].out); n != 4 || sc.rounds[0].out[2].kind != outBreak {
		t.Errorf("round 1 out: %d items, want Alert, Exec, no-final, Get", n)
	}
	// Options override what the record shows.
	c, err = convertFS(t, r, RecordOptions{Auth: AuthBasic, ServerCred: AuthNone, Values: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Scenario.auth != AuthBasic || c.Scenario.serverCred != AuthNone {
		t.Errorf("options: auth %s server-cred %s", c.Scenario.auth, c.Scenario.serverCred)
	}
	for _, want := range []string{"\nexpect results ./Big = abcdefg\n", "\nexpect alert 1226 type org.example.state\n"} {
		if !strings.Contains(string(c.DMS), want) {
			t.Errorf("Values: lacks %q:\n%s", want, c.DMS)
		}
	}
}

// TestConvertRecordEnds: a client abort, a record that ends before the
// server answered, and one that ends before the client answered.
func TestConvertRecordEnds(t *testing.T) {
	enc := syncml.WBXML
	t.Run("client abort", func(t *testing.T) {
		r := newRec()
		r.add(t, "client", enc, mkMsg(hdr("1"), true, alertCmd("1", 1201)), false, "")
		r.add(t, "server", enc, mkMsg(srvHdr("1"), true, statusCmd("1", "1", "0", "SyncHdr", 200), cmdOf("Get", "2", item("./A", ""))), false, "")
		r.add(t, "client", enc, mkMsg(hdr("2"), true, statusCmd("1", "1", "0", "SyncHdr", 200), alertCmd("2", 1223)), false, "abort")
		c, err := convertFS(t, r, RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(c.DMS), "# no Status from the field client for Get 1.2 ./A\nexpect abort\nend\n") {
			t.Errorf("no abort expectation:\n%s", c.DMS)
		}
	})
	t.Run("no server answer", func(t *testing.T) {
		r := newRec()
		r.add(t, "client", enc, mkMsg(hdr("1"), true, alertCmd("1", 1201)), false, "")
		c, err := convertFS(t, r, RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Scenario.Rounds() != 1 || !strings.Contains(string(c.DMS), "without the server's answer") {
			t.Errorf("got %d rounds:\n%s", c.Scenario.Rounds(), c.DMS)
		}
	})
	t.Run("no client answer", func(t *testing.T) {
		r := newRec()
		r.add(t, "client", enc, mkMsg(hdr("1"), true, alertCmd("1", 1201)), false, "")
		r.add(t, "server", enc, mkMsg(srvHdr("1"), true, statusCmd("1", "1", "0", "SyncHdr", 200), cmdOf("Delete", "2", item("./A", ""))), false, "")
		c, err := convertFS(t, r, RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Scenario.Rounds() != 2 || !strings.Contains(string(c.DMS), "answer to the last server package is missing") || len(c.Warnings) != 1 {
			t.Errorf("got %d rounds, warnings %q:\n%s", c.Scenario.Rounds(), c.Warnings, c.DMS)
		}
	})
	t.Run("after the end", func(t *testing.T) {
		r := simpleRecord(t, enc)
		r.add(t, "client", enc, mkMsg(hdr("3"), true, statusCmd("1", "2", "0", "SyncHdr", 200)), false, "")
		c, err := convertFS(t, r, RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Scenario.Rounds() != 2 || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "0005-client.wbxml") {
			t.Errorf("got %d rounds, warnings %q", c.Scenario.Rounds(), c.Warnings)
		}
	})
	t.Run("challenge", func(t *testing.T) {
		r := newRec()
		cl := hdr("1")
		cl.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: "syncml:auth-basic"}, Data: RecordRedacted}
		r.add(t, "client", enc, mkMsg(cl, true, alertCmd("1", 1201)), false, "")
		st := statusCmd("1", "1", "0", "SyncHdr", 401)
		st.Chal = &syncml.Chal{Meta: &syncml.Meta{Type: "syncml:auth-md5", Format: "b64", NextNonce: RecordRedacted}}
		r.add(t, "server", enc, mkMsg(srvHdr("1"), true, st, statusCmd("2", "1", "1", "Alert", 401)), false, "")
		cl = hdr("2")
		cl.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: "syncml:auth-md5"}, Data: RecordRedacted}
		r.add(t, "client", enc, mkMsg(cl, true, alertCmd("1", 1201)), false, "")
		r.add(t, "server", enc, mkMsg(srvHdr("2"), true, statusCmd("1", "2", "0", "SyncHdr", 212)), false, "")
		c, err := convertFS(t, r, RecordOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sc := c.Scenario
		if sc.Rounds() != 1 || sc.rounds[0].challenge != AuthMD5 || sc.auth != AuthBasic {
			t.Errorf("got %d rounds, challenge %q, auth %q:\n%s", sc.Rounds(), sc.rounds[0].challenge, sc.auth, c.DMS)
		}
	})
}

func TestConvertRecordErrors(t *testing.T) {
	bad := func(mod func(r *recFiles)) *recFiles {
		r := simpleRecord(t, syncml.XML)
		mod(r)
		return r
	}
	wb, err := syncml.Encode(mkMsg(hdr("1"), true, alertCmd("1", 1201)), syncml.WBXML)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		rec  *recFiles
		file string
		cmd  string
		msg  string
	}{
		{"empty", newRec(), "", "", "no recorded messages"},
		{"gap", bad(func(r *recFiles) {
			r.files["0005-client.xml"] = r.files["0003-client.xml"]
			delete(r.files, "0004-server.xml")
		}), "0005-client.xml", "", "gap in the numbering"},
		{"no first", bad(func(r *recFiles) { delete(r.files, "0001-client.xml") }), "0002-server.xml", "", "0001 is missing"},
		{"bin", bad(func(r *recFiles) { r.files["0004-server.bin"] = []byte("junk"); delete(r.files, "0004-server.xml") }), "0004-server.bin", "", "did not decode"},
		{"undecodable", bad(func(r *recFiles) { r.files["0002-server.xml"] = []byte("<SyncML><oops") }), "0002-server.xml", "", "does not decode"},
		{"wrong extension", bad(func(r *recFiles) { r.files["0001-client.xml"] = wb }), "0001-client.xml", "", "holds wbxml"},
		{"same side twice", bad(func(r *recFiles) {
			r.files["0002-client.xml"] = r.files["0002-server.xml"]
			delete(r.files, "0002-server.xml")
		}), "0002-client.xml", "", "alternate"},
		{"starts with server", bad(func(r *recFiles) {
			r.files["0001-server.xml"] = r.files["0001-client.xml"]
			delete(r.files, "0001-client.xml")
		}), "0001-server.xml", "", "starts with the client"},
		{"duplicate", bad(func(r *recFiles) { r.files["0001-client.wbxml"] = wb }), "0001-client.xml", "", "two messages numbered 0001"},
		{"bad encoding", bad(func(r *recFiles) { r.files["0005-client.txt"] = []byte("x") }), "0005-client.txt", "", "unknown message encoding"},
		{"bad name", bad(func(r *recFiles) { r.files["0005-proxy.xml"] = []byte("x") }), "0005-proxy.xml", "", "unexpected file name"},
		{"missing listed file", bad(func(r *recFiles) { delete(r.files, "0004-server.xml") }), "0004-server.xml", "", "listed in index.log"},
		{"redacted secret", bad(func(r *recFiles) {
			m := mkMsg(srvHdr("1"), true, statusCmd("1", "1", "0", "SyncHdr", 200),
				cmdOf("Replace", "3", item("./DMAcc/a/AppAuth/1/AAuthSecret", RecordRedacted)))
			b, _ := syncml.Encode(m, syncml.XML)
			r.files["0002-server.xml"] = b
		}), "0002-server.xml", "Replace 1.3 ./DMAcc/a/AppAuth/1/AAuthSecret", "redacted"},
		{"challenge with commands", bad(func(r *recFiles) {
			m := mkMsg(srvHdr("1"), true, statusCmd("1", "1", "0", "SyncHdr", 401), cmdOf("Get", "3", item("./A", "")))
			b, _ := syncml.Encode(m, syncml.XML)
			r.files["0002-server.xml"] = b
		}), "0002-server.xml", "", "challenge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConvertRecordFS(tt.rec.fs(), "rec", "rec", RecordOptions{})
			var re *RecordError
			if !errors.As(err, &re) || !errors.Is(err, ErrRecord) {
				t.Fatalf("got %v, want a *RecordError", err)
			}
			if re.File != tt.file || re.Cmd != tt.cmd || !strings.Contains(re.Msg, tt.msg) {
				t.Fatalf("got file %q cmd %q msg %q, want file %q cmd %q msg containing %q", re.File, re.Cmd, re.Msg, tt.file, tt.cmd, tt.msg)
			}
			if !strings.Contains(err.Error(), tt.file) {
				t.Fatalf("error %q does not name %q", err, tt.file)
			}
		})
	}
}

func TestConvertRecordDirErrors(t *testing.T) {
	parent := t.TempDir()
	for _, n := range []string{"20260101T000000.000Z-a-1", "20260101T000001.000Z-a-2"} {
		d := filepath.Join(parent, n)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		simpleRecord(t, syncml.XML).write(t, d)
	}
	_, err := ConvertRecord(parent, RecordOptions{})
	if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), "holds 2 session records") || !strings.Contains(err.Error(), "20260101T000001.000Z-a-2") {
		t.Fatalf("parent of records: %v", err)
	}
	// A directory holding one record (the agent's --record DIR) is taken.
	one := filepath.Join(parent, "20260101T000000.000Z-a-1")
	if err := os.Rename(filepath.Join(parent, "20260101T000001.000Z-a-2"), filepath.Join(t.TempDir(), "moved")); err != nil {
		t.Fatal(err)
	}
	c, err := ConvertRecord(parent, RecordOptions{})
	if err != nil {
		t.Fatalf("parent of one record: %v", err)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "20260101T000000.000Z-a-1") || !strings.Contains(string(c.DMS), "ServerID, as the record's name gives it: a ") {
		t.Fatalf("parent of one record: warnings %q\n%s", c.Warnings, c.DMS)
	}
	direct, err := ConvertRecord(one, RecordOptions{})
	if err != nil || direct.Scenario.Rounds() != c.Scenario.Rounds() {
		t.Fatalf("the record itself: %v", err)
	}
	if _, err := ConvertRecord(filepath.Join(parent, "nope"), RecordOptions{}); !errors.Is(err, os.ErrNotExist) || !errors.Is(err, ErrRecord) {
		t.Fatalf("missing dir: %v", err)
	}
	f := filepath.Join(parent, "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ConvertRecord(f, RecordOptions{}); !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file: %v", err)
	}
	// The secret placeholder is sent instead of a redacted value.
	r := newRec()
	r.add(t, "client", syncml.XML, mkMsg(hdr("1"), true, alertCmd("1", 1201)), false, "")
	r.add(t, "server", syncml.XML, mkMsg(srvHdr("1"), true, cmdOf("Replace", "3", item("./DMAcc/a/AppAuth/1/AAuthSecret", RecordRedacted))), false, "")
	c, err = convertFS(t, r, RecordOptions{SecretPlaceholder: "fill-me"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(c.DMS), "<Data>fill-me</Data>") || !strings.Contains(string(c.DMS), "# SECRET:") || len(c.Warnings) == 0 {
		t.Fatalf("placeholder not used or not flagged:\n%s", c.DMS)
	}
	if _, err := convertFS(t, r, RecordOptions{SecretPlaceholder: "a\nb"}); err == nil {
		t.Fatal("a two-line placeholder was accepted")
	}
	if _, err := convertFS(t, r, RecordOptions{Auth: "kerberos"}); err == nil {
		t.Fatal("auth kerberos was accepted")
	}
}

// TestCommandSnippetOneLine: data with line breaks, spaces at line ends
// and markup reads back the same from one scenario line.
func TestCommandSnippetOneLine(t *testing.T) {
	for _, data := range []string{"a\nb", "trailing  \n  leading", "x\r\ny", "<b>&amp;</b>", " ", "tab\there"} {
		c := cmdOf("Replace", "1.2", item("./A", data))
		s, err := commandSnippet(c)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(s, "\r\n") {
			t.Errorf("%q: snippet spans lines: %q", data, s)
		}
		sc, err := ParseScenario("x", strings.NewReader("recv\nsend "+s+"\nrecv\n"))
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		got := sc.rounds[0].out[0].cmd.Items[0].Data.Text
		if got != data {
			t.Errorf("got %q, want %q", got, data)
		}
	}
}

// fuzzSep separates messages in the fuzz input.
const fuzzSep = "\n--8<--\n"

// fuzzRecord builds a record from fuzz input: messages alternate client
// and server; a message whose first byte is below 0x04 is WBXML.
func fuzzRecord(data []byte, index string) fstest.MapFS {
	m := fstest.MapFS{}
	for i, part := range bytes.Split(data, []byte(fuzzSep)) {
		if i >= 64 {
			break
		}
		side := "client"
		if i%2 == 1 {
			side = "server"
		}
		ext := "xml"
		if len(part) > 0 && part[0] < 4 {
			ext = "wbxml"
		}
		m[fmt.Sprintf("%04d-%s.%s", i+1, side, ext)] = &fstest.MapFile{Data: part}
	}
	if index != "" {
		m["index.log"] = &fstest.MapFile{Data: []byte(index)}
	}
	return m
}

func fuzzSeed(r *recFiles) ([]byte, string) {
	names := make([]string, 0, len(r.files))
	for k := range r.files {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts [][]byte
	for _, n := range names {
		parts = append(parts, r.files[n])
	}
	return bytes.Join(parts, []byte(fuzzSep)), r.index.String()
}

func FuzzConvertRecord(f *testing.F) {
	for _, enc := range []syncml.Encoding{syncml.XML, syncml.WBXML} {
		d, idx := fuzzSeed(simpleRecord(f, enc))
		f.Add(d, idx)
	}
	r := newRec()
	r.add(f, "client", syncml.XML, mkMsg(hdr("1"), false, alertCmd("1", 1200)), true, "")
	r.add(f, "server", syncml.XML, mkMsg(srvHdr("1"), false, statusCmd("1", "1", "0", "SyncHdr", 401), alertCmd("2", 1222)), true, "")
	r.add(f, "client", syncml.XML, mkMsg(hdr("2"), true, alertCmd("1", 1200)), false, "abort")
	at := &syncml.Command{Kind: "Atomic", CmdID: "2", Children: []*syncml.Command{cmdOf("Add", "3", item("./A", "line\nbreak")), cmdOf("Delete", "4", item("./B", ""))}}
	r.add(f, "server", syncml.XML, mkMsg(srvHdr("2"), false, at), false, "")
	r.add(f, "client", syncml.XML, mkMsg(hdr("3"), false, statusCmd("1", "2", "2", "Atomic", 507), alertCmd("2", 1222)), false, "")
	d, idx := fuzzSeed(r)
	f.Add(d, idx)
	f.Add([]byte("<SyncML/>"+fuzzSep+"\x03\x01"), "x 0001-client.xml 3 bytes x-syncml-hmac: mac=REDACTED note\nx # n\n")
	f.Fuzz(func(t *testing.T, data []byte, index string) {
		fsys := fuzzRecord(data, index)
		c, err := ConvertRecordFS(fsys, "fuzz", "fuzz", RecordOptions{SecretPlaceholder: "p"})
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RecordError", err)
			}
			if strings.Contains(re.Msg, "internal") {
				t.Fatalf("converter bug: %v", err)
			}
			return
		}
		if c.Scenario == nil || c.Scenario.Rounds() == 0 {
			t.Fatal("conversion without a scenario")
		}
		sc, err := ParseScenario("again", bytes.NewReader(c.DMS))
		if err != nil || sc.Rounds() != c.Scenario.Rounds() {
			t.Fatalf("the scenario text does not parse to the same: %v", err)
		}
		c2, err := ConvertRecordFS(fsys, "fuzz", "fuzz", RecordOptions{SecretPlaceholder: "p"})
		if err != nil || !bytes.Equal(c.DMS, c2.DMS) {
			t.Fatalf("a second conversion differs: %v", err)
		}
	})
}

// FuzzConvertRecordValues builds a well-formed record around fuzzed
// identifiers, URIs, data and status codes, so the fuzzer reaches the
// conversion itself (labels, one-line snippets, expectations) rather than
// the decoder.
func FuzzConvertRecordValues(f *testing.F) {
	f.Add("2", "3", "./Vendor/x", "value", "1.4.2", 200, true, false)
	f.Add("1 2", "", "./a b", "line\nbreak  \n", "", 404, false, true)
	f.Add("x", "x", "./DMAcc/a/AppAuth/1/AAuthSecret", RecordRedacted, RecordRedacted, 213, true, true)
	f.Add("9", "1.1", "http://x/?q=1", "<b>&amp;</b>", "\r\n", 0, false, false)
	f.Fuzz(func(t *testing.T, msgID, cmdID, uri, data, result string, code int, wbxml, values bool) {
		enc := syncml.XML
		if wbxml {
			enc = syncml.WBXML
		}
		r := newRec()
		add := func(side string, m *syncml.Message) bool {
			b, err := syncml.Encode(m, enc)
			if err != nil {
				return false // not encodable: not a record the agent could write
			}
			r.n++
			r.files[fmt.Sprintf("%04d-%s.%s", r.n, side, enc)] = b
			return true
		}
		at := &syncml.Command{Kind: "Atomic", CmdID: cmdID + "a", Children: []*syncml.Command{cmdOf("Add", cmdID+"b", item(uri, data))}}
		ok := add("client", mkMsg(hdr("1"), true, alertCmd("1", 1201), devInfo("2"))) &&
			add("server", mkMsg(srvHdr(msgID), true, statusCmd("1", "1", "0", "SyncHdr", 200),
				cmdOf("Replace", cmdID, item(uri, data)), cmdOf("Get", cmdID+"g", item(uri, "")), at)) &&
			add("client", mkMsg(hdr("2"), true, statusCmd("1", msgID, "0", "SyncHdr", 200),
				statusCmd("2", msgID, cmdID, "Replace", code), statusCmd("3", msgID, cmdID+"g", "Get", 200),
				resultsCmd("4", msgID, cmdID+"g", uri, result, false), statusCmd("5", msgID, cmdID+"a", "Atomic", code))) &&
			add("server", mkMsg(srvHdr(msgID+"9"), true, statusCmd("1", "2", "0", "SyncHdr", 200)))
		if !ok {
			return
		}
		c, err := ConvertRecordFS(r.fs(), "fuzz", "fuzz", RecordOptions{SecretPlaceholder: "p", Values: values})
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RecordError", err)
			}
			if strings.Contains(re.Msg, "internal") || strings.Contains(re.Msg, "read back") {
				t.Fatalf("converter bug: %v", err)
			}
			return
		}
		sc, err := ParseScenario("again", bytes.NewReader(c.DMS))
		if err != nil || sc.Rounds() != 2 {
			t.Fatalf("the scenario text does not parse to 2 rounds: %v\n%s", err, c.DMS)
		}
		// Every line is a directive, a comment or a snippet line: nothing
		// from the record turned into an extra directive.
		for _, ln := range strings.Split(string(c.DMS), "\n") {
			verb, _ := cut(strings.TrimSpace(ln))
			switch verb {
			case "", "#", "name", "description", "auth", "server-cred", "recv", "expect", "send", "end":
			default:
				if !strings.HasPrefix(verb, "#") {
					t.Fatalf("unexpected line %q in:\n%s", ln, c.DMS)
				}
			}
		}
	})
}

// BenchmarkConvertRecord converts a four-message record held in memory.
func BenchmarkConvertRecord(b *testing.B) {
	fsys := simpleRecord(b, syncml.XML).fs()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ConvertRecordFS(fsys, "rec", "rec", RecordOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
