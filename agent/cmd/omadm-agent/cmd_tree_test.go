package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const bootstrapVectors = "../../../testdata/bootstrap"

// treeCLI runs omadm-agent with a fresh state dir and no config file.
type treeCLI struct {
	t     *testing.T
	state string
	conf  string
}

func newTreeCLI(t *testing.T) *treeCLI {
	return &treeCLI{t: t, state: filepath.Join(t.TempDir(), "state"), conf: filepath.Join(t.TempDir(), "none.toml")}
}

func (c *treeCLI) run(args ...string) (int, string, string) {
	c.t.Helper()
	return runCLI(c.t, nil, append([]string{"--state-dir", c.state, "--config", c.conf}, args...)...)
}

func (c *treeCLI) ok(args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != 0 {
		c.t.Fatalf("omadm-agent %v: exit %d, stderr %q", args, code, errOut)
	}
	return out
}

func (c *treeCLI) snapshot() []byte {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.state, "tree.db"))
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

func TestCLIBootstrapVectors(t *testing.T) {
	tests := []struct {
		file, serverID, node string
	}{
		{"cp-w7.wbxml", "dm.example.com", "./DMAcc/1"},
		{"cp-w7.xml", "dm.example.com", "./DMAcc/1"},
		{"dm-bootstrap.wbxml", "dm.example.com", "./DMAcc/ExampleDM"},
		{"dm-bootstrap.xml", "dm.example.com", "./DMAcc/ExampleDM"},
		{"dm-inbox-tnds.wbxml", "tnds.example.com", "./DMAcc/TndsDM"},
		{"dm-inbox-tnds.xml", "tnds.example.com", "./DMAcc/TndsDM"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c := newTreeCLI(t)
			out := c.ok("bootstrap", filepath.Join(bootstrapVectors, tc.file))
			if want := "added account " + tc.serverID + " at " + tc.node + "\n"; !strings.Contains(out, want) {
				t.Errorf("stdout %q, want it to contain %q", out, want)
			}
			if got := c.ok("tree", "get", tc.node+"/ServerID"); got != tc.serverID+"\n" {
				t.Errorf("ServerID: got %q, want %q", got, tc.serverID)
			}
			if got := c.ok("tree", "get", tc.node+"/Ext/Origin"); got != "file\n" {
				t.Errorf("Origin: got %q, want file", got)
			}
		})
	}
}

func TestCLIBootstrapRefused(t *testing.T) {
	c := newTreeCLI(t)
	c.ok("bootstrap", filepath.Join(bootstrapVectors, "cp-w7.wbxml"))
	before := c.snapshot()
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte(`<wap-provisioningdoc><characteristic type="APPLICATION"><parm name="APPID" value="w7"/>`+
		`<parm name="PROVIDER-ID" value="new.example"/><characteristic type="APPADDR"><parm name="ADDR" value="gopher://x"/></characteristic>`+
		`</characteristic></wap-provisioningdoc>`), 0o644)
	for _, f := range []string{filepath.Join(bootstrapVectors, "cp-w7.xml"), bad, filepath.Join(bootstrapVectors, "README.md")} {
		code, out, errOut := c.run("bootstrap", f)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", f, code)
		}
		if out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "omadm-agent bootstrap: ") {
			t.Errorf("%s: stdout %q stderr %q, want one error line", f, out, errOut)
		}
		if !bytes.Equal(before, c.snapshot()) {
			t.Errorf("%s: tree.db changed by a refused document", f)
		}
	}
	if code, _, _ := c.run("bootstrap"); code != 2 {
		t.Errorf("bootstrap without FILE: exit %d, want 2", code)
	}
}

