package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func chal(typ string, nonce []byte) *syncml.Chal {
	m := &syncml.Meta{Type: typ, Format: "b64"}
	if nonce != nil {
		m.NextNonce = b64(nonce)
	}
	return &syncml.Chal{Meta: m}
}

func withHdr(m *syncml.Message, code string, c *syncml.Chal) *syncml.Message {
	m.Body[0].Data = code
	m.Body[0].Chal = c
	return m
}

func (f *fixture) nonce(t *testing.T, level string) []byte {
	t.Helper()
	a, err := f.acc.Account(bg, testServer)
	if err != nil {
		t.Fatal(err)
	}
	if level == "CLCRED" {
		return a.Client.Nonce
	}
	return a.Server.Nonce
}

func TestClientAuthMD5Challenge(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			n1, n2 := []byte("nonce-one-16byte"), []byte("nonce-two-16byte")
			steps := []step{
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					if req.Hdr.Cred == nil || req.Hdr.Cred.Meta.Type != auth.MetaTypeMD5 || req.Hdr.Source.LocName != "dev" {
						t.Errorf("pkg1: got Cred %+v LocName %q, want md5 and dev", req.Hdr.Cred, req.Hdr.Source.LocName)
					} else if !auth.VerifyMD5("dev", "pw", []byte("old"), req.Hdr.Cred.Data) {
						t.Errorf("pkg1: md5 cred not made with the stored nonce")
					}
					return reply{msg: withHdr(answer(n, req, 401, true), "401", chal(auth.MetaTypeMD5, n1))}
				},
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					if req.Hdr.MsgID != "2" || len(req.Body) < 3 || req.Body[1].Data != "1201" || req.Body[2].Kind != "Replace" {
						t.Errorf("pkg1 again: MsgID %s body %v", req.Hdr.MsgID, kinds(req.Body))
					}
					if req.Hdr.Cred == nil || !auth.VerifyMD5("dev", "pw", n1, req.Hdr.Cred.Data) {
						t.Errorf("pkg1 again: md5 cred not made with the challenged nonce")
						return reply{msg: withHdr(answer(n, req, 401, true), "401", chal(auth.MetaTypeMD5, n1))}
					}
					if req.Body[0].Kind != "Status" || req.Body[0].Cmd != "SyncHdr" {
						t.Errorf("pkg1 again: no SyncHdr status first")
					}
					return reply{msg: withHdr(answer(n, req, 212, true, cmd("Replace", "./Vendor/A", "authed")), "212", chal(auth.MetaTypeMD5, n2))}
				},
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					if req.Hdr.Cred != nil {
						t.Errorf("Cred sent after 212")
					}
					return done(n, req, r, body)
				},
			}
			srv := newDMServer(t, steps...)
			f := newFixture(t, srv.URL, acct{clType: "DIGEST", clName: "dev", clSecret: "pw", clNonce: []byte("old")})
			sum, err := f.engine(t, srv, func(c *Config) { c.XML = e.xml }).Run(bg, Trigger{ServerID: testServer})
			if err != nil {
				t.Fatal(err)
			}
			if !sum.ClientAuthenticated || sum.RoundTrips != 3 {
				t.Errorf("summary: %+v", sum)
			}
			if v, _ := f.get(t, "./Vendor/A"); v != "authed" {
				t.Errorf("command not executed after auth")
			}
			if got := f.nonce(t, "CLCRED"); !bytes.Equal(got, n2) {
				t.Errorf("CLCRED nonce: got %q, want %q", got, n2)
			}
			if reqs := srv.requests(); reqs[0].Hdr.SessionID != reqs[1].Hdr.SessionID {
				t.Errorf("SessionID changed on re-authentication")
			}
		})
	}
}

func TestClientAuthBasicAndGiveUp(t *testing.T) {
	srv := newDMServer(t, func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		if req.Hdr.Cred == nil || req.Hdr.Cred.Meta.Type != auth.MetaTypeBasic || !auth.VerifyBasic("dev", "pw", req.Hdr.Cred.Data) {
			t.Errorf("pkg1: got Cred %+v, want basic", req.Hdr.Cred)
		}
		return reply{msg: answer(n, req, 212, true)}
	})
	f := newFixture(t, srv.URL, acct{authPref: "BASIC", clType: "DIGEST", clName: "dev", clSecret: "pw"})
	sum, err := f.engine(t, srv, nil).Run(bg, Trigger{ServerID: testServer})
	if err != nil || !sum.ClientAuthenticated || sum.RoundTrips != 1 {
		t.Fatalf("got %v %+v, want a 1-round-trip authenticated session", err, sum)
	}

	// A server that always answers 401: bounded attempts, ErrAuth.
	always := func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
		return reply{msg: withHdr(answer(n, req, 401, true), "401", chal(auth.MetaTypeMD5, []byte("x")))}
	}
	srv2 := newDMServer(t, always, always, always, always, always)
	f2 := newFixture(t, srv2.URL, acct{clType: "DIGEST", clName: "dev", clSecret: "bad"})
	_, err = f2.engine(t, srv2, nil).Run(bg, Trigger{ServerID: testServer})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	if got := len(srv2.requests()); got != 4 {
		t.Errorf("got %d attempts, want 4 (Pkg1 + 3 retries)", got)
	}
}

