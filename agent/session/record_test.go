package session

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

func TestRecords(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			steps := []step{
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					return reply{msg: withHdr(answer(n, req, 212, true, cmd("Replace", "./DMAcc/s1/AppAuth/1/AAuthSecret", "new-secret-value")), "212", chal(auth.MetaTypeMD5, []byte("nn")))}
				},
				done,
			}
			srv := newDMServer(t, steps...)
			f := newFixture(t, srv.URL, acct{clType: "DIGEST", clName: "dev", clSecret: "topsecret"})
			dir := t.TempDir()
			sum, err := f.engine(t, srv, func(c *Config) { c.XML = e.xml; c.RecordDir = dir }).Run(bg, Trigger{ServerID: testServer})
			if err != nil {
				t.Fatal(err)
			}
			if sum.RecordDir == "" || filepath.Dir(sum.RecordDir) != dir {
				t.Fatalf("record dir %q not under %q", sum.RecordDir, dir)
			}
			ext := e.enc.String()
			for _, name := range []string{"0001-client." + ext, "0002-server." + ext, "0003-client." + ext, "0004-server." + ext, "index.log"} {
				p := filepath.Join(sum.RecordDir, name)
				b, err := os.ReadFile(p)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v", name, fi.Mode().Perm())
				}
				if strings.Contains(string(b), "new-secret-value") || strings.Contains(string(b), "topsecret") || strings.Contains(string(b), b64([]byte("nn"))) {
					t.Errorf("%s: secret not redacted", name)
				}
				if name == "index.log" {
					continue
				}
				m, _, err := syncml.Decode(b)
				if err != nil {
					t.Errorf("%s: not decodable: %v", name, err)
					continue
				}
				if name[:4] == "0001" && (m.Hdr.Cred == nil || m.Hdr.Cred.Data != Redacted) {
					t.Errorf("%s: Cred not redacted: %+v", name, m.Hdr.Cred)
				}
			}
		})
	}
}

func TestRedactHMAC(t *testing.T) {
	got := redactHMAC(`algorithm=MD5, username="dev", mac=wSbU2WfuxYLE5lR8ZWfpew==`)
	if strings.Contains(got, "wSbU2") || !strings.Contains(got, `username="dev"`) || !strings.Contains(got, "mac="+Redacted) {
		t.Errorf("got %q", got)
	}
}

func TestEngineOneSessionPerServer(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	block := func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		entered <- struct{}{}
		<-release
		return done(n, req, r, body)
	}
	srv := newDMServer(t, block, block)
	f := newFixture(t, srv.URL, acct{})
	eng := f.engine(t, srv, nil)
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { _, err := eng.Run(bg, Trigger{ServerID: testServer}); errs <- err }()
	}
	<-entered
	select {
	case <-entered:
		t.Fatal("two sessions with the same server ran at once")
	case <-timeAfter(200):
	}
	close(release)
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestRedactHMACForms(t *testing.T) {
	for in, want := range map[string]string{
		`algorithm=MD5, username="dev", mac=abc==`:   `x-syncml-hmac: algorithm=MD5, username="dev", mac=` + Redacted,
		`algorithm=MD5, username="dev", MAC = "abc"`: `x-syncml-hmac: algorithm=MD5, username="dev", MAC = "` + Redacted + `"`,
		`mac=abc, username="mac"`:                    `x-syncml-hmac: mac=` + Redacted + `, username="mac"`,
		`username="hmac=x", mac=y`:                   `x-syncml-hmac: username="hmac=` + Redacted + `", mac=` + Redacted,
		`mac`:                                        `x-syncml-hmac: mac`,
		`mac=`:                                       `x-syncml-hmac: mac=` + Redacted,
	} {
		if got := redactHMAC(in); got != want {
			t.Errorf("redactHMAC(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"dm.example.com": "dm.example.com",
		"a b/../c":       "a_b_.._c",
		"x//y":           "x_y",
		"ü1":             "_1",
		"":               "",
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactTNDSSecrets: a whole account added as a TNDS subtree keeps no
// secret in the record, whether embedded, as typed text or as b64.
func TestRedactTNDSSecrets(t *testing.T) {
	const sub = `<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>AppAuth</NodeName><Node><NodeName>1</NodeName>` +
		`<Node><NodeName>AAuthSecret</NodeName><Value>hunter2</Value></Node></Node></Node></MgmtTree>`
	const plain = `<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>Name</NodeName><Value>lab</Value></Node></MgmtTree>`
	item := func(data *syncml.Data, typ, format string) *syncml.Command {
		return &syncml.Command{Kind: syncml.KindAdd, CmdID: "2", Items: []*syncml.Item{{
			Target: &syncml.Location{LocURI: "./DMAcc/x"}, Meta: &syncml.Meta{Type: typ, Format: format}, Data: data}}}
	}
	tests := []struct {
		name   string
		c      *syncml.Command
		redact bool
	}{
		{"embedded tree", item(syncml.TreeData([]byte(sub)), "", ""), true},
		{"typed text", item(syncml.TextData(sub), tree.TypeTNDSXML, "xml"), true},
		{"b64", item(syncml.TextData(base64.StdEncoding.EncodeToString([]byte(sub))), tree.TypeTNDSWBXML, "b64"), true},
		{"b64 that does not decode", item(syncml.TextData("!!!"), tree.TypeTNDSWBXML, "b64"), true},
		{"tree without secrets", item(syncml.TreeData([]byte(plain)), "", ""), false},
		{"plain text mentioning the name", item(syncml.TextData("AAuthSecret is a node name"), "text/plain", "chr"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &syncml.Message{Body: []*syncml.Command{{Kind: syncml.KindAtomic, CmdID: "1", Children: []*syncml.Command{tt.c}}}}
			redact(m)
			d := m.Body[0].Children[0].Items[0].Data
			got := !d.IsTree() && d.Text == Redacted
			if got != tt.redact {
				t.Errorf("redacted %t, want %t (data now %+v)", got, tt.redact, d)
			}
			if tt.redact && (strings.Contains(d.Text, "hunter2") || bytes.Contains(d.Tree, []byte("hunter2"))) {
				t.Error("the secret is still there")
			}
		})
	}
}
