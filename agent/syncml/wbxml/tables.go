package wbxml

import (
	"encoding/xml"
	"strings"
	"sync"
)

// Namespaces of the code pages this package knows.
const (
	NSSyncML12 = "SYNCML:SYNCML1.2"
	NSSyncML11 = "SYNCML:SYNCML1.1"
	NSSyncML10 = "SYNCML:SYNCML1.0"
	NSMetInf   = "syncml:metinf"
	NSDMDDF12  = "syncml:dmddf1.2"
)

// Public identifiers (numeric form, WBXML §5.6 and the OMA registry).
const (
	PublicIDUnknown  = 0x01
	PublicIDProv10   = 0x0B
	PublicIDSyncML10 = 0x0FD1
	PublicIDSyncML11 = 0x0FD3
	PublicIDSyncML12 = 0x1201
)

// Tag tables. Each string lists the tag names of one code page in token order,
// starting at token 0x05; "-" marks a reserved token. This is the declarative
// source of the tables: the lookup arrays are built from it at init.

// SyncML representation, code page 0 (OMA SyncML RepPro, WBXML code pages).
// SyncML 1.0 and 1.1 use the same tokens (1.0 stops at NumberOfChanges).
const syncMLPage0 = `Add Alert Archive Atomic Chal Cmd CmdID CmdRef Copy Cred Data Delete Exec
	Final Get Item Lang LocName LocURI Map MapItem Meta MsgID MsgRef NoResp NoResults Put Replace
	RespURI Results Search Sequence SessionID SftDel Source SourceRef Status Sync SyncBody SyncHdr
	SyncML Target TargetRef - VerDTD VerProto NumberOfChanges MoreData Field Filter Record
	FilterType SourceParent TargetParent Move Correlator`

// SyncML MetInf, code page 1.
const metInfPage1 = `Anchor EMI Format FreeID FreeMem Last Mark MaxMsgSize Mem MetInf Next
	NextNonce SharedMem Size Type Version MaxObjSize FieldLevel`

// OMA DM DDF 1.2 (TNDS), code page 2.
const dmDDFPage2 = `AccessType ACL Add b64 bin bool chr CaseSense CIS Copy CS date DDFName
	DefaultValue Delete Description DFFormat DFProperties DFTitle DFType Dynamic Exec float Format
	Get int Man MgmtTree MIME Mod Name Node node NodeName null Occurrence One OneOrMore OneOrN Path
	Permanent Replace RTProperties Scope Size time Title TStamp Type Value VerDTD VerNo xml
	ZeroOrMore ZeroOrN ZeroOrOne`

// WAP provisioning document 1.0 (OMA CP ProvCont), tags: the same on pages 0 and 1
// except the root, which exists on page 0 only.
const provPage0 = `wap-provisioningdoc characteristic parm`
const provPage1 = `- characteristic parm`

