package pkcs15

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// AID is the PKCS#15 application identifier A0 00 00 00 63 50 4B 43 53 2D 31 35.
var AID = []byte{0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35}

// Well-known file identifiers.
const (
	FIDDir       uint16 = 0x2F00 // EF.DIR under the MF
	FIDODF       uint16 = 0x5031 // EF.ODF in the PKCS#15 DF/ADF
	FIDTokenInfo uint16 = 0x5032 // EF.TokenInfo
)

// OIDs of bootstrap data objects (DER value bytes).
var (
	OIDDMBootstrap = OID{0x67, 0x2B, 0x07, 0x01} // 2.23.43.7.1 OMA DM bootstrap
	OIDCPBootstrap = OID{0x67, 0x2B, 0x05, 0x01} // 2.23.43.5.1 ProvSC bootstrap
	OIDCPConfig1   = OID{0x67, 0x2B, 0x05, 0x02} // 2.23.43.5.2 ProvSC config1
	OIDCPConfig2   = OID{0x67, 0x2B, 0x05, 0x03} // 2.23.43.5.3 ProvSC config2
)

// OID is the DER value of an OBJECT IDENTIFIER (without tag and length).
type OID []byte

// Equal compares two OIDs by value.
func (o OID) Equal(p OID) bool { return bytes.Equal(o, p) }

// String returns the dotted form, or "invalid:<hex>".
func (o OID) String() string {
	if len(o) == 0 {
		return "invalid:"
	}
	var arcs []uint64
	var v uint64
	for i, c := range o {
		if v > 1<<56 {
			return "invalid:" + hex.EncodeToString(o)
		}
		v = v<<7 | uint64(c&0x7F)
		if c&0x80 == 0 {
			arcs = append(arcs, v)
			v = 0
		} else if i == len(o)-1 {
			return "invalid:" + hex.EncodeToString(o)
		}
	}
	var b strings.Builder
	first := arcs[0]
	switch {
	case first < 40:
		b.WriteString("0." + strconv.FormatUint(first, 10))
	case first < 80:
		b.WriteString("1." + strconv.FormatUint(first-40, 10))
	default:
		b.WriteString("2." + strconv.FormatUint(first-80, 10))
	}
	for _, a := range arcs[1:] {
		b.WriteString("." + strconv.FormatUint(a, 10))
	}
	return b.String()
}

// normalizeOID unwraps a double-wrapped OID value (06 len <oid> inside the
// 06) once, as Symbian, Nordic and Anjay do.
func normalizeOID(v []byte) OID {
	if len(v) >= 2 && v[0] == 0x06 && int(v[1]) == len(v)-2 {
		return OID(v[2:])
	}
	return OID(v)
}

// Path is a PKCS#15 Path: a file path plus an optional index (offset or
// record number) and length.
type Path struct {
	Path     []byte // concatenated FIDs; absolute when it starts with 3F00
	Index    int
	Length   int
	HasRange bool // Index and Length were present
}

// Absolute reports whether p starts at the MF.
func (p Path) Absolute() bool { return len(p.Path) >= 2 && p.Path[0] == 0x3F && p.Path[1] == 0x00 }

// FIDs splits the path into file identifiers. A path of odd length is an
// error.
func (p Path) FIDs() ([]uint16, error) {
	if len(p.Path) == 0 || len(p.Path)%2 != 0 {
		return nil, &Error{"path", 0, fmt.Errorf("%w: path of %d bytes", ErrSyntax, len(p.Path))}
	}
	out := make([]uint16, 0, len(p.Path)/2)
	for i := 0; i < len(p.Path); i += 2 {
		out = append(out, uint16(p.Path[i])<<8|uint16(p.Path[i+1]))
	}
	return out, nil
}

func (p Path) String() string {
	s := strings.ToUpper(hex.EncodeToString(p.Path))
	if p.HasRange {
		s += fmt.Sprintf("[%d+%d]", p.Index, p.Length)
	}
	return s
}

// ParsePath decodes the value of a Path SEQUENCE:
// 04 path, optional 02 index with 80 (or, as SEEK writes it, 02) length.
func ParsePath(v []byte) (Path, error) {
	kids, err := ParseAll(v)
	if err != nil {
		return Path{}, err
	}
	var p Path
	if len(kids) == 0 || kids[0].Tag != 0x04 {
		return Path{}, &Error{"path", 0, fmt.Errorf("%w: no 04 path", ErrSyntax)}
	}
	p.Path = kids[0].Value
	if len(p.Path) == 0 || len(p.Path)%2 != 0 || len(p.Path) > 16 {
		return Path{}, &Error{"path", kids[0].Offset, fmt.Errorf("%w: path of %d bytes", ErrSyntax, len(p.Path))}
	}
	var ints []int
	for _, k := range kids[1:] {
		switch k.Tag {
		case 0x02, 0x80:
			n, err := smallInt(k)
			if err != nil {
				return Path{}, err
			}
			ints = append(ints, n)
		}
	}
	switch len(ints) {
	case 0:
	case 2:
		p.Index, p.Length, p.HasRange = ints[0], ints[1], true
	default:
		return Path{}, &Error{"path", 0, fmt.Errorf("%w: index and length must come together", ErrSyntax)}
	}
	return p, nil
}

