package e2e

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/csp/fumo"
	"github.com/omadm-agent/omadm-agent/csp/fumo/fumotest"
)

// TestFUMODownloadThroughTheDaemon: the whole FUMO path with real parts.
// An authenticated WAP push starts a server-initiated session; the server
// sets ./FUMO/1/Download/PkgURL and Execs Download (202); the daemon
// downloads the RAUC bundle over HTTPS, checks it with the real RAUC
// service (Info) and reports the result; the agent then opens a
// client-initiated session carrying Generic Alert 1226 (type ...download,
// the Exec's correlator, result 200), and ./FUMO/1/State reads 40
// (Download Complete).
func TestFUMODownloadThroughTheDaemon(t *testing.T) {
	if err := fumotest.NeedPeers(); err != nil {
		t.Fatal(err)
	}
	art, err := fumotest.BuildArtifacts()
	if err != nil {
		t.Fatal(err)
	}
	defer art.Remove()
	bundle, err := os.ReadFile(art.Good)
	if err != nil {
		t.Fatal(err)
	}

	// The package server (its own CA, trusted through [fumo] ca_file only).
	var (
		mu   sync.Mutex
		gets []string
	)
	pkg := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gets = append(gets, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.URL.Path != "/fw/update.raucb" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "update.raucb", time.Time{}, strings.NewReader(string(bundle)))
	}))
	defer pkg.Close()
	pkgCA := filepath.Join(t.TempDir(), "pkg-ca.pem")
	if err := os.WriteFile(pkgCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pkg.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	url := pkg.URL + "/fw/update.raucb"

	scenario := fmt.Sprintf(`
recv
expect alert 1200
expect sessionid 1A2B
send <Replace><CmdID>1</CmdID><Item><Target><LocURI>./FUMO/1/Download/PkgURL</LocURI></Target><Data>%s</Data></Item></Replace>
send <Exec><CmdID>2</CmdID><Correlator>fw-42</Correlator><Item><Target><LocURI>./FUMO/1/Download</LocURI></Target></Item></Exec>
recv
expect status 1 200
expect status 2 202
recv
expect alert 1201
expect alert 1226 correlator fw-42 type org.openmobilealliance.dm.firmwareupdate.download data 200
send <Get><CmdID>3</CmdID><Item><Target><LocURI>./FUMO/1/State</LocURI></Target></Item></Get>
send <Get><CmdID>4</CmdID><Item><Target><LocURI>./FUMO/1/PkgVersion</LocURI></Target></Item></Get>
recv
expect status 3 200
expect results ./FUMO/1/State = 40
expect results ./FUMO/1/PkgVersion = %s
end
`, url, art.Version)
	extra := fmt.Sprintf("\n[fumo]\nca_file = %q\nreboot = \"none\"\n", pkgCA)
	grantFUMO := func(a *rig.Account) {
		a.Grants = append(a.Grants, rig.Grant{URI: "./FUMO", ACL: "Get=*&Replace=" + a.ServerID + "&Exec=" + a.ServerID})
	}
	w := startWith(t, "fumo-download", scenario, worldOpts{extraConfig: extra}, grantFUMO)

	// The real RAUC service on the agent's bus.
	r, err := fumotest.NewRAUC(t.TempDir(), w.peers.Bus.Addr, art)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start("A"); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()

	w.deliver(w.sms(w.notify(0x1A2B)))
	w.waitDone()

	mu.Lock()
	defer mu.Unlock()
	if len(gets) == 0 || gets[0] != "GET /fw/update.raucb" {
		t.Errorf("package server requests: got %q, want a GET of /fw/update.raucb", gets)
	}
	stored, err := os.ReadFile(filepath.Join(w.stateDir, "fumo", fumo.PackageFile))
	if err != nil || string(stored) != string(bundle) {
		t.Errorf("the downloaded package: %v; got %d bytes, want the %d-byte bundle", err, len(stored), len(bundle))
	}
}