// Attribute start tokens of the provisioning document. Each line is
// "page token name[=value-prefix]". A token whose prefix is empty starts an
// attribute whose value follows in full.
const provAttrStarts = `
0 05 name
0 06 value
0 07 name=NAME
0 08 name=NAP-ADDRESS
0 09 name=NAP-ADDRTYPE
0 0A name=CALLTYPE
0 0B name=VALIDUNTIL
0 0C name=AUTHTYPE
0 0D name=AUTHNAME
0 0E name=AUTHSECRET
0 0F name=LINGER
0 10 name=BEARER
0 11 name=NAPID
0 12 name=COUNTRY
0 13 name=NETWORK
0 14 name=INTERNET
0 15 name=PROXY-ID
0 16 name=PROXY-PROVIDER-ID
0 17 name=DOMAIN
0 18 name=PROVURL
0 19 name=PXAUTH-TYPE
0 1A name=PXAUTH-ID
0 1B name=PXAUTH-PW
0 1C name=STARTPAGE
0 1D name=BASAUTH-ID
0 1E name=BASAUTH-PW
0 1F name=PUSHENABLED
0 20 name=PXADDR
0 21 name=PXADDRTYPE
0 22 name=TO-NAPID
0 23 name=PORTNBR
0 24 name=SERVICE
0 25 name=LINKSPEED
0 26 name=DNLINKSPEED
0 27 name=LOCAL-ADDR
0 28 name=LOCAL-ADDRTYPE
0 29 name=CONTEXT-ALLOW
0 2A name=TRUST
0 2B name=MASTER
0 2C name=SID
0 2D name=SOC
0 2E name=WSP-VERSION
0 2F name=PHYSICAL-PROXY-ID
0 30 name=CLIENT-ID
0 31 name=DELIVERY-ERR-SDU
0 32 name=DELIVERY-ORDER
0 33 name=TRAFFIC-CLASS
0 34 name=MAX-SDU-SIZE
0 35 name=MAX-BITRATE-UPLINK
0 36 name=MAX-BITRATE-DNLINK
0 37 name=RESIDUAL-BER
0 38 name=SDU-ERROR-RATIO
0 39 name=TRAFFIC-HANDL-PRIO
0 3A name=TRANSFER-DELAY
0 3B name=GUARANTEED-BITRATE-UPLINK
0 3C name=GUARANTEED-BITRATE-DNLINK
0 3D name=PXADDR-FQDN
0 3E name=PROXY-PW
0 3F name=PPGAUTH-TYPE
0 45 version
0 46 version=1.0
0 47 name=PULLENABLED
0 48 name=DNS-ADDR
0 49 name=MAX-NUM-RETRY
0 4A name=FIRST-RETRY-TIMEOUT
0 4B name=REREG-THRESHOLD
0 4C name=T-BIT
0 4E name=AUTH-ENTITY
0 4F name=SPI
0 50 type
0 51 type=PXLOGICAL
0 52 type=PXPHYSICAL
0 53 type=PORT
0 54 type=VALIDITY
0 55 type=NAPDEF
0 56 type=BOOTSTRAP
0 57 type=VENDORCONFIG
0 58 type=CLIENTIDENTITY
0 59 type=PXAUTHINFO
0 5A type=NAPAUTHINFO
0 5B type=ACCESS
1 05 name
1 06 value
1 07 name=NAME
1 14 name=INTERNET
1 1C name=STARTPAGE
1 22 name=TO-NAPID
1 23 name=PORTNBR
1 24 name=SERVICE
1 2E name=AACCEPT
1 2F name=AAUTHDATA
1 30 name=AAUTHLEVEL
1 31 name=AAUTHNAME
1 32 name=AAUTHSECRET
1 33 name=AAUTHTYPE
1 34 name=ADDR
1 35 name=ADDRTYPE
1 36 name=APPID
1 37 name=APROTOCOL
1 38 name=PROVIDER-ID
1 39 name=TO-PROXY
1 3A name=URI
1 3B name=RULE
1 50 type
1 53 type=PORT
1 55 type=APPLICATION
1 56 type=APPADDR
1 57 type=APPAUTH
1 58 type=CLIENTIDENTITY
1 59 type=RESOURCE
`

// Attribute value tokens of the provisioning document: "page token value".
const provAttrValues = `
0 85 IPV4
0 86 IPV6
0 87 E164
0 88 ALPHA
0 89 APN
0 8A SCODE
0 8B TETRA-ITSI
0 8C MAN
0 90 ANALOG-MODEM
0 91 V.120
0 92 V.110
0 93 X.31
0 94 BIT-TRANSPARENT
0 95 DIRECT-ASYNCHRONOUS-DATA-SERVICE
0 9A PAP
0 9B CHAP
0 9C HTTP-BASIC
0 9D HTTP-DIGEST
0 9E WTLS-SS
0 9F MD5
0 A2 GSM-USSD
0 A3 GSM-SMS
0 A4 ANSI-136-GUTS
0 A5 IS-95-CDMA-SMS
0 A6 IS-95-CDMA-CSD
0 A7 IS-95-CDMA-PACKET
0 A8 ANSI-136-CSD
0 A9 ANSI-136-GPRS
0 AA GSM-CSD
0 AB GSM-GPRS
0 AC AMPS-CDPD
0 AD PDC-CSD
0 AE PDC-PACKET
0 AF IDEN-SMS
0 B0 IDEN-CSD
0 B1 IDEN-PACKET
0 B2 FLEX/REFLEX
0 B3 PHS-SMS
0 B4 PHS-CSD
0 B5 TETRA-SDS
0 B6 TETRA-PACKET
0 B7 ANSI-136-GHOST
0 B8 MOBITEX-MPAK
0 B9 CDMA2000-1X-SIMPLE-IP
0 BA CDMA2000-1X-MOBILE-IP
0 C5 AUTOBAUDING
0 CA CL-WSP
0 CB CO-WSP
0 CC CL-SEC-WSP
0 CD CO-SEC-WSP
0 CE CL-SEC-WTA
0 CF CO-SEC-WTA
0 D0 OTA-HTTP-TO
0 D1 OTA-HTTP-TLS-TO
0 D2 OTA-HTTP-PO
0 D3 OTA-HTTP-TLS-PO
0 E0 AAA
0 E1 HA
1 86 IPV6
1 87 E164
1 88 ALPHA
1 8D APPSRV
1 8E OBEX
1 90 ,
1 91 HTTP-
1 92 BASIC
1 93 DIGEST
`

