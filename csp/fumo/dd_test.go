package fumo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func ddFiles(t testing.TB) map[string][]byte { return testdataFiles(t, "*.dd") }

// ddDoc writes a descriptor; empty fields are left out.
func ddDoc(objectURI string, size int64, typ, notify, extra string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<media xmlns="` + DDNamespace + `">` + "\n")
	w := func(name, v string) {
		if v != "" {
			b.WriteString("  <" + name + ">")
			xml.EscapeText(&b, []byte(v))
			b.WriteString("</" + name + ">\n")
		}
	}
	w("DDVersion", "1.0")
	w("name", "gateway firmware")
	w("type", typ)
	if size != 0 {
		w("size", fmt.Sprint(size))
	}
	w("objectURI", objectURI)
	w("installNotifyURI", notify)
	b.WriteString(extra)
	b.WriteString("</media>\n")
	return []byte(b.String())
}

// encodeDD is the inverse of ParseDD for the fields it keeps.
func encodeDD(d Descriptor) []byte {
	var b bytes.Buffer
	b.WriteString(`<media xmlns="` + DDNamespace + `">`)
	w := func(name, v string) {
		if v != "" {
			b.WriteString("<" + name + ">")
			xml.EscapeText(&b, []byte(v))
			b.WriteString("</" + name + ">")
		}
	}
	w("objectURI", d.ObjectURI)
	w("size", fmt.Sprint(d.Size))
	for _, t := range d.Types {
		w("type", t)
	}
	w("installNotifyURI", d.InstallNotifyURI)
	w("name", d.Name)
	w("vendor", d.Vendor)
	w("DDVersion", d.DDVersion)
	b.WriteString("</media>")
	return b.Bytes()
}

func TestParseDDFiles(t *testing.T) {
	tests := []struct {
		file   string
		want   Descriptor
		status NotifyStatus // 0: valid
		notify string       // installNotifyURI known on error
	}{
		{file: "dd-minimal.dd", want: Descriptor{ObjectURI: "https://fota.example.com/pkg/gw-2.1.raucb", Size: 4194304, Types: []string{"application/octet-stream"}}},
		{file: "dd-full.dd", want: Descriptor{ObjectURI: "pkg/gw-2.1.raucb?id=26579&t=1", Size: 1048576,
			Types: []string{"application/vnd.rauc.bundle", "application/octet-stream"}, InstallNotifyURI: "/dl/notify?id=26579",
			Name: "Gateway firmware 2.1", Vendor: "Example Networks", DDVersion: "1.0"}},
		{file: "dd-unknown-elements.dd", want: Descriptor{ObjectURI: "https://fota.example.com/pkg/gw.raucb", Size: 65536, Types: []string{"application/octet-stream"}}},
		{file: "dd-bad-no-size.dd", status: StatusInvalidDescriptor, notify: "https://fota.example.com/notify"},
		{file: "dd-bad-version.dd", status: StatusInvalidDDVersion},
	}
	files := ddFiles(t)
	if len(files) != len(tests) {
		t.Errorf("testdata/fumo holds %d descriptors, the table %d", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseDD(files[tt.file])
			if tt.status != 0 {
				var de *DDError
				if !errors.As(err, &de) || de.Status != tt.status || !errors.Is(err, ErrBadDD) {
					t.Fatalf("got %v, want DDError %d", err, tt.status)
				}
				if got.InstallNotifyURI != tt.notify {
					t.Errorf("installNotifyURI on error: got %q, want %q", got.InstallNotifyURI, tt.notify)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseDDStrict(t *testing.T) {
	ok := func(extra string) []byte { return ddDoc("https://h/o", 10, "application/octet-stream", "", extra) }
	tests := []struct {
		name   string
		doc    []byte
		status NotifyStatus
	}{
		{"valid", ok(""), 0},
		{"no namespace", []byte(`<media><objectURI>https://h/o</objectURI><size>1</size><type>a/b</type></media>`), 0},
		{"two objectURI", ok("<objectURI>https://h/p</objectURI>"), StatusInvalidDescriptor},
		{"two size", ok("<size>10</size>"), StatusInvalidDescriptor},
		{"two installNotifyURI", ddDoc("https://h/o", 10, "a/b", "https://n", "<installNotifyURI>https://m</installNotifyURI>"), StatusInvalidDescriptor},
		{"second type", ok("<type>application/x-rauc</type>"), 0},
		{"no objectURI", ddDoc("", 10, "a/b", "", ""), StatusInvalidDescriptor},
		{"no type", ddDoc("https://h/o", 10, "", "", ""), StatusInvalidDescriptor},
		{"size zero", []byte(`<media><objectURI>x</objectURI><size>0</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"size negative", []byte(`<media><objectURI>x</objectURI><size>-5</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"size hex", []byte(`<media><objectURI>x</objectURI><size>0x10</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"size huge", []byte(`<media><objectURI>x</objectURI><size>99999999999999999999</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"bad type", []byte(`<media><objectURI>x</objectURI><size>1</size><type>nonsense</type></media>`), StatusInvalidDescriptor},
		{"wrong root", []byte(`<download><objectURI>x</objectURI><size>1</size><type>a/b</type></download>`), StatusInvalidDescriptor},
		{"wrong namespace", []byte(`<media xmlns="urn:other"><objectURI>x</objectURI><size>1</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"nested in field", []byte(`<media><objectURI><b>x</b></objectURI><size>1</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"doctype", []byte(`<!DOCTYPE media [<!ENTITY e "x">]><media><objectURI>&e;</objectURI><size>1</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"unknown entity", []byte(`<media><objectURI>&e;</objectURI><size>1</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"not closed", []byte(`<media><objectURI>x</objectURI><size>1</size><type>a/b</type>`), StatusInvalidDescriptor},
		{"two roots", []byte(`<media><objectURI>x</objectURI><size>1</size><type>a/b</type></media><media/>`), StatusInvalidDescriptor},
		{"latin1", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><media><objectURI>x</objectURI><size>1</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"too big", ok("<description>" + strings.Repeat("x", MaxDDSize) + "</description>"), StatusInvalidDescriptor},
		{"field too long", ok("<description>" + strings.Repeat("x", maxDDField+1) + "</description>"), StatusInvalidDescriptor},
		{"DDVersion 1.3", []byte(`<media><DDVersion>1.3</DDVersion><objectURI>x</objectURI><size>1</size><type>a/b</type></media>`), 0},
		{"DDVersion garbage", []byte(`<media><DDVersion>one</DDVersion><objectURI>x</objectURI><size>1</size><type>a/b</type></media>`), StatusInvalidDescriptor},
		{"DDVersion 3.1", []byte(`<media><DDVersion>3.1</DDVersion><objectURI>x</objectURI><size>1</size><type>a/b</type></media>`), StatusInvalidDDVersion},
		{"empty", nil, StatusInvalidDescriptor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDD(tt.doc)
			var de *DDError
			switch {
			case tt.status == 0 && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.status != 0 && (!errors.As(err, &de) || de.Status != tt.status):
				t.Errorf("got %v, want DDError %d", err, tt.status)
			}
		})
	}
}

func TestSniffDD(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"declaration", ddFiles(t)["dd-minimal.dd"], true},
		{"bom and media", []byte("\xef\xbb\xbf\n <media xmlns=\"" + DDNamespace + "\">"), true},
		{"bundle", []byte("hsqs\x00\x00<media xmlns=\"" + DDNamespace + "\">"), false},
		{"other xml", []byte(`<?xml version="1.0"?><html/>`), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := sniffDD(tt.head); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNotifyStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want NotifyStatus
	}{
		{dlErr(ResultNotAcceptable, "%w", ddErr(StatusInvalidDDVersion, "x")), StatusInvalidDDVersion},
		{mismatch(ResultCorrupted, "x"), StatusAttributeMismatch},
		{dlErr(ResultDownloadNoMemory, "x"), StatusInsufficientMemory},
		{dlErr(ResultNetwork, "x"), StatusLossOfService},
		{dlErr(ResultTimeout, "x"), StatusLossOfService},
		{dlErr(ResultBadURL, "x"), StatusLoaderError},
		{dlErr(ResultAuthFailure, "x"), StatusLoaderError},
		{&JobError{Op: "verify", Result: ResultCorrupted, Err: errors.New("x")}, StatusNonAcceptable},
		{&JobError{Op: "install", Result: ResultUpdateFailed, Err: errors.New("x")}, StatusDeviceAborted},
		{&JobError{Op: "install", Result: ResultUpdateNoMemory, Err: errors.New("x")}, StatusInsufficientMemory},
	}
	for _, tt := range tests {
		if got := notifyStatusOf(tt.err); got != tt.want {
			t.Errorf("%v: got %v, want %v", tt.err, got, tt.want)
		}
	}
}

// FuzzParseDD: never panics; a valid descriptor has its mandatory
// fields, and parse → encode → parse is stable.
func FuzzParseDD(f *testing.F) {
	for _, b := range ddFiles(f) {
		f.Add(b)
	}
	f.Add(ddDoc("https://h/o", 10, "a/b", "https://n", "<x><y/></x>"))
	f.Add([]byte(`<media><objectURI>x</objectURI><size>1</size><type>a/b</type></media>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDD(b)
		if err != nil {
			var de *DDError
			if !errors.As(err, &de) || !errors.Is(err, ErrBadDD) {
				t.Fatalf("error not a DDError: %v", err)
			}
			return
		}
		if d.ObjectURI == "" || d.Size <= 0 || len(d.Types) == 0 {
			t.Fatalf("valid descriptor without its mandatory fields: %+v", d)
		}
		d2, err := ParseDD(encodeDD(d))
		if err != nil {
			t.Fatalf("re-encoded descriptor: %v\n%s", err, encodeDD(d))
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip: got %+v, want %+v", d2, d)
		}
	})
}

func BenchmarkParseDD(b *testing.B) {
	doc := ddFiles(b)["dd-full.dd"]
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDD(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// ddServer is a pkgServer that also serves descriptors (under /dd/) and
// takes install notifications (POST /notify).
type ddServer struct {
	*pkgServer
	mu       sync.Mutex
	dds      map[string][]byte
	ddType   string   // Content-Type of the descriptors
	ddGets   int      // descriptor requests
	notes    []string // notification bodies
	noteCT   []string
	noteCode int // status answered to notifications (default 200)
	objType  string
}

func newDDServer(t *testing.T) *ddServer {
	s := &ddServer{pkgServer: &pkgServer{files: map[string][]byte{}}, dds: map[string][]byte{}, ddType: DDMediaType}
	s.pkgServer.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.pkgServer.Close)
	return s
}

func (s *ddServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/dd/"):
		doc, ok := s.dds[strings.TrimPrefix(r.URL.Path, "/dd/")]
		s.ddGets++
		ct := s.ddType
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Write(doc)
		return
	case r.URL.Path == "/notify":
		b, _ := io.ReadAll(r.Body)
		s.notes = append(s.notes, r.Method+" "+string(b))
		s.noteCT = append(s.noteCT, r.Header.Get("Content-Type"))
		code := s.noteCode
		s.mu.Unlock()
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
		return
	}
	if s.objType != "" {
		w.Header().Set("Content-Type", s.objType)
	}
	s.mu.Unlock()
	s.pkgServer.serve(w, r)
}

func (s *ddServer) addDD(name string, doc []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dds[name] = doc
	return s.URL + "/dd/" + name
}

func (s *ddServer) notifications() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.notes...), append([]string(nil), s.noteCT...)
}

func ddConfig(s *ddServer, more ...func(*Config)) func(*Config) {
	return func(c *Config) {
		c.TLS = tlsFor(s.pkgServer)
		c.NotifyRetry, c.NotifyTimeout, c.NotifyTries = 20*time.Millisecond, 2*time.Second, 3
		for _, m := range more {
			m(c)
		}
	}
}

func wantNotes(t *testing.T, s *ddServer, want ...string) {
	t.Helper()
	got, cts := s.notifications()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("install notifications: got %q, want %q", got, want)
	}
	for _, ct := range cts {
		if !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("notification Content-Type: got %q, want text/plain", ct)
		}
	}
}

// TestDDDownload: PkgURL answers with a descriptor (by Content-Type); its
// relative objectURI is fetched, the package lands as with a direct URL
// (State 40, 1226 result 200), and installNotifyURI gets "900 Success".
func TestDDDownload(t *testing.T) {
	s := newDDServer(t)
	body := payload(300000)
	s.add("pkg/fw.raucb", body)
	url := s.addDD("fw.dd", ddDoc("../pkg/fw.raucb", int64(len(body)), "application/vnd.rauc.bundle", "/notify", ""))
	f := newFixture(t, nil, t.TempDir(), "boot-1", ddConfig(s))
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", "c-1"))
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "c-1", "200")
	if got := f.get(t, "State"); got != "40" {
		t.Errorf("State: got %s, want 40", got)
	}
	if !bytes.Equal(readFile(t, filepath.Join(f.dir, PackageFile)), body) {
		t.Error("package differs from the served object")
	}
	wantNotes(t, s, "POST 900 Success")
	st := f.p.Status()
	if st.NotifyState != NotifySent || st.NotifyStatus != StatusSuccess || st.NotifyTries != 1 {
		t.Errorf("notify status: got %s %d tries %d, want sent 900 1", st.NotifyState, st.NotifyStatus, st.NotifyTries)
	}
	snap, err := loadState(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if dd := snap.Job.DD; dd == nil || dd.ObjectURI != s.URL+"/pkg/fw.raucb" || dd.InstallNotifyURI != s.URL+"/notify" || dd.Size != int64(len(body)) {
		t.Errorf("persisted descriptor: got %+v", snap.Job.DD)
	}
	if fi, err := os.Stat(filepath.Join(f.dir, StateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: %v %v, want 0600", fi.Mode(), err)
	}
}

// TestDDFailures: descriptor problems fail the download (State 20, 1226
// with the FUMO result) and are notified with the DLOTA status.
func TestDDFailures(t *testing.T) {
	body := payload(200000)
	n := int64(len(body))
	tests := []struct {
		name    string
		doc     func(s *ddServer) []byte
		ddType  string // Content-Type of the descriptor ("" sniffed)
		objType string
		maxSize int64
		result  string
		note    string
		objGets int // requests of the object
	}{
		{name: "size mismatch", doc: func(*ddServer) []byte { return ddDoc("/fw.raucb", n+1, "application/octet-stream", "/notify", "") },
			result: "402", note: "905 Attribute mismatch", objGets: 1},
		{name: "size mismatch sniffed", ddType: "text/plain", doc: func(*ddServer) []byte { return ddDoc("/fw.raucb", n-1, "application/octet-stream", "/notify", "") },
			result: "402", note: "905 Attribute mismatch", objGets: 1},
		{name: "type mismatch", objType: "text/html", doc: func(*ddServer) []byte { return ddDoc("/fw.raucb", n, "application/vnd.rauc.bundle", "/notify", "") },
			result: "405", note: "905 Attribute mismatch", objGets: 1},
		{name: "over MaxSize", maxSize: n / 2, doc: func(*ddServer) []byte { return ddDoc("/fw.raucb", n, "application/octet-stream", "/notify", "") },
			result: "501", note: "901 Insufficient memory", objGets: 0},
		{name: "malformed", doc: func(*ddServer) []byte { return ddDoc("/fw.raucb", 0, "application/octet-stream", "/notify", "") },
			result: "405", note: "906 Invalid descriptor", objGets: 0},
		{name: "not xml", doc: func(*ddServer) []byte { return []byte("<media><objectURI>/fw.raucb</objectURI") },
			result: "405", note: "", objGets: 0},
		{name: "DDVersion 2", doc: func(*ddServer) []byte {
			return bytes.Replace(ddDoc("/fw.raucb", n, "application/octet-stream", "/notify", ""), []byte(">1.0<"), []byte(">2.0<"), 1)
		}, result: "405", note: "951 Invalid DDVersion", objGets: 0},
		{name: "http objectURI", doc: func(*ddServer) []byte {
			return ddDoc("http://example.com/fw.raucb", n, "application/octet-stream", "/notify", "")
		},
			result: "411", note: "906 Invalid descriptor", objGets: 0},
		{name: "object missing", doc: func(*ddServer) []byte { return ddDoc("/nope.raucb", n, "application/octet-stream", "/notify", "") },
			result: "411", note: "954 Loader Error", objGets: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newDDServer(t)
			s.add("fw.raucb", body)
			s.ddType, s.objType = tt.ddType, tt.objType
			if tt.ddType == "" {
				s.ddType = DDMediaType
			}
			url := s.addDD("fw.dd", tt.doc(s))
			f := newFixture(t, nil, t.TempDir(), "boot-1", ddConfig(s, func(c *Config) { c.MaxSize = tt.maxSize }))
			if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
				t.Fatal(err)
			}
			mustAsync(t, f.exec(t, "Download", ""))
			f.wait(t)
			oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "", tt.result)
			if got := f.get(t, "State"); got != "20" {
				t.Errorf("State: got %s, want 20", got)
			}
			if got := len(s.seen()); got != tt.objGets {
				t.Errorf("object requests: got %d (%q), want %d", got, s.seen(), tt.objGets)
			}
			if tt.note == "" {
				wantNotes(t, s)
			} else {
				wantNotes(t, s, "POST "+tt.note)
			}
			if _, err := os.Stat(filepath.Join(f.dir, PackageFile)); !os.IsNotExist(err) {
				t.Errorf("package kept after a failure: %v", err)
			}
		})
	}
}

// TestDDNotifyDown: the notification endpoint fails; it is tried
// NotifyTries times, then given up, and the job still succeeds; a
// restart does not try again.
func TestDDNotifyDown(t *testing.T) {
	s := newDDServer(t)
	s.noteCode = http.StatusServiceUnavailable
	body := payload(100000)
	s.add("fw.raucb", body)
	url := s.addDD("fw.dd", ddDoc("/fw.raucb", int64(len(body)), "application/octet-stream", "/notify", ""))
	dir := t.TempDir()
	f := newFixture(t, nil, dir, "boot-1", ddConfig(s))
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", ""))
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "", "200")
	wantNotes(t, s, "POST 900 Success", "POST 900 Success", "POST 900 Success")
	st := f.p.Status()
	if st.NotifyState != NotifyFailed || st.NotifyTries != 3 || !strings.Contains(st.NotifyError, "503") {
		t.Errorf("notify status: got %s tries %d error %q, want failed 3 (503)", st.NotifyState, st.NotifyTries, st.NotifyError)
	}
	closeNow(t, f)
	f2 := newFixture(t, nil, dir, "boot-1", ddConfig(s))
	f2.p.Resume()
	f2.wait(t)
	if got, _ := s.notifications(); len(got) != 3 {
		t.Errorf("notifications after a restart: got %d, want 3", len(got))
	}
}

// TestDDNotifyRestart: the agent stops while the notification is
// pending; the next Resume sends it.
func TestDDNotifyRestart(t *testing.T) {
	s := newDDServer(t)
	s.noteCode = http.StatusServiceUnavailable
	body := payload(100000)
	s.add("fw.raucb", body)
	url := s.addDD("fw.dd", ddDoc("/fw.raucb", int64(len(body)), "application/octet-stream", "/notify", ""))
	dir := t.TempDir()
	f := newFixture(t, nil, dir, "boot-1", ddConfig(s, func(c *Config) { c.NotifyRetry = time.Hour }))
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", ""))
	eventually(t, "first notification", func() bool { n, _ := s.notifications(); return len(n) == 1 })
	eventually(t, "tries saved", func() bool { return f.p.Status().NotifyTries == 1 })
	closeNow(t, f)
	if n := len(f.al.get()); n != 1 {
		t.Fatalf("alerts: got %d, want 1", n)
	}
	s.mu.Lock()
	s.noteCode = 0
	s.mu.Unlock()
	f2 := newFixture(t, nil, dir, "boot-1", ddConfig(s, func(c *Config) { c.NotifyRetry = 10 * time.Millisecond }))
	f2.p.Resume()
	f2.wait(t)
	wantNotes(t, s, "POST 900 Success", "POST 900 Success")
	if st := f2.p.Status(); st.NotifyState != NotifySent || st.NotifyTries != 2 {
		t.Errorf("notify after restart: got %s tries %d, want sent 2", st.NotifyState, st.NotifyTries)
	}
}

// TestDDResumeAfterRestart: the agent stops mid-object; the next start
// resumes the object (Range) without fetching the descriptor again.
func TestDDResumeAfterRestart(t *testing.T) {
	s := newDDServer(t)
	body := payload(2 << 20)
	s.add("fw.raucb", body)
	cut := 600000
	s.cutAt, s.block = cut, make(chan struct{})
	url := s.addDD("fw.dd", ddDoc("/fw.raucb", int64(len(body)), "application/octet-stream", "/notify", ""))
	dir := t.TempDir()
	f := newFixture(t, nil, dir, "boot-1", ddConfig(s))
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", "c-2"))
	part := filepath.Join(dir, PackageFile+".part")
	eventually(t, "partial object", func() bool { return fileSize(part) == int64(cut) })
	closeNow(t, f)
	close(s.block)
	snap, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Job == nil || snap.Job.DD == nil || snap.Job.DD.Size != int64(len(body)) {
		t.Fatalf("state after stop: job %+v, want its descriptor", snap.Job)
	}
	f2 := newFixture(t, nil, dir, "boot-1", ddConfig(s))
	f2.p.Resume()
	f2.wait(t)
	oneAlert(t, f2.al, TypeDownload, "./FUMO/1/Download", "c-2", "200")
	if got := s.seen(); len(got) != 2 || got[1] != fmt.Sprintf("bytes=%d-", cut) {
		t.Errorf("object Range headers: got %q, want [\"\" \"bytes=%d-\"]", got, cut)
	}
	s.mu.Lock()
	gets := s.ddGets
	s.mu.Unlock()
	if gets != 1 {
		t.Errorf("descriptor requests: got %d, want 1", gets)
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, PackageFile)), body) {
		t.Error("resumed package differs from the served object")
	}
	wantNotes(t, s, "POST 900 Success")
}

// TestDDDownloadAndUpdate: real RAUC; the descriptor is recognised by its
// content (served as text/xml), the bundle installed into slot B, and
// the install notification says 900 once RAUC wrote the slot.
func TestDDDownloadAndUpdate(t *testing.T) {
	e := newRAUC(t)
	s := newDDServer(t)
	s.ddType = "text/xml"
	bundle := readFile(t, art.good)
	s.add("fw.raucb", bundle)
	url := s.addDD("fw.dd", ddDoc("/fw.raucb", int64(len(bundle)), "application/octet-stream", "/notify", ""))
	f := newFixture(t, e.conn, t.TempDir(), "boot-1", ddConfig(s))
	if err := f.replace(t, "DownloadAndUpdate/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "DownloadAndUpdate", "c-3"))
	f.wait(t)
	if st := f.p.Status(); st.Phase != PhaseInstalled || st.State != StateUpdateProgressing {
		t.Fatalf("after install: got phase %q State %d (%s), want installed / 60", st.Phase, st.State, st.Detail)
	}
	if !slotHolds(t, e.slotB, art.image) {
		t.Error("slot B does not hold the bundle's image")
	}
	wantNotes(t, s, "POST 900 Success")
	if n := len(f.al.get()); n != 0 {
		t.Errorf("alerts before the reboot: got %d, want 0", n)
	}
}

// TestDDDownloadAndUpdateRefused: real RAUC refuses the object (a bundle
// for another compatible): 1226 result 403 and notification 953.
func TestDDDownloadAndUpdateRefused(t *testing.T) {
	e := newRAUC(t)
	s := newDDServer(t)
	bundle := readFile(t, art.mismatch)
	s.add("fw.raucb", bundle)
	url := s.addDD("fw.dd", ddDoc("/fw.raucb", int64(len(bundle)), "application/octet-stream", "/notify", ""))
	f := newFixture(t, e.conn, t.TempDir(), "boot-1", ddConfig(s))
	if err := f.replace(t, "DownloadAndUpdate/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "DownloadAndUpdate", ""))
	f.wait(t)
	oneAlert(t, f.al, TypeDownloadAndUpdate, "./FUMO/1/DownloadAndUpdate", "", "403")
	wantNotes(t, s, "POST 953 Non-Acceptable Content")
}

// TestDDNotifyNotHTTPS: an installNotifyURI that is not https is never
// contacted; the job succeeds and Status says why nothing was sent.
func TestDDNotifyNotHTTPS(t *testing.T) {
	s := newDDServer(t)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("plain http notification: %s %s", r.Method, r.URL)
	}))
	defer plain.Close()
	body := payload(50000)
	s.add("fw.raucb", body)
	url := s.addDD("fw.dd", ddDoc("/fw.raucb", int64(len(body)), "application/octet-stream", plain.URL+"/notify", ""))
	f := newFixture(t, nil, t.TempDir(), "boot-1", ddConfig(s))
	if err := f.replace(t, "Download/PkgURL", chr(url)); err != nil {
		t.Fatal(err)
	}
	mustAsync(t, f.exec(t, "Download", ""))
	f.wait(t)
	oneAlert(t, f.al, TypeDownload, "./FUMO/1/Download", "", "200")
	st := f.p.Status()
	if st.NotifyState != NotifyFailed || st.NotifyTries != 0 || !strings.Contains(st.NotifyError, "https only") {
		t.Errorf("notify status: got %s tries %d error %q, want failed 0 (https only)", st.NotifyState, st.NotifyTries, st.NotifyError)
	}
}
