package wappush

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// pkg0V12 is the version-12 Package #0 of protocol.md §1.6.
const pkg0V12 = "15d47fba57a3e05ac422858874bcb4b60318000000123412636f6d2e6d676d747372762e6d616e616765"

// bootstrapBody is the 220-byte WBXML of protocol.md §7.1.
const bootstrapBody = "02a4016a006d6c7103312e3200017203444d2f312e32000165033000015b033000016e5703494d45493a343933303035313030353932383030000101675703646d2e6578616d706c652e636f6d000101016b454b03310001546e57032e2f444d4163632f4578616d706c65444d0001015a000147036e6f6465000101010000546e57032e2f444d4163632f4578616d706c65444d2f41707049440001014fc30277370101546e57032e2f444d4163632f4578616d706c65444d2f53657276657249440001014fc30e646d2e6578616d706c652e636f6d010101120101"

const bootstrapMAC = "CCE7A84919C94383788FCCE5E72C6CD791406C2A"

// bootstrapWSP builds the §2.4 push vector.
func bootstrapWSP(t testing.TB) []byte {
	t.Helper()
	var b []byte
	b = append(b, 0x00, 0x06, 0x31, 0x1F, 0x2D, 0xC2, 0x91, 0x80, 0x92)
	b = append(b, bootstrapMAC...)
	b = append(b, 0x00, 0xAF, 0x87)
	return append(b, mustHex(t, bootstrapBody)...)
}

func TestBootstrapBodyLength(t *testing.T) {
	if got := len(mustHex(t, bootstrapBody)); got != 220 {
		t.Fatalf("bootstrap body: got %d bytes, want 220", got)
	}
	if got := bootstrapWSP(t)[2]; int(got) != 2+45+2 {
		t.Fatalf("HeadersLen: got %d, want 49", got)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		pdu     []byte
		want    Push
		wantErr error
	}{
		{
			name: "spec example 1.6 (short-int CT, app id 7)",
			pdu:  mustHex(t, "01 06 03 C4 AF 87"+pkg0V12),
			want: Push{TID: 1, PDUType: PDUPush, ContentType: "application/vnd.syncml.notification",
				ContentTypeCode: 0x44, AppID: "x-wap-application:syncml.dm", AppIDCode: 7, SEC: SECNone,
				Body: mustHex(t, pkg0V12)},
		},
		{
			name: "bootstrap push 2.4 (general form, SEC, MAC)",
			pdu:  bootstrapWSP(t),
			want: Push{TID: 0, PDUType: PDUPush, ContentType: "application/vnd.syncml.dm+wbxml",
				ContentTypeCode: 0x42, AppID: "x-wap-application:syncml.dm", AppIDCode: 7, SEC: SECNetwPIN,
				MAC: bootstrapMAC, Body: mustHex(t, bootstrapBody)},
		},
		{
			name: "confirmed push, text content type, text app id, other headers",
			// TID 5, 0x07, HL, "application/x-foo\0", Content-Length(0x8D) short-int,
			// app header "X-A\0" "b\0", Date (0x92) long-int, AF "urn:x\0"
			pdu: append(append([]byte{0x05, 0x07, byte(18 + 2 + 6 + 6 + 7)},
				append([]byte("application/x-foo\x00"), 0x8D, 0x83)...),
				append([]byte("X-A\x00b\x00"), append([]byte{0x92, 0x04, 0x01, 0x02, 0x03, 0x04},
					append([]byte{0xAF}, append([]byte("urn:x\x00"), 0xAA)...)...)...)...),
			want: Push{TID: 5, PDUType: PDUConfirmedPush, ContentType: "application/x-foo",
				ContentTypeCode: -1, AppID: "urn:x", AppIDCode: -1, SEC: SECNone, Body: []byte{0xAA}},
		},
		{
			name: "general form with long-int media 0x0302 and untyped + typed params",
			// HL: 1F? no: short length 10: 02 03 02 | "q\0" 80 | 81 EA (charset utf-8) | 91 83
			pdu: []byte{0x01, 0x06, 0x0B, 0x0A, 0x02, 0x03, 0x02, 'q', 0x00, 0x80, 0x81, 0xEA, 0x91, 0x83},
			want: Push{TID: 1, PDUType: PDUPush, ContentType: "application/vnd.syncml+xml",
				ContentTypeCode: 0x0302, AppIDCode: -1, SEC: SECUserPINMAC, Body: []byte{}},
		},
		{
			name: "uintvar headers length on two octets, shift delimiter, no app id",
			pdu:  append([]byte{0x01, 0x06, 0x81, 0x00}, append(append([]byte{0xC4, 0x7F, 0x02, 0x03}, bytes.Repeat([]byte{0x8D, 0x80}, 62)...), 0xEE)...),
			want: Push{TID: 1, PDUType: PDUPush, ContentType: "application/vnd.syncml.notification",
				ContentTypeCode: 0x44, AppIDCode: -1, SEC: SECNone, Body: []byte{0xEE}},
		},
		{name: "empty", pdu: nil, wantErr: ErrUnderflow},
		{name: "wrong pdu type", pdu: []byte{0x01, 0x08, 0x01, 0xC4}, wantErr: ErrUnsupportedPDU},
		{name: "headers beyond end", pdu: []byte{0x01, 0x06, 0x05, 0xC4}, wantErr: ErrUnderflow},
		{name: "zero headers length", pdu: []byte{0x01, 0x06, 0x00}, wantErr: ErrInvalid},
		{name: "uintvar too long", pdu: []byte{0x01, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, wantErr: ErrInvalid},
		{name: "unterminated text content type", pdu: []byte{0x01, 0x06, 0x02, 'a', 'b'}, wantErr: ErrUnderflow},
		{name: "general form longer than headers", pdu: []byte{0x01, 0x06, 0x02, 0x05, 0xC2}, wantErr: ErrUnderflow},
		{name: "MAC not terminated", pdu: []byte{0x01, 0x06, 0x05, 0x04, 0xC2, 0x92, 'A', 'B'}, wantErr: ErrUnderflow},
		{name: "app id value missing", pdu: []byte{0x01, 0x06, 0x02, 0xC4, 0xAF}, wantErr: ErrUnderflow},
		{name: "NUL header octet", pdu: []byte{0x01, 0x06, 0x02, 0xC4, 0x00}, wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.pdu)
			if tt.wantErr != nil {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("got error %v, want a *DecodeError", err)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			comparePush(t, got, tt.want)
		})
	}
}

