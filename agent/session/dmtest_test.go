package session_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/device"
	"github.com/omadm-agent/omadm-agent/agent/dmtest"
	"github.com/omadm-agent/omadm-agent/agent/session"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

const scenarioDir = "../../testdata/scenarios"

// header reads the value of a header directive ("auth", "server-cred") of a
// scenario file.
func header(t *testing.T, path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 2 && fs[0] == key {
			return fs[1]
		}
	}
	return ""
}

// wbxmlMaxMsgSize overrides the MaxMsgSize of scenarios written for XML
// whose point is a size limit: WBXML is about three times as compact.
//   - tiny-maxmsgsize: at 1100 bytes the answers fit in two messages, but
//     the scenario expects three.
//
// atomic-517 is 1100 in both encodings: its Atomic's answers fit in no
// message of that size either way.
var wbxmlMaxMsgSize = map[string]int{"tiny-maxmsgsize.dms": 700}

var aauth = map[string]string{"basic": "BASIC", "md5": "DIGEST", "hmac": "HMAC"}

// TestDMTestScenarios runs every scenario of testdata/scenarios against the
// engine over HTTPS (dmtest's own CA), in XML and in WBXML.
func TestDMTestScenarios(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(scenarioDir, "*.dms"))
	if len(files) == 0 {
		t.Fatalf("no scenarios in %s", scenarioDir)
	}
	for _, enc := range []string{"xml", "wbxml"} {
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".dms")
			t.Run(enc+"/"+name, func(t *testing.T) {
				runScenario(t, file, enc == "xml")
			})
		}
	}
}

func runScenario(t *testing.T, file string, useXML bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sc, err := dmtest.LoadScenario(file)
	if err != nil {
		t.Fatal(err)
	}
	clAuth, srvAuth := header(t, file, "auth"), header(t, file, "server-cred")
	opts := dmtest.Options{ServerID: "dmtest", ServerPassword: "srv-secret", ServerNonce: []byte("server-nonce-16b"),
		ClientUser: "dev", ClientPassword: "dev-secret", ClientNonce: []byte("client-nonce-16b")}
	if n, ok := wbxmlMaxMsgSize[filepath.Base(file)]; ok && !useXML {
		opts.MaxMsgSize = n
	}
	srv, err := dmtest.NewServer(sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

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
	add(a+"/AppAddr/1/Addr", srv.URL(), false)
	add(a+"/AppAddr/1/AddrType", "URI", false)
	if typ := aauth[clAuth]; typ != "" {
		add(a+"/AAuthPref", typ, false)
		add(a+"/AppAuth/1/AAuthLevel", "CLCRED", false)
		add(a+"/AppAuth/1/AAuthType", typ, false)
		add(a+"/AppAuth/1/AAuthName", "dev", false)
		add(a+"/AppAuth/1/AAuthSecret", "dev-secret", false)
		add(a+"/AppAuth/1/AAuthData", "client-nonce-16b", true)
	}
	if typ := aauth[srvAuth]; typ != "" {
		add(a+"/AppAuth/2/AAuthLevel", "SRVCRED", false)
		add(a+"/AppAuth/2/AAuthType", typ, false)
		add(a+"/AppAuth/2/AAuthName", "dmtest", false)
		add(a+"/AppAuth/2/AAuthSecret", "srv-secret", false)
		add(a+"/AppAuth/2/AAuthData", "server-nonce-16b", true)
	}
	// The vendor nodes the scenarios manage (stored nodes here; CSPs on a
	// real device).
	for _, u := range []string{"./Vendor/omadm/Hostname/StaticHostname", "./Vendor/omadm/Hostname/PrettyHostname",
		"./Vendor/omadm/Time/Timezone", "./Vendor/omadm/Time/NTP", "./Vendor/omadm/Test/Blob", "./Vendor/omadm/Test/Big"} {
		add(u, "initial", false)
	}
	if err := tr.Replace(ctx, tree.LocalPrincipal, "./Vendor/omadm?prop=ACL", tree.Value{Data: []byte("Add=*&Get=*&Replace=*&Delete=*&Exec=*")}); err != nil {
		t.Fatal(err)
	}
	ui := session.Headless{Confirm: session.PolicyAccept}
	if strings.Contains(file, "sequence-abort") {
		ui.Confirm = session.PolicyReject
	}
	eng, err := session.NewEngine(session.Config{Tree: tr, Accounts: dmacc.New(tr), XML: useXML, UI: ui,
		Transport: session.Transport{CAPEM: srv.CACertPEM(), ConnRetryFreq: -1}, Deadline: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	trig := session.Trigger{ServerID: "dmtest"}
	if id, ok := sc.SessionID(); ok {
		trig.Initiator, trig.SessionID = session.ServerInitiated, fmt.Sprintf("%X", id)
	}
	// Scenarios with several sessions (a fault, then "recv" again) need
	// one Run each; stop when the server has finished its script.
	var runErrs []error
	for i := 0; i < 4; i++ {
		_, err := eng.Run(ctx, trig)
		runErrs = append(runErrs, err)
		select {
		case <-srv.Done():
		default:
			continue
		}
		break
	}
	select {
	case <-srv.Done():
	case <-time.After(5 * time.Second):
		t.Errorf("scenario not finished; session errors: %v", runErrs)
	}
	if rep := srv.Report(); !rep.Passed() {
		t.Errorf("scenario failed (session errors %v):\n%s", runErrs, rep)
	}
}
