package tnds

import (
	"encoding/xml"
	"errors"
)

// Namespace is the XML namespace of a MgmtTree.
const Namespace = "syncml:dmddf1.2"

// MIME types of serialized trees.
const (
	MIMEXML   = "application/vnd.syncml.dmtnds+xml"
	MIMEWBXML = "application/vnd.syncml.dmtnds+wbxml"
)

// ErrInvalid reports a document that is not a valid TNDS tree.
var ErrInvalid = errors.New("tnds: invalid document")

// MgmtTree is the document root.
type MgmtTree struct {
	XMLName xml.Name `xml:"MgmtTree"`
	VerDTD  string   `xml:"VerDTD"`
	Man     string   `xml:"Man,omitempty"`
	Mod     string   `xml:"Mod,omitempty"`
	Nodes   []Node   `xml:"Node"`
}

// Node is one serialized node. A node with Nodes (or Format node) is interior;
// Value is the leaf value as character data (base64 for Format bin/b64).
type Node struct {
	NodeName     string        `xml:"NodeName"`
	Path         string        `xml:"Path,omitempty"`
	RTProperties *RTProperties `xml:"RTProperties,omitempty"`
	Nodes        []Node        `xml:"Node"`
	Value        *string       `xml:"Value,omitempty"`
}

// RTProperties are the run-time properties. Nil fields are absent; a non-nil
// empty ACL is serialized as <ACL/>.
type RTProperties struct {
	ACL    *string `xml:"ACL,omitempty"`
	Format *Format `xml:"Format,omitempty"`
	Name   *string `xml:"Name,omitempty"`
	Size   *string `xml:"Size,omitempty"`
	Title  *string `xml:"Title,omitempty"`
	TStamp *string `xml:"TStamp,omitempty"`
	Type   *Type   `xml:"Type,omitempty"`
	VerNo  *string `xml:"VerNo,omitempty"`
}

// Format holds the node format name ("chr", "node", ...), serialized as an
// empty child element: <Format><chr/></Format>.
type Format struct {
	Value string
}

// Type is either a MIME type (leaves) or a DDFName / MO identifier (interior).
type Type struct {
	MIME    string `xml:"MIME,omitempty"`
	DDFName string `xml:"DDFName,omitempty"`
}

// TokenEncoder is what Encode writes to: *xml.Encoder and the WBXML encoder
// of agent/syncml/wbxml both implement it.
type TokenEncoder interface {
	EncodeToken(t xml.Token) error
	Flush() error
}
