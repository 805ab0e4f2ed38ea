package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

// TestPlainSession runs Pkg1..Pkg4 with every command and checks statuses,
// Results, the tree, headers and the round-trip count, in XML and WBXML.
func TestPlainSession(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			var f *fixture
			bin := []byte{0, 1, 2, 0xfe, 0xff}
			pkg2 := func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				add := cmd("Add", "./Vendor/New", "hello")
				rep := cmd("Replace", "./Vendor/A", "A2")
				repBin := cmd("Replace", "./Vendor/Bin", "")
				repBin.Kind = "Add"
				repBin.Items[0].Meta = &syncml.Meta{Format: "b64"}
				repBin.Items[0].Data = syncml.TextData(base64.StdEncoding.EncodeToString(bin))
				del := cmd("Delete", "./Vendor/B", "")
				cp := &syncml.Command{Kind: "Copy", Items: []*syncml.Item{{Target: &syncml.Location{LocURI: "./Vendor/C"}, Source: &syncml.Location{LocURI: "./Vendor/A"}}}}
				get := cmd("Get", "./Vendor/A", "")
				getNode := cmd("Get", "./Vendor", "")
				getProp := cmd("Get", "./Vendor/A?prop=Format", "")
				getMissing := cmd("Get", "./Vendor/Nope", "")
				getBin := cmd("Get", "./Vendor/Bin", "")
				getList := cmd("Get", "./Mem?list=Struct", "")
				getTNDS := cmd("Get", "./Mem?list=TNDS+Format+Value", "")
				exec := cmd("Exec", "./Mem/X", "go")
				exec.Correlator = "corr-1"
				secret := cmd("Get", "./DMAcc/s1/AppAuth/1/AAuthSecret", "")
				unknown := &syncml.Command{Kind: "Put", CmdID: "", Problem: syncml.ErrUnsupportedCommand,
					Raw: &syncml.Element{Name: xmlName("Put"), Children: []*syncml.Element{{Name: xmlName("CmdID"), Text: "99"}}}}
				return reply{msg: answer(n, req, 212, true, add, rep, repBin, del, cp, get, getNode, getProp, getMissing, getBin, getList, getTNDS, exec, secret, unknown)}
			}
			pkg4 := func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
				return reply{msg: answer(n, req, 200, true)}
			}
			srv := newDMServer(t, pkg2, pkg4)
			f = newFixture(t, srv.URL+"/dm", acct{})
			eng := f.engine(t, srv, func(c *Config) { c.XML = e.xml; c.UserAgent = "omadm-agent/test" })
			sum, err := eng.Run(bg, Trigger{ServerID: testServer, SessionID: "0"})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if sum.RoundTrips != 2 || sum.MessagesSent != 2 || sum.Result != "ok" {
				t.Errorf("got %d round trips, %d sent, result %q; want 2, 2, ok", sum.RoundTrips, sum.MessagesSent, sum.Result)
			}
			reqs := srv.requests()
			if len(reqs) != 2 {
				t.Fatalf("got %d requests, want 2", len(reqs))
			}
			h := srv.hdrs[0]
			for k, want := range map[string]string{"Content-Type": e.enc.ContentType(), "Accept": e.enc.ContentType(),
				"Accept-Charset": "utf-8", "Accept-Language": "en", "Cache-Control": "private", "User-Agent": "omadm-agent/test"} {
				if got := h.Get(k); got != want {
					t.Errorf("header %s: got %q, want %q", k, got, want)
				}
			}
			if srv.enc != e.enc {
				t.Errorf("got encoding %v, want %v", srv.enc, e.enc)
			}
			// Package 1.
			p1 := reqs[0]
			if p1.Hdr.SessionID != "0" || p1.Hdr.MsgID != "1" || p1.Hdr.VerDTD != "1.2" || p1.Hdr.VerProto != "DM/1.2" ||
				p1.Hdr.Source.LocURI != testDevID || p1.Hdr.Target.LocURI != srv.URL+"/dm" || !p1.Final {
				t.Errorf("pkg1 header: got %+v final %v", p1.Hdr, p1.Final)
			}
			if p1.Hdr.Meta == nil || p1.Hdr.Meta.MaxMsgSize != "16384" || p1.Hdr.Meta.MaxObjSize != "1048576" {
				t.Errorf("pkg1 Meta: got %+v, want MaxMsgSize 16384 MaxObjSize 1048576", p1.Hdr.Meta)
			}
			if p1.Hdr.Cred != nil {
				t.Errorf("pkg1 carries Cred without CLCRED")
			}
			if len(p1.Body) != 2 || p1.Body[0].Kind != "Alert" || p1.Body[0].Data != "1201" || p1.Body[1].Kind != "Replace" {
				t.Fatalf("pkg1 body: got %v", kinds(p1.Body))
			}
			devinfo := map[string]string{}
			for _, it := range p1.Body[1].Items {
				if it.Source == nil || it.Target != nil {
					t.Errorf("DevInfo item without Source or with Target")
					continue
				}
				devinfo[it.Source.LocURI] = it.Data.Text
			}
			want := map[string]string{"./DevInfo/DevId": testDevID, "./DevInfo/Man": "Acme", "./DevInfo/Mod": "GW-1", "./DevInfo/DmV": "1.2", "./DevInfo/Lang": "en-US"}
			for k, v := range want {
				if devinfo[k] != v {
					t.Errorf("DevInfo %s: got %q, want %q", k, devinfo[k], v)
				}
			}
			// Package 3.
			p3 := reqs[1]
			if p3.Hdr.MsgID != "2" || !p3.Final {
				t.Errorf("pkg3: MsgID %s final %v, want 2 true", p3.Hdr.MsgID, p3.Final)
			}
			hs := p3.Body[0]
			if hs.Kind != "Status" || hs.CmdRef != "0" || hs.Cmd != "SyncHdr" || hs.MsgRef != "1" || hs.Data != "200" ||
				len(hs.TargetRefs) != 1 || hs.TargetRefs[0] != testDevID || hs.SourceRefs[0] != "https://dm.example/dm" {
				t.Errorf("SyncHdr status: got %+v", hs)
			}
			// Server commands are numbered after the 3 statuses (hdr, Alert, Replace): CmdIDs 4..18.
			wantCodes := []struct {
				ref, code string
			}{{"4", "200"}, {"5", "200"}, {"6", "200"}, {"7", "200"}, {"8", "200"}, {"9", "200"}, {"10", "200"},
				{"11", "200"}, {"12", "404"}, {"13", "200"}, {"14", "200"}, {"15", "200"}, {"16", "200"}, {"99", "406"}}
			if got := codesFor(p3, "17"); len(got) != 1 || got[0] < "400" || len(findResults(p3, "17")) != 0 {
				t.Errorf("Get of AAuthSecret: got %v, want one 4xx and no Results", got)
			}
			for _, w := range wantCodes {
				got := codesFor(p3, w.ref)
				if len(got) != 1 || got[0] != w.code {
					t.Errorf("status for CmdRef %q: got %v, want [%s]", w.ref, got, w.code)
				}
			}
			// Results come after their Status; none for failed Gets.
			checkResult := func(ref, src, data, format string) {
				t.Helper()
				rs := findResults(p3, ref)
				if len(rs) != 1 || len(rs[0].Items) != 1 {
					t.Errorf("Results for %s: got %d", ref, len(rs))
					return
				}
				it := rs[0].Items[0]
				gotFormat := ""
				if it.Meta != nil {
					gotFormat = it.Meta.Format
				}
				if it.Source.LocURI != src || (data != "*" && it.Data.Text != data) || gotFormat != format {
					t.Errorf("Results for %s: got %s %q format %q, want %s %q %q", ref, it.Source.LocURI, it.Data.Text, gotFormat, src, data, format)
				}
				if indexOf(p3, rs[0]) < indexOf(p3, findStatus(p3, ref)) {
					t.Errorf("Results for %s before its Status", ref)
				}
			}
			checkResult("9", "./Vendor/A", "A2", "")
			checkResult("10", "./Vendor", "*", "node")
			checkResult("11", "./Vendor/A?prop=Format", "chr", "")
			checkResult("13", "./Vendor/Bin", base64.StdEncoding.EncodeToString(bin), "b64")
			if rs := findResults(p3, "12"); len(rs) != 0 {
				t.Errorf("got Results for a failed Get")
			}
			if rs := findResults(p3, "14"); len(rs) < 2 {
				t.Errorf("?list=Struct: got %d Results, want ≥2", len(rs))
			}
			rs := findResults(p3, "15")
			if len(rs) != 1 || !rs[0].Items[0].Data.IsTree() || rs[0].Items[0].Meta == nil {
				t.Errorf("?list=TNDS: got %v", rs)
			} else {
				wantType := tree.TypeTNDSXML
				if e.enc == syncml.WBXML && !bytes.Contains(srv.bodies[1], []byte(tree.TypeTNDSWBXML)) {
					t.Errorf("WBXML session: TNDS not sent as %s", tree.TypeTNDSWBXML)
				}
				if rs[0].Items[0].Meta.Type != wantType || !strings.Contains(string(rs[0].Items[0].Data.Tree), "MgmtTree") {
					t.Errorf("TNDS Results: type %q, want %q; data %s", rs[0].Items[0].Meta.Type, wantType, rs[0].Items[0].Data.Tree)
				}
			}
			for _, c := range p3.Body {
				if c.Kind == "Status" && c.Cmd == "Results" {
					t.Errorf("a Status for Results was sent")
				}
			}
			// The tree.
			for u, want := range map[string]string{"./Vendor/New": "hello", "./Vendor/A": "A2", "./Vendor/C": "A2", "./Vendor/Bin": string(bin)} {
				if got, ok := f.get(t, u); !ok || got != want {
					t.Errorf("tree %s: got %q, want %q", u, got, want)
				}
			}
			if _, ok := f.get(t, "./Vendor/B"); ok {
				t.Errorf("./Vendor/B still exists after Delete")
			}
			if r, _ := f.t.Get(bg, tree.LocalPrincipal, "./Vendor/Bin?prop=Format"); len(r.Items) != 1 || string(r.Items[0].Data) != "bin" {
				t.Errorf("b64 data not stored as bin: %v", r.Items)
			}
			if len(f.mem.Execs) != 1 || f.mem.Execs[0].Correlator != "corr-1" || string(f.mem.Execs[0].Data) != "go" {
				t.Errorf("Exec calls: got %+v", f.mem.Execs)
			}
			if sum.Statuses[200] < 12 || sum.Statuses[404] != 2 || sum.Commands != 15 {
				t.Errorf("summary: %+v", sum)
			}
		})
	}
}

func xmlName(local string) xmlNameT { return xmlNameT{Space: syncml.NSSyncML12, Local: local} }

func kinds(cs []*syncml.Command) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind+":"+c.Data)
	}
	return out
}

func indexOf(m *syncml.Message, c *syncml.Command) int {
	for i, x := range m.Body {
		if x == c {
			return i
		}
	}
	return -1
}

func TestErrorsIs(t *testing.T) {
	if !errors.Is(ErrServerAbort, ErrAborted) {
		t.Error("ErrServerAbort is not ErrAborted")
	}
}
