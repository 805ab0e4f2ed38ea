package fumo

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func stateFiles(t testing.TB) map[string][]byte { return testdataFiles(t, "*.json") }

// testdataFiles reads the files of testdata/fumo matching pattern, by
// base name; none is a failure.
func testdataFiles(t testing.TB, pattern string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("../../testdata/fumo", pattern))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no %s files in testdata/fumo (%v)", pattern, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func TestDecodeStateFiles(t *testing.T) {
	for name, b := range stateFiles(t) {
		s, err := DecodeState(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if s.Job == nil || s.Job.Source == "" {
			t.Errorf("%s: got no job", name)
		}
	}
	bad := []string{
		`{"v":2,"state":10}`,
		`{"v":1,"state":15}`,
		`{"v":1,"state":10,"job":{"op":"reboot","phase":"download"}}`,
		`{"v":1,"state":10,"job":{"op":"download","phase":"nap"}}`,
		`{"v":1,"state":10,"job":{"op":"download","phase":"download","size":-1}}`,
		`{"v":1,"state":"10"}`,
		`{"v":1,"state":100,"mark":{"slot":"B","status":"maybe"}}`,
		`{"v":1,"state":100,"mark":{"slot":"","status":"pending"}}`,
		`{"v":1,"state":100,"mark":{"slot":"B","status":"pending","tries":-1}}`,
		`{"v":1,"state":40,"notify":{"uri":"https://n","status":900,"state":"later"}}`,
		`{"v":1,"state":40,"notify":{"uri":"","status":900,"state":"sent"}}`,
		`{"v":1,"state":40,"notify":{"uri":"https://n","status":200,"state":"sent"}}`,
		`{"v":1,"state":30,"job":{"op":"download","phase":"download","dd":{"size":-1,"object_uri":"https://o"}}}`,
		``,
	}
	for _, b := range bad {
		if _, err := DecodeState([]byte(b)); err == nil {
			t.Errorf("DecodeState(%q): no error", b)
		}
	}
}

// FuzzDecodeState: never panics; whatever decodes re-encodes to a file
// that decodes to the same value.
func FuzzDecodeState(f *testing.F) {
	for _, b := range stateFiles(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"state":10}`))
	f.Add([]byte(`{"v":1,"state":100,"job":{"op":"update","phase":"done","source":"./FUMO/1/Update","result":200,"started":"2026-11-22T03:00:00Z"},` +
		`"mark":{"job":"2026-11-22T03:00:00Z","slot":"B","status":"pending","tries":2,"error":"x","type":"t","source":"./FUMO/1/Update","data":"200"}}`))
	f.Add([]byte(`{"v":1,"state":60,"have_data":true,"job":{"op":"downloadandupdate","phase":"installed","source":"./FUMO/1/DownloadAndUpdate",` +
		`"version":"2026.11.1","target_slot":"B","boot_id":"b1","started":"2026-11-23T12:00:00Z","not_before":"2026-11-24T02:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeState(b)
		if err != nil {
			return
		}
		enc, err := encodeState(s)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		s2, err := DecodeState(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip: got %+v, want %+v", s2, s)
		}
	})
}

// FuzzParseContentRange: never panics, and an accepted header describes a
// range inside the total.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 100-199/200", "bytes 5-9/*", "bytes 0-0/1", "bytes 9-5/20", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, total, ok := parseContentRange(s)
		if !ok {
			return
		}
		if start < 0 || (total != 0 && start >= total) || !strings.HasPrefix(s, "bytes ") {
			t.Fatalf("parseContentRange(%q) = %d, %d, true", s, start, total)
		}
	})
}

// BenchmarkCopyBody: the download copy loop, memory to a file.
func BenchmarkCopyBody(b *testing.B) {
	src := payload(8 << 20)
	f, err := os.Create(filepath.Join(b.TempDir(), "out"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		f.Seek(0, io.SeekStart)
		if _, err := copyBody(f, bytes.NewReader(src), 1<<40, func(int64) {}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDownload: one whole download over loopback HTTPS (TLS 1.3,
// httptest certificate) into a file, through fetch.
func BenchmarkDownload(b *testing.B) {
	body := payload(16 << 20)
	srv := newPkgServer(b)
	url := srv.add("fw", body)
	dir := b.TempDir()
	p, err := New(nil, Config{Dir: dir, Report: (&alerts{}).report, TLS: tlsFor(srv)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		os.Remove(filepath.Join(dir, PackageFile+".part"))
		j := &Job{URL: url}
		if err := p.dl.fetch(b.Context(), dir, j, func() error { return nil }, func(int64, int64) {}); err != nil {
			b.Fatal(err)
		}
	}
}
