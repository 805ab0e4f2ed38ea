package session

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

// TestOutboxSurvivesRestart: an alert is sent in Pkg1 and kept when the
// session fails before the server's Status; sent again after a "restart"
// (new Outbox on the same directory) and removed after a 202.
func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	alert := tree.Alert{Type: "org.openmobilealliance.dm.firmwareupdate.download", Format: "int", Mark: "critical",
		Source: "./FUMO/x/Download", Correlator: "c-7", Data: []byte("200")}

	// Session 1: the server breaks the connection.
	srv1 := newDMServer(t, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		if len(req.Body) != 3 || req.Body[2].Kind != "Alert" || req.Body[2].Data != "1226" {
			t.Errorf("pkg1: got %v, want Alert, Replace, Alert 1226", kinds(req.Body))
		}
		return reply{hijack: true}
	})
	f := newFixture(t, srv1.URL, acct{})
	ob, err := outbox.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.engine(t, srv1, func(c *Config) { c.Outbox = ob }).Run(bg, Trigger{ServerID: testServer, Alerts: []tree.Alert{alert}})
	if err == nil {
		t.Fatal("session 1 succeeded, want a transport error")
	}
	if p, _ := ob.Pending(); len(p) != 1 {
		t.Fatalf("after a failed session: %d pending, want 1", len(p))
	}

	// Session 2 after a restart: sent again, acknowledged with 202.
	srv2 := newDMServer(t, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		a := req.Body[2]
		if a.Kind != "Alert" || a.Data != "1226" || a.Correlator != "c-7" || len(a.Items) != 1 {
			t.Fatalf("pkg1: got %v", kinds(req.Body))
		}
		it := a.Items[0]
		if it.Source.LocURI != "./FUMO/x/Download" || it.Meta.Type != alert.Type || it.Meta.Format != "int" || it.Meta.Mark != "critical" || it.Data.Text != "200" {
			t.Errorf("generic alert item: %+v meta %+v", it, it.Meta)
		}
		m := answer(n, req, 212, true)
		for _, c := range m.Body {
			if c.CmdRef == a.CmdID {
				c.Data = "202"
			}
		}
		return reply{msg: m}
	})
	f.t.Replace(bg, tree.LocalPrincipal, "./DMAcc/s1/AppAddr/1/Addr", tree.Value{Data: []byte(srv2.URL)})
	ob2, _ := outbox.Open(dir)
	sum, err := f.engine(t, srv2, func(c *Config) { c.Outbox = ob2 }).Run(bg, Trigger{ServerID: testServer})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := ob2.Pending(); len(p) != 0 {
		t.Errorf("after 202: %d pending, want 0", len(p))
	}
	if sum.AlertsSent != 1 || sum.AlertsAcked != 1 {
		t.Errorf("summary alerts: sent %d acked %d", sum.AlertsSent, sum.AlertsAcked)
	}
}

func TestOutboxKeptOnErrorStatus(t *testing.T) {
	srv := newDMServer(t, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		m := answer(n, req, 212, true)
		for _, c := range m.Body {
			if c.CmdRef == req.Body[2].CmdID {
				c.Data = "500"
			}
		}
		return reply{msg: m}
	})
	f := newFixture(t, srv.URL, acct{})
	ob, _ := outbox.Open(t.TempDir())
	ob.Add(testServer, tree.Alert{Type: "urn:x", Data: []byte("1")})
	if _, err := f.engine(t, srv, func(c *Config) { c.Outbox = ob }).Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatal(err)
	}
	if p, _ := ob.Pending(); len(p) != 1 {
		t.Errorf("after 500: %d pending, want 1", len(p))
	}
}

func TestServerAbort(t *testing.T) {
	srv := newDMServer(t, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		return reply{msg: answer(n, req, 212, true, cmd("Replace", "./Vendor/A", "x"), &syncml.Command{Kind: "Alert", Data: "1223"})}
	})
	f := newFixture(t, srv.URL, acct{})
	sum, err := f.engine(t, srv, nil).Run(bg, Trigger{ServerID: testServer})
	if !errors.Is(err, ErrServerAbort) || sum.Result != "aborted by server" {
		t.Fatalf("got %v %q, want ErrServerAbort", err, sum.Result)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("got %d requests, want 1 (no reply to 1223)", n)
	}
}

