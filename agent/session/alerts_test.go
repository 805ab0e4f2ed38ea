package session

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

const testServer2 = "srv2"

// addSecondAccount adds ./DMAcc/s2 (ServerID srv2) pointing at url.
func (f *fixture) addSecondAccount(t *testing.T, url string) {
	t.Helper()
	for u, v := range map[string]string{
		"./DMAcc/s2/AppID": "w7", "./DMAcc/s2/ServerID": testServer2, "./DMAcc/s2/Name": "Second",
		"./DMAcc/s2/AppAddr/1/Addr": url, "./DMAcc/s2/AppAddr/1/AddrType": "URI",
	} {
		if err := f.t.Add(bg, tree.LocalPrincipal, u, tree.Value{Data: []byte(v)}); err != nil {
			t.Fatalf("add %s: %v", u, err)
		}
	}
}

// genericAlertsIn returns the Generic Alerts (1226) of m by Correlator
// (or Source when there is none).
func genericAlertsIn(m *syncml.Message) []string {
	var out []string
	for _, c := range m.Body {
		if c.Kind == "Alert" && c.Data == "1226" {
			k := c.Correlator
			if k == "" && len(c.Items) == 1 && c.Items[0].Source != nil {
				k = c.Items[0].Source.LocURI
			}
			out = append(out, k)
		}
	}
	return out
}

// ackAlerts answers req, giving code to every Generic Alert.
func ackAlerts(n int, req *syncml.Message, code string) *syncml.Message {
	m := answer(n, req, 212, true)
	for _, c := range m.Body {
		for _, a := range req.Body {
			if a.Kind == "Alert" && a.Data == "1226" && c.CmdRef == a.CmdID {
				c.Data = code
			}
		}
	}
	return m
}

// TestGenericAlertsPerServer: two accounts. srv1's Exec is answered 202;
// the provider's later alert is attributed to srv1 (Exec record), another
// raised outside a session to srv2 (Exec ACL). A session with srv2 sends
// only srv2's alert and its 200 removes only that one; srv1's alert stays
// through srv1's 500 and goes with srv1's 202.
func TestGenericAlertsPerServer(t *testing.T) {
	var seen [][]string
	record := func(req *syncml.Message) { seen = append(seen, genericAlertsIn(req)) }
	srv := newDMServer(t,
		// Session 1, srv1: Exec ./Mem/X (the provider answers 202).
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			record(req)
			ex := cmd("Exec", "./Mem/X", "go")
			ex.Correlator = "corr-A"
			return reply{msg: answer(n, req, 212, false, ex)}
		},
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			var st *syncml.Command
			for _, c := range req.Body {
				if c.Kind == "Status" && c.Cmd == "Exec" {
					st = c
				}
			}
			if st == nil || st.Data != "202" {
				t.Errorf("Exec status: got %+v, want 202", st)
			}
			return reply{msg: answer(n, req, 212, true)}
		},
		// Session 2, srv2: acknowledges its alerts with 200.
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			record(req)
			return reply{msg: ackAlerts(n, req, "200")}
		},
		// Session 3, srv1: refuses with 500.
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			record(req)
			return reply{msg: ackAlerts(n, req, "500")}
		},
		// Session 4, srv1: accepts with 202.
		func(n int, req *syncml.Message, r *http.Request, body []byte) reply {
			record(req)
			return reply{msg: ackAlerts(n, req, "202")}
		},
	)
	f := newFixture(t, srv.URL, acct{})
	f.addSecondAccount(t, srv.URL)
	f.mem.ExecErr = tree.ErrAsync
	// Only srv2 may Exec ./Vendor/B.
	if err := f.t.Replace(bg, tree.LocalPrincipal, "./Vendor/B?prop=ACL", tree.Value{Data: []byte("Get=*&Exec=" + testServer2)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ob, err := outbox.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	eng := f.engine(t, srv, func(c *Config) { c.Outbox = ob })
	if _, err := eng.Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatal(err)
	}

	// The provider reports; "a reboot" in between: a fresh Outbox value.
	ob2, _ := outbox.Open(dir)
	eng = f.engine(t, srv, func(c *Config) { c.Outbox = ob2 })
	tests := []struct {
		name string
		a    tree.Alert
		want []string
	}{
		{"result of srv1's Exec", tree.Alert{Type: "urn:x:done", Source: "./Mem/X", Correlator: "corr-A", Data: []byte("200")}, []string{testServer}},
		{"raised outside a session, Exec ACL", tree.Alert{Type: "urn:x:event", Source: "./Vendor/B", Data: []byte("1")}, []string{testServer2}},
	}
	for _, tt := range tests {
		got, err := eng.ReportAlert(bg, tt.a)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Fatalf("%s: ReportAlert got %v %v, want %v", tt.name, got, err, tt.want)
		}
	}

	sum, err := eng.Run(bg, Trigger{ServerID: testServer2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.AlertsSent != 1 || sum.AlertsAcked != 1 {
		t.Errorf("srv2 session: sent %d acked %d, want 1 1", sum.AlertsSent, sum.AlertsAcked)
	}
	if p, _ := ob2.PendingFor(testServer); len(p) != 1 {
		t.Errorf("srv1's alert after srv2's session: %d pending, want 1", len(p))
	}
	if p, _ := ob2.PendingFor(testServer2); len(p) != 0 {
		t.Errorf("srv2's alert after its 200: %d pending, want 0", len(p))
	}
	if _, err := eng.Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatal(err)
	}
	if p, _ := ob2.PendingFor(testServer); len(p) != 1 {
		t.Errorf("srv1's alert after its 500: %d pending, want 1", len(p))
	}
	if _, err := eng.Run(bg, Trigger{ServerID: testServer}); err != nil {
		t.Fatal(err)
	}
	if p, _ := ob2.Pending(); len(p) != 0 {
		t.Errorf("after srv1's 202: %d pending, want 0", len(p))
	}
	want := [][]string{nil, {"./Vendor/B"}, {"corr-A"}, {"corr-A"}}
	if len(seen) != len(want) {
		t.Fatalf("got Package 1 alerts %q, want %q", seen, want)
	}
	for i := range want {
		if !slices.Equal(seen[i], want[i]) {
			t.Errorf("session %d: Package 1 alerts %q, want %q", i+1, seen[i], want[i])
		}
	}
}