func comparePush(t *testing.T, got, want Push) {
	t.Helper()
	if got.TID != want.TID || got.PDUType != want.PDUType || got.ContentType != want.ContentType ||
		got.ContentTypeCode != want.ContentTypeCode || got.AppID != want.AppID || got.AppIDCode != want.AppIDCode ||
		got.SEC != want.SEC || got.MAC != want.MAC || got.From != want.From {
		t.Errorf("got %+v,\nwant %+v", got, want)
	}
	if !bytes.Equal(got.Body, want.Body) {
		t.Errorf("body: got %x, want %x", got.Body, want.Body)
	}
}

func TestDecodeBodyDoesNotAlias(t *testing.T) {
	pdu := mustHex(t, "01 06 03 C4 AF 87 AA BB")
	p, err := Decode(pdu)
	if err != nil {
		t.Fatal(err)
	}
	pdu[6] = 0
	if p.Body[0] != 0xAA {
		t.Fatalf("body aliases the input: got %x, want aa", p.Body[0])
	}
}

func TestDecodeSMS(t *testing.T) {
	tests := []struct {
		name     string
		ud       string
		wantErr  error
		wantCT   int
		wantBody string
	}{
		{name: "spec example (src port 0xC002)", ud: "0605040B84C002 010603C4AF87" + pkg0V12, wantCT: 0x44, wantBody: pkg0V12},
		{name: "2.2 user data (src port 9200)", ud: "0605040b8423f0 010603c4af87" + pkg0V12, wantCT: 0x44, wantBody: pkg0V12},
		{name: "8-bit ports IE", ud: "040402840000" + "010603C4AF87", wantErr: ErrNotPush},
		{name: "other port", ud: "0605040B8523F0 010603C4AF87", wantErr: ErrNotPush},
		{name: "no port IE", ud: "00 010603C4AF87", wantErr: ErrNotPush},
		{name: "segment", ud: "0B05040B8423F0000342 0201 010603C4AF87", wantErr: ErrSegmented},
		{name: "single-segment concat", ud: "0B05040B8423F0000342 0101 010603C4AF87", wantCT: 0x44},
		{name: "truncated UDH", ud: "0605040B84", wantErr: ErrUnderflow},
		{name: "truncated IE", ud: "020504", wantErr: ErrUnderflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodeSMS(mustHex(t, tt.ud))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if p.ContentTypeCode != tt.wantCT {
				t.Errorf("content type: got %#x, want %#x", p.ContentTypeCode, tt.wantCT)
			}
			if got := hex.EncodeToString(p.Body); got != strings.ToLower(tt.wantBody) {
				t.Errorf("body: got %s, want %s", got, tt.wantBody)
			}
		})
	}
}

func TestParseUDH(t *testing.T) {
	tests := []struct {
		name   string
		udh    string
		dst    int
		src    int
		concat *Concat
		n      int
	}{
		{name: "16-bit ports", udh: "0605040B8423F0", dst: 2948, src: 9200, n: 7},
		{name: "8-bit ports", udh: "0404020B0C", dst: 0x0B, src: 0x0C, n: 5},
		{name: "concat 8", udh: "0B05040B8423F0000342 0301", dst: 2948, src: 9200, concat: &Concat{Ref: 0x42, Total: 3, Seq: 1}, n: 12},
		{name: "concat 16", udh: "0C05040B8423F008041234 0302", dst: 2948, src: 9200, concat: &Concat{Ref: 0x1234, Ref16: true, Total: 3, Seq: 2}, n: 13},
		{name: "seq beyond total ignored", udh: "050003420304", dst: -1, src: -1, n: 6},
		{name: "wrong IE length ignored", udh: "0505030B8423", dst: -1, src: -1, n: 6},
		{name: "last IE wins", udh: "0C05040B8523F005040B8423F0", dst: 2948, src: 9200, n: 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := ParseUDH(mustHex(t, tt.udh))
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if h.DstPort != tt.dst || h.SrcPort != tt.src || n != tt.n {
				t.Errorf("got dst %d src %d n %d, want %d %d %d", h.DstPort, h.SrcPort, n, tt.dst, tt.src, tt.n)
			}
			switch {
			case (h.Concat == nil) != (tt.concat == nil):
				t.Errorf("concat: got %v, want %v", h.Concat, tt.concat)
			case h.Concat != nil && *h.Concat != *tt.concat:
				t.Errorf("concat: got %+v, want %+v", *h.Concat, *tt.concat)
			}
		})
	}
}

