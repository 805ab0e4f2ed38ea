package syncml

import (
	"encoding/xml"
	"strconv"
	"strings"
)

// Message is one SyncML DM message: a header, an ordered list of commands
// and the Final flag.
type Message struct {
	Hdr   Header
	Body  []*Command
	Final bool
	// Extra holds elements under SyncML or SyncBody that are neither
	// SyncHdr, SyncBody, a command nor Final. They are kept so that nothing
	// decoded vanishes; they are re-encoded after the commands.
	Extra []*Element
}

// Header is the SyncHdr element.
type Header struct {
	VerDTD    string
	VerProto  string
	SessionID string
	MsgID     string
	Target    *Location
	Source    *Location
	RespURI   string
	NoResp    bool
	Cred      *Cred
	Meta      *Meta
	// Extra holds unexpected children of SyncHdr (Problem is set).
	Extra []*Element
	// Problem is non-nil when SyncHdr holds elements DM does not use or knows
	// nothing about; see the Err* sentinels.
	Problem error
	Pos     Position
}

// Location is a Target or Source element.
type Location struct {
	LocURI  string
	LocName string
	Extra   []*Element
}

// Cred is a credential (only allowed in SyncHdr in DM).
type Cred struct {
	Meta *Meta
	Data string
}

// Chal is an authentication challenge inside a Status.
type Chal struct {
	Meta *Meta
}

// Meta is a Meta element with its MetInf children (namespace syncml:metinf).
// Values are kept as the text found on the wire; use the *Int helpers for
// the numeric ones.
type Meta struct {
	Format     string
	Type       string
	Mark       string
	Size       string
	NextNonce  string
	Version    string
	MaxMsgSize string
	MaxObjSize string
	EMI        []string
	// Extra holds other MetInf elements (Anchor, FreeMem, Mem ...), kept
	// as they are.
	Extra []*Element
}

// SizeInt returns Size as an integer; ok is false if absent or not a number.
func (m *Meta) SizeInt() (int64, bool) { return metaInt(m, func(m *Meta) string { return m.Size }) }

// MaxMsgSizeInt returns MaxMsgSize as an integer; ok is false if absent or invalid.
func (m *Meta) MaxMsgSizeInt() (int64, bool) {
	return metaInt(m, func(m *Meta) string { return m.MaxMsgSize })
}

// MaxObjSizeInt returns MaxObjSize as an integer; ok is false if absent or invalid.
func (m *Meta) MaxObjSizeInt() (int64, bool) {
	return metaInt(m, func(m *Meta) string { return m.MaxObjSize })
}

