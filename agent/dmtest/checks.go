package dmtest

import (
	"fmt"
	"strings"
)

// CheckInfo describes a built-in check.
type CheckInfo struct {
	Name     string
	Advisory bool
	Desc     string
}

// builtinChecks lists every built-in check with the rule it enforces.
var builtinChecks = []CheckInfo{
	{"http.method", false, "every request is an HTTP POST (protocol.md §5.8)"},
	{"http.content-type", false, "Content-Type is application/vnd.syncml.dm+wbxml or +xml and matches the body's encoding (RepPro §3.1, §5.8)"},
	{"http.accept", true, "Accept names application/vnd.syncml.dm+wbxml or +xml (§5.8)"},
	{"http.headers", true, "User-Agent, Accept-Charset: utf-8 and Cache-Control: private are sent (§5.8)"},
	{"http.path", false, "each POST goes to the server URI, or to the last RespURI the server gave (§5.8)"},
	{"msg.decode", false, "each client message is a well-formed SyncML DM message in XML or WBXML"},
	{"msg.problems", false, "the client sends no unknown, unused or CmdID-less elements (RepPro §4.1)"},
	{"hdr.verdtd", false, "SyncHdr VerDTD is 1.2"},
	{"hdr.verproto", false, "SyncHdr VerProto is DM/1.2"},
	{"hdr.sessionid", false, "SessionID is present and the same for the whole session; for a server-initiated session it is the Package #0 session id in hex (Notification §6.2.2.10)"},
	{"hdr.msgid", false, "MsgID starts at 1 and increments by 1 per client message in a session (Protocol §2.1)"},
	{"hdr.target", true, "SyncHdr Target/LocURI is the server URI"},
	{"hdr.source", false, "SyncHdr Source/LocURI (the DevId) is present and the same all session long"},
	{"hdr.maxmsgsize", false, "no client message is larger than the MaxMsgSize the server advertised (Protocol §2.2, MetInf)"},
	{"status.synchdr", false, "every client message that answers a server message has a Status for its SyncHdr (CmdRef 0, Cmd SyncHdr, MsgRef = that message's MsgID)"},
	{"status.synchdr-first", true, "the SyncHdr Status is the first command of the message"},
	{"status.msgref", false, "each Status/Results MsgRef names a message the server sent"},
	{"status.cmdref", false, "each Status CmdRef names a command of that message and Cmd names its kind"},
	{"status.complete", false, "every command the server sent (children of Atomic and Sequence included) gets one Status, or one per Item each naming Items no other Status of it named (TargetRef/SourceRef, RepPro Status), with every Item named"},
	{"results.ref", false, "Results answer a Get the server sent (MsgRef/CmdRef) and name the node in Item Source/LocURI"},
	{"results.order", false, "Results come after the Status of their Get (RepPro §4.1)"},
	{"results.for-get", false, "a Get answered 200 also gets its Results"},
	{"final.rules", false, "the client does not close its package with Final while the server's package is unfinished, answers a message without Final with Alert 1222 or Results, and ends its own package: at most 5 messages in a row without Final and without anything new (Protocol §2.1)"},
	{"session.end", false, "the client does not answer a server message that ends the session (only Status and Final, or Alert 1223) (Protocol §2.3, §5.7)"},
	{"session.pkg1", false, "a session starts with MsgID 1 and Alert 1200 (server initiated) or 1201 (client initiated) (Protocol §2.3)"},
	{"cmd.allowed", false, "the client sends only Alert, Status, Results and, in package 1, Replace of ./DevInfo (RepPro figure 4.1.6)"},
	{"auth.cred", false, "the client's Cred (basic/md5) or x-syncml-hmac is valid when the scenario requires authentication (Security §5.1.3)"},
	{"auth.challenge", false, "after a 401/407 challenge the client resends package 1 with the challenged type, the new nonce, the same SessionID and the next MsgID (Protocol §2.4)"},
	{"auth.hmac", false, "once HMAC is in use every client message carries a valid x-syncml-hmac made with the latest NextNonce, username = Source/LocName (Security §5.1.3.3)"},
	{"auth.server-cred", false, "the client answers the server's Cred with a SyncHdr Status 212 or 200"},
	{"largeobject.out", false, "each non-last chunk the server sends gets Status 213, the last chunk its real status (Protocol §2.2)"},
	{"largeobject.in", false, "chunked Results carry Meta Size in the first chunk, come in contiguous messages, and reassemble to that size (Protocol §2.2)"},
	{"scenario.complete", false, "the client went through every round of the scenario"},
	{"scenario.timeout", false, "the scenario finished within its timeout"},
}

// Checks returns the built-in checks, for documentation and --list.
func Checks() []CheckInfo { return append([]CheckInfo(nil), builtinChecks...) }

// agg aggregates the outcomes of one built-in check.
type agg struct {
	name     string
	advisory bool
	pass     int
	fails    []string
	nfail    int
}

const maxFailDetails = 3

func (a *agg) result() Check {
	c := Check{Name: a.name, Advisory: a.advisory, Pass: a.nfail == 0}
	if a.nfail == 0 {
		c.Detail = fmt.Sprintf("%d ok", a.pass)
		return c
	}
	c.Detail = strings.Join(a.fails, "; ")
	if a.nfail > len(a.fails) {
		c.Detail += fmt.Sprintf("; ... (%d failures in all)", a.nfail)
	} else if a.nfail+a.pass > 1 {
		c.Detail += fmt.Sprintf(" (%d of %d failed)", a.nfail, a.nfail+a.pass)
	}
	return c
}

func isAdvisory(name string) bool {
	for _, c := range builtinChecks {
		if c.Name == name {
			return c.Advisory
		}
	}
	return false
}