// encodePush is a minimal encoder used to check decode→encode→decode
// stability in the fuzz target: it re-encodes the fields Decode exposes.
func encodePush(p Push) []byte {
	var h []byte
	params := []byte{}
	if p.SEC >= 0 && p.SEC < 0x80 {
		params = append(params, 0x91, 0x80|byte(p.SEC))
	}
	if p.MAC != "" && !strings.ContainsRune(p.MAC, 0) {
		params = append(params, 0x92)
		if p.MAC[0] >= 0x7F {
			params = append(params, 127)
		}
		params = append(append(params, p.MAC...), 0)
	}
	var media []byte
	switch {
	case p.ContentTypeCode >= 0 && p.ContentTypeCode < 0x80:
		media = []byte{0x80 | byte(p.ContentTypeCode)}
	case p.ContentTypeCode >= 0x80:
		c := p.ContentTypeCode
		media = []byte{4, byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}
	default:
		if p.ContentType != "" && p.ContentType[0] >= 0x7F {
			media = append(media, 127)
		}
		media = append(append(media, p.ContentType...), 0)
	}
	gen := append(media, params...)
	h = append(h, 0x1F)
	h = appendUintvar(h, len(gen))
	h = append(h, gen...)
	switch {
	case p.AppIDCode >= 0 && p.AppIDCode < 0x80:
		h = append(h, 0xAF, 0x80|byte(p.AppIDCode))
	case p.AppIDCode >= 0x80:
		c := p.AppIDCode
		h = append(h, 0xAF, 4, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
	case p.AppID != "":
		h = append(h, 0xAF)
		if p.AppID[0] >= 0x7F {
			h = append(h, 127)
		}
		h = append(append(h, p.AppID...), 0)
	}
	out := []byte{p.TID, p.PDUType}
	out = appendUintvar(out, len(h))
	out = append(out, h...)
	return append(out, p.Body...)
}

func appendUintvar(b []byte, v int) []byte {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7F)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = 0x80 | byte(v&0x7F)
	}
	return append(b, tmp[i:]...)
}

func FuzzDecode(f *testing.F) {
	f.Add(mustHex(f, "01 06 03 C4 AF 87"+pkg0V12))
	f.Add(bootstrapWSP(f))
	f.Add([]byte{0x01, 0x06, 0x0B, 0x0A, 0x02, 0x03, 0x02, 'q', 0x00, 0x80, 0x81, 0xEA, 0x91, 0x83})
	f.Add([]byte{0x05, 0x07, 0x05, 'a', 0x00, 0xAF, 'b', 0x00})
	f.Fuzz(func(t *testing.T, pdu []byte) {
		p, err := Decode(pdu)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if de.Offset < 0 || de.Offset > len(pdu) {
				t.Fatalf("offset %d outside input of %d bytes", de.Offset, len(pdu))
			}
			return
		}
		// Text values may legally contain a leading Quote that we keep out
		// of the string; they cannot contain NUL. Re-encode and decode again.
		p2, err := Decode(encodePush(p))
		if err != nil {
			t.Fatalf("re-decode of %+v failed: %v", p, err)
		}
		if p2.TID != p.TID || p2.PDUType != p.PDUType || p2.ContentType != p.ContentType ||
			p2.ContentTypeCode != p.ContentTypeCode || p2.AppID != p.AppID || p2.AppIDCode != p.AppIDCode ||
			p2.SEC != p.SEC || p2.MAC != p.MAC || !bytes.Equal(p2.Body, p.Body) {
			t.Fatalf("unstable: %+v\nthen %+v", p, p2)
		}
	})
}

func FuzzDecodeSMS(f *testing.F) {
	f.Add(mustHex(f, "0605040B84C002 010603C4AF87"+pkg0V12))
	f.Add(mustHex(f, "0B05040B8423F0000342 0101 010603C4AF87"))
	f.Add(mustHex(f, "0C05040B8423F008041234 0302"))
	f.Fuzz(func(t *testing.T, ud []byte) {
		_, err := DecodeSMS(ud)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	pdu := bootstrapWSP(b)
	b.SetBytes(int64(len(pdu)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(pdu); err != nil {
			b.Fatal(err)
		}
	}
}