func TestClientAuthHMAC(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			nonces := [][]byte{[]byte("c0"), []byte("c1"), []byte("c2")}
			check := func(n int, r *http.Request, body []byte) {
				h, err := auth.ParseHMACHeader(r.Header.Get("x-syncml-hmac"))
				if err != nil {
					t.Errorf("message %d: x-syncml-hmac: %v", n, err)
					return
				}
				if err := auth.VerifyHMAC(h, "dev", "pw", nonces[n], body); err != nil {
					t.Errorf("message %d: mac not made with nonce %q: %v", n, nonces[n], err)
				}
			}
			steps := []step{
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					check(n, r, body)
					if req.Hdr.Cred != nil || req.Hdr.Source.LocName != "dev" {
						t.Errorf("HMAC: Cred %v LocName %q", req.Hdr.Cred, req.Hdr.Source.LocName)
					}
					return reply{msg: withHdr(answer(n, req, 200, true, cmd("Get", "./Vendor/A", "")), "200", chal(auth.MetaTypeMAC, nonces[1]))}
				},
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					check(n, r, body)
					return reply{msg: withHdr(answer(n, req, 200, true), "200", chal(auth.MetaTypeMAC, nonces[2]))}
				},
			}
			srv := newDMServer(t, steps...)
			f := newFixture(t, srv.URL, acct{clType: "HMAC", clName: "dev", clSecret: "pw", clNonce: nonces[0]})
			sum, err := f.engine(t, srv, func(c *Config) { c.XML = e.xml }).Run(bg, Trigger{ServerID: testServer})
			if err != nil || !sum.ClientAuthenticated {
				t.Fatalf("got %v %+v", err, sum)
			}
			if got := f.nonce(t, "CLCRED"); !bytes.Equal(got, nonces[2]) {
				t.Errorf("CLCRED nonce: got %q, want %q", got, nonces[2])
			}
		})
	}
}

// TestServerAuth: SRVCRED DIGEST required. The server first sends commands
// without Cred (nothing executed, 407 + Chal, its NextNonce not persisted),
// then with a good md5 Cred using our nonce (212, executed, persisted).
func TestServerAuth(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			var srvNonce []byte
			steps := []step{
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					m := answer(n, req, 212, false, cmd("Replace", "./Vendor/A", "evil"))
					return reply{msg: withHdr(m, "212", chal(auth.MetaTypeMD5, []byte("unauth-nonce")))}
				},
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					hs := req.Body[0]
					if hs.Data != "407" || hs.Chal == nil || hs.Chal.Meta.Type != auth.MetaTypeMD5 || hs.Chal.Meta.NextNonce == "" {
						t.Fatalf("SyncHdr status: got %+v, want 407 + md5 Chal", hs)
					}
					srvNonce, _ = base64.StdEncoding.DecodeString(hs.Chal.Meta.NextNonce)
					if len(srvNonce) < 16 {
						t.Errorf("server nonce of %d bytes, want ≥16", len(srvNonce))
					}
					if got := codesFor(req, "4"); len(got) != 1 || got[0] != "407" {
						t.Errorf("unauthenticated Replace: got %v, want [407]", got)
					}
					m := answer(n, req, 200, true, cmd("Replace", "./Vendor/A", "good"))
					m.Hdr.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeMD5, Format: "b64"}, Data: auth.MD5Digest("srv", "spw", srvNonce)}
					return reply{msg: withHdr(m, "200", chal(auth.MetaTypeMD5, []byte("auth-nonce")))}
				},
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					hs := req.Body[0]
					if hs.Data != "212" {
						t.Errorf("SyncHdr status after good Cred: got %s, want 212", hs.Data)
					}
					return done(n, req, r, body)
				},
			}
			srv := newDMServer(t, steps...)
			f := newFixture(t, srv.URL, acct{srvType: "DIGEST", srvName: "srv", srvSecret: "spw", srvNonce: []byte("s0")})
			sum, err := f.engine(t, srv, func(c *Config) { c.XML = e.xml }).Run(bg, Trigger{ServerID: testServer})
			if err != nil {
				t.Fatal(err)
			}
			if !sum.ServerAuthenticated {
				t.Errorf("server not authenticated")
			}
			if v, _ := f.get(t, "./Vendor/A"); v != "good" {
				t.Errorf("./Vendor/A = %q, want good (evil must never be applied)", v)
			}
			if got := f.nonce(t, "CLCRED"); got != nil {
				t.Errorf("CLCRED nonce persisted without a CLCRED entry: %q", got)
			}
			// The SRVCRED nonce is the fresh one issued after 212, not s0.
			if got := f.nonce(t, "SRVCRED"); bytes.Equal(got, []byte("s0")) || bytes.Equal(got, srvNonce) || len(got) != 16 {
				t.Errorf("SRVCRED nonce not renewed after authentication: %q", got)
			}
		})
	}
}