func TestCLITreeCommands(t *testing.T) {
	c := newTreeCLI(t)
	c.ok("bootstrap", filepath.Join(bootstrapVectors, "cp-w7.wbxml"))
	c.ok("tree", "add", "./Vendor/Acme")
	c.ok("tree", "add", "./Vendor/Acme/Count", "42", "--format", "int")
	c.ok("tree", "add", "--type", "text/x-note", "./Vendor/Acme/Note", "hello world")
	c.ok("tree", "add", "./Vendor/Acme/Blob", "AAEC", "--format", "b64")
	c.ok("tree", "set", "./Vendor/Acme/Count", "43")
	c.ok("tree", "set", "./DMAcc/1/AppAuth/1/AAuthSecret", "newpass")
	tests := []struct{ uri, want string }{
		{"./Vendor/Acme", "Count\nNote\nBlob\n"},
		{"./Vendor/Acme/Count", "43\n"},
		{"./Vendor/Acme/Count?prop=Format", "int\n"},
		{"./Vendor/Acme/Note?prop=Type", "text/x-note\n"},
		{"./Vendor/Acme/Blob", "0x000102\n"},
		{"./DMAcc/1/AppAuth/1/AAuthSecret", "********\n"},
		{"./DMAcc/1/AppAuth/1/AAuthData", "********\n"},
		{"./DMAcc/1?prop=ACL", "Delete=dm.example.com&Get=dm.example.com&Replace=dm.example.com\n"},
		{"./DevDetail/DevTyp", "gateway\n"},
		{"./DevInfo/Lang", "en-US\n"},
	}
	for _, tc := range tests {
		if got := c.ok("tree", "get", tc.uri); got != tc.want {
			t.Errorf("get %s: got %q, want %q", tc.uri, got, tc.want)
		}
	}
	if got := c.ok("tree", "get", "./Vendor?list=StructData"); !strings.Contains(got, "./Vendor/Acme/Count [int text/plain] = 43\n") {
		t.Errorf("?list=StructData: got %q", got)
	}
	c.ok("tree", "delete", "./Vendor/Acme/Note")
	errCases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tree", "get", "./Vendor/Acme/Note"}, 1, "not found"},
		{[]string{"tree", "add", "./Vendor/Acme/Count", "1"}, 1, "already exists"},
		{[]string{"tree", "add", "./Vendor/Acme/N", "x", "--format", "int"}, 1, "int value"},
		{[]string{"tree", "set", "./DevInfo/Man", "x"}, 1, "not allowed"},
		{[]string{"tree", "delete", "./DevInfo"}, 1, "not allowed"},
		{[]string{"tree", "frob", "."}, 2, "unknown tree command"},
		{[]string{"tree", "set", "./X"}, 2, "usage"},
		{[]string{"tree"}, 2, "usage"},
	}
	for _, tc := range errCases {
		code, _, errOut := c.run(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d stderr %q, want exit %d containing %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	// The secret was changed although it is never shown.
	code, out, _ := runCLI(t, nil, "--state-dir", c.state, "--config", c.conf, "tree", "dump")
	if code != 0 || strings.Contains(out, "newpass") || strings.Contains(out, "devpass") || strings.Contains(out, "srvpass") {
		t.Errorf("dump leaks a secret or failed (exit %d):\n%s", code, out)
	}
	for _, want := range []string{
		"    1/ [node urn:oma:mo:oma-dm-dmacc:1.0] ACL=Delete=dm.example.com&Get=dm.example.com&Replace=dm.example.com\n",
		"          AAuthSecret = ******** [chr]\n",
		"      Count = 43 [int]\n",
		"  Inbox/ [node urn:oma:mo:oma-dm-inbox:1.0] (write-only)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
	if got := c.ok("tree", "dump", "./Vendor"); got != "./Vendor/ [node]\n  Acme/ [node]\n    Count = 43 [int]\n    Blob = 0x000102 [bin]\n" {
		t.Errorf("dump ./Vendor: got %q", got)
	}
}

func TestCLIStateFilesAndConfig(t *testing.T) {
	c := newTreeCLI(t)
	conf := filepath.Join(t.TempDir(), "agent.toml")
	os.WriteFile(conf, []byte("[device]\ndev_id = \"MAC:0011223344AA\"\nmanufacturer = \"Acme\"\n"), 0o644)
	c.conf = conf
	c.ok("tree", "add", "./X", "1")
	if got := c.ok("tree", "get", "./DevInfo/DevId"); got != "MAC:0011223344AA\n" {
		t.Errorf("DevId: got %q, want the configured one", got)
	}
	if got := c.ok("tree", "get", "./DevInfo/Man"); got != "Acme\n" {
		t.Errorf("Man: got %q", got)
	}
	for _, x := range []struct {
		path string
		perm os.FileMode
	}{{c.state, 0o700}, {filepath.Join(c.state, "tree.db"), 0o600}} {
		fi, err := os.Stat(x.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != x.perm {
			t.Errorf("%s: mode %v, want %v", x.path, fi.Mode().Perm(), x.perm)
		}
	}
	os.WriteFile(conf, []byte("[device]\nbogus = 1\n"), 0o644)
	if code, _, errOut := c.run("tree", "get", "./X"); code != 1 || !strings.Contains(errOut, "bogus") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("bad config: exit %d stderr %q, want exit 1 naming the key on one line", code, errOut)
	}
}

func TestCLIDDF(t *testing.T) {
	c := newTreeCLI(t)
	out := c.ok("ddf")
	var doc struct {
		XMLName xml.Name `xml:"syncml:dmddf1.2 MgmtTree"`
		VerDTD  string   `xml:"VerDTD"`
		Nodes   []struct {
			NodeName string `xml:"NodeName"`
		} `xml:"Node"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("ddf output is not a MgmtTree: %v\n%s", err, out)
	}
	var names []string
	for _, n := range doc.Nodes {
		names = append(names, n.NodeName)
	}
	if doc.VerDTD != "1.2" || strings.Join(names, ",") != "DMAcc,DevDetail,DevInfo" {
		t.Errorf("got VerDTD %q top nodes %v, want 1.2 and DMAcc,DevDetail,DevInfo", doc.VerDTD, names)
	}
	sub := c.ok("ddf", "./DMAcc/7/AppAuth/x/AAuthSecret")
	want := "<NodeName>AAuthSecret</NodeName>\n    <Path>./DMAcc/7/AppAuth/x</Path>\n    <DFProperties>\n      <AccessType>\n        <Add/>\n        <Delete/>\n        <Replace/>\n      </AccessType>"
	if !strings.Contains(sub, want) {
		t.Errorf("ddf AAuthSecret lacks %q:\n%s", want, sub)
	}
	if code, _, errOut := c.run("ddf", "./Nothing"); code != 1 || !strings.Contains(errOut, "no DDF description") {
		t.Errorf("ddf ./Nothing: exit %d %q", code, errOut)
	}
}
