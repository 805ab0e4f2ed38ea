package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/store"
)

const vectors = "../../testdata/bootstrap"

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTree(t testing.TB) *tree.Tree {
	t.Helper()
	tr := tree.New()
	if err := dmacc.Declare(tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func get(t *testing.T, tr *tree.Tree, uri string) string {
	t.Helper()
	r, err := tr.Get(context.Background(), tree.LocalPrincipal, uri)
	if err != nil {
		t.Errorf("Get %s: %v", uri, err)
		return ""
	}
	return string(r.Items[0].Data)
}

func snapshot(tr *tree.Tree) []byte { return store.Encode(tr.Snapshot()) }

func TestVectors(t *testing.T) {
	tests := []struct {
		file     string
		kind     Kind
		enc      Encoding
		size     int
		node     string
		serverID string
		leaves   map[string]string // URI suffix under node → value
		acc      *dmacc.Account    // expected Store.Account, nil = not usable (no address)
		warn     string
	}{
		{file: "dm-bootstrap.wbxml", kind: KindDM, enc: WBXML, size: 220, node: "./DMAcc/ExampleDM", serverID: "dm.example.com",
			leaves: map[string]string{"/AppID": "w7", "/ServerID": "dm.example.com", "/Ext/Origin": "test", "?prop=ACL": ""},
			warn:   "has no server address"},
		{file: "dm-bootstrap.xml", kind: KindDM, enc: XML, node: "./DMAcc/ExampleDM", serverID: "dm.example.com",
			leaves: map[string]string{"/AppID": "w7", "/ServerID": "dm.example.com"}, warn: "has no server address"},
		{file: "cp-w7.wbxml", kind: KindCP, enc: WBXML, size: 274, node: "./DMAcc/1", serverID: "dm.example.com",
			leaves: map[string]string{
				"?prop=ACL": "Delete=dm.example.com&Get=dm.example.com&Replace=dm.example.com", "?prop=Type": dmacc.MOType,
				"/AppID": "w7", "/Name": "Example DM", "/AppAddr/1/AddrType": "URI", "/AppAuth/1/AAuthLevel": "CLCRED",
				"/AppAuth/2/AAuthLevel": "SRVCRED", "/AppAuth/1/AAuthData?prop=Format": "bin", "/Ext/Origin": "test",
			},
			acc: &dmacc.Account{Node: "./DMAcc/1", ServerID: "dm.example.com", Name: "Example DM", Addr: "https://dm.example.com/dm",
				Client: dmacc.Credential{Node: "./DMAcc/1/AppAuth/1", Type: "DIGEST", Name: "devuser", Secret: "devpass", Nonce: []byte("Nonce")},
				Server: dmacc.Credential{Node: "./DMAcc/1/AppAuth/2", Type: "DIGEST", Name: "dm.example.com", Secret: "srvpass", Nonce: []byte("SrvNonce")}}},
		{file: "cp-w7.xml", kind: KindCP, enc: XML, node: "./DMAcc/1", serverID: "dm.example.com",
			leaves: map[string]string{"/AppAuth/2/AAuthName": "dm.example.com"},
			acc: &dmacc.Account{Node: "./DMAcc/1", ServerID: "dm.example.com", Name: "Example DM", Addr: "https://dm.example.com/dm",
				Client: dmacc.Credential{Node: "./DMAcc/1/AppAuth/1", Type: "DIGEST", Name: "devuser", Secret: "devpass", Nonce: []byte("Nonce")},
				Server: dmacc.Credential{Node: "./DMAcc/1/AppAuth/2", Type: "DIGEST", Name: "dm.example.com", Secret: "srvpass", Nonce: []byte("SrvNonce")}}},
		{file: "dm-inbox-tnds.xml", kind: KindDM, enc: XML, node: "./DMAcc/TndsDM", serverID: "tnds.example.com",
			leaves: map[string]string{"/PrefConRef": "./DMAcc/TndsDM/Ext", "?prop=ACL": "Get=tnds.example.com&Replace=tnds.example.com",
				"?prop=Type": "org.openmobilealliance/1.0/w7"},
			acc: &dmacc.Account{Node: "./DMAcc/TndsDM", ServerID: "tnds.example.com", Name: "TNDS DM", Addr: "http://tnds.example.com:8080/dm", AuthPref: "HMAC",
				Client: dmacc.Credential{Node: "./DMAcc/TndsDM/AppAuth/cl", Type: "HMAC", Name: "gw42", Secret: "clientsecret", Nonce: []byte{0, 1, 2, 3}}}},
		{file: "dm-inbox-tnds.wbxml", kind: KindDM, enc: WBXML, node: "./DMAcc/TndsDM", serverID: "tnds.example.com",
			leaves: map[string]string{"/PrefConRef": "./DMAcc/TndsDM/Ext"},
			acc: &dmacc.Account{Node: "./DMAcc/TndsDM", ServerID: "tnds.example.com", Name: "TNDS DM", Addr: "http://tnds.example.com:8080/dm", AuthPref: "HMAC",
				Client: dmacc.Credential{Node: "./DMAcc/TndsDM/AppAuth/cl", Type: "HMAC", Name: "gw42", Secret: "clientsecret", Nonce: []byte{0, 1, 2, 3}}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ctx := context.Background()
			doc := readVector(t, tc.file)
			if tc.size != 0 && len(doc) != tc.size {
				t.Fatalf("vector is %d bytes, want %d", len(doc), tc.size)
			}
			tr := newTree(t)
			rep, err := Apply(ctx, tr, doc, Options{Origin: "test"})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if rep.Kind != tc.kind || rep.Encoding != tc.enc {
				t.Errorf("got %s/%s, want %s/%s", rep.Kind, rep.Encoding, tc.kind, tc.enc)
			}
			if len(rep.Added) != 1 || rep.Added[0] != tc.serverID || len(rep.Nodes) != 1 || rep.Nodes[0] != tc.node {
				t.Errorf("Added %v Nodes %v, want [%s] [%s]", rep.Added, rep.Nodes, tc.serverID, tc.node)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(rep.Warnings, "|"), tc.warn) {
				t.Errorf("Warnings %q, want one containing %q", rep.Warnings, tc.warn)
			}
			for suffix, want := range tc.leaves {
				if got := get(t, tr, tc.node+suffix); got != want {
					t.Errorf("%s%s: got %q, want %q", tc.node, suffix, got, want)
				}
			}
			acc, err := dmacc.New(tr).Account(ctx, tc.serverID)
			if tc.acc == nil {
				if !errors.Is(err, dmacc.ErrUnknownServer) {
					t.Errorf("Account: got %v, want ErrUnknownServer (no address)", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Account: %v", err)
			}
			if !sameAccount(acc, *tc.acc) {
				t.Errorf("Account:\n got %+v\nwant %+v", acc, *tc.acc)
			}
		})
	}
}

func sameAccount(a, b dmacc.Account) bool {
	same := func(x, y dmacc.Credential) bool {
		return x.Node == y.Node && x.Type == y.Type && x.Name == y.Name && x.Secret == y.Secret && bytes.Equal(x.Nonce, y.Nonce)
	}
	return a.Node == b.Node && a.ServerID == b.ServerID && a.Name == b.Name && a.Addr == b.Addr && a.AuthPref == b.AuthPref &&
		same(a.Client, b.Client) && same(a.Server, b.Server) && (a.HTTP == nil) == (b.HTTP == nil)
}

// cpDoc wraps APPLICATION content in a provisioning document.
func cpDoc(apps ...string) []byte {
	return []byte(`<wap-provisioningdoc version="1.1">` + strings.Join(apps, "") + `</wap-provisioningdoc>`)
}

func w7(pid, extra string) string {
	return `<characteristic type="APPLICATION"><parm name="APPID" value="w7"/><parm name="PROVIDER-ID" value="` + pid + `"/>` +
		`<characteristic type="APPADDR"><parm name="ADDR" value="https://` + pid + `/dm"/></characteristic>` + extra + `</characteristic>`
}

func dmDoc(cmds string) []byte {
	return []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>0</SessionID><MsgID>0</MsgID>` +
		`<Target><LocURI>IMEI:1</LocURI></Target><Source><LocURI>s</LocURI></Source></SyncHdr><SyncBody>` + cmds + `<Final/></SyncBody></SyncML>`)
}

func add(uri, data string) string {
	return `<Add><CmdID>9</CmdID><Item><Target><LocURI>` + uri + `</LocURI></Target><Data>` + data + `</Data></Item></Add>`
}

func TestRefusedLeavesTreeUntouched(t *testing.T) {
	tests := []struct {
		name string
		doc  []byte
		want string // substring of the error
	}{
		{"empty", nil, "not a DM bootstrap"},
		{"garbage", []byte("hello"), "not a DM bootstrap"},
		{"other root", []byte(`<html/>`), "root element <html>"},
		{"bad WBXML", []byte{0x03, 0x0b, 0x6a, 0x00, 0xc5, 0x45}, "bootstrap refused"},
		{"no w7", cpDoc(`<characteristic type="NAPDEF"><parm name="NAME" value="x"/></characteristic>`), "no w7 APPLICATION"},
		{"no PROVIDER-ID", cpDoc(`<characteristic type="APPLICATION"><parm name="APPID" value="w7"/></characteristic>`), "without PROVIDER-ID"},
		{"bad base64", cpDoc(w7("b.example", `<characteristic type="APPAUTH"><parm name="AAUTHLEVEL" value="APPSRV"/><parm name="AAUTHTYPE" value="DIGEST"/><parm name="AAUTHDATA" value="%%%"/></characteristic>`)), "AAUTHDATA is not base64"},
		{"bad level", cpDoc(w7("b.example", `<characteristic type="APPAUTH"><parm name="AAUTHLEVEL" value="ROOT"/></characteristic>`)), `AAUTHLEVEL "ROOT"`},
		{"bad auth type", cpDoc(w7("b.example", `<characteristic type="APPAUTH"><parm name="AAUTHLEVEL" value="APPSRV"/><parm name="AAUTHTYPE" value="MD5"/></characteristic>`)), `AAuthType "MD5"`},
		{"bad URL in second account", cpDoc(w7("b.example", ""), `<characteristic type="APPLICATION"><parm name="APPID" value="w7"/><parm name="PROVIDER-ID" value="c.example"/><characteristic type="APPADDR"><parm name="ADDR" value="mailto:x"/></characteristic></characteristic>`), "not an http or https URL"},
		{"duplicate ServerID", cpDoc(w7("dm.example.com", "")), "already used by ./DMAcc/1"},
		{"PROVIDER-ID with ACL syntax", cpDoc(w7("a&amp;b", "")), "PROVIDER-ID"},
		{"DM AppID w2", dmDoc(add("./DMAcc/z/AppID", "w2") + add("./DMAcc/z/ServerID", "z")), `AppID "w2"`},
		{"DM existing node", dmDoc(add("./DMAcc/z/AppID", "w7") + add("./DMAcc/z/ServerID", "z") + add("./DMAcc/1/Name", "x")), "already exists"},
		{"DM Exec", dmDoc(add("./DMAcc/z/AppID", "w7") + `<Exec><CmdID>2</CmdID><Item><Target><LocURI>./X</LocURI></Target></Item></Exec>`), "Exec is not allowed"},
		{"DM no ServerID", dmDoc(add("./DMAcc/z/AppID", "w7")), "ServerID missing"},
		{"DM Replace breaks existing", dmDoc(`<Replace><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/1/AppAddr/1/Addr</LocURI></Target><Data>nope</Data></Item></Replace>`), "./DMAcc/1"},
		{"DM bad b64", dmDoc(`<Add><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/1/AppAuth/1/X</LocURI></Target><Meta><Format xmlns="syncml:metinf">b64</Format></Meta><Data>***</Data></Item></Add>`), "bad base64"},
		{"DM unknown Inbox MO", dmDoc(`<Add><CmdID>2</CmdID><Item><Target><LocURI>./Inbox</LocURI></Target><Meta><Type xmlns="syncml:metinf">application/vnd.syncml.dmtnds+xml</Type></Meta><Data><MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD><Node><NodeName>q</NodeName><RTProperties><Format><node/></Format><Type><DDFName>x/1.0/y</DDFName></Type></RTProperties></Node></MgmtTree></Data></Item></Add>`), "no Inbox route"},
		{"DM VerProto", bytes.Replace(dmDoc(""), []byte("DM/1.2"), []byte("SYNC/1.1"), 1), "VerProto"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tr := newTree(t)
			if _, err := Apply(ctx, tr, readVector(t, "cp-w7.xml"), Options{}); err != nil {
				t.Fatal(err)
			}
			before := snapshot(tr)
			rep, err := Apply(ctx, tr, tc.doc, Options{})
			if err == nil {
				t.Fatalf("Apply: got nil error (report %+v), want refusal", rep)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if !errors.Is(err, ErrRefused) && !errors.Is(err, ErrUnknownDocument) {
				t.Errorf("error %v wraps neither ErrRefused nor ErrUnknownDocument", err)
			}
			if len(rep.Added) != 0 {
				t.Errorf("refused document reports Added %v", rep.Added)
			}
			if after := snapshot(tr); !bytes.Equal(before, after) {
				t.Errorf("tree changed by a refused document")
			}
		})
	}
}

func TestChangedAndPrincipal(t *testing.T) {
	ctx := context.Background()
	tr := newTree(t)
	if _, err := Apply(ctx, tr, readVector(t, "cp-w7.xml"), Options{}); err != nil {
		t.Fatal(err)
	}
	doc := dmDoc(`<Replace><CmdID>2</CmdID><Item><Target><LocURI>./DMAcc/1/AppAuth/1/AAuthSecret</LocURI></Target><Data>rotated</Data></Item></Replace>`)
	// The server itself may rotate its credential (ACL grants it Replace).
	rep, err := Apply(ctx, tr, doc, Options{Principal: tree.Server("dm.example.com")})
	if err != nil {
		t.Fatalf("Apply as dm.example.com: %v", err)
	}
	if len(rep.Added) != 0 || len(rep.Changed) != 1 || rep.Changed[0] != "dm.example.com" {
		t.Errorf("got Added %v Changed %v, want none and [dm.example.com]", rep.Added, rep.Changed)
	}
	if got := get(t, tr, "./DMAcc/1/AppAuth/1/AAuthSecret"); got != "rotated" {
		t.Errorf("secret: got %q, want rotated", got)
	}
	// Another server may not.
	before := snapshot(tr)
	if _, err := Apply(ctx, tr, doc, Options{Principal: tree.Server("evil")}); tree.StatusCode(err) != tree.StatusPermissionDenied {
		t.Errorf("Apply as evil: got %v, want 425", err)
	}
	if !bytes.Equal(before, snapshot(tr)) {
		t.Errorf("tree changed by a refused document")
	}
}

func TestSecondCPAccountGetsNextName(t *testing.T) {
	ctx := context.Background()
	tr := newTree(t)
	if _, err := Apply(ctx, tr, readVector(t, "cp-w7.wbxml"), Options{}); err != nil {
		t.Fatal(err)
	}
	rep, err := Apply(ctx, tr, cpDoc(w7("b.example", `<parm name="NAME" value="B"/>`), w7("c.example", "")), Options{Origin: "smartcard:8944"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Nodes, ",") != "./DMAcc/2,./DMAcc/3" || strings.Join(rep.Added, ",") != "b.example,c.example" {
		t.Errorf("got %v %v, want ./DMAcc/2,3 for b.example,c.example", rep.Nodes, rep.Added)
	}
	if o, _ := dmacc.New(tr).Origin(ctx, "./DMAcc/3"); o != "smartcard:8944" {
		t.Errorf("origin: got %q, want smartcard:8944", o)
	}
	if o, _ := dmacc.New(tr).Origin(ctx, "./DMAcc/1"); o != "local" {
		t.Errorf("origin of the first: got %q, want local", o)
	}
	accs, err := dmacc.New(tr).Accounts(ctx)
	if err != nil || len(accs) != 3 {
		t.Errorf("Accounts: got %d, %v; want 3", len(accs), err)
	}
}

func TestCPMapping(t *testing.T) {
	ctx := context.Background()
	doc := cpDoc(`<characteristic type="BOOTSTRAP"><parm name="NAME" value="x"/></characteristic>` +
		`<characteristic type="APPLICATION"><parm name="APPID" value="w2"/></characteristic>` +
		`<characteristic type="APPLICATION"><parm name="APPID" value="w7"/><parm name="PROVIDER-ID" value="m.example"/>` +
		`<parm name="TO-NAPID" value="NAP1"/><parm name="TO-NAPID" value="NAP2"/><parm name="INIT"/>` +
		`<characteristic type="APPADDR"><parm name="ADDR" value="10.0.0.1"/><parm name="ADDRTYPE" value="IPV4"/></characteristic>` +
		`<characteristic type="APPADDR"><parm name="ADDR" value="https://m.example/dm"/><characteristic type="PORT"><parm name="PORTNBR" value="8443"/></characteristic></characteristic>` +
		`<characteristic type="APPAUTH"><parm name="AAUTHLEVEL" value="OBEX"/><parm name="AAUTHTYPE" value="BASIC"/></characteristic>` +
		`</characteristic>`)
	tr := newTree(t)
	rep, err := Apply(ctx, tr, doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"./DMAcc/1/ToConRef/1/ConRef": "NAP1", "./DMAcc/1/ToConRef/2/ConRef": "NAP2",
		"./DMAcc/1/AppAddr/1/AddrType": "IPv4", "./DMAcc/1/AppAddr/2/AddrType": "URI",
		"./DMAcc/1/AppAddr/2/Port/1/PortNbr": "8443", "./DMAcc/1/AppAuth/1/AAuthLevel": "OBEX",
	}
	for u, w := range want {
		if got := get(t, tr, u); got != w {
			t.Errorf("%s: got %q, want %q", u, got, w)
		}
	}
	acc, err := dmacc.New(tr).Account(ctx, "m.example")
	if err != nil || acc.Addr != "https://m.example:8443/dm" {
		t.Errorf("Account: got %q, %v; want https://m.example:8443/dm", acc.Addr, err)
	}
	ws := strings.Join(rep.Warnings, "|")
	for _, w := range []string{"characteristic BOOTSTRAP ignored", `APPLICATION "w2" ignored`, "parm INIT ignored"} {
		if !strings.Contains(ws, w) {
			t.Errorf("warnings %q lack %q", ws, w)
		}
	}
}

// pushMAC is the protocol.md §2.4 push vector: NETWPIN, IMSI 234150999999999,
// body = the 220-byte §7.1 WBXML.
const pushMAC = "CCE7A84919C94383788FCCE5E72C6CD791406C2A"

func TestPush(t *testing.T) {
	body := readVector(t, "dm-bootstrap.wbxml")
	tests := []struct {
		name string
		push Push
		ok   bool
	}{
		{"valid", Push{Sec: auth.SecNetwPIN, MAC: pushMAC, IMSI: "234150999999999"}, true},
		{"lower case", Push{Sec: auth.SecNetwPIN, MAC: strings.ToLower(pushMAC), IMSI: "234150999999999"}, true},
		{"wrong IMSI", Push{Sec: auth.SecNetwPIN, MAC: pushMAC, IMSI: "234150999999998"}, false},
		{"no MAC", Push{Sec: auth.SecNetwPIN, IMSI: "234150999999999"}, false},
		{"USERPIN without PIN", Push{Sec: auth.SecUserPIN, MAC: pushMAC}, false},
		{"USERPINMAC", Push{Sec: auth.SecUserPINMAC, MAC: pushMAC, PIN: "1234"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			before := snapshot(tr)
			p := tc.push
			rep, err := Apply(context.Background(), tr, body, Options{Push: &p, Origin: "push"})
			if tc.ok {
				if err != nil || len(rep.Added) != 1 {
					t.Fatalf("got %+v, %v; want one account added", rep, err)
				}
				return
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
			if !bytes.Equal(before, snapshot(tr)) {
				t.Errorf("tree changed by an unauthenticated push")
			}
		})
	}
	// A tampered body fails with the right MAC.
	bad := bytes.Clone(body)
	bad[len(bad)-5] ^= 1
	if err := VerifyPush(context.Background(), auth.SecNetwPIN, pushMAC, bad, "234150999999999", ""); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("tampered body: got %v, want ErrUnauthenticated", err)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		file string
		kind Kind
		enc  Encoding
	}{
		{"dm-bootstrap.wbxml", KindDM, WBXML},
		{"dm-bootstrap.xml", KindDM, XML},
		{"cp-w7.wbxml", KindCP, WBXML},
		{"cp-w7.xml", KindCP, XML},
		{"dm-inbox-tnds.wbxml", KindDM, WBXML},
	}
	for _, tc := range tests {
		k, e, err := Detect(readVector(t, tc.file))
		if err != nil || k != tc.kind || e != tc.enc {
			t.Errorf("%s: got %s %s %v, want %s %s", tc.file, k, e, err, tc.kind, tc.enc)
		}
	}
	// Our own WBXML encoding of the CP XML (WBXML 1.2) is accepted too.
	enc, err := wbxml.FromXML(bytes.NewReader(readVector(t, "cp-w7.xml")))
	if err != nil {
		t.Fatal(err)
	}
	if k, e, err := Detect(enc); err != nil || k != KindCP || e != WBXML {
		t.Errorf("FromXML(cp-w7.xml): got %s %s %v", k, e, err)
	}
}

func TestNestedTransactionRefused(t *testing.T) {
	tr := newTree(t)
	err := tr.Atomic(context.Background(), func(ctx context.Context, _ *tree.Txn) error {
		_, err := Apply(ctx, tr, readVector(t, "cp-w7.xml"), Options{})
		if !errors.Is(err, tree.ErrNestedAtomic) {
			t.Errorf("Apply inside a transaction: got %v, want ErrNestedAtomic", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
