package dmacc

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
)

// leaves of a valid account "./DMAcc/a" for server "srv1".
func validLeaves() map[string]string {
	return map[string]string{
		"AppID":                 "w7",
		"ServerID":              "srv1",
		"Name":                  "Example",
		"AAuthPref":             "DIGEST",
		"AppAddr/1/Addr":        "https://dm.example.com/dm",
		"AppAddr/1/AddrType":    "URI",
		"AppAuth/c/AAuthLevel":  "CLCRED",
		"AppAuth/c/AAuthType":   "DIGEST",
		"AppAuth/c/AAuthName":   "dev",
		"AppAuth/c/AAuthSecret": "devpass",
		"AppAuth/s/AAuthLevel":  "SRVCRED",
		"AppAuth/s/AAuthType":   "HMAC",
		"AppAuth/s/AAuthName":   "srv1",
		"AppAuth/s/AAuthSecret": "srvpass",
		"AppAuth/h/AAuthLevel":  "HTTP",
		"AppAuth/h/AAuthType":   "HTTP-BASIC",
		"AppAuth/h/AAuthName":   "proxyuser",
		"AppAuth/h/AAuthSecret": "proxypass",
	}
}

func newTree(t *testing.T) *tree.Tree {
	t.Helper()
	tr := tree.New()
	if err := Declare(tr); err != nil {
		t.Fatalf("Declare: %v", err)
	}
	return tr
}

