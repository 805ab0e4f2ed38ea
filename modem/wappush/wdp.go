package wappush

// Information element identifiers of the SMS User Data Header (3GPP TS 23.040
// §9.2.3.24) used by WDP over SMS.
const (
	IEConcat8  = 0x00 // concatenated SM, 8-bit reference: ref, total, seq
	IEPorts8   = 0x04 // application port addressing, 8-bit: dst, src
	IEPorts16  = 0x05 // application port addressing, 16-bit: dst(2), src(2)
	IEConcat16 = 0x08 // concatenated SM, 16-bit reference: ref(2), total, seq
)

// Concat is the concatenation information of one SMS segment.
type Concat struct {
	Ref   int  // reference number (8 or 16 bits)
	Ref16 bool // the reference came from IE 0x08
	Total int  // number of segments, >= 1
	Seq   int  // 1-based sequence number
}

// UDH is the WDP-relevant content of a User Data Header.
type UDH struct {
	DstPort int     // destination port, -1 if no port IE
	SrcPort int     // source port, -1 if no port IE
	Concat  *Concat // nil if the SMS is not a segment of a concatenated message
}

// IsPush reports whether the SMS is addressed to WDP port 2948.
func (h UDH) IsPush() bool { return h.DstPort == PushPort }

// ParseUDH parses a User Data Header, starting with its UDHL octet. It returns
// the header and the number of octets consumed (UDHL+1). When an IE occurs
// several times, the last one wins (TS 23.040 §9.2.3.24). Malformed
// concatenation IEs (total 0, seq 0 or seq > total) are ignored, as TS 23.040
// asks of a receiving entity; a truncated header is an error.
func ParseUDH(b []byte) (UDH, int, error) {
	h := UDH{DstPort: -1, SrcPort: -1}
	r := &reader{buf: b}
	udhl, err := r.byte("udh.udhl")
	if err != nil {
		return h, 0, err
	}
	ies, err := r.sub("udh.ie", int(udhl))
	if err != nil {
		return h, 0, err
	}
	for !ies.done() {
		id, err := ies.byte("udh.iei")
		if err != nil {
			return h, 0, err
		}
		n, err := ies.byte("udh.iedl")
		if err != nil {
			return h, 0, err
		}
		d, err := ies.take("udh.ied", int(n))
		if err != nil {
			return h, 0, err
		}
		switch {
		case id == IEPorts16 && len(d) == 4:
			h.DstPort = int(d[0])<<8 | int(d[1])
			h.SrcPort = int(d[2])<<8 | int(d[3])
		case id == IEPorts8 && len(d) == 2:
			h.DstPort = int(d[0])
			h.SrcPort = int(d[1])
		case id == IEConcat8 && len(d) == 3:
			h.Concat = validConcat(Concat{Ref: int(d[0]), Total: int(d[1]), Seq: int(d[2])})
		case id == IEConcat16 && len(d) == 4:
			h.Concat = validConcat(Concat{Ref: int(d[0])<<8 | int(d[1]), Ref16: true, Total: int(d[2]), Seq: int(d[3])})
		}
	}
	return h, r.off, nil
}

func validConcat(c Concat) *Concat {
	if c.Total < 1 || c.Seq < 1 || c.Seq > c.Total {
		return nil
	}
	return &c
}

// SplitUserData splits 8-bit SMS user data that starts with a UDH (TP-UDHI
// set) into the parsed header and a copy of the payload after it.
func SplitUserData(ud []byte) (UDH, []byte, error) {
	h, n, err := ParseUDH(ud)
	if err != nil {
		return h, nil, err
	}
	return h, append([]byte{}, ud[n:]...), nil
}

// DecodeSMS decodes the 8-bit user data of a single (unsegmented) SMS with a
// UDH: it checks the WDP destination port is 2948 (ErrNotPush otherwise) and
// decodes the WSP push that follows. A segment of a concatenated message
// (total > 1) gives ErrSegmented: reassemble first, then call Decode.
func DecodeSMS(ud []byte) (Push, error) {
	h, n, err := ParseUDH(ud)
	if err != nil {
		return Push{}, err
	}
	if !h.IsPush() {
		return Push{}, derr("udh.dst_port", 0, ErrNotPush)
	}
	if h.Concat != nil && h.Concat.Total > 1 {
		return Push{}, derr("udh.concat", 0, ErrSegmented)
	}
	p, err := Decode(ud[n:])
	if err != nil {
		var de *DecodeError
		if asDecodeError(err, &de) {
			de.Offset += n
		}
		return Push{}, err
	}
	return p, nil
}

func asDecodeError(err error, target **DecodeError) bool {
	de, ok := err.(*DecodeError)
	if ok {
		*target = de
	}
	return ok
}
