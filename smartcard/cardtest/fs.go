package cardtest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Mode is the personality of the fake card.
type Mode int

// Modes.
const (
	ModeUICC Mode = iota // CLA 0x/4x, FCP, logical channels
	Mode2G               // CLA A0 only (GSM 11.11)
)

// Kind of a file node.
type Kind int

// Node kinds.
const (
	KindDF Kind = iota
	KindTransparent
	KindLinear
)

// Node is a file of the fake card.
type Node struct {
	FID      uint16 // 0 for an ADF
	Name     []byte // DF name (AID), if any
	Kind     Kind
	Data     []byte // EF body (records concatenated for linear EFs)
	RecLen   int
	Deny     uint16 // status word returned to READ commands, 0 = readable
	Parent   *Node
	Children []*Node
}

func (n *Node) child(fid uint16) *Node {
	for _, c := range n.Children {
		if c.FID == fid {
			return c
		}
	}
	return nil
}

// FS is the file system of a fake card.
type FS struct {
	Mode     Mode
	Channels int // logical channels besides the basic channel
	MF       *Node
	ADFs     []*Node
}

// MaxDescription bounds a card description.
const MaxDescription = 1 << 20

// Load reads a card description file.
func Load(path string) (*FS, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fs, err := ParseFS(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fs, nil
}

// ErrDescription wraps every problem of a card description.
var ErrDescription = errors.New("bad card description")

// ParseFS parses a card description (see the package documentation).
func ParseFS(text []byte) (*FS, error) {
	if len(text) > MaxDescription {
		return nil, fmt.Errorf("%w: %d bytes", ErrDescription, len(text))
	}
	fs := &FS{Channels: 3, MF: &Node{FID: 0x3F00, Kind: KindDF}}
	// Join continuation lines.
	type directive struct {
		line   int
		fields []string
		hex    strings.Builder
	}
	var ds []*directive
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), MaxDescription)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		if i := strings.IndexByte(raw, '#'); i >= 0 {
			raw = raw[:i]
		}
		if strings.TrimSpace(raw) == "" {
			continue
		}
		if raw[0] == ' ' || raw[0] == '\t' {
			if len(ds) == 0 {
				return nil, fmt.Errorf("%w: line %d: continuation without a directive", ErrDescription, n)
			}
			ds[len(ds)-1].hex.WriteString(strings.Join(strings.Fields(raw), ""))
			continue
		}
		ds = append(ds, &directive{line: n, fields: strings.Fields(raw)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDescription, err)
	}
	for _, d := range ds {
		if err := fs.apply(d.fields, d.hex.String()); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrDescription, d.line, err)
		}
	}
	return fs, nil
}