func metaInt(m *Meta, f func(*Meta) string) (int64, bool) {
	if m == nil {
		return 0, false
	}
	s := strings.TrimSpace(f(m))
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// Command is one command of SyncBody, Atomic or Sequence. Kind is the
// element name ("Replace", "Status", ..., or whatever unknown element was
// found). Fields that a kind does not use stay empty.
type Command struct {
	Kind       string
	CmdID      string
	NoResp     bool
	Meta       *Meta
	Cred       *Cred
	Correlator string
	// Data is the Data of Alert and Status (the alert or status code).
	Data       string
	MsgRef     string
	CmdRef     string
	Cmd        string
	TargetRefs []string
	SourceRefs []string
	Chal       *Chal
	Items      []*Item
	// Children are the commands of an Atomic or Sequence, in order.
	Children []*Command
	// Extra holds child elements that are not part of the DM model of this
	// command; they are re-encoded after the known children. Problem says
	// why they are wrong.
	Extra []*Element
	// Raw is the whole element as found, for kinds this package does not
	// model (unknown elements and SyncML commands DM does not use). Encoding
	// such a command writes Raw.
	Raw *Element
	// Pos is where the command was found when decoded.
	Pos Position
	// Problem is non-nil when the element cannot be executed as it is:
	// ErrUnsupportedCommand (answer 406), ErrUnknownElement or
	// ErrMissingCmdID (answer 400), ErrUnsupportedElement (406) and
	// ErrUnexpectedElement (400). See ProblemStatus.
	Problem error
}

// Item is an Item element.
type Item struct {
	Target   *Location
	Source   *Location
	Meta     *Meta
	Data     *Data
	MoreData bool
	Extra    []*Element
}

// Data is the content of an Item's Data element: either text (exact,
// including the content of CDATA sections) or an embedded XML element,
// normally a TNDS tree <MgmtTree xmlns="syncml:dmddf1.2">, kept as its XML
// bytes. When Tree is non-nil, Text is ignored.
type Data struct {
	Text string
	Tree []byte
}

// TextData returns Data holding s.
func TextData(s string) *Data { return &Data{Text: s} }

// TreeData returns Data holding the embedded XML element raw (for example a
// TNDS MgmtTree). raw must be one well-formed element; Encode reports an
// error otherwise.
func TreeData(raw []byte) *Data { return &Data{Tree: raw} }

// IsTree reports whether d holds an embedded element instead of text.
func (d *Data) IsTree() bool { return d != nil && d.Tree != nil }

// Position says where an element was found in the decoded input.
type Position struct {
	// Path is the element path, e.g. "SyncML/SyncBody/Atomic/Replace".
	Path string
	// Offset is the byte offset of the element's start in the input (for
	// WBXML, the offset of its tag token, when the reader reports one).
	Offset int64
}

func (p Position) String() string {
	return p.Path + " at offset " + strconv.FormatInt(p.Offset, 10)
}

// Element is a generic XML element, used to keep content that the DM model
// does not describe (unknown commands, unused SyncML elements, extra MetInf
// children). Text is the concatenated character data of the element itself.
type Element struct {
	Name     xml.Name
	Attr     []xml.Attr
	Text     string
	Children []*Element
}

// Child returns the first child with the given local name, or nil.
func (e *Element) Child(local string) *Element {
	for _, c := range e.Children {
		if c.Name.Local == local {
			return c
		}
	}
	return nil
}

// AlertCode returns the Data of an Alert as an AlertCode; ok is false if it
// is not a number.
func (c *Command) AlertCode() (AlertCode, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(c.Data))
	return AlertCode(n), err == nil
}

// StatusCode returns the Data of a Status as a StatusCode; ok is false if it
// is not a number.
func (c *Command) StatusCode() (StatusCode, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(c.Data))
	return StatusCode(n), err == nil
}

// Command kinds (element names) used by DM.
const (
	KindAdd      = "Add"
	KindAlert    = "Alert"
	KindAtomic   = "Atomic"
	KindCopy     = "Copy"
	KindDelete   = "Delete"
	KindExec     = "Exec"
	KindGet      = "Get"
	KindReplace  = "Replace"
	KindResults  = "Results"
	KindSequence = "Sequence"
	KindStatus   = "Status"
)

// dmCommands are the commands DM uses.
var dmCommands = map[string]bool{
	KindAdd: true, KindAlert: true, KindAtomic: true, KindCopy: true, KindDelete: true,
	KindExec: true, KindGet: true, KindReplace: true, KindResults: true, KindSequence: true,
	KindStatus: true,
}

// unusedCommands are SyncML commands DM does not use (RepPro §4.1): 406.
var unusedCommands = map[string]bool{
	"Map": true, "Put": true, "Search": true, "Sync": true, "Move": true,
}

// unusedElements are SyncML elements DM does not use (RepPro §4.1): 406
// when found inside a command.
var unusedElements = map[string]bool{
	"Archive": true, "Lang": true, "NoResults": true, "NumberOfChanges": true,
	"SftDel": true, "MapItem": true, "SourceParent": true, "TargetParent": true,
	"Field": true, "Filter": true, "Record": true, "FilterType": true,
}

// IsDMCommand reports whether kind is a command DM uses.
func IsDMCommand(kind string) bool { return dmCommands[kind] }

// IsContainer reports whether kind holds nested commands (Atomic, Sequence).
func IsContainer(kind string) bool { return kind == KindAtomic || kind == KindSequence }