// TestAlertOwnersFallback covers the attribution of alerts no Exec record
// explains, and of schema-1 outbox entries.
func TestAlertOwnersFallback(t *testing.T) {
	f := newFixture(t, "https://dm.invalid/", acct{})
	dir := t.TempDir()
	ob, _ := outbox.Open(dir)
	eng := f.engine(t, newDMServer(t), func(c *Config) { c.Outbox = ob })
	if err := f.t.Replace(bg, tree.LocalPrincipal, "./Vendor/B?prop=ACL", tree.Value{Data: []byte("Get=*&Exec=nobody")}); err != nil {
		t.Fatal(err)
	}
	check := func(name string, a tree.Alert, want []string, why string) {
		t.Helper()
		got, gotWhy, err := eng.AlertOwners(bg, a)
		if err != nil || !slices.Equal(got, want) || gotWhy != why {
			t.Errorf("%s: got %v %q %v, want %v %q", name, got, gotWhy, err, want, why)
		}
	}
	check("one account, no Exec rights", tree.Alert{Source: "./Vendor/B"}, []string{testServer}, ByOnly)
	check("one account, inherited Exec=*", tree.Alert{Source: "./Vendor/A"}, []string{testServer}, ByACL)
	f.addSecondAccount(t, "https://dm2.invalid/")
	check("two accounts, Exec=* on the node", tree.Alert{Source: "./Vendor/A"}, []string{testServer, testServer2}, ByACL)
	check("two accounts, missing node below Exec=*", tree.Alert{Source: "./Vendor/A/Gone/Deep"}, []string{testServer, testServer2}, ByACL)
	check("two accounts, nobody has rights", tree.Alert{Source: "./Vendor/B"}, []string{testServer, testServer2}, ByAll)
	check("two accounts, no source", tree.Alert{Type: "t"}, []string{testServer, testServer2}, ByAll)
	if err := ob.Expect(testServer2, "./Vendor/B", ""); err != nil {
		t.Fatal(err)
	}
	check("Exec record", tree.Alert{Source: "./Vendor/B"}, []string{testServer2}, ByExec)
	if err := ob.Expect("deleted-server", "./Vendor/A", ""); err != nil {
		t.Fatal(err)
	}
	check("Exec record of a removed account", tree.Alert{Source: "./Vendor/A"}, []string{testServer, testServer2}, ByACL)

	// A schema-1 entry (no server) is attributed by the same rules.
	id := "0000000000000001-00000001-00000000"
	v1 := `{"v":1,"id":"` + id + `","added":"2025-01-02T03:04:05Z","type":"urn:x","source":"./Vendor/B"}`
	if err := os.WriteFile(filepath.Join(dir, id+".alert"), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := eng.AdoptUnattributed(bg); err != nil {
		t.Fatal(err)
	}
	p, _ := ob.Pending()
	if len(p) != 1 || p[0].ServerID != testServer2 {
		t.Errorf("after AdoptUnattributed: got %+v, want one entry for srv2", p)
	}
}
