package fumo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/fumo/fumotest"
	"github.com/omadm-agent/omadm-agent/tree"
)

// The real-RAUC harness is csp/fumo/fumotest (shared with the end-to-end
// tests): a self-signed keyring and plain bundles made with openssl and
// `rauc bundle` (once per test binary), and per test a private system bus
// (csp/dbusmockrun) with `rauc service` on it, two raw slots backed by
// 4 MiB files and bootloader=noop. Every process is stopped by PID.
// Missing peers FAIL the test with "run `make deps`".

const compatible = fumotest.Compatible

var (
	peersOnce sync.Once
	peersErr  error
	art       artifacts
	built     *fumotest.Artifacts
)

// artifacts are the files shared by all tests (fumotest.Artifacts with
// the names the tests use).
type artifacts struct {
	cert      string
	image     []byte
	good      string
	version   string
	other     string
	mismatch  string
	truncated string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built != nil {
		built.Remove()
	}
	os.Exit(code)
}

func needPeers(t testing.TB) {
	t.Helper()
	if err := fumotest.NeedPeers(); err != nil {
		t.Fatal(err)
	}
	peersOnce.Do(func() {
		built, peersErr = fumotest.BuildArtifacts()
		if peersErr == nil {
			a := built
			art = artifacts{cert: a.Cert, image: a.Image, good: a.Good, version: a.Version, other: a.Other, mismatch: a.Mismatch, truncated: a.Truncated}
		}
	})
	if peersErr != nil {
		t.Fatal(peersErr)
	}
}

// raucEnv is a private system bus with the real RAUC service.
type raucEnv struct {
	dir          string
	bus          *dbusmockrun.Bus
	conn         *dbus.Conn
	slotA, slotB string
	r            *fumotest.RAUC
}