type tagRef struct {
	page, tok byte
}

type tagToks struct {
	start, end xml.Token
}

type attrStart struct {
	page, tok    byte
	name, prefix string
}

type attrValue struct {
	page, tok byte
	value     string
}

// tables is the lookup form of one document type, built once at init.
type tables struct {
	// tags[page][tok] is the element name of a tag token (tok < 0x40).
	tags map[byte]*[64]xml.Name
	// toks[page][tok] holds the boxed Start/EndElement tokens of each tag.
	toks map[byte]*[64]tagToks
	// tagIdx maps a namespaced element name to its token.
	tagIdx map[xml.Name]tagRef
	// spacePage maps a namespace to its first code page (for LITERAL tags).
	spacePage map[string]byte
	// attributes (nil for documents without attributes)
	astart map[byte]*[128]*attrStart // [page][tok] tok < 0x80
	avalue map[byte]*[128]*attrValue // [page][tok-0x80]
	starts []attrStart               // encoder search order: page 0 first
	values []attrValue
	// policy for SyncML documents: Data text as OPAQUE, embedded TNDS, Type rewriting
	syncml bool
}

// Doc identifies a WBXML document type: its public identifier, root element
// and namespace, and its code pages. The exported values below are the only
// useful ones; a zero Doc encodes nothing.
type Doc struct {
	Name     string // short name, e.g. "SyncML 1.2"
	PublicID uint32 // numeric public id; 0 means the string form (FPI) is used
	FPI      string // formal public identifier
	Root     string // local name of the root element
	Space    string // namespace of the root element ("" for none)
	// tf holds the token tables, built on first use: a daemon that never
	// meets a WBXML document does not keep them (about 200 KB of maps).
	// A pointer, so Docs stay comparable.
	tf *lazyTables
}

// lazyTables builds tables once, on first use.
type lazyTables struct {
	get func() *tables
}

func lazy(build func() *tables) *lazyTables { return &lazyTables{get: sync.OnceValue(build)} }

// tab returns d's tables; nil for a zero Doc.
func (d Doc) tab() *tables {
	if d.tf == nil {
		return nil
	}
	return d.tf.get()
}

type pageDef struct {
	page  byte
	space string
	tags  string
}

func buildTables(pages []pageDef) *tables {
	t := &tables{tags: map[byte]*[64]xml.Name{}, toks: map[byte]*[64]tagToks{}, tagIdx: map[xml.Name]tagRef{}, spacePage: map[string]byte{}}
	for _, p := range pages {
		if _, ok := t.spacePage[p.space]; !ok {
			t.spacePage[p.space] = p.page
		}
		arr := t.tags[p.page]
		if arr == nil {
			arr = new([64]xml.Name)
			t.tags[p.page] = arr
			t.toks[p.page] = new([64]tagToks)
		}
		for i, name := range strings.Fields(p.tags) {
			if name == "-" {
				continue
			}
			tok := byte(0x05 + i)
			n := xml.Name{Space: p.space, Local: name}
			arr[tok] = n
			t.toks[p.page][tok] = tagToks{start: xml.StartElement{Name: n}, end: xml.EndElement{Name: n}}
			if _, dup := t.tagIdx[n]; !dup {
				t.tagIdx[n] = tagRef{p.page, tok}
			}
		}
	}
	return t
}

func hexByte(s string) byte {
	var v byte
	for _, c := range []byte(s) {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= c - '0'
		case c >= 'A' && c <= 'F':
			v |= c - 'A' + 10
		}
	}
	return v
}

