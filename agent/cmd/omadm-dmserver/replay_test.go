package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/device"
	"github.com/omadm-agent/omadm-agent/agent/dmtest"
	"github.com/omadm-agent/omadm-agent/agent/session"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

// fieldScenario is what the "field" server does: every kind of command,
// a server package in two messages (no-final), an Atomic, a large object
// in chunks, a Get of two Items (one Status per Item: 200 and 404) and a
// Replace of the client's secret (redacted in records).
const fieldScenario = `name field
recv
expect alert 1201
send <Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/FwV</LocURI></Target></Item></Get>
send <Replace><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/omadm/Test/Blob</LocURI></Target><Data>changed</Data></Item></Replace>
send <Add><CmdID>3</CmdID><Item><Target><LocURI>./Vendor/omadm/Test/New</LocURI></Target><Meta><Format>chr</Format></Meta><Data>fresh value</Data></Item></Add>
send <Exec><CmdID>4</CmdID><Correlator>c-1</Correlator><Item><Target><LocURI>./DevDetail/FwV</LocURI></Target><Data>noop</Data></Item></Exec>
no-final
send <Atomic><CmdID>5</CmdID>
  <Replace><CmdID>6</CmdID><Item><Target><LocURI>./Vendor/omadm/Test/A1</LocURI></Target><Data>a-one</Data></Item></Replace>
  <Add><CmdID>7</CmdID><Item><Target><LocURI>./Vendor/omadm/Test/A2</LocURI></Target><Meta><Format>chr</Format></Meta><Data>a-two</Data></Item></Add>
</Atomic>
send <Replace><CmdID>8</CmdID><Item><Target><LocURI>./DMAcc/test/AppAuth/1/AAuthSecret</LocURI></Target><Data>field-only-secret</Data></Item></Replace>
recv
expect status 1 200
expect status 2 200
expect status 5 200
send <Delete><CmdID>9</CmdID><Item><Target><LocURI>./Vendor/omadm/Test/New</LocURI></Target></Item></Delete>
send <Get><CmdID>10</CmdID><Item><Target><LocURI>./Vendor/omadm/Test/Blob</LocURI></Target></Item></Get>
send <Get><CmdID>11</CmdID><Item><Target><LocURI>./Vendor/omadm/Test/A1</LocURI></Target></Item></Get>
send <Get><CmdID>12</CmdID><Item><Target><LocURI>./DevDetail/FwV</LocURI></Target></Item><Item><Target><LocURI>./Vendor/omadm/Test/Nope</LocURI></Target></Item></Get>
large-object replace ./Vendor/omadm/Test/Big 9000 chunk 4000
recv
expect status 9 200
expect results ./Vendor/omadm/Test/Blob = changed
expect status 12 200 ./DevDetail/FwV
expect status 12 404 ./Vendor/omadm/Test/Nope
end
`

const (
	devUser, devPass = "dev", "dev-secret"
	devNonce         = "client-nonce-16b"
	placeholder      = "lab-placeholder"
)

var aauthType = map[string]string{"basic": "BASIC", "md5": "DIGEST", "hmac": "HMAC"}

// labDevice is a real agent (agent/session engine over a device tree).
type labDevice struct {
	tr  *tree.Tree
	eng *session.Engine
}