// newBus starts only the private bus (no RAUC on it).
func newBus(t *testing.T) *raucEnv {
	t.Helper()
	needPeers(t)
	e := &raucEnv{dir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := dbusmockrun.StartBus(ctx, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	e.bus = b
	t.Cleanup(func() {
		e.stopRAUC(t)
		if err := b.Stop(); err != nil {
			t.Errorf("stop dbus-daemon: %v", err)
		}
	})
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", b.Addr)
	conn, err := dbus.Connect(b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.conn = conn
	return e
}

// newRAUC starts the bus and `rauc service` booted from slot A.
func newRAUC(t *testing.T, opts ...fumotest.Option) *raucEnv {
	t.Helper()
	e := newBus(t)
	r, err := fumotest.NewRAUC(e.dir, e.bus.Addr, built, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e.r, e.slotA, e.slotB = r, r.SlotA, r.SlotB
	e.startRAUC(t, "A")
	return e
}

// startRAUC runs `rauc service` as if booted from slot bootSlot and waits
// until it owns its name.
func (e *raucEnv) startRAUC(t *testing.T, bootSlot string) {
	t.Helper()
	if err := e.r.Start(bootSlot); err != nil {
		t.Fatal(err)
	}
}

// stopRAUC stops the service by PID (SIGTERM, then SIGKILL).
func (e *raucEnv) stopRAUC(t *testing.T) {
	if e.r != nil {
		e.r.Stop()
	}
}

// reboot simulates a reboot into bootSlot: RAUC restarts reporting it.
func (e *raucEnv) reboot(t *testing.T, bootSlot string) {
	t.Helper()
	if err := e.r.Reboot(bootSlot); err != nil {
		t.Fatal(err)
	}
}

// pkgServer serves packages over HTTPS and records the requests.
type pkgServer struct {
	*httptest.Server
	mu     sync.Mutex
	files  map[string][]byte
	ranges []string      // Range header of every GET (empty when none)
	cutAt  int           // >0: the next full-body response is cut after cutAt bytes
	block  chan struct{} // cut responses wait on it before dropping the connection
	hold   chan struct{} // requests for "slow" wait on it before answering
}

func newPkgServer(t testing.TB) *pkgServer {
	s := &pkgServer{files: map[string][]byte{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *pkgServer) add(name string, b []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = b
	return s.URL + "/" + name
}

func (s *pkgServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func (s *pkgServer) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	b, ok := s.files[name]
	cut := 0
	if r.Header.Get("Range") == "" && s.cutAt > 0 {
		cut, s.cutAt = s.cutAt, 0
	}
	block, hold := s.block, s.hold
	s.mu.Unlock()
	if name == "slow" && hold != nil {
		<-hold
	}
	switch {
	case name == "secret":
		http.Error(w, "no", http.StatusUnauthorized)
		return
	case strings.HasPrefix(name, "redirect/"):
		// redirect/<url-escaped target>
		target, _ := url.PathUnescape(strings.TrimPrefix(name, "redirect/"))
		http.Redirect(w, r, target, http.StatusFound)
		return
	case !ok:
		http.NotFound(w, r)
		return
	}
	if cut > 0 {
		w.Header().Set("ETag", etag(b))
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:cut])
		w.(http.Flusher).Flush()
		if block != nil {
			<-block
		}
		panic(http.ErrAbortHandler) // drops the connection mid-body
	}
	w.Header().Set("ETag", etag(b))
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

func etag(b []byte) string { return fmt.Sprintf("\"%x\"", sha256.Sum256(b)) }

// tlsFor trusts the server's certificate only.
func tlsFor(s *pkgServer) *tls.Config {
	return &tls.Config{RootCAs: s.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
}

// alerts collects reported alerts.
type alerts struct {
	mu   sync.Mutex
	list []tree.Alert
	fail error
}

func (a *alerts) report(ctx context.Context, al tree.Alert) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.list = append(a.list, al)
	return nil
}

func (a *alerts) get() []tree.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]tree.Alert(nil), a.list...)
}

// fixture is a provider mounted in a tree.
type fixture struct {
	p   *Provider
	tr  *tree.Tree
	al  *alerts
	dir string
}

func newFixture(t *testing.T, conn *dbus.Conn, dir string, boot string, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{al: &alerts{}, dir: dir, tr: tree.New(tree.WithRootACL("Add=*&Get=*&Replace=*&Exec=*"))}
	cfg := Config{Dir: dir, Report: f.al.report, BootID: func() (string, error) { return boot, nil },
		RetryBackoff: 10 * time.Millisecond, ReportRetry: 50 * time.Millisecond, CallTimeout: 3 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.tr.Mount(p.cfg.Root, p); err != nil {
		t.Fatal(err)
	}
	f.p = p
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

func (f *fixture) replace(t *testing.T, rel string, v tree.Value) error {
	t.Helper()
	return f.tr.Replace(context.Background(), tree.Server("srv"), string(f.p.x)+"/"+rel, v)
}

func (f *fixture) exec(t *testing.T, rel, correlator string) error {
	t.Helper()
	return f.tr.Exec(context.Background(), tree.Server("srv"), string(f.p.x)+"/"+rel, nil, correlator)
}

func (f *fixture) get(t *testing.T, rel string) string {
	t.Helper()
	r, err := f.tr.Get(context.Background(), tree.LocalPrincipal, string(f.p.x)+"/"+rel)
	if err != nil {
		t.Fatalf("Get %s: %v", rel, err)
	}
	return string(r.Items[0].Data)
}

// wait waits for the worker, at most 30 s.
func (f *fixture) wait(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.p.Wait(ctx); err != nil {
		t.Fatalf("job did not settle: %v (status %+v)", err, f.p.Status())
	}
}

func chr(s string) tree.Value { return tree.Value{Data: []byte(s), Format: tree.FormatChr} }

func mustAsync(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, tree.ErrAsync) || tree.StatusCode(err) != 202 {
		t.Fatalf("Exec: got %v (status %d), want 202", err, tree.StatusCode(err))
	}
}

func oneAlert(t *testing.T, al *alerts, typ string, source tree.URI, correlator, data string) tree.Alert {
	t.Helper()
	got := al.get()
	if len(got) != 1 {
		t.Fatalf("alerts: got %d (%+v), want 1", len(got), got)
	}
	a := got[0]
	if a.Type != typ || a.Source != source || a.Correlator != correlator || string(a.Data) != data || a.Format != "int" {
		t.Errorf("alert: got %+v (Data %q), want Type %s Source %s Correlator %q Data %q Format int", a, a.Data, typ, source, correlator, data)
	}
	wantMark := ""
	if data != "200" {
		wantMark = MarkFailure
	}
	if a.Mark != wantMark {
		t.Errorf("alert Mark: got %q, want %q", a.Mark, wantMark)
	}
	return a
}
