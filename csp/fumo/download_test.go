package fumo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

// payload returns n deterministic bytes.
func payload(n int) []byte {
	b := make([]byte, 0, n+32)
	h := sha256.Sum256([]byte("payload"))
	for len(b) < n {
		h = sha256.Sum256(h[:])
		b = append(b, h[:]...)
	}
	return b[:n]
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// TestDownloadResume: the server drops the connection mid-body; the
// provider resumes with a Range request from the byte it had, and the
// file ends identical. No RAUC: Info is unavailable, which does not fail
// a Download.
func TestDownloadResume(t *testing.T) {
	srv := newPkgServer(t)
	body := payload(3 << 20)
	url := srv.add("fw.raucb", body)
	cut := 1<<20 + 12345
	srv.cutAt = cut
	f := newFixture(t, nil, t.TempDir(), "boot-1", func(c *Config) { c.TLS = tlsFor(srv) })
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", "r-1"))
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "r-1", "200")
	got := srv.seen()
	want := []string{"", fmt.Sprintf("bytes=%d-", cut)}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Range headers: got %q, want %q", got, want)
	}
	if !bytes.Equal(readFile(t, filepath.Join(f.dir, PackageFile)), body) {
		t.Error("resumed file differs from the served one")
	}
	if got := f.get(t, "State"); got != "40" {
		t.Errorf("State: got %s, want 40", got)
	}
}

// TestDownloadRedirectHTTPS: a redirect to another https URL (TLS checked
// again) is followed; one to plain http is refused (TestDownloadFailures).
func TestDownloadRedirectHTTPS(t *testing.T) {
	srv := newPkgServer(t)
	body := payload(100 << 10)
	target := srv.add("fw.raucb", body)
	f := newFixture(t, nil, t.TempDir(), "boot-1", func(c *Config) { c.TLS = tlsFor(srv) })
	if err := f.replace(t, "Download/PkgURL", chr(srv.URL+"/redirect/"+url.PathEscape(target))); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", "rd"))
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "rd", "200")
	if !bytes.Equal(readFile(t, filepath.Join(f.dir, PackageFile)), body) {
		t.Error("downloaded file differs from the target")
	}
}