// TestNonceNotPersistedFromUnauthenticatedServer: with CLCRED and SRVCRED,
// a NextNonce in an unauthenticated message is used but not stored.
func TestNonceNotPersistedFromUnauthenticatedServer(t *testing.T) {
	steps := []step{
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			return reply{msg: withHdr(answer(n, req, 401, true), "401", chal(auth.MetaTypeMD5, []byte("from-unauth")))}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			if !auth.VerifyMD5("dev", "pw", []byte("from-unauth"), req.Hdr.Cred.Data) {
				t.Errorf("the unauthenticated nonce was not used to build the Cred")
			}
			// Still no server Cred: the client challenges; we give up here.
			return reply{msg: answer(n, req, 212, true)}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			return done(n, req, r, body)
		},
	}
	srv := newDMServer(t, steps...)
	f := newFixture(t, srv.URL, acct{clType: "DIGEST", clName: "dev", clSecret: "pw", clNonce: []byte("stored"),
		srvType: "DIGEST", srvName: "srv", srvSecret: "spw"})
	f.engine(t, srv, nil).Run(bg, Trigger{ServerID: testServer})
	if got := f.nonce(t, "CLCRED"); !bytes.Equal(got, []byte("stored")) {
		t.Errorf("CLCRED nonce: got %q, want the stored one kept", got)
	}
}

func TestServerAuthHMAC(t *testing.T) {
	var issued []byte
	steps := []step{
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			m := answer(n, req, 212, true, cmd("Replace", "./Vendor/A", "mac"))
			out, _ := syncml.Encode(m, syncml.XML)
			mac := auth.MAC("srv", "spw", []byte("s0"), out)
			return reply{raw: out, ctype: syncml.ContentTypeXML, hmac: fmt.Sprintf("algorithm=MD5,username=\"srv\",mac=%s", mac)}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			hs := req.Body[0]
			if hs.Data != "200" || hs.Chal == nil || hs.Chal.Meta.Type != auth.MetaTypeMAC {
				t.Errorf("status for an HMAC-authenticated message: got %+v, want 200 + MAC Chal", hs)
			} else {
				issued, _ = base64.StdEncoding.DecodeString(hs.Chal.Meta.NextNonce)
			}
			return reply{msg: answer(n, req, 200, true), hmac: "algorithm=MD5, username=\"srv\", mac=AAAAAAAAAAAAAAAAAAAAAA=="}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			if req.Body[0].Data != "401" {
				t.Errorf("bad mac: got %s, want 401", req.Body[0].Data)
			}
			return done(n, req, r, body)
		},
	}
	srv := newDMServer(t, steps...)
	f := newFixture(t, srv.URL, acct{srvType: "HMAC", srvName: "srv", srvSecret: "spw", srvNonce: []byte("s0")})
	f.engine(t, srv, func(c *Config) { c.XML = true }).Run(bg, Trigger{ServerID: testServer})
	if v, _ := f.get(t, "./Vendor/A"); v != "mac" {
		t.Errorf("HMAC-authenticated Replace not executed")
	}
	if len(issued) != 16 {
		t.Errorf("no fresh nonce issued")
	}
}

// TestServerNonceKeptWhenChalNotDelivered: the server authenticates in its
// only message, which ends the session (Final, no commands). The fresh
// server nonce our reply would have carried is never sent, so the stored
// SRVCRED nonce must stay the one the server knows: its next Package #0 and
// Cred are computed with it.
func TestServerNonceKeptWhenChalNotDelivered(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			steps := []step{
				func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
					m := answer(n, req, 212, true)
					m.Hdr.Cred = &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeMD5, Format: "b64"}, Data: auth.MD5Digest("srv", "spw", []byte("s0"))}
					return reply{msg: m}
				},
			}
			srv := newDMServer(t, steps...)
			f := newFixture(t, srv.URL, acct{srvType: "DIGEST", srvName: "srv", srvSecret: "spw", srvNonce: []byte("s0")})
			sum, err := f.engine(t, srv, func(c *Config) { c.XML = e.xml }).Run(bg, Trigger{ServerID: testServer})
			if err != nil {
				t.Fatal(err)
			}
			if !sum.ServerAuthenticated || sum.RoundTrips != 1 {
				t.Fatalf("server authenticated %v in %d round trips, want true in 1", sum.ServerAuthenticated, sum.RoundTrips)
			}
			if got := f.nonce(t, "SRVCRED"); !bytes.Equal(got, []byte("s0")) {
				t.Errorf("SRVCRED nonce %q after a session that never sent the new one, want s0", got)
			}
		})
	}
}
