package e2e

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/fumo"
	"github.com/omadm-agent/omadm-agent/csp/fumo/fumotest"
	"github.com/omadm-agent/omadm-agent/csp/system"
)

// fumoPeers are the peers of a firmware update: the keyring and bundles
// (fumotest), and an HTTPS package server with its own CA, trusted through
// [fumo] ca_file only, that serves the good bundle at url.
type fumoPeers struct {
	art    *fumotest.Artifacts
	bundle []byte
	url    string
	caFile string

	mu      sync.Mutex
	gets    []string
	notices []string // bodies POSTed to /notify (DLOTA install notifications)
}

func newFUMOPeers(t *testing.T) *fumoPeers {
	t.Helper()
	if err := fumotest.NeedPeers(); err != nil {
		t.Fatal(err)
	}
	art, err := fumotest.BuildArtifacts()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(art.Remove)
	p := &fumoPeers{art: art}
	if p.bundle, err = os.ReadFile(art.Good); err != nil {
		t.Fatal(err)
	}
	pkg := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.gets = append(p.gets, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		switch r.URL.Path {
		case "/fw/update.raucb":
			http.ServeContent(w, r, "update.raucb", time.Time{}, bytes.NewReader(p.bundle))
		case "/fw/update.dd":
			// An OMA download descriptor for the bundle (relative URIs).
			w.Header().Set("Content-Type", "application/vnd.oma.dd+xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<media xmlns="http://www.openmobilealliance.org/xmlns/dd">
  <DDVersion>1.0</DDVersion>
  <name>gateway firmware</name>
  <type>application/octet-stream</type>
  <size>%d</size>
  <objectURI>update.raucb</objectURI>
  <installNotifyURI>/notify</installNotifyURI>
</media>`, len(p.bundle))
		case "/notify":
			b, _ := io.ReadAll(io.LimitReader(r.Body, 1024))
			p.mu.Lock()
			p.notices = append(p.notices, string(b))
			p.mu.Unlock()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(pkg.Close)
	p.caFile = filepath.Join(t.TempDir(), "pkg-ca.pem")
	if err := os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pkg.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	p.url = pkg.URL + "/fw/update.raucb"
	return p
}

// startRAUC runs the real RAUC service on w's bus, booted from slot A.
func (p *fumoPeers) startRAUC(t *testing.T, w *world) *fumotest.RAUC {
	t.Helper()
	r, err := fumotest.NewRAUC(t.TempDir(), w.peers.Bus.Addr, p.art)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start("A"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// checkDownloaded checks the package server saw the download and the
// package file holds the bundle.
func (p *fumoPeers) checkDownloaded(t *testing.T, stateDir string) {
	t.Helper()
	p.mu.Lock()
	gets := append([]string(nil), p.gets...)
	p.mu.Unlock()
	if len(gets) == 0 || gets[0] != "GET /fw/update.raucb" {
		t.Errorf("package server requests: got %q, want a GET of /fw/update.raucb", gets)
	}
	stored, err := os.ReadFile(filepath.Join(stateDir, "fumo", fumo.PackageFile))
	if err != nil || !bytes.Equal(stored, p.bundle) {
		t.Errorf("the downloaded package: %v; got %d bytes, want the %d-byte bundle", err, len(stored), len(p.bundle))
	}
}

// TestFUMODownloadDescriptorThroughTheDaemon: PkgURL names an OMA download
// descriptor; the daemon reads it, downloads its objectURI (the RAUC
// bundle), reports 1226 with 200 to the DM server, and POSTs "900 Success"
// to the descriptor's installNotifyURI.
func TestFUMODownloadDescriptorThroughTheDaemon(t *testing.T) {
	p := newFUMOPeers(t)
	ddURL := strings.TrimSuffix(p.url, "update.raucb") + "update.dd"
	scenario := fmt.Sprintf(`
recv
expect alert 1200
expect sessionid 1A2C
send <Replace><CmdID>1</CmdID><Item><Target><LocURI>./FUMO/1/Download/PkgURL</LocURI></Target><Data>%s</Data></Item></Replace>
send <Exec><CmdID>2</CmdID><Correlator>fw-dd</Correlator><Item><Target><LocURI>./FUMO/1/Download</LocURI></Target></Item></Exec>
recv
expect status 1 200
expect status 2 202
recv
expect alert 1201
expect alert 1226 correlator fw-dd type org.openmobilealliance.dm.firmwareupdate.download data 200
end
`, ddURL)
	extra := fmt.Sprintf("\n[fumo]\nca_file = %q\nreboot = \"none\"\n", p.caFile)
	w := startWith(t, "fumo-dd", scenario, worldOpts{extraConfig: extra}, grantFUMO)
	p.startRAUC(t, w)

	w.deliver(w.sms(w.notify(0x1A2C)))
	w.waitDone()
	p.mu.Lock()
	gets := append([]string(nil), p.gets...)
	p.mu.Unlock()
	if len(gets) < 2 || gets[0] != "GET /fw/update.dd" || gets[1] != "GET /fw/update.raucb" {
		t.Errorf("package server requests: got %q, want the descriptor, then the bundle", gets)
	}
	stored, err := os.ReadFile(filepath.Join(w.stateDir, "fumo", fumo.PackageFile))
	if err != nil || !bytes.Equal(stored, p.bundle) {
		t.Errorf("the downloaded package: %v; got %d bytes, want the %d-byte bundle", err, len(stored), len(p.bundle))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		notices := append([]string(nil), p.notices...)
		p.mu.Unlock()
		if len(notices) > 0 {
			if len(notices) != 1 || !strings.HasPrefix(notices[0], "900 Success") {
				t.Errorf("install notifications: got %q, want one \"900 Success\"", notices)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no install notification reached the descriptor's installNotifyURI")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func grantFUMO(a *rig.Account) {
	a.Grants = append(a.Grants, rig.Grant{URI: "./FUMO", ACL: "Get=*&Replace=" + a.ServerID + "&Exec=" + a.ServerID})
}

// TestFUMODownloadThroughTheDaemon: the whole FUMO path with real parts.
// An authenticated WAP push starts a server-initiated session; the server
// sets ./FUMO/1/Download/PkgURL and Execs Download (202); the daemon
// downloads the RAUC bundle over HTTPS, checks it with the real RAUC
// service (Info) and reports the result; the agent then opens a
// client-initiated session carrying Generic Alert 1226 (type ...download,
// the Exec's correlator, result 200), and ./FUMO/1/State reads 40
// (Download Complete).
func TestFUMODownloadThroughTheDaemon(t *testing.T) {
	p := newFUMOPeers(t)
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
`, p.url, p.art.Version)
	extra := fmt.Sprintf("\n[fumo]\nca_file = %q\nreboot = \"none\"\n", p.caFile)
	w := startWith(t, "fumo-download", scenario, worldOpts{extraConfig: extra}, grantFUMO)
	p.startRAUC(t, w)

	w.deliver(w.sms(w.notify(0x1A2B)))
	w.waitDone()
	p.checkDownloaded(t, w.stateDir)
}

// TestFUMODownloadAndUpdateThroughTheDaemon: DownloadAndUpdate through the
// daemon with the real RAUC: after the session (Exec answered 202) the
// agent downloads the bundle, RAUC installs it into slot B (byte-identical
// to the image), and the agent asks logind (dbusmock's template) to reboot,
// once. The result alert follows the reboot, which a test cannot do; that
// part is csp/fumo's TestDownloadAndUpdate. `omadm-agent status` shows the
// job waiting for the reboot.
func TestFUMODownloadAndUpdateThroughTheDaemon(t *testing.T) {
	p := newFUMOPeers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var logind *dbusmockrun.Mock
	scenario := fmt.Sprintf(`
recv
expect alert 1200
expect sessionid 1A2C
send <Replace><CmdID>1</CmdID><Item><Target><LocURI>./FUMO/1/DownloadAndUpdate/PkgURL</LocURI></Target><Data>%s</Data></Item></Replace>
send <Exec><CmdID>2</CmdID><Correlator>fw-43</Correlator><Item><Target><LocURI>./FUMO/1/DownloadAndUpdate</LocURI></Target></Item></Exec>
recv
expect status 1 200
expect status 2 202
end
`, p.url)
	extra := fmt.Sprintf("\n[fumo]\nca_file = %q\nreboot = \"logind\"\n", p.caFile)
	w := startWith(t, "fumo-dau", scenario, worldOpts{extraConfig: extra, beforeAgent: func(w *world) {
		var err error
		logind, err = dbusmockrun.StartMock(ctx, w.peers.Bus.Addr, dbusmockrun.Spec{Template: "logind",
			Service: system.LogindService, Path: system.LogindPath, Iface: system.LogindIface})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logind.Stop() })
	}}, grantFUMO)
	r := p.startRAUC(t, w)

	w.deliver(w.sms(w.notify(0x1A2C)))
	w.waitDone()

	deadline := time.Now().Add(60 * time.Second)
	for {
		calls, err := logind.MethodCalls(ctx, "Reboot")
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) == 1 {
			break
		}
		if len(calls) > 1 || time.Now().After(deadline) {
			t.Fatalf("logind Reboot calls: got %d, want exactly 1 after the install; RAUC said:\n%s", len(calls), r.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	slotB, err := os.ReadFile(r.SlotB)
	if err != nil || !bytes.HasPrefix(slotB, p.art.Image) {
		t.Errorf("slot B does not hold the bundle's image (%v)", err)
	}
	if slotA, _ := os.ReadFile(r.SlotA); bytes.HasPrefix(slotA, p.art.Image) {
		t.Errorf("slot A was written too")
	}
	p.checkDownloaded(t, w.stateDir)
	out, err := rig.RunCLI(ctx, agentBin, w.env, "--config", w.cfgPath, "--state-dir", w.stateDir, "status")
	if err != nil || !strings.Contains(out, "downloadandupdate") || !strings.Contains(out, "firmware:") {
		t.Errorf("status: %v\n%s\nwant the firmware job", err, out)
	}
}