// TestDownloadResumeAfterRestart: the agent stops mid-body (Close); the
// next start (Resume) continues from the partial file with Range and
// If-Range, and reports once.
func TestDownloadResumeAfterRestart(t *testing.T) {
	srv := newPkgServer(t)
	body := payload(2 << 20)
	url := srv.add("fw.raucb", body)
	cut := 700000
	srv.cutAt, srv.block = cut, make(chan struct{})
	dir := t.TempDir()
	withTLS := func(c *Config) { c.TLS = tlsFor(srv) }
	f := newFixture(t, nil, dir, "boot-1", withTLS)
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", ""))
	part := filepath.Join(dir, PackageFile+".part")
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(part) != int64(cut) {
		if time.Now().After(deadline) {
			t.Fatalf("partial file: %d bytes, want %d", fileSize(part), cut)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := f.get(t, "State"); got != "30" {
		t.Errorf("State while downloading: got %s, want 30", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	close(srv.block)
	if n := len(f.al.get()); n != 0 {
		t.Fatalf("alerts after Close: %d, want 0", n)
	}

	f2 := newFixture(t, nil, dir, "boot-1", withTLS)
	if got := f2.get(t, "State"); got != "30" {
		t.Errorf("State after restart: got %s, want 30", got)
	}
	f2.p.Resume()
	f2.wait(t)
	oneAlert(t, f2.al, TypeDownload, "./FUMO/1/Download", "", "200")
	got := srv.seen()
	if len(got) != 2 || got[1] != fmt.Sprintf("bytes=%d-", cut) {
		t.Errorf("Range headers: got %q, want [\"\" \"bytes=%d-\"]", got, cut)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, PackageFile)), body) {
		t.Error("resumed file differs from the served one")
	}
}

// TestDownloadFailures: each failure gives its FUMO result code, State 20
// and no package left behind.
func TestDownloadFailures(t *testing.T) {
	srv := newPkgServer(t)
	big := srv.add("big", payload(64<<10))
	untrusted := strangerServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") }))
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(payload(1000)) }))
	t.Cleanup(plain.Close)
	gone := httptest.NewTLSServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	tests := []struct {
		name, url string
		maxSize   int64
		result    string
	}{
		{"not found", srv.URL + "/missing", 0, "411"},
		{"unauthorized", srv.URL + "/secret", 0, "406"},
		{"ftp scheme", "ftp://example.com/fw.raucb", 0, "411"},
		{"plain http", strings.Replace(srv.URL, "https:", "http:", 1) + "/big", 0, "411"},
		{"malformed", "https://[::1", 0, "411"},
		{"empty", "", 0, "411"},
		{"untrusted certificate", untrusted.URL + "/fw", 0, "406"},
		{"too big", big, 1000, "501"},
		{"connection refused", goneURL + "/fw", 0, "503"},
		{"redirect to plain http", srv.URL + "/redirect/" + url.PathEscape(plain.URL+"/fw"), 0, "411"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil, t.TempDir(), "boot-1", func(c *Config) {
				c.TLS = tlsFor(srv)
				c.MaxSize = tc.maxSize
				c.Retries = 1
			})
			if err := f.replace(t, "Download/PkgURL", chr(tc.url)); err != nil {
				t.Fatal(err)
			}
			mustAsync(t, f.exec(t, "Download", "x"))
			f.wait(t)
			oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "x", tc.result)
			if got := f.get(t, "State"); got != "20" {
				t.Errorf("State: got %s, want 20", got)
			}
			for _, n := range []string{PackageFile, PackageFile + ".part"} {
				if _, err := os.Stat(filepath.Join(f.dir, n)); !os.IsNotExist(err) {
					t.Errorf("%s left behind (%v)", n, err)
				}
			}
		})
	}
}

// TestExecBusy: while a job runs, Exec and PkgData are 403; afterwards a
// new Exec is accepted.
func TestExecBusy(t *testing.T) {
	srv := newPkgServer(t)
	srv.hold = make(chan struct{})
	url := srv.add("slow", payload(1000))
	f := newFixture(t, nil, t.TempDir(), "boot-1", func(c *Config) { c.TLS = tlsFor(srv) })
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", "a"))
	for _, n := range []string{"Download", "Update", "DownloadAndUpdate"} {
		if err := f.exec(t, n, "b"); tree.StatusCode(err) != 403 {
			t.Errorf("Exec %s while busy: got %v (%d), want 403", n, err, tree.StatusCode(err))
		}
	}
	if err := f.replace(t, "Update/PkgData", tree.Value{Data: []byte("x"), Format: tree.FormatBin}); tree.StatusCode(err) != 403 {
		t.Errorf("PkgData while busy: got %v, want 403", err)
	}
	close(srv.hold)
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "a", "200")
	mustAsync(t, f.exec(t, "Download", "c"))
	f.wait(t)
	if n := len(f.al.get()); n != 2 {
		t.Errorf("alerts: got %d, want 2", n)
	}
}