func smallInt(t TLV) (int, error) {
	if len(t.Value) == 0 || len(t.Value) > 3 || t.Value[0]&0x80 != 0 {
		return 0, &Error{"integer", t.Offset, fmt.Errorf("%w: integer of %d bytes or negative", ErrSyntax, len(t.Value))}
	}
	n := 0
	for _, c := range t.Value {
		n = n<<8 | int(c)
	}
	return n, nil
}

// App is the PKCS#15-relevant content of an EF.DIR record.
type App struct {
	AID   []byte
	Label string
	Path  []byte // tag 51, may be empty
}

// ParseDirRecord decodes one EF.DIR record: 61 { 4F aid, [50 label],
// [51 path], ... } followed by fill. ok is false for an empty (all fill)
// record.
func ParseDirRecord(rec []byte) (app App, ok bool, err error) {
	tlvs, err := ParseAll(rec)
	if err != nil {
		return App{}, false, err
	}
	if len(tlvs) == 0 {
		return App{}, false, nil
	}
	if tlvs[0].Tag != 0x61 {
		return App{}, false, &Error{"EF.DIR record", 0, fmt.Errorf("%w: tag %X, want 61", ErrSyntax, tlvs[0].Tag)}
	}
	kids, err := tlvs[0].Children()
	if err != nil {
		return App{}, false, err
	}
	for _, k := range kids {
		switch k.Tag {
		case 0x4F:
			app.AID = k.Value
		case 0x50:
			app.Label = string(k.Value)
		case 0x51:
			app.Path = k.Value
		}
	}
	if len(app.AID) == 0 {
		return App{}, false, &Error{"EF.DIR record", 0, fmt.Errorf("%w: no 4F AID", ErrSyntax)}
	}
	if len(app.Path)%2 != 0 {
		return App{}, false, &Error{"EF.DIR record", 0, fmt.Errorf("%w: path of odd length", ErrSyntax)}
	}
	return app, true, nil
}

// IsPKCS15 reports whether app is the PKCS#15 application (AID prefix
// match: the AID may carry a PIX extension).
func (a App) IsPKCS15() bool { return bytes.HasPrefix(a.AID, AID) }

// ODFEntry is one entry of EF.ODF.
type ODFEntry struct {
	Tag  byte // A0..A8; A7 = dataObjects (DODF)
	Path Path
}

// ParseODF decodes EF.ODF: a sequence of [n] { Path } entries. Entries
// whose PathOrObjects is not a Path are skipped.
func ParseODF(b []byte) ([]ODFEntry, error) {
	tlvs, err := ParseAll(b)
	if err != nil {
		return nil, err
	}
	var out []ODFEntry
	for _, t := range tlvs {
		if t.Tag < 0xA0 || t.Tag > 0xAF {
			continue
		}
		kids, err := t.Children()
		if err != nil {
			return nil, err
		}
		if len(kids) == 0 || kids[0].Tag != 0x30 {
			continue // objects / indirect-protected: not a plain path
		}
		p, err := ParsePath(kids[0].Value)
		if err != nil {
			return nil, err
		}
		out = append(out, ODFEntry{Tag: byte(t.Tag), Path: p})
	}
	return out, nil
}

// DODFPaths returns the dataObjects (A7) paths of an ODF, in order.
func DODFPaths(entries []ODFEntry) []Path {
	var out []Path
	for _, e := range entries {
		if e.Tag == 0xA7 {
			out = append(out, e.Path)
		}
	}
	return out
}

// TokenInfo is the part of EF.TokenInfo the agent reports.
type TokenInfo struct {
	Version        int
	SerialNumber   []byte
	ManufacturerID string
	Label          string
}

// ParseTokenInfo decodes EF.TokenInfo: 30 { 02 version, 04 serial,
// [0C manufacturerID], [80 label], 03 flags, ... }.
func ParseTokenInfo(b []byte) (TokenInfo, error) {
	t, err := ParseTLV(b)
	if err != nil {
		return TokenInfo{}, err
	}
	if t.Tag != 0x30 {
		return TokenInfo{}, &Error{"TokenInfo", 0, fmt.Errorf("%w: tag %X, want 30", ErrSyntax, t.Tag)}
	}
	kids, err := t.Children()
	if err != nil {
		return TokenInfo{}, err
	}
	if len(kids) < 2 || kids[0].Tag != 0x02 || kids[1].Tag != 0x04 {
		return TokenInfo{}, &Error{"TokenInfo", 0, fmt.Errorf("%w: want 02 version, 04 serialNumber", ErrSyntax)}
	}
	var ti TokenInfo
	if ti.Version, err = smallInt(kids[0]); err != nil {
		return TokenInfo{}, err
	}
	ti.SerialNumber = kids[1].Value
	for _, k := range kids[2:] {
		switch k.Tag {
		case 0x0C:
			ti.ManufacturerID = string(k.Value)
		case 0x80:
			ti.Label = string(k.Value)
		}
	}
	return ti, nil
}
