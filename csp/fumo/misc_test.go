package fumo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/tree"
)

var tlsConfigInsecure = tls.Config{InsecureSkipVerify: true}

// strangerServer is an HTTPS server with a fresh self-signed certificate
// nobody trusts (httptest's servers all share one certificate).
func strangerServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "stranger"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// TestMountAndCAFile: Mount on a bus connection, and a CA file as the
// only trust anchor of the download.
func TestMountAndCAFile(t *testing.T) {
	e := newBus(t)
	srv := newPkgServer(t)
	url := srv.add("fw", payload(5000))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	al := &alerts{}
	tr := tree.New(tree.WithRootACL("Add=*&Get=*&Replace=*&Exec=*"))
	p, err := Mount(tr, e.conn, Config{Dir: t.TempDir(), Report: al.report, CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if _, err := Mount(tr, e.conn, Config{Dir: t.TempDir(), Report: al.report}); tree.StatusCode(err) != 418 {
		t.Errorf("second Mount: got %v, want 418 (already exists)", err)
	}
	ctx := context.Background()
	if err := tr.Replace(ctx, tree.Server("s"), "./FUMO/1/Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, tr.Exec(ctx, tree.Server("s"), "./FUMO/1/Download", nil, "ca"))
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	oneAlert(t, al, TypeDownload, "./FUMO/1/Download", "ca", "200")
	if _, err := New(nil, Config{Dir: t.TempDir(), Report: al.report, CAFile: url}); err == nil {
		t.Error("New accepted a missing CA file")
	}
}
