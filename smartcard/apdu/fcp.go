package apdu

import "fmt"

// FileType is the kind of a selected file.
type FileType int

// File types.
const (
	FileUnknown FileType = iota
	FileDF               // MF, DF or ADF
	FileTransparent
	FileLinearFixed
	FileCyclic
)

func (t FileType) String() string {
	switch t {
	case FileDF:
		return "DF"
	case FileTransparent:
		return "transparent EF"
	case FileLinearFixed:
		return "linear fixed EF"
	case FileCyclic:
		return "cyclic EF"
	}
	return "unknown"
}

// FileInfo is what a SELECT response tells about a file.
type FileInfo struct {
	Type      FileType
	Size      int // EF body size in bytes (0 if unknown)
	RecordLen int // linear fixed / cyclic: record length
	Records   int // linear fixed / cyclic: number of records
	FID       uint16
	DFName    []byte
}

// ParseFileInfo decodes the response to SELECT: an ISO 7816-4 / TS 102 221
// FCP template (tag 62) or, when the first byte is not 62, the GSM 11.11
// GET RESPONSE layout (bytes 2-3 size, 4-5 FID, 6 type 01 MF / 02 DF /
// 04 EF, 13 structure 00 transparent / 01 linear fixed / 03 cyclic, 14
// record length; at least 15 bytes for an EF).
func ParseFileInfo(b []byte) (FileInfo, error) {
	if len(b) > 0 && b[0] == 0x62 {
		return parseFCP(b)
	}
	return parseGSM(b)
}

func parseGSM(b []byte) (FileInfo, error) {
	if len(b) < 7 {
		return FileInfo{}, fmt.Errorf("%w: GSM file info of %d bytes", ErrMalformed, len(b))
	}
	fi := FileInfo{FID: uint16(b[4])<<8 | uint16(b[5])}
	switch b[6] {
	case 0x01, 0x02:
		fi.Type = FileDF
		return fi, nil
	case 0x04:
	default:
		return FileInfo{}, fmt.Errorf("%w: GSM file type %02X", ErrMalformed, b[6])
	}
	if len(b) < 15 {
		return FileInfo{}, fmt.Errorf("%w: GSM EF info of %d bytes (want 15)", ErrMalformed, len(b))
	}
	fi.Size = int(b[2])<<8 | int(b[3])
	switch b[13] {
	case 0x00:
		fi.Type = FileTransparent
	case 0x01, 0x03:
		fi.Type = FileLinearFixed
		if b[13] == 0x03 {
			fi.Type = FileCyclic
		}
		fi.RecordLen = int(b[14])
		if fi.RecordLen > 0 {
			fi.Records = fi.Size / fi.RecordLen
		}
	default:
		return FileInfo{}, fmt.Errorf("%w: GSM EF structure %02X", ErrMalformed, b[13])
	}
	return fi, nil
}

func parseFCP(b []byte) (FileInfo, error) {
	body, err := fcpBody(b)
	if err != nil {
		return FileInfo{}, err
	}
	var fi FileInfo
	for len(body) > 0 {
		if len(body) < 2 {
			return FileInfo{}, fmt.Errorf("%w: FCP truncated", ErrMalformed)
		}
		tag, n := body[0], int(body[1])
		if n > len(body)-2 {
			return FileInfo{}, fmt.Errorf("%w: FCP tag %02X length %d beyond the template", ErrMalformed, tag, n)
		}
		v := body[2 : 2+n]
		body = body[2+n:]
		switch tag {
		case 0x80: // data bytes in the EF body
			fi.Size = beInt(v)
		case 0x82: // file descriptor
			if len(v) < 1 {
				return FileInfo{}, fmt.Errorf("%w: empty file descriptor", ErrMalformed)
			}
			switch {
			case v[0]&0x38 == 0x38:
				fi.Type = FileDF
			case v[0]&0x07 == 1:
				fi.Type = FileTransparent
			case v[0]&0x07 == 2:
				fi.Type = FileLinearFixed
			case v[0]&0x07 == 6:
				fi.Type = FileCyclic
			}
			if len(v) >= 4 {
				fi.RecordLen = int(v[2])<<8 | int(v[3])
			}
			if len(v) >= 5 {
				fi.Records = int(v[4])
			}
		case 0x83:
			if len(v) == 2 {
				fi.FID = uint16(v[0])<<8 | uint16(v[1])
			}
		case 0x84:
			fi.DFName = append([]byte(nil), v...)
		}
	}
	if (fi.Type == FileLinearFixed || fi.Type == FileCyclic) && fi.Size == 0 {
		fi.Size = fi.RecordLen * fi.Records
	}
	return fi, nil
}

// fcpBody returns the value of the 62 template (one- or two-byte BER length).
func fcpBody(b []byte) ([]byte, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: FCP of %d bytes", ErrMalformed, len(b))
	}
	n, hdr := int(b[1]), 2
	switch {
	case b[1] == 0x81:
		if len(b) < 3 {
			return nil, fmt.Errorf("%w: FCP length truncated", ErrMalformed)
		}
		n, hdr = int(b[2]), 3
	case b[1] > 0x81:
		return nil, fmt.Errorf("%w: FCP length form %02X", ErrMalformed, b[1])
	}
	if n > len(b)-hdr {
		return nil, fmt.Errorf("%w: FCP length %d beyond %d bytes", ErrMalformed, n, len(b)-hdr)
	}
	return b[hdr : hdr+n], nil
}

func beInt(v []byte) int {
	if len(v) > 4 {
		v = v[len(v)-4:]
	}
	n := 0
	for _, c := range v {
		n = n<<8 | int(c)
	}
	if n < 0 {
		return 0
	}
	return n
}