func (fs *FS) apply(f []string, cont string) error {
	switch f[0] {
	case "mode":
		if len(f) != 2 {
			return errors.New("mode wants one argument")
		}
		switch f[1] {
		case "uicc":
			fs.Mode = ModeUICC
		case "2g":
			fs.Mode = Mode2G
		default:
			return fmt.Errorf("unknown mode %q", f[1])
		}
	case "channels":
		if len(f) != 2 {
			return errors.New("channels wants one argument")
		}
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 0 || n > 19 {
			return fmt.Errorf("bad channel count %q", f[1])
		}
		fs.Channels = n
	case "mf":
	case "adf":
		if len(f) != 2 {
			return errors.New("adf wants the AID")
		}
		aid, err := hex.DecodeString(f[1])
		if err != nil || len(aid) < 5 || len(aid) > 16 {
			return fmt.Errorf("bad AID %q", f[1])
		}
		fs.ADFs = append(fs.ADFs, &Node{Name: aid, Kind: KindDF})
	case "df":
		if len(f) < 2 {
			return errors.New("df wants a path")
		}
		parent, fid, err := fs.parentOf(f[1])
		if err != nil {
			return err
		}
		n := &Node{FID: fid, Kind: KindDF, Parent: parent}
		for _, o := range f[2:] {
			v, ok := strings.CutPrefix(o, "name=")
			if !ok {
				return fmt.Errorf("unknown df option %q", o)
			}
			if n.Name, err = hex.DecodeString(v); err != nil || len(n.Name) == 0 || len(n.Name) > 16 {
				return fmt.Errorf("bad DF name %q", v)
			}
		}
		return add(parent, n)
	case "ef":
		if len(f) < 3 {
			return errors.New("ef wants a path and a structure")
		}
		parent, fid, err := fs.parentOf(f[1])
		if err != nil {
			return err
		}
		n := &Node{FID: fid, Parent: parent}
		switch f[2] {
		case "transparent":
			n.Kind = KindTransparent
		case "linear":
			n.Kind = KindLinear
		default:
			return fmt.Errorf("unknown structure %q", f[2])
		}
		size, records := -1, 1
		var content strings.Builder
		for _, o := range f[3:] {
			k, v, isOpt := strings.Cut(o, "=")
			if !isOpt {
				content.WriteString(o)
				continue
			}
			x, err := strconv.ParseUint(v, 0, 16)
			if err != nil {
				if k == "deny" {
					x, err = strconv.ParseUint(v, 16, 16)
				}
				if err != nil {
					return fmt.Errorf("bad option %q", o)
				}
			}
			switch k {
			case "size":
				size = int(x)
			case "reclen":
				n.RecLen = int(x)
			case "records":
				records = int(x)
			case "deny":
				n.Deny = uint16(x)
			default:
				return fmt.Errorf("unknown ef option %q", o)
			}
		}
		content.WriteString(cont)
		if n.Data, err = hex.DecodeString(content.String()); err != nil {
			return fmt.Errorf("content of %s: %v", f[1], err)
		}
		if n.Kind == KindLinear {
			if n.RecLen <= 0 || n.RecLen > 255 {
				return errors.New("linear EF wants reclen=1..255")
			}
			if size < 0 {
				size = n.RecLen * records
			}
			if size%n.RecLen != 0 {
				return errors.New("linear EF size is not a multiple of reclen")
			}
		}
		if size >= 0 {
			if len(n.Data) > size {
				return fmt.Errorf("content of %d bytes exceeds size %d", len(n.Data), size)
			}
			n.Data = append(n.Data, bytes.Repeat([]byte{0xFF}, size-len(n.Data))...)
		}
		if n.Kind == KindLinear && len(n.Data)%n.RecLen != 0 {
			return errors.New("linear EF content is not a multiple of reclen")
		}
		return add(parent, n)
	default:
		return fmt.Errorf("unknown directive %q", f[0])
	}
	return nil
}

func add(parent, n *Node) error {
	if parent.child(n.FID) != nil {
		return fmt.Errorf("duplicate file %04X", n.FID)
	}
	parent.Children = append(parent.Children, n)
	return nil
}

// parentOf resolves "3F00/7F50/5031" or "ADF/5031" (the last ADF declared)
// to the parent DF and the new FID.
func (fs *FS) parentOf(path string) (*Node, uint16, error) {
	parts := strings.Split(path, "/")
	var cur *Node
	switch parts[0] {
	case "3F00":
		cur = fs.MF
	case "ADF":
		if len(fs.ADFs) == 0 {
			return nil, 0, errors.New("ADF path before any adf directive")
		}
		cur = fs.ADFs[len(fs.ADFs)-1]
	default:
		return nil, 0, fmt.Errorf("path %q must start with 3F00 or ADF", path)
	}
	if len(parts) < 2 {
		return nil, 0, fmt.Errorf("path %q names no file", path)
	}
	for _, p := range parts[1 : len(parts)-1] {
		fid, err := parseFID(p)
		if err != nil {
			return nil, 0, err
		}
		next := cur.child(fid)
		if next == nil || next.Kind != KindDF {
			return nil, 0, fmt.Errorf("no DF %s in path %q", p, path)
		}
		cur = next
	}
	fid, err := parseFID(parts[len(parts)-1])
	if err != nil {
		return nil, 0, err
	}
	if fid == 0x3F00 || fid == 0x7FFF || fid == 0xFFFF {
		return nil, 0, fmt.Errorf("reserved FID %04X", fid)
	}
	return cur, fid, nil
}

func parseFID(s string) (uint16, error) {
	if len(s) != 4 {
		return 0, fmt.Errorf("bad FID %q", s)
	}
	v, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		return 0, fmt.Errorf("bad FID %q", s)
	}
	return uint16(v), nil
}

// File returns the node at an absolute path ("3F00/7F50/6431") or nil.
func (fs *FS) File(path string) *Node {
	parent, fid, err := fs.parentOf(path)
	if err != nil {
		return nil
	}
	return parent.child(fid)
}