// TestReportRetried: a failing Report is retried until it succeeds, and
// the job counts as busy until then.
func TestReportRetried(t *testing.T) {
	f := newFixture(t, nil, t.TempDir(), "boot-1", nil)
	f.al.fail = fmt.Errorf("outbox full")
	mustAsync(t, f.exec(t, "Download", "z")) // empty PkgURL: 411
	deadline := time.Now().Add(5 * time.Second)
	for f.p.Status().Phase != PhaseReport {
		if time.Now().After(deadline) {
			t.Fatalf("phase %q, want report", f.p.Status().Phase)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(120 * time.Millisecond) // a few failed attempts
	if err := f.exec(t, "Download", "y"); tree.StatusCode(err) != 403 {
		t.Errorf("Exec before the result was reported: got %v, want 403", err)
	}
	f.al.mu.Lock()
	f.al.fail = nil
	f.al.mu.Unlock()
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "z", "411")
}

// TestTree: structure, formats, DDF access enforced by the tree, and the
// synchronous refusals.
func TestTree(t *testing.T) {
	f := newFixture(t, nil, t.TempDir(), "boot-1", nil)
	ctx := context.Background()
	srv := tree.Server("srv")
	structure := []struct {
		uri, format, data string
	}{
		{"./FUMO", "node", "1"},
		{"./FUMO/1", "node", "PkgName/PkgVersion/Download/Update/DownloadAndUpdate/State/Ext"},
		{"./FUMO/1/Download", "node", "PkgURL"},
		{"./FUMO/1/Update", "node", "PkgData"},
		{"./FUMO/1/DownloadAndUpdate", "node", "PkgURL"},
		{"./FUMO/1/State", "int", "10"},
		{"./FUMO/1/PkgName", "chr", ""},
		{"./FUMO/1/Ext", "node", "Progress/Message/SlotGood/RebootAt"},
		{"./FUMO/1/Ext/SlotGood", "chr", ""},
		{"./FUMO/1/Ext/RebootAt", "chr", ""},
		{"./FUMO/1/Ext/Progress", "int", "0"},
	}
	for _, tc := range structure {
		r, err := f.tr.Get(ctx, srv, tc.uri)
		if err != nil {
			t.Errorf("Get %s: %v", tc.uri, err)
			continue
		}
		if it := r.Items[0]; it.Format != tc.format || string(it.Data) != tc.data {
			t.Errorf("Get %s: got %s %q, want %s %q", tc.uri, it.Format, it.Data, tc.format, tc.data)
		}
	}
	r, err := f.tr.Get(ctx, srv, "./FUMO/1?prop=Type")
	if err != nil || string(r.Items[0].Data) != MOType {
		t.Errorf("Type of ./FUMO/1: got %v %v, want %s", r, err, MOType)
	}
	refused := []struct {
		name string
		do   func() error
		want int
	}{
		{"Exec State", func() error { return f.tr.Exec(ctx, srv, "./FUMO/1/State", nil, "") }, 405},
		{"Exec x", func() error { return f.tr.Exec(ctx, srv, "./FUMO/1", nil, "") }, 405},
		{"Exec PkgURL", func() error { return f.tr.Exec(ctx, srv, "./FUMO/1/Download/PkgURL", nil, "") }, 405},
		{"Update without package", func() error { return f.tr.Exec(ctx, srv, "./FUMO/1/Update", nil, "") }, 403},
		{"Replace State", func() error { return f.tr.Replace(ctx, srv, "./FUMO/1/State", chr("100")) }, 405},
		{"Replace PkgVersion", func() error { return f.tr.Replace(ctx, srv, "./FUMO/1/PkgVersion", chr("9")) }, 405},
		{"Get PkgData", func() error { _, err := f.tr.Get(ctx, srv, "./FUMO/1/Update/PkgData"); return err }, 405},
		{"PkgURL as int", func() error {
			return f.tr.Replace(ctx, srv, "./FUMO/1/Download/PkgURL", tree.Value{Data: []byte("1"), Format: tree.FormatInt})
		}, 415},
		{"PkgData too big", func() error {
			return f.tr.Replace(ctx, srv, "./FUMO/1/Update/PkgData", tree.Value{Data: make([]byte, 2<<20), Format: tree.FormatBin})
		}, 420},
		{"Get missing", func() error { _, err := f.tr.Get(ctx, srv, "./FUMO/1/Nope"); return err }, 404},
	}
	f.p.cfg.MaxSize = 1 << 20
	for _, tc := range refused {
		if got := tree.StatusCode(tc.do()); got != tc.want {
			t.Errorf("%s: got status %d, want %d", tc.name, got, tc.want)
		}
	}
	// PkgURLs persist across a restart.
	if err := f.replace(t, "DownloadAndUpdate/PkgURL", chr("https://fw.example/x.raucb")); err != nil {
		t.Fatal(err)
	}
	f2 := newFixture(t, nil, f.dir, "boot-1", nil)
	if got := f2.get(t, "DownloadAndUpdate/PkgURL"); got != "https://fw.example/x.raucb" {
		t.Errorf("PkgURL after restart: got %q", got)
	}
}

func TestNewRefusesInsecureTLS(t *testing.T) {
	_, err := New(nil, Config{Dir: t.TempDir(), Report: (&alerts{}).report, TLS: &tlsConfigInsecure})
	if err == nil {
		t.Error("New accepted InsecureSkipVerify")
	}
	if _, err := New(nil, Config{Dir: t.TempDir()}); err == nil {
		t.Error("New accepted a nil Report")
	}
}

func TestInstallResult(t *testing.T) {
	tests := []struct {
		last string
		want Result
	}{
		{"signature verification failed: Verify error: self-signed certificate", ResultValidation},
		{"signature verification failed: error:1700009E:CMS routines::verification failure", ResultValidation},
		{"Invalid bundle format: Signature size (16967702637115834038) exceeds bundle size", ResultCorrupted},
		{"Installation error: Compatible mismatch: Expected 'a' but bundle manifest has 'b'", ResultMismatch},
		{"Failed mounting bundle: Failed to open /dev/mapper/control: No such file or directory", ResultCorrupted},
		{"Installation error: Failed updating slot rootfs.1: No space left on device", ResultUpdateNoMemory},
		{"something else", ResultUpdateFailed},
	}
	for _, tc := range tests {
		if got := installResult(tc.last); got != tc.want {
			t.Errorf("installResult(%q): got %d, want %d", tc.last, got, tc.want)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 5-9/*", 5, 0, true},
		{"bytes 100-199/150", 0, 0, false},
		{"bytes 9-5/20", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"bytes -1-5/9", 0, 0, false},
		{"bytes 1-2", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range tests {
		s, tot, ok := parseContentRange(tc.in)
		if s != tc.start || tot != tc.total || ok != tc.ok {
			t.Errorf("parseContentRange(%q): got %d %d %v, want %d %d %v", tc.in, s, tot, ok, tc.start, tc.total, tc.ok)
		}
	}
}

// TestConformance runs the tree's provider conformance suite.
func TestConformance(t *testing.T) {
	treetest.Run(t, treetest.Config{
		Prefix: DefaultRoot,
		New: func(t *testing.T) tree.Provider {
			return newFixture(t, nil, t.TempDir(), "boot-1", nil).p
		},
		Replace: []treetest.Case{
			{URI: "./FUMO/1/Download/PkgURL", Value: chr("https://fw.example/a.raucb")},
			{URI: "./FUMO/1/DownloadAndUpdate/PkgURL", Value: chr("https://fw.example/b.raucb")},
		},
		// State and Ext/Progress are int: the suite replaces with chr, which the
		// DDF format check refuses (415) first; TestTree checks them for 405.
		ReadOnly: []tree.URI{"./FUMO/1/PkgName", "./FUMO/1/PkgVersion", "./FUMO/1/Ext/Message", "./FUMO/1/Ext/SlotGood", "./FUMO/1/Ext/RebootAt"},
	})
}

// TestDownloadStalled: a server that stops sending mid-body (connection
// open, no bytes) is cut after IdleTimeout and the download resumes.
func TestDownloadStalled(t *testing.T) {
	srv := newPkgServer(t)
	body := payload(1 << 20)
	url := srv.add("fw.raucb", body)
	cut := 300000
	srv.cutAt, srv.block = cut, make(chan struct{})
	defer close(srv.block)
	f := newFixture(t, nil, t.TempDir(), "boot-1", func(c *Config) {
		c.TLS = tlsFor(srv)
		c.IdleTimeout = 200 * time.Millisecond
	})
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", "s"))
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "s", "200")
	if got := srv.seen(); len(got) != 2 || got[1] != fmt.Sprintf("bytes=%d-", cut) {
		t.Errorf("Range headers: got %q, want a resume from %d", got, cut)
	}
	if !bytes.Equal(readFile(t, filepath.Join(f.dir, PackageFile)), body) {
		t.Error("file differs from the served one")
	}
}
