package dmtest

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
)

// BootstrapXML returns a DM-profile bootstrap document (SyncML DM 1.2 XML,
// OMA-TS-DM_Bootstrap-V1_2 §5.2) that gives a device an account for this
// server: one Add of ./DMAcc/<node> with AppID w7, the ServerID, the URL
// (AppAddr/1, AddrType URI), AAuthPref and two AppAuth entries:
//
//   - CLCRED: the client credentials the server accepts (Options.Auth as
//     AAuthType BASIC, DIGEST or HMAC; TRANSPORT when the server requires
//     none), ClientUser, ClientPassword and ClientNonce;
//   - SRVCRED: how the device authenticates the server (the scenario's
//     "server-cred" as BASIC, DIGEST or HMAC; TRANSPORT, i.e. TLS only,
//     when the scenario has none), the ServerID, ServerPassword and
//     ServerNonce, which are also the Package #0 digest inputs.
//
// Then an Add of ./Vendor/omadm and ./FUMO and a Replace of their ACLs
// granting the server Add, Delete, Replace and Exec on ./Vendor/omadm, and
// Replace and Exec on ./FUMO (Get to everyone), so the scenarios that
// manage the vendor objects or run a firmware update work on a freshly
// bootstrapped agent. The document holds secrets: write
// it mode 0600 and never print it.
func (s *Server) BootstrapXML(node, devID string) []byte {
	if node == "" {
		node = "dmtest"
	}
	base := "./DMAcc/" + node
	var items bytes.Buffer
	add := func(uri, format, data string) {
		fmt.Fprintf(&items, "  <Item><Target><LocURI>%s</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">%s</Format></Meta>", xmlText(uri), format)
		if format != "node" {
			fmt.Fprintf(&items, "<Data>%s</Data>", xmlText(data))
		}
		items.WriteString("</Item>\n")
	}
	clType := aauthType(s.opts.Auth)
	add(base, "node", "")
	add(base+"/AppID", "chr", "w7")
	add(base+"/ServerID", "chr", s.opts.ServerID)
	add(base+"/Name", "chr", "omadm-dmserver "+s.sc.Name)
	add(base+"/AppAddr", "node", "")
	add(base+"/AppAddr/1", "node", "")
	add(base+"/AppAddr/1/Addr", "chr", s.url)
	add(base+"/AppAddr/1/AddrType", "chr", "URI")
	if clType != "TRANSPORT" {
		add(base+"/AAuthPref", "chr", clType)
	}
	add(base+"/AppAuth", "node", "")
	for _, c := range []struct {
		name, level, typ, user, secret string
		nonce                          []byte
	}{
		{"1", "CLCRED", clType, s.opts.ClientUser, s.opts.ClientPassword, s.opts.ClientNonce},
		{"2", "SRVCRED", aauthType(s.sc.serverCred), s.opts.ServerID, s.opts.ServerPassword, s.opts.ServerNonce},
	} {
		p := base + "/AppAuth/" + c.name
		add(p, "node", "")
		add(p+"/AAuthLevel", "chr", c.level)
		add(p+"/AAuthType", "chr", c.typ)
		if c.user != "" {
			add(p+"/AAuthName", "chr", c.user)
		}
		if c.secret != "" {
			add(p+"/AAuthSecret", "chr", c.secret)
		}
		if len(c.nonce) > 0 {
			add(p+"/AAuthData", "b64", base64.StdEncoding.EncodeToString(c.nonce))
		}
	}
	var b bytes.Buffer
	b.WriteString(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>0</SessionID><MsgID>0</MsgID>`)
	fmt.Fprintf(&b, "<Target><LocURI>%s</LocURI></Target><Source><LocURI>%s</LocURI></Source></SyncHdr>\n<SyncBody>\n", xmlText(devID), xmlText(s.opts.ServerID))
	fmt.Fprintf(&b, "<Add><CmdID>1</CmdID>\n%s</Add>\n", items.Bytes())
	b.WriteString("<Add><CmdID>2</CmdID>\n")
	for _, u := range []string{"./Vendor", "./Vendor/omadm", "./FUMO"} {
		fmt.Fprintf(&b, "  <Item><Target><LocURI>%s</LocURI></Target><Meta><Format xmlns=\"syncml:metinf\">node</Format></Meta></Item>\n", u)
	}
	b.WriteString("</Add>\n<Replace><CmdID>3</CmdID>\n")
	fmt.Fprintf(&b, "  <Item><Target><LocURI>./Vendor/omadm?prop=ACL</LocURI></Target><Data>%s</Data></Item>\n", xmlText("Get=*&Add="+s.opts.ServerID+"&Delete="+s.opts.ServerID+"&Replace="+s.opts.ServerID+"&Exec="+s.opts.ServerID))
	fmt.Fprintf(&b, "  <Item><Target><LocURI>./FUMO?prop=ACL</LocURI></Target><Data>%s</Data></Item>\n", xmlText("Get=*&Replace="+s.opts.ServerID+"&Exec="+s.opts.ServerID))
	b.WriteString("</Replace>\n<Final/></SyncBody></SyncML>\n")
	return b.Bytes()
}

// aauthType maps a dmtest authentication mode to a DMAcc AAuthType.
func aauthType(mode string) string {
	switch mode {
	case AuthBasic:
		return "BASIC"
	case AuthMD5:
		return "DIGEST"
	case AuthHMAC:
		return "HMAC"
	}
	return "TRANSPORT"
}

func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
