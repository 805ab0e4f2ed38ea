package dmacc

import "github.com/omadm-agent/omadm-agent/tree"

// Access sets used in the DMAcc DDF. StdObj gives *minimum* access types
// (Get); servers also need Add, Replace and Delete to maintain their own
// accounts (credential rotation, nonces), which the ACLs then restrict.
const (
	accNode   = tree.AccessAdd | tree.AccessDelete | tree.AccessGet | tree.AccessReplace
	accLeaf   = tree.AccessAdd | tree.AccessDelete | tree.AccessGet | tree.AccessReplace | tree.AccessCopy
	accSecret = tree.AccessAdd | tree.AccessDelete | tree.AccessReplace // "No Get"
)

// Descs returns the DDF of ./DMAcc for DM 1.2 (OMA-TS-DM_StdObj-V1_2 §7.1.3.1,
// protocol.md §6.3). AAuthSecret and AAuthData have no Get and are Secret;
// AAuthData is bin. ./DMAcc/<x>/Ext/Origin records where the account came
// from (see package doc) and can only be read by servers; Ext itself cannot
// be deleted by a server (so the origin cannot be dropped on its own).
func Descs() []tree.Desc {
	chr := func(path, occ, desc string) tree.Desc {
		return tree.Desc{Path: path, Access: accLeaf, Format: tree.FormatChr, Type: tree.TypeText, Occurrence: occ, Scope: tree.ScopeDynamic, Description: desc}
	}
	node := func(path, occ, desc string) tree.Desc {
		return tree.Desc{Path: path, Access: accNode, Format: tree.FormatNode, Occurrence: occ, Scope: tree.ScopeDynamic, Description: desc}
	}
	x := string(Root) + "/*"
	return []tree.Desc{
		{Path: string(Root), Access: tree.AccessGet | tree.AccessAdd, Format: tree.FormatNode, Occurrence: "One", Scope: tree.ScopePermanent, Description: "DM server accounts"},
		{Path: x, Access: accNode, Format: tree.FormatNode, Type: MOType, Occurrence: "OneOrMore", Scope: tree.ScopeDynamic, Description: "one DM server account"},
		chr(x+"/AppID", "One", "application ID, w7"),
		chr(x+"/ServerID", "One", "server identifier"),
		chr(x+"/Name", "ZeroOrOne", "display name"),
		chr(x+"/PrefConRef", "ZeroOrOne", "preferred connectivity reference"),
		node(x+"/ToConRef", "ZeroOrOne", "connectivity references"),
		node(x+"/ToConRef/*", "OneOrMore", "one connectivity reference"),
		chr(x+"/ToConRef/*/ConRef", "One", "connectivity reference"),
		node(x+"/AppAddr", "One", "server addresses"),
		node(x+"/AppAddr/*", "OneOrMore", "one server address"),
		chr(x+"/AppAddr/*/Addr", "One", "server address (URL)"),
		{Path: x + "/AppAddr/*/AddrType", Access: accLeaf, Format: tree.FormatChr, Type: tree.TypeText, Occurrence: "One", Scope: tree.ScopeDynamic, Description: "URI, IPv4 or IPv6", Default: "URI"},
		node(x+"/AppAddr/*/Port", "ZeroOrOne", "ports"),
		node(x+"/AppAddr/*/Port/*", "OneOrMore", "one port"),
		chr(x+"/AppAddr/*/Port/*/PortNbr", "One", "port number"),
		chr(x+"/AAuthPref", "ZeroOrOne", "preferred authentication type"),
		node(x+"/AppAuth", "ZeroOrOne", "authentication data"),
		node(x+"/AppAuth/*", "OneOrMore", "one authentication entry"),
		chr(x+"/AppAuth/*/AAuthLevel", "One", "CLCRED, SRVCRED, OBEX or HTTP"),
		chr(x+"/AppAuth/*/AAuthType", "One", "authentication type"),
		chr(x+"/AppAuth/*/AAuthName", "ZeroOrOne", "authentication name"),
		{Path: x + "/AppAuth/*/AAuthSecret", Access: accSecret, Format: tree.FormatChr, Type: tree.TypeText, Occurrence: "ZeroOrOne", Scope: tree.ScopeDynamic, Description: "authentication secret", Secret: true},
		{Path: x + "/AppAuth/*/AAuthData", Access: accSecret, Format: tree.FormatBin, Type: "application/octet-stream", Occurrence: "ZeroOrOne", Scope: tree.ScopeDynamic, Description: "nonce", Secret: true},
		{Path: x + "/Ext", Access: tree.AccessAdd | tree.AccessGet | tree.AccessReplace, Format: tree.FormatNode, Occurrence: "ZeroOrOne", Scope: tree.ScopeDynamic, Description: "vendor extensions"},
		{Path: x + "/Ext/Origin", Access: tree.AccessGet, Format: tree.FormatChr, Type: tree.TypeText, Occurrence: "ZeroOrOne", Scope: tree.ScopeDynamic, Description: "omadm-agent: where the account came from (file, push, smartcard:<ICCID>)"},
	}
}

// Declare registers Descs with t and routes Inbox TNDS Adds of both DMAcc MO
// identifiers to ./DMAcc.
func Declare(t *tree.Tree) error {
	t.RouteInbox(MOType, Root)
	t.RouteInbox(MOTypeW7, Root)
	return t.Declare(Descs()...)
}