// TestLocalAbortAndDeadline: the session deadline expires while a UI hook
// waits; the client sends 1223 with the collected statuses and Final.
func TestLocalAbortAndDeadline(t *testing.T) {
	var abortMsg atomic.Pointer[syncml.Message]
	steps := []step{
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			ui := &syncml.Command{Kind: "Alert", Data: "1101", Items: []*syncml.Item{{Data: syncml.TextData("MAXDT=60")}, {Data: syncml.TextData("?")}}}
			return reply{msg: answer(n, req, 212, true, cmd("Replace", "./Vendor/A", "x"), ui)}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			abortMsg.Store(req)
			return done(n, req, r, body)
		},
	}
	srv := newDMServer(t, steps...)
	f := newFixture(t, srv.URL, acct{})
	hook := uiFunc(func(ctx contextT, r UIRequest) (UIResponse, error) { <-ctx.Done(); return UIResponse{}, ctx.Err() })
	eng := f.engine(t, srv, func(c *Config) {
		c.Deadline = 300 * time.Millisecond
		c.UI = Headless{Confirm: PolicyAsk, Hook: hook}
	})
	sum, err := eng.Run(bg, Trigger{ServerID: testServer})
	if !errors.Is(err, ErrAborted) || sum.Result != "aborted" {
		t.Fatalf("got %v %q, want ErrAborted", err, sum.Result)
	}
	m := abortMsg.Load()
	if m == nil {
		t.Fatal("no abort message")
	}
	if !m.Final || !isAlertIn(m, "1223") {
		t.Errorf("abort message: Final %v body %v", m.Final, kinds(m.Body))
	}
	if got := codesFor(m, "4"); len(got) != 1 || got[0] != "200" {
		t.Errorf("collected status of the Replace: got %v, want [200]", got)
	}
}

func isAlertIn(m *syncml.Message, code string) bool {
	for _, c := range m.Body {
		if c.Kind == "Alert" && c.Data == code {
			return true
		}
	}
	return false
}

func TestRespURI(t *testing.T) {
	var paths []string
	steps := []step{
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			paths = append(paths, r.URL.RequestURI())
			m := answer(n, req, 212, true, cmd("Get", "./Vendor/A", ""))
			return reply{msg: m}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			paths = append(paths, r.URL.RequestURI())
			return done(n, req, r, body)
		},
	}
	srv := newDMServer(t, steps...)
	// Patch the first answer to carry a RespURI on the same server.
	orig := steps[0]
	srv.steps[0] = func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		rp := orig(n, req, r, body)
		rp.msg.Hdr.RespURI = srv.URL + "/session/42?x=1"
		return rp
	}
	f := newFixture(t, srv.URL+"/dm", acct{})
	if _, err := f.engine(t, srv, nil).Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || paths[0] != "/dm" || paths[1] != "/session/42?x=1" {
		t.Errorf("paths: got %v, want [/dm /session/42?x=1]", paths)
	}
}

