package dmtest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/device"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

// TestBootstrapXMLGivesAgentAnAccount: the bootstrap document the server
// writes applies to an agent's tree and yields an account that points at the
// server with the server's credentials and auth types.
func TestBootstrapXMLGivesAgentAnAccount(t *testing.T) {
	tests := []struct {
		scenario            string
		wantClient, wantSrv string
	}{
		{"plain-1201", "TRANSPORT", "TRANSPORT"},
		{"auth-md5-challenge", "DIGEST", "TRANSPORT"},
		{"auth-hmac", "HMAC", "HMAC"},
		{"server-cred-md5", "TRANSPORT", "DIGEST"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := NewServer(loadScenario(t, tt.scenario), testOpts())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			doc := s.BootstrapXML("lab", "IMEI:493005100592800")
			for _, secret := range []string{"srv-secret-pw", "dev-secret-pw"} {
				if !bytes.Contains(doc, []byte(secret)) {
					t.Fatalf("bootstrap document lacks a credential")
				}
			}
			ctx := context.Background()
			tr, err := device.OpenTree(ctx, device.Options{StateDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := bootstrap.Apply(ctx, tr, doc, bootstrap.Options{})
			if err != nil {
				t.Fatalf("bootstrap refused: %v\n%s", err, doc)
			}
			if len(rep.Added) != 1 || rep.Added[0] != "dmtest-srv" {
				t.Fatalf("added %v, want [dmtest-srv]", rep.Added)
			}
			acc, err := dmacc.New(tr).Account(ctx, "dmtest-srv")
			if err != nil {
				t.Fatal(err)
			}
			if acc.Addr != s.URL() || acc.Node != "./DMAcc/lab" {
				t.Errorf("account %s at %q, want ./DMAcc/lab at %q", acc.Node, acc.Addr, s.URL())
			}
			if acc.Client.Type != tt.wantClient || acc.Client.Name != "devuser" || acc.Client.Secret != "dev-secret-pw" || string(acc.Client.Nonce) != "client-nonce-16b" {
				t.Errorf("CLCRED type %s name %q nonce %q, want %s devuser client-nonce-16b", acc.Client.Type, acc.Client.Name, acc.Client.Nonce, tt.wantClient)
			}
			if acc.Server.Type != tt.wantSrv || acc.Server.Secret != "srv-secret-pw" || string(acc.Server.Nonce) != "server-nonce-16b" {
				t.Errorf("SRVCRED type %s nonce %q, want %s server-nonce-16b", acc.Server.Type, acc.Server.Nonce, tt.wantSrv)
			}
			if !strings.Contains(string(doc), "./Vendor/omadm?prop=ACL") {
				t.Errorf("no ACL grant on ./Vendor/omadm")
			}
			// The grants are in the tree (ACLs in canonical order): the server may manage the vendor
			// objects and run firmware updates (./FUMO), and only it.
			for uri, want := range map[string]string{
				"./Vendor/omadm": "Add=dmtest-srv&Delete=dmtest-srv&Exec=dmtest-srv&Get=*&Replace=dmtest-srv",
				"./FUMO":         "Exec=dmtest-srv&Get=*&Replace=dmtest-srv",
			} {
				r, err := tr.Get(ctx, tree.LocalPrincipal, uri+"?prop=ACL")
				if err != nil || len(r.Items) != 1 || string(r.Items[0].Data) != want {
					t.Errorf("%s ACL: got %+v, %v; want %q", uri, r, err, want)
				}
			}
		})
	}
}