func addAccount(t *testing.T, tr *tree.Tree, node string, leaves map[string]string) {
	t.Helper()
	ctx := context.Background()
	if err := tr.Add(ctx, tree.LocalPrincipal, node, tree.Value{Format: tree.FormatNode, Type: MOType}); err != nil {
		t.Fatalf("Add %s: %v", node, err)
	}
	// Deterministic order: sort keys.
	keys := make([]string, 0, len(leaves))
	for k := range leaves {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	for _, k := range keys {
		if err := tr.Add(ctx, tree.LocalPrincipal, node+"/"+k, tree.Value{Data: []byte(leaves[k])}); err != nil {
			t.Fatalf("Add %s/%s: %v", node, k, err)
		}
	}
}

func TestAccountsValid(t *testing.T) {
	tr := newTree(t)
	l := validLeaves()
	addAccount(t, tr, "./DMAcc/a", l)
	if err := tr.Add(context.Background(), tree.LocalPrincipal, "./DMAcc/a/AppAuth/c/AAuthData",
		tree.Value{Data: []byte{0, 1, 0xff}, Format: tree.FormatBin}); err != nil {
		t.Fatal(err)
	}
	s := New(tr)
	accs, err := s.Accounts(context.Background())
	if err != nil {
		t.Fatalf("Accounts: %v", err)
	}
	if len(accs) != 1 {
		t.Fatalf("got %d accounts, want 1", len(accs))
	}
	a := accs[0]
	checks := []struct{ name, got, want string }{
		{"Node", a.Node, "./DMAcc/a"},
		{"ServerID", a.ServerID, "srv1"},
		{"Name", a.Name, "Example"},
		{"Addr", a.Addr, "https://dm.example.com/dm"},
		{"AuthPref", a.AuthPref, "DIGEST"},
		{"Client.Node", a.Client.Node, "./DMAcc/a/AppAuth/c"},
		{"Client.Type", a.Client.Type, "DIGEST"},
		{"Client.Name", a.Client.Name, "dev"},
		{"Client.Secret", a.Client.Secret, "devpass"},
		{"Server.Type", a.Server.Type, "HMAC"},
		{"Server.Name", a.Server.Name, "srv1"},
		{"Server.Secret", a.Server.Secret, "srvpass"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if !bytes.Equal(a.Client.Nonce, []byte{0, 1, 0xff}) {
		t.Errorf("Client.Nonce: got %x, want 0001ff", a.Client.Nonce)
	}
	if a.Server.Nonce != nil {
		t.Errorf("Server.Nonce: got %x, want nil", a.Server.Nonce)
	}
	if a.HTTP == nil || a.HTTP.Type != "HTTP-BASIC" || a.HTTP.Secret != "proxypass" {
		t.Errorf("HTTP: got %+v, want HTTP-BASIC proxyuser", a.HTTP)
	}
	if strings.Contains(a.Client.String(), "devpass") {
		t.Errorf("Credential.String leaks the secret: %s", a.Client.String())
	}
	got, err := s.Account(context.Background(), "srv1")
	if err != nil || got.Node != "./DMAcc/a" {
		t.Errorf("Account(srv1): got %v, %v", got.Node, err)
	}
	if _, err := s.Account(context.Background(), "nope"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Account(nope): got %v, want ErrUnknownServer", err)
	}
}

func TestAccountsNoDMAcc(t *testing.T) {
	s := New(newTree(t))
	accs, err := s.Accounts(context.Background())
	if err != nil || len(accs) != 0 {
		t.Errorf("got %v, %v; want no accounts, nil", accs, err)
	}
	if _, err := s.Account(context.Background(), "x"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Account: got %v, want ErrUnknownServer", err)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name    string
		change  map[string]string // "" value = delete the leaf from the set
		wantErr string            // substring; "" = valid
		addr    string            // expected Addr when valid
	}{
		{name: "valid", addr: "https://dm.example.com/dm"},
		{name: "port applied", change: map[string]string{"AppAddr/1/Port/1/PortNbr": "8443"}, addr: "https://dm.example.com:8443/dm"},
		{name: "port in URL kept", change: map[string]string{"AppAddr/1/Addr": "http://h:80/x", "AppAddr/1/Port/1/PortNbr": "8443"}, addr: "http://h:80/x"},
		{name: "AddrType default URI", change: map[string]string{"AppAddr/1/AddrType": ""}, addr: "https://dm.example.com/dm"},
		{name: "no AAuthPref", change: map[string]string{"AAuthPref": ""}, addr: "https://dm.example.com/dm"},
		{name: "AppID not w7", change: map[string]string{"AppID": "w2"}, wantErr: `AppID "w2"`},
		{name: "AppID missing", change: map[string]string{"AppID": ""}, wantErr: "AppID missing"},
		{name: "ServerID missing", change: map[string]string{"ServerID": ""}, wantErr: "ServerID missing"},
		{name: "ServerID with ACL syntax", change: map[string]string{"ServerID": "a+b"}, wantErr: "not usable in an ACL"},
		{name: "bad URL", change: map[string]string{"AppAddr/1/Addr": "ftp://x/"}, wantErr: "not an http or https URL"},
		{name: "empty URL", change: map[string]string{"AppAddr/1/Addr": ""}, wantErr: "no AppAddr"},
		{name: "only IPv4 address", change: map[string]string{"AppAddr/1/AddrType": "IPv4", "AppAddr/1/Addr": "10.0.0.1"}, wantErr: "no AppAddr with AddrType URI"},
		{name: "bad AddrType", change: map[string]string{"AppAddr/1/AddrType": "X25"}, wantErr: `AddrType "X25"`},
		{name: "bad port", change: map[string]string{"AppAddr/1/Port/1/PortNbr": "70000"}, wantErr: "not a port number"},
		{name: "bad level", change: map[string]string{"AppAuth/c/AAuthLevel": "APPSRV"}, wantErr: `AAuthLevel "APPSRV"`},
		{name: "bad type", change: map[string]string{"AppAuth/c/AAuthType": "MD5"}, wantErr: `AAuthType "MD5"`},
		{name: "bad pref", change: map[string]string{"AAuthPref": "NTLM"}, wantErr: `AAuthPref "NTLM"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			l := validLeaves()
			for k, v := range tc.change {
				if v == "" {
					delete(l, k)
				} else {
					l[k] = v
				}
			}
			addAccount(t, tr, "./DMAcc/a", l)
			s := New(tr)
			a, err := s.Check(context.Background(), "./DMAcc/a")
			accs, aerr := s.Accounts(context.Background())
			if tc.wantErr == "" {
				if err != nil || aerr != nil {
					t.Fatalf("Check: %v; Accounts: %v; want valid", err, aerr)
				}
				if a.Addr != tc.addr {
					t.Errorf("Addr: got %q, want %q", a.Addr, tc.addr)
				}
				if len(accs) != 1 {
					t.Errorf("Accounts: got %d, want 1", len(accs))
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Check: got %v, want *InvalidError containing %q", err, tc.wantErr)
			}
			if len(accs) != 0 || !errors.As(aerr, &ie) || ie.Node != "./DMAcc/a" {
				t.Errorf("Accounts: got %d accounts, %v; want 0 and an InvalidError for ./DMAcc/a", len(accs), aerr)
			}
		})
	}
}

func TestDuplicateServerID(t *testing.T) {
	tr := newTree(t)
	addAccount(t, tr, "./DMAcc/a", validLeaves())
	l := validLeaves()
	l["Name"] = "second"
	addAccount(t, tr, "./DMAcc/b", l)
	s := New(tr)
	accs, err := s.Accounts(context.Background())
	if len(accs) != 1 || accs[0].Node != "./DMAcc/a" {
		t.Fatalf("Accounts: got %v, want only ./DMAcc/a", accs)
	}
	if err == nil || !strings.Contains(err.Error(), "./DMAcc/b") || !strings.Contains(err.Error(), "already used") {
		t.Errorf("Accounts error: got %v, want duplicate reported for ./DMAcc/b", err)
	}
	if _, err := s.Check(context.Background(), "./DMAcc/b"); err == nil {
		t.Errorf("Check(./DMAcc/b): got nil, want duplicate ServerID error")
	}
}

func TestSetNonce(t *testing.T) {
	ctx := context.Background()
	tr := newTree(t)
	addAccount(t, tr, "./DMAcc/a", validLeaves())
	s := New(tr)
	for _, level := range []string{LevelClient, LevelServer} {
		for _, nonce := range [][]byte{{1, 2, 3}, {0xde, 0xad}} { // first Add, then Replace
			if err := s.SetNonce(ctx, "srv1", level, nonce); err != nil {
				t.Fatalf("SetNonce(%s, %x): %v", level, nonce, err)
			}
			a, err := s.Account(ctx, "srv1")
			if err != nil {
				t.Fatal(err)
			}
			c := a.Client
			if level == LevelServer {
				c = a.Server
			}
			if !bytes.Equal(c.Nonce, nonce) {
				t.Errorf("%s nonce: got %x, want %x", level, c.Nonce, nonce)
			}
		}
	}
	r, err := tr.Get(ctx, tree.LocalPrincipal, "./DMAcc/a/AppAuth/c/AAuthData?prop=Format")
	if err != nil || string(r.Items[0].Data) != "bin" {
		t.Errorf("AAuthData Format: got %v, %v; want bin", r, err)
	}
	if err := s.SetNonce(ctx, "srv1", "OBEX", []byte{1}); tree.StatusCode(err) != tree.StatusBadRequest {
		t.Errorf("SetNonce(OBEX): got %v, want 400", err)
	}
	if err := s.SetNonce(ctx, "other", LevelClient, []byte{1}); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("SetNonce(unknown): got %v, want ErrUnknownServer", err)
	}
}

func TestDDFSecrets(t *testing.T) {
	ctx := context.Background()
	tr := newTree(t)
	addAccount(t, tr, "./DMAcc/a", validLeaves())
	if err := tr.Replace(ctx, tree.LocalPrincipal, "./DMAcc/a?prop=ACL", tree.Value{Data: []byte("Get=srv1&Replace=srv1&Add=srv1&Delete=srv1")}); err != nil {
		t.Fatal(err)
	}
	srv := tree.Server("srv1")
	tests := []struct {
		name string
		op   func() error
		want int
	}{
		{"Get ServerID", func() error { _, err := tr.Get(ctx, srv, "./DMAcc/a/ServerID"); return err }, 200},
		{"Get AAuthSecret", func() error { _, err := tr.Get(ctx, srv, "./DMAcc/a/AppAuth/c/AAuthSecret"); return err }, 405},
		{"Replace AAuthSecret", func() error {
			return tr.Replace(ctx, srv, "./DMAcc/a/AppAuth/c/AAuthSecret", tree.Value{Data: []byte("new")})
		}, 200},
		{"Add AAuthData chr", func() error {
			return tr.Add(ctx, srv, "./DMAcc/a/AppAuth/s/AAuthData", tree.Value{Data: []byte("x")})
		}, 415},
		{"Add Origin", func() error {
			return tr.Add(ctx, srv, "./DMAcc/a/Ext/Origin", tree.Value{Data: []byte("x")})
		}, 405},
		{"Get other server", func() error { _, err := tr.Get(ctx, tree.Server("evil"), "./DMAcc/a/ServerID"); return err }, 425},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tree.StatusCode(tc.op()); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
	if !tr.IsSecret("./DMAcc/a/AppAuth/c/AAuthData") {
		t.Errorf("AAuthData not secret")
	}
}