// newDevice makes a fresh device tree with an account for the server at
// url and an engine recording into recDir. drop lists nodes to delete
// from the usual tree (to make a command fail).
func newDevice(t *testing.T, ctx context.Context, url string, ca []byte, useXML bool, authMode, recDir string, drop ...string) *labDevice {
	t.Helper()
	dev := config.Default().Device
	dev.DevID = "IMEI:490154203237518"
	tr, err := device.OpenTree(ctx, device.Options{StateDir: t.TempDir(), Device: dev, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	add := func(u, v string, bin bool) {
		val := tree.Value{Data: []byte(v)}
		if bin {
			val.Format = tree.FormatBin
		}
		if err := tr.Add(ctx, tree.LocalPrincipal, u, val); err != nil {
			t.Fatalf("add %s: %v", u, err)
		}
	}
	a := "./DMAcc/test"
	add(a+"/AppID", "w7", false)
	add(a+"/ServerID", "dmtest", false)
	add(a+"/AppAddr/1/Addr", url, false)
	add(a+"/AppAddr/1/AddrType", "URI", false)
	if typ := aauthType[authMode]; typ != "" {
		add(a+"/AAuthPref", typ, false)
		add(a+"/AppAuth/1/AAuthLevel", "CLCRED", false)
		add(a+"/AppAuth/1/AAuthType", typ, false)
		add(a+"/AppAuth/1/AAuthName", devUser, false)
		add(a+"/AppAuth/1/AAuthSecret", devPass, false)
		add(a+"/AppAuth/1/AAuthData", devNonce, true)
	}
	for _, u := range []string{"./Vendor/omadm/Test/Blob", "./Vendor/omadm/Test/A1", "./Vendor/omadm/Test/Big"} {
		add(u, "initial", false)
	}
	if err := tr.Replace(ctx, tree.LocalPrincipal, "./Vendor/omadm?prop=ACL", tree.Value{Data: []byte("Add=*&Get=*&Replace=*&Delete=*&Exec=*")}); err != nil {
		t.Fatal(err)
	}
	for _, u := range drop {
		if err := tr.Delete(ctx, tree.LocalPrincipal, u); err != nil {
			t.Fatalf("delete %s: %v", u, err)
		}
	}
	eng, err := session.NewEngine(session.Config{Tree: tr, Accounts: dmacc.New(tr), XML: useXML,
		UI: session.Headless{Confirm: session.PolicyAccept}, RecordDir: recDir,
		Transport: session.Transport{CAPEM: ca, ConnRetryFreq: -1}, Deadline: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &labDevice{tr: tr, eng: eng}
}

// runSession runs one session and returns its record directory.
func (d *labDevice) runSession(t *testing.T, ctx context.Context) string {
	t.Helper()
	sum, err := d.eng.Run(ctx, session.Trigger{ServerID: "dmtest"})
	if err != nil {
		t.Logf("session: %v", err)
	}
	if sum.RecordDir == "" {
		t.Fatal("the session was not recorded")
	}
	return sum.RecordDir
}

func serverOpts(authMode string, clientNonce string) dmtest.Options {
	return dmtest.Options{ServerID: "dmtest", ServerPassword: "srv-secret", Auth: authMode,
		ClientUser: devUser, ClientPassword: devPass, ClientNonce: []byte(clientNonce), Timeout: 60 * time.Second}
}

// recordField plays fieldScenario against a fresh device and returns the
// record. With a wrong nonce the field server challenges package 1.
func recordField(t *testing.T, ctx context.Context, useXML bool, authMode string, wrongNonce bool) string {
	t.Helper()
	sc, err := dmtest.ParseScenario("field", strings.NewReader(fieldScenario))
	if err != nil {
		t.Fatal(err)
	}
	nonce := devNonce
	if wrongNonce {
		nonce = "another-nonce-16"
	}
	srv, err := dmtest.NewServer(sc, serverOpts(authMode, nonce))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dev := newDevice(t, ctx, srv.URL(), srv.CACertPEM(), useXML, authMode, t.TempDir())
	dir := dev.runSession(t, ctx)
	<-srv.Done()
	rep := srv.Report()
	// The field server's own expectations held (a wrong nonce fails
	// auth.cred once, by design).
	for _, c := range rep.Failed() {
		if !c.Advisory && !(wrongNonce && c.Name == "auth.cred") {
			t.Fatalf("field session: %s: %s\n%s", c.Name, c.Detail, rep)
		}
	}
	return dir
}

// serverCommands reads a record and returns the commands of each server
// message (Status and Alert 1222 left out, CmdIDs cleared) as XML, one
// slice per message that has commands.
func serverCommands(t *testing.T, dir string) [][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*-server.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no server messages in %s (%v)", dir, err)
	}
	sort.Strings(files)
	var out [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := syncml.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var cmds []string
		for _, c := range m.Body {
			if c.Kind == syncml.KindStatus || (c.Kind == syncml.KindAlert && c.Data == "1222") {
				continue
			}
			clearIDs(c)
			x, err := syncml.EncodeXML(&syncml.Message{Hdr: m.Hdr, Body: []*syncml.Command{c}}, "")
			if err != nil {
				t.Fatal(err)
			}
			s := string(x)
			cmds = append(cmds, s[strings.Index(s, "<SyncBody>"):])
		}
		if len(cmds) > 0 {
			out = append(out, cmds)
		}
	}
	return out
}

func clearIDs(c *syncml.Command) {
	c.CmdID = ""
	for _, ch := range c.Children {
		clearIDs(ch)
	}
}

var replaceBlobRE = regexp.MustCompile(`send <Replace><CmdID>([^<]+)</CmdID><Item><Target><LocURI>\./Vendor/omadm/Test/Blob<`)

// TestRecordReplay records a session of the real agent with a "field"
// server, converts the record, replays it against a fresh agent with the
// same tree (the report passes and the agent receives the same commands,
// message by message) and against one whose tree lacks a node (the report
// flags the changed status).
func TestRecordReplay(t *testing.T) {
	tests := []struct {
		name       string
		xml        bool
		auth       string
		wrongNonce bool
		wantAuth   string
		challenge  bool
	}{
		{"xml-md5-challenged", true, "md5", true, "auth md5", true},
		{"wbxml-basic", false, "basic", false, "auth basic", false},
		{"xml-hmac", true, "hmac", false, "auth hmac", false},
		{"wbxml-none", false, "none", false, "auth none", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			field := recordField(t, ctx, tt.xml, tt.auth, tt.wrongNonce)
			wantExt := ".wbxml"
			if tt.xml {
				wantExt = ".xml"
			}
			if _, err := os.Stat(filepath.Join(field, "0001-client"+wantExt)); err != nil {
				t.Fatalf("record is not %s: %v", wantExt, err)
			}

			// Without a placeholder the redacted AAuthSecret is refused,
			// naming the file and the command.
			_, err := dmtest.ConvertRecord(field, dmtest.RecordOptions{})
			var re *dmtest.RecordError
			if !errors.As(err, &re) || !strings.Contains(re.Cmd, "AAuthSecret") || !strings.HasSuffix(re.File, wantExt) || !strings.Contains(re.File, "-server") {
				t.Fatalf("convert without placeholder: got %v, want a RecordError naming the server file and the AAuthSecret Replace", err)
			}
			conv, err := dmtest.ConvertRecord(field, dmtest.RecordOptions{SecretPlaceholder: placeholder})
			if err != nil {
				t.Fatal(err)
			}
			dms := string(conv.DMS)
			for _, want := range []string{tt.wantAuth + "\n", "\nno-final\n", "<Atomic>", "<Exec>", "<Delete>", "expect alert 1201\n", "MoreData", placeholder,
				" 200 ./DevDetail/FwV\n", " 404 ./Vendor/omadm/Test/Nope\n"} {
				if !strings.Contains(dms, want) {
					t.Errorf("scenario lacks %q:\n%s", want, dms)
				}
			}
			if got := strings.Contains(dms, "\nchallenge md5\n"); got != tt.challenge {
				t.Errorf("challenge directive present = %v, want %v:\n%s", got, tt.challenge, dms)
			}
			if len(conv.Warnings) == 0 || !strings.Contains(strings.Join(conv.Warnings, "\n"), "placeholder") {
				t.Errorf("warnings %q do not mention the placeholder", conv.Warnings)
			}
			m := replaceBlobRE.FindStringSubmatch(dms)
			if m == nil {
				t.Fatalf("no Replace of Blob in:\n%s", dms)
			}
			blobLabel := m[1]
			if !strings.Contains(dms, "expect status "+blobLabel+" 200\n") {
				t.Fatalf("no expect status %s 200 in:\n%s", blobLabel, dms)
			}

			// Replay against a fresh device with the same tree.
			srv, err := dmtest.NewServer(conv.Scenario, serverOpts("", devNonce))
			if err != nil {
				t.Fatal(err)
			}
			dev := newDevice(t, ctx, srv.URL(), srv.CACertPEM(), tt.xml, tt.auth, t.TempDir())
			replayed := dev.runSession(t, ctx)
			<-srv.Done()
			srv.Close()
			if rep := srv.Report(); !rep.Passed() {
				t.Fatalf("replay against the same tree failed:\n%s\nscenario:\n%s", rep, dms)
			}
			want, got := serverCommands(t, field), serverCommands(t, replayed)
			if len(got) != len(want) {
				t.Fatalf("replay: %d server messages with commands, record %d", len(got), len(want))
			}
			for i := range want {
				if strings.Join(got[i], "\n") != strings.Join(want[i], "\n") {
					t.Fatalf("server message %d differs:\nreplay:\n%s\nrecord:\n%s", i+1, strings.Join(got[i], "\n"), strings.Join(want[i], "\n"))
				}
			}

			// Replay against a device without ./Vendor/omadm/Test/Blob: the
			// Replace fails and the report says so.
			srv2, err := dmtest.NewServer(conv.Scenario, serverOpts("", devNonce))
			if err != nil {
				t.Fatal(err)
			}
			defer srv2.Close()
			dev2 := newDevice(t, ctx, srv2.URL(), srv2.CACertPEM(), tt.xml, tt.auth, t.TempDir(), "./Vendor/omadm/Test/Blob")
			dev2.runSession(t, ctx)
			<-srv2.Done()
			rep := srv2.Report()
			if rep.Passed() {
				t.Fatalf("replay against a changed tree passed:\n%s", rep)
			}
			flagged := false
			for _, c := range rep.Failed() {
				if strings.HasSuffix(c.Name, "expect status "+blobLabel+" 200") && strings.Contains(c.Detail, "got 404") {
					flagged = true
				}
			}
			if !flagged {
				t.Fatalf("the report does not flag the Replace of Blob (%s) with 404:\n%s", blobLabel, rep)
			}
		})
	}
}

// TestFromRecordCLI: --from-record writes the scenario (stdout or --out),
// --replay serves it with the usual flags and exits 0 when the agent
// behaves as in the record, 1 when it does not.
func TestFromRecordCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	field := recordField(t, ctx, true, "md5", false)

	var out, errb bytes.Buffer
	if code := run(ctx, []string{"--from-record", field}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "AAuthSecret") || !strings.Contains(errb.String(), "--secret-placeholder") {
		t.Fatalf("--from-record without placeholder: exit %d, stderr %q; want 1 naming AAuthSecret and --secret-placeholder", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(ctx, []string{"--from-record", field, "--secret-placeholder", placeholder}, &out, &errb); code != 0 {
		t.Fatalf("--from-record: exit %d: %s", code, errb.String())
	}
	conv, err := dmtest.ConvertRecord(field, dmtest.RecordOptions{SecretPlaceholder: placeholder})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(conv.DMS) {
		t.Fatalf("stdout differs from ConvertRecord:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "placeholder") {
		t.Errorf("warnings not printed on stderr: %q", errb.String())
	}
	dmsFile := filepath.Join(t.TempDir(), "field.dms")
	out.Reset()
	if code := run(ctx, []string{"--from-record", field, "--secret-placeholder", placeholder, "--out", dmsFile, "--auth", "basic", "--expect-values"}, &out, &errb); code != 0 {
		t.Fatalf("--from-record --out: exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(dmsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nauth basic\n") || !strings.Contains(string(b), "\nexpect results ./Vendor/omadm/Test/Blob = changed\n") {
		t.Fatalf("--auth basic --expect-values not applied:\n%s", b)
	}
	if _, err := dmtest.LoadScenario(dmsFile); err != nil {
		t.Fatalf("written scenario does not load: %v", err)
	}

	for _, tc := range []struct {
		name string
		drop []string
		code int
		want string
	}{
		{"same tree", nil, 0, "PASSED"},
		{"changed tree", []string{"./Vendor/omadm/Test/Blob"}, 1, "got 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ca := filepath.Join(dir, "ca.pem")
			pr, pw := newPipe()
			var errb bytes.Buffer
			done := make(chan int, 1)
			go func() {
				// The directory given to the agent's --record (it holds
				// one session record) is accepted as well.
				done <- run(ctx, []string{"--replay", filepath.Dir(field), "--secret-placeholder", placeholder, "--listen", "127.0.0.1:0", "--ca-out", ca,
					"--server-id", "dmtest", "--client-user", devUser, "--client-password", devPass, "--client-nonce", devNonce,
					"--timeout", "60s"}, pw, &errb)
			}()
			url := waitURL(t, pr)
			pem, err := os.ReadFile(ca)
			if err != nil {
				t.Fatal(err)
			}
			dev := newDevice(t, ctx, url, pem, true, "md5", t.TempDir(), tc.drop...)
			dev.runSession(t, ctx)
			var code int
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("omadm-dmserver --replay did not exit")
			}
			s := string(pr.all())
			if code != tc.code || !strings.Contains(s, tc.want) {
				t.Fatalf("exit %d, want %d with %q; output:\n%s\nstderr: %s", code, tc.code, tc.want, s, errb.String())
			}
			if strings.Contains(s, devPass) || strings.Contains(errb.String(), devPass) {
				t.Fatal("the client password was printed")
			}
		})
	}
}

// TestRedactedMarker: dmtest recognises the marker agent/session writes.
func TestRedactedMarker(t *testing.T) {
	if dmtest.RecordRedacted != session.Redacted {
		t.Fatalf("dmtest.RecordRedacted %q, session.Redacted %q", dmtest.RecordRedacted, session.Redacted)
	}
}

func TestReplayUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"scenario and replay", []string{"--scenario", "x.dms", "--replay", "d"}},
		{"from-record and replay", []string{"--from-record", "d", "--replay", "d"}},
		{"out without from-record", []string{"--scenario", "x.dms", "--out", "f"}},
		{"server-cred with scenario", []string{"--scenario", "x.dms", "--server-cred", "md5"}},
		{"bad server-cred", []string{"--from-record", "d", "--server-cred", "kerberos"}},
		{"bad auth", []string{"--from-record", "d", "--auth", "kerberos"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %s)", code, errb.String())
			}
		})
	}
}

// TestReplayBadRecord: a record that cannot be converted gives exit 1 and
// one line naming the file.
func TestReplayBadRecord(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "0001-client.bin"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"--from-record", "--replay"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{mode, dir, "--listen", "127.0.0.1:0"}, &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), "0001-client.bin") || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Fatalf("%s: exit %d, stderr %q; want 1 and one line naming 0001-client.bin", mode, code, errb.String())
		}
	}
}
