package rig

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/dmtest"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
)

// Account is one DM server account as both sides see it: the test server
// (dmtest.Options) and the device (./DMAcc/<Node>, written by a bootstrap
// document).
type Account struct {
	Node     string // ./DMAcc/<Node>
	ServerID string
	Name     string
	URL      string // the server's DM URL; set once the server listens
	// Client credentials (CLCRED): how the agent authenticates to the server.
	ClientAuth     string // AAuthType: BASIC, DIGEST or HMAC
	ClientUser     string
	ClientPassword string
	ClientNonce    []byte
	// Server credentials (SRVCRED): how the server authenticates to the agent,
	// and the secret and nonce of the Package #0 digest.
	ServerAuth     string // AAuthType: BASIC, DIGEST or HMAC
	ServerPassword string
	ServerNonce    []byte
	// DevID is the device id the bootstrap document is addressed to.
	DevID string
	// Grants are interior nodes the bootstrap creates (if missing) with an
	// ACL, e.g. ./Vendor/omadm = "Get=*&Replace=<ServerID>": the operator
	// grants the server the management of the vendor objects.
	Grants []Grant
}

// Grant is an interior node and the ACL the bootstrap gives it.
type Grant struct {
	URI string
	ACL string
}

// DemoAccount returns a fixed, invented account (no real secret): MD5
// digest both ways.
func DemoAccount() Account {
	return Account{
		Node:           "demo",
		ServerID:       "dm.demo.example",
		Name:           "omadm demo server",
		ClientAuth:     "DIGEST",
		ClientUser:     "gw-demo",
		ClientPassword: "demo-client-secret",
		ClientNonce:    []byte("client-nonce-001"),
		ServerAuth:     "DIGEST",
		ServerPassword: "demo-server-secret",
		ServerNonce:    []byte("server-nonce-001"),
		DevID:          "IMEI:" + modemtest.IMEI,
		Grants: []Grant{
			{"./Vendor", ""},
			{"./Vendor/omadm", "Get=*&Replace=dm.demo.example"},
		},
	}
}

// dmtestAuth maps an AAuthType to the dmtest authentication mode.
func dmtestAuth(t string) string {
	switch strings.ToUpper(t) {
	case "BASIC":
		return dmtest.AuthBasic
	case "DIGEST":
		return dmtest.AuthMD5
	case "HMAC":
		return dmtest.AuthHMAC
	}
	return dmtest.AuthNone
}

// ClientAuthMode is the dmtest mode ("md5", ...) matching ClientAuth, for
// the scenario's auth directive.
func (a Account) ClientAuthMode() string { return dmtestAuth(a.ClientAuth) }

// ServerAuthMode is the dmtest mode ("md5", ...) matching ServerAuth, for
// the scenario's server-cred directive.
func (a Account) ServerAuthMode() string { return dmtestAuth(a.ServerAuth) }

// ServerOptions returns the dmtest options of the server side of a: the
// ServerID, both secrets and nonces, and the client authentication it
// requires. base carries the other options (Logger, Timeout...).
func (a Account) ServerOptions(base dmtest.Options) dmtest.Options {
	o := base
	o.ServerID = a.ServerID
	o.ServerPassword = a.ServerPassword
	o.ServerNonce = append([]byte(nil), a.ServerNonce...)
	o.ClientUser = a.ClientUser
	o.ClientPassword = a.ClientPassword
	o.ClientNonce = append([]byte(nil), a.ClientNonce...)
	o.Auth = dmtestAuth(a.ClientAuth)
	return o
}

// BootstrapXML returns a DM-profile bootstrap document (SyncML DM 1.2 XML,
// OMA-TS-DM_Bootstrap-V1_2 §5.2, one Add of the whole ./DMAcc/<Node>
// account: AppID w7, ServerID, Name, AppAddr/1 (URI), AAuthPref and the
// CLCRED and SRVCRED AppAuth entries with b64 nonces), then one Add of the
// Grants nodes and one Replace of their ?prop=ACL. It holds secrets: write
// it 0600 and never print it.
func (a Account) BootstrapXML() []byte {
	var items bytes.Buffer
	base := "./DMAcc/" + a.Node
	node := func(uri string) {
		fmt.Fprintf(&items, "  <Item><Target><LocURI>%s</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">node</Format></Meta></Item>\n", esc(uri))
	}
	leaf := func(uri, val string) {
		fmt.Fprintf(&items, "  <Item><Target><LocURI>%s</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">chr</Format></Meta><Data>%s</Data></Item>\n", esc(uri), esc(val))
	}
	bin := func(uri string, val []byte) {
		fmt.Fprintf(&items, "  <Item><Target><LocURI>%s</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">b64</Format></Meta><Data>%s</Data></Item>\n", esc(uri), base64.StdEncoding.EncodeToString(val))
	}
	node(base)
	leaf(base+"/AppID", "w7")
	leaf(base+"/ServerID", a.ServerID)
	leaf(base+"/Name", a.Name)
	node(base + "/AppAddr")
	node(base + "/AppAddr/1")
	leaf(base+"/AppAddr/1/Addr", a.URL)
	leaf(base+"/AppAddr/1/AddrType", "URI")
	leaf(base+"/AAuthPref", a.ClientAuth)
	node(base + "/AppAuth")
	for _, c := range []struct {
		name, level, typ, user, secret string
		nonce                          []byte
	}{
		{"cl", "CLCRED", a.ClientAuth, a.ClientUser, a.ClientPassword, a.ClientNonce},
		{"srv", "SRVCRED", a.ServerAuth, a.ServerID, a.ServerPassword, a.ServerNonce},
	} {
		p := base + "/AppAuth/" + c.name
		node(p)
		leaf(p+"/AAuthLevel", c.level)
		leaf(p+"/AAuthType", c.typ)
		leaf(p+"/AAuthName", c.user)
		leaf(p+"/AAuthSecret", c.secret)
		bin(p+"/AAuthData", c.nonce)
	}
	var b bytes.Buffer
	b.WriteString(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>0</SessionID><MsgID>0</MsgID>`)
	fmt.Fprintf(&b, "<Target><LocURI>%s</LocURI></Target><Source><LocURI>%s</LocURI></Source></SyncHdr>\n", esc(a.DevID), esc(a.ServerID))
	b.WriteString("<SyncBody><Add><CmdID>1</CmdID>\n")
	b.Write(items.Bytes())
	b.WriteString("</Add>\n")
	if len(a.Grants) > 0 {
		b.WriteString("<Add><CmdID>2</CmdID>\n")
		for _, g := range a.Grants {
			fmt.Fprintf(&b, "  <Item><Target><LocURI>%s</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">node</Format></Meta></Item>\n", esc(g.URI))
		}
		b.WriteString("</Add>\n<Replace><CmdID>3</CmdID>\n")
		for _, g := range a.Grants {
			if g.ACL != "" {
				fmt.Fprintf(&b, "  <Item><Target><LocURI>%s?prop=ACL</LocURI></Target><Data>%s</Data></Item>\n", esc(g.URI), esc(g.ACL))
			}
		}
		b.WriteString("</Replace>\n")
	}
	b.WriteString("<Final/></SyncBody></SyncML>\n")
	return b.Bytes()
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
