package session

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

// BenchmarkSession1000Replace runs whole sessions (Pkg1..Pkg4) whose Pkg2
// holds 1,000 Replace commands on a treetest.Mem provider. The server side
// is pre-encoded bytes behind an in-memory RoundTripper, so the time is the
// agent's: ns/cmd is agent CPU per command; alloc-B/session is everything
// the session allocated (an upper bound of its peak heap); round-trips is
// the number of POSTs of the session.
func BenchmarkSession1000Replace(b *testing.B) {
	for _, e := range encodings {
		b.Run(e.name, func(b *testing.B) { benchSession(b, e.enc, 1000) })
	}
}

func benchSession(b *testing.B, enc syncml.Encoding, n int) {
	f := newFixture(b, "https://dm.example/dm", acct{})
	req := &syncml.Message{Hdr: syncml.Header{SessionID: "1", MsgID: "1", Source: &syncml.Location{LocURI: testDevID}}}
	var cmds []*syncml.Command
	for i := 0; i < n; i++ {
		u := tree.URI(fmt.Sprintf("./Mem/N%d", i))
		f.mem.Set(u, false, "old", "chr", "", allACL)
		cmds = append(cmds, cmd("Replace", string(u), fmt.Sprintf("value-%d", i)))
	}
	pkg2, err := syncml.Encode(answer(0, req, 212, true, cmds...), enc)
	if err != nil {
		b.Fatal(err)
	}
	req.Hdr.MsgID = "2"
	pkg4, _ := syncml.Encode(answer(1, req, 200, true), enc)
	posts := 0
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		io.Copy(io.Discard, r.Body)
		posts++
		body := pkg2
		if posts%2 == 0 {
			body = pkg4
		}
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {enc.ContentType()}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
	})
	eng, err := NewEngine(Config{Tree: f.t, Accounts: f.acc, HTTPClient: &http.Client{Transport: rt}, XML: enc == syncml.XML})
	if err != nil {
		b.Fatal(err)
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b.ReportAllocs()
	b.ResetTimer()
	rts := 0
	for i := 0; i < b.N; i++ {
		sum, err := eng.Run(bg, Trigger{ServerID: testServer, SessionID: "1"})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Statuses[200] < n {
			b.Fatalf("got %d statuses 200, want ≥%d", sum.Statuses[200], n)
		}
		rts = sum.RoundTrips
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/cmd")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N), "alloc-B/session")
	b.ReportMetric(float64(ms1.HeapSys), "heap-sys-B")
	b.ReportMetric(float64(rts), "round-trips")
}
