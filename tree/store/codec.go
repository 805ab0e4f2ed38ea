package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Encode returns the binary form of s (see keys.go).
func Encode(s *Snapshot) []byte {
	size := len(Magic) + 16
	for i := range s.Records {
		r := &s.Records[i]
		size += 32 + len(r.URI) + len(r.Format) + len(r.Type) + len(r.ACL) + len(r.Title) + len(r.Value)
	}
	b := make([]byte, 0, size)
	b = append(b, Magic...)
	b = binary.AppendUvarint(b, SchemaVersion)
	b = binary.AppendUvarint(b, uint64(len(s.Records)))
	prev := ""
	for i := range s.Records {
		r := &s.Records[i]
		var fl byte
		if r.Interior {
			fl |= FlagInterior
		}
		if r.Overlay {
			fl |= FlagOverlay
		}
		if r.HasACL {
			fl |= FlagHasACL
		}
		if r.HasTitle {
			fl |= FlagHasTitle
		}
		b = append(b, fl)
		c := 0
		for c < len(prev) && c < len(r.URI) && prev[c] == r.URI[c] {
			c++
		}
		b = binary.AppendUvarint(b, uint64(c))
		b = appendStr(b, r.URI[c:])
		b = appendStr(b, r.Format)
		b = appendStr(b, r.Type)
		b = appendStr(b, r.ACL)
		b = appendStr(b, r.Title)
		b = binary.AppendVarint(b, r.TStamp)
		b = binary.AppendUvarint(b, uint64(r.VerNo))
		b = binary.AppendUvarint(b, uint64(len(r.Value)))
		b = append(b, r.Value...)
		prev = r.URI
	}
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Decode parses the binary form. Errors wrap ErrCorrupt. The returned
// records' Value slices alias data.
func Decode(data []byte) (*Snapshot, error) {
	if len(data) < len(Magic)+4 || string(data[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body := data[:len(data)-4]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	d := decoder{b: body, s: string(body), off: len(Magic)}
	if v := d.uvarint(); d.err == nil && v != SchemaVersion {
		return nil, fmt.Errorf("%w: schema version %d, want %d", ErrCorrupt, v, SchemaVersion)
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(body)) {
		return nil, fmt.Errorf("%w: bad record count", ErrCorrupt)
	}
	s := &Snapshot{Records: make([]Record, 0, n)}
	prev := ""
	for i := uint64(0); i < n && d.err == nil; i++ {
		var r Record
		fl := d.byte()
		r.Interior, r.Overlay = fl&FlagInterior != 0, fl&FlagOverlay != 0
		r.HasACL, r.HasTitle = fl&FlagHasACL != 0, fl&FlagHasTitle != 0
		c := d.uvarint()
		if c > uint64(len(prev)) {
			d.fail("URI prefix")
			break
		}
		r.URI = prev[:c] + d.str()
		r.Format = d.str()
		r.Type = d.str()
		r.ACL = d.str()
		r.Title = d.str()
		r.TStamp = d.varint()
		v := d.uvarint()
		if v > 0xFFFF {
			d.fail("VerNo")
		}
		r.VerNo = uint16(v)
		r.Value = d.bytes()
		prev = r.URI
		s.Records = append(s.Records, r)
	}
	if d.err == nil && d.off != len(body) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

type decoder struct {
	b   []byte
	s   string // same bytes as b, for allocation-free substrings
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s at offset %d", ErrCorrupt, what, d.off)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || d.off >= len(d.b) {
		d.fail("record")
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) span() (int, int) {
	l := d.uvarint()
	if d.err != nil {
		return 0, 0
	}
	if l > uint64(len(d.b)-d.off) {
		d.fail("length")
		return 0, 0
	}
	start := d.off
	d.off += int(l)
	return start, d.off
}

func (d *decoder) str() string {
	a, b := d.span()
	return d.s[a:b]
}

func (d *decoder) bytes() []byte {
	a, b := d.span()
	if d.err != nil {
		return nil
	}
	return d.b[a:b:b]
}