func (t *tables) addAttrs(starts, values string) {
	t.astart = map[byte]*[128]*attrStart{}
	t.avalue = map[byte]*[128]*attrValue{}
	for _, line := range strings.Split(starts, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		name, prefix, _ := strings.Cut(f[2], "=")
		a := attrStart{page: hexByte(f[0]), tok: hexByte(f[1]), name: name, prefix: prefix}
		t.starts = append(t.starts, a)
	}
	for _, line := range strings.Split(values, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		v := attrValue{page: hexByte(f[0]), tok: hexByte(f[1]), value: f[2]}
		t.values = append(t.values, v)
	}
	// Take pointers once the slices stopped growing.
	for i := range t.starts {
		a := &t.starts[i]
		if t.astart[a.page] == nil {
			t.astart[a.page] = new([128]*attrStart)
		}
		t.astart[a.page][a.tok] = a
	}
	for i := range t.values {
		v := &t.values[i]
		if t.avalue[v.page] == nil {
			t.avalue[v.page] = new([128]*attrValue)
		}
		t.avalue[v.page][v.tok-0x80] = v
	}
}

func syncMLDoc(name string, id uint32, fpi, space string) Doc {
	tf := lazy(func() *tables {
		t := buildTables([]pageDef{
			{0, space, syncMLPage0},
			{1, NSMetInf, metInfPage1},
			{2, NSDMDDF12, dmDDFPage2},
		})
		t.syncml = true
		return t
	})
	return Doc{Name: name, PublicID: id, FPI: fpi, Root: "SyncML", Space: space, tf: tf}
}

// The document types this package knows.
var (
	SyncML12 = syncMLDoc("SyncML 1.2", PublicIDSyncML12, "-//SYNCML//DTD SyncML 1.2//EN", NSSyncML12)
	SyncML11 = syncMLDoc("SyncML 1.1", PublicIDSyncML11, "-//SYNCML//DTD SyncML 1.1//EN", NSSyncML11)
	SyncML10 = syncMLDoc("SyncML 1.0", PublicIDSyncML10, "-//SYNCML//DTD SyncML 1.0//EN", NSSyncML10)
	// DMDDF12 is the OMA DM DDF 1.2 / TNDS document. It has no numeric public
	// id and uses its tags on code page 2, as libwbxml does.
	DMDDF12 = Doc{Name: "DM DDF 1.2", FPI: "-//OMA//DTD-DM-DDF 1.2//EN", Root: "MgmtTree", Space: NSDMDDF12,
		tf: lazy(func() *tables { return buildTables([]pageDef{{2, NSDMDDF12, dmDDFPage2}}) })}
	// ProvDoc10 is the WAP/OMA client provisioning document (no namespace).
	ProvDoc10 = provDoc()
)

func provDoc() Doc {
	tf := lazy(func() *tables {
		t := buildTables([]pageDef{{0, "", provPage0}, {1, "", provPage1}})
		t.addAttrs(provAttrStarts, provAttrValues)
		return t
	})
	return Doc{Name: "WAP Provisioning 1.0", PublicID: PublicIDProv10, FPI: "-//WAPFORUM//DTD PROV 1.0//EN",
		Root: "wap-provisioningdoc", tf: tf}
}

// Docs lists every known document type, in lookup order.
var Docs = []*Doc{&SyncML12, &SyncML11, &SyncML10, &DMDDF12, &ProvDoc10}

// docByPublicID finds a document by numeric id or by FPI string.
func docByPublicID(id uint32, fpi string) (Doc, bool) {
	for _, d := range Docs {
		if (id != 0 && d.PublicID == id) || (fpi != "" && d.FPI == fpi) {
			return *d, true
		}
	}
	return Doc{}, false
}

// docBySpace finds a document whose root namespace (or, for documents
// without one, root element name) matches.
func docByRoot(n xml.Name) (Doc, bool) {
	for _, d := range Docs {
		if n.Space != "" && d.Space == n.Space && n.Local == d.Root {
			return *d, true
		}
		if n.Space == "" && d.Space == "" && n.Local == d.Root {
			return *d, true
		}
	}
	// Fall back to the namespace alone (a document whose root is not the usual one).
	for _, d := range Docs {
		if n.Space != "" && d.Space == n.Space {
			return *d, true
		}
	}
	return Doc{}, false
}

// Tag returns the code page and token of an element of this document type;
// ok is false for an element without a token (the Encoder writes those as
// LITERAL tags).
func (d Doc) Tag(name xml.Name) (page, token byte, ok bool) {
	t := d.tab()
	if t == nil {
		return 0, 0, false
	}
	ref, ok := t.tagIdx[name]
	return ref.page, ref.tok, ok
}