// TestFaults: broken servers give a clear error and leave the tree
// consistent (an Atomic in a message that fails later is fully applied or
// not at all; here the reply never arrives).
func TestFaults(t *testing.T) {
	wb, _ := syncml.Encode(&syncml.Message{Hdr: syncml.Header{VerDTD: "1.2", VerProto: "DM/1.2", SessionID: "1", MsgID: "1"}}, syncml.WBXML)
	tests := []struct {
		name string
		rp   reply
		want error
		sub  string
	}{
		{"connection closed", reply{hijack: true}, ErrTransport, "EOF"},
		{"http 500", reply{status: 500, raw: []byte("oops")}, ErrTransport, "HTTP 500"},
		{"garbage", reply{raw: []byte("\x00\x01garbage"), ctype: syncml.ContentTypeWBXML}, ErrProtocol, "undecodable"},
		{"truncated wbxml", reply{raw: wb[:len(wb)/2], ctype: syncml.ContentTypeWBXML}, ErrProtocol, "undecodable"},
		{"wrong content type", reply{raw: []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr/></SyncML>`), ctype: "text/html"}, ErrContentType, "text/html"},
		{"mismatched content type", reply{raw: wb, ctype: syncml.ContentTypeXML}, ErrContentType, "wbxml"},
		{"empty body", reply{raw: []byte{}}, ErrProtocol, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDMServer(t, func(n int, req *syncml.Message, r *http.Request, body []byte) reply { return tt.rp })
			f := newFixture(t, srv.URL, acct{})
			before := snapshot(f)
			sum, err := f.engine(t, srv, nil).Run(bg, Trigger{ServerID: testServer})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.sub) {
				t.Fatalf("got %v, want %v containing %q", err, tt.want, tt.sub)
			}
			if sum.Result != "failed" {
				t.Errorf("result %q, want failed", sum.Result)
			}
			if !bytes.Equal(before, snapshot(f)) {
				t.Errorf("tree changed")
			}
		})
	}
}

func snapshot(f *fixture) []byte {
	var b bytes.Buffer
	r, _ := f.t.Get(bg, tree.LocalPrincipal, "./Vendor?list=StructData")
	for _, it := range r.Items {
		b.WriteString(string(it.URI) + "=" + string(it.Data) + "\n")
	}
	return b.Bytes()
}

// TestAtomicThenBrokenConnection: an Atomic executed, then the reply
// cannot be delivered: the Atomic stays fully applied (never half).
func TestAtomicThenBrokenConnection(t *testing.T) {
	steps := []step{
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			return reply{msg: answer(n, req, 212, true, seq("Atomic", cmd("Replace", "./Vendor/A", "x"), cmd("Replace", "./Nope/Y", "y")))}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply { return reply{hijack: true} },
	}
	srv := newDMServer(t, steps...)
	f := newFixture(t, srv.URL, acct{})
	if _, err := f.engine(t, srv, nil).Run(bg, Trigger{ServerID: testServer}); !errors.Is(err, ErrTransport) {
		t.Fatalf("got %v, want ErrTransport", err)
	}
	if v, _ := f.get(t, "./Vendor/A"); v != "a" {
		t.Errorf("half-applied Atomic: A = %q", v)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	srv := newDMServer(t, done)
	f := newFixture(t, srv.URL, acct{})
	eng := f.engine(t, srv, func(c *Config) {
		c.HTTPClient = nil // system roots: the test CA is not trusted
		c.Transport = Transport{ConnRetryFreq: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	})
	_, err := eng.Run(bg, Trigger{ServerID: testServer})
	if !errors.Is(err, ErrTransport) || IsTransient(err) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("got %v (transient %v), want a fatal certificate error", err, IsTransient(err))
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

func TestTrustedViaCAPEMAndPin(t *testing.T) {
	srv := newDMServer(t, done, done)
	f := newFixture(t, srv.URL, acct{})
	cert := srv.Certificate()
	pem := pemEncode(cert.Raw)
	spki := sha256Hex(cert.RawSubjectPublicKeyInfo)
	eng := f.engine(t, srv, func(c *Config) { c.HTTPClient = nil; c.Transport = Transport{CAPEM: pem, PinSHA256: []string{spki}} })
	if _, err := eng.Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatalf("pinned, trusted: %v", err)
	}
	eng = f.engine(t, srv, func(c *Config) {
		c.HTTPClient = nil
		c.Transport = Transport{CAPEM: pem, PinSHA256: []string{strings.Repeat("00", 32)}, ConnRetryFreq: -1}
	})
	if _, err := eng.Run(bg, Trigger{ServerID: testServer}); err == nil || IsTransient(err) {
		t.Fatalf("wrong pin: got %v, want a fatal error", err)
	}
	// SSL_CERT_FILE is honoured for the system roots.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem, 0o600)
	eng = f.engine(t, srv, func(c *Config) { c.HTTPClient = nil; c.Transport = Transport{CAFile: caFile} })
	if _, err := eng.Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatalf("CA file: %v", err)
	}
}

// TestRetryBackoff: connection failures are retried at 16s and 32s (w7
// defaults), measured on synctest's fake clock, then the session runs.
func TestRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &dmServer{t: t, steps: []step{done}}
		var calls []time.Duration
		start := time.Now()
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			calls = append(calls, time.Since(start))
			if len(calls) < 3 {
				return nil, &netOpErr
			}
			rec := httptest.NewRecorder()
			h.handle(rec, r)
			return rec.Result(), nil
		})
		f := newFixture(t, "https://dm.invalid/dm", acct{})
		e, err := NewEngine(Config{Tree: f.t, Accounts: f.acc, HTTPClient: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := e.Run(context.Background(), Trigger{ServerID: testServer})
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, 16 * time.Second, 48 * time.Second}
		if len(calls) != 3 || calls[1] != want[1] || calls[2] != want[2] {
			t.Errorf("attempts at %v, want %v", calls, want)
		}
		if sum.RoundTrips != 1 {
			t.Errorf("round trips %d, want 1", sum.RoundTrips)
		}
	})
}

func TestRetryGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		rt := rtFunc(func(r *http.Request) (*http.Response, error) { n++; return nil, &netOpErr })
		f := newFixture(t, "https://dm.invalid/dm", acct{})
		e, _ := NewEngine(Config{Tree: f.t, Accounts: f.acc, HTTPClient: &http.Client{Transport: rt},
			Transport: Transport{ConnRetryFreq: 2, InitialBackoff: time.Second, MaxBackoff: time.Second}})
		_, err := e.Run(context.Background(), Trigger{ServerID: testServer})
		if !IsTransient(err) || n != 3 {
			t.Errorf("got %v after %d attempts, want a transient error after 3", err, n)
		}
	})
}
