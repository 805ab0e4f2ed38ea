package modem_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/modem"
)

func TestParseCCHO(t *testing.T) {
	tests := []struct {
		name string
		info []string
		want int
		err  error
	}{
		{"TS 27.007 bare number", []string{"1"}, 1, nil},
		{"vendor prefix", []string{"+CCHO: 3"}, 3, nil},
		{"prefix, no space", []string{"+CCHO:17"}, 17, nil},
		{"prefix, quoted", []string{`+CCHO: "2"`}, 2, nil},
		{"large session ID", []string{"2147483647"}, 2147483647, nil},
		{"other line first", []string{"junk", " 5 "}, 5, nil},
		{"session ID too large", []string{"2147483648"}, 0, modem.ErrCCHO},
		{"prefix, not a number", []string{"+CCHO: x"}, 0, modem.ErrCCHO},
		{"prefix, negative", []string{"+CCHO: -1"}, 0, modem.ErrCCHO},
		{"prefix, empty", []string{"+CCHO:"}, 0, modem.ErrCCHO},
		{"nothing", nil, 0, modem.ErrCCHO},
		{"no number line", []string{"OK", "-1"}, 0, modem.ErrCCHO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := modem.ParseCCHO(tt.info)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("got %d, %v; want %d, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseCGLA(t *testing.T) {
	tests := []struct {
		name string
		info []string
		want string
		err  error
	}{
		{"quoted", []string{`+CGLA: 4,"9000"`}, "9000", nil},
		{"unquoted, no space", []string{`+CGLA:6,A79000`}, "A79000", nil},
		{"lower case hex", []string{`+CGLA: 6,"a79000"`}, "A79000", nil},
		{"length mismatch", []string{`+CGLA: 6,"9000"`}, "", modem.ErrCGLA},
		{"no status word", []string{`+CGLA: 2,"90"`}, "", modem.ErrCGLA},
		{"not hex", []string{`+CGLA: 4,"90G0"`}, "", modem.ErrCGLA},
		{"+CSIM line is not +CGLA", []string{`+CSIM: 4,"9000"`}, "", modem.ErrCGLA},
		{"no comma", []string{`+CGLA: 4`}, "", modem.ErrCGLA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := modem.ParseCGLA(tt.info)
			if !errors.Is(err, tt.err) || strings.ToUpper(hex.EncodeToString(got)) != tt.want {
				t.Errorf("got %X, %v; want %s, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseCRSM(t *testing.T) {
	tests := []struct {
		name string
		info []string
		sw   uint16
		data string
		err  error
	}{
		{"quoted data", []string{`+CRSM: 144,0,"A706300404026430"`}, 0x9000, "A706300404026430", nil},
		{"unquoted data, spaces", []string{`+CRSM: 144, 0, A706`}, 0x9000, "A706", nil},
		{"no data", []string{`+CRSM: 106,130`}, 0x6A82, "", nil},
		{"empty data", []string{`+CRSM: 148,4,""`}, 0x9404, "", nil},
		{"trailing comma", []string{`+CRSM: 144,0,`}, 0x9000, "", nil},
		{"lower case", []string{`+CRSM: 144,0,"ff"`}, 0x9000, "FF", nil},
		{"other line first", []string{"x", `+CRSM:108,32`}, 0x6C20, "", nil},
		{"sw1 out of range", []string{`+CRSM: 256,0`}, 0, "", modem.ErrCRSM},
		{"sw2 missing", []string{`+CRSM: 144`}, 0, "", modem.ErrCRSM},
		{"sw negative", []string{`+CRSM: -1,0`}, 0, "", modem.ErrCRSM},
		{"odd hex", []string{`+CRSM: 144,0,"ABC"`}, 0, "", modem.ErrCRSM},
		{"too much data", []string{`+CRSM: 144,0,"` + strings.Repeat("00", 1025) + `"`}, 0, "", modem.ErrCRSM},
		{"no +CRSM line", []string{"OK"}, 0, "", modem.ErrCRSM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := modem.ParseCRSM(tt.info)
			if !errors.Is(err, tt.err) || got.SW != tt.sw || strings.ToUpper(hex.EncodeToString(got.Data)) != tt.data {
				t.Errorf("got %04X %X, %v; want %04X %s, %v", got.SW, got.Data, err, tt.sw, tt.data, tt.err)
			}
		})
	}
}

func TestFormatCRSM(t *testing.T) {
	tests := []struct {
		cmd, fid, p1, p2, p3 int
		path                 string
		want                 string
	}{
		{178, 0x2F00, 1, 4, 38, "", "+CRSM=178,12032,1,4,38"},
		{176, 0x5031, 0, 0, 32, "3F007F50", `+CRSM=176,20529,0,0,32,,"3F007F50"`},
		{176, 0x6431, 1, 2, 255, "7f50", `+CRSM=176,25649,1,2,255,,"7F50"`},
		{192, 0x6430, 0, 0, 15, "3F007F50", `+CRSM=192,25648,0,0,15,,"3F007F50"`},
		{176, 0x6431, 0, 0, 256, "", ""},
		{176, 0x10000, 0, 0, 1, "", ""},
		{176, 0x6431, 0, 0, 1, "7F5", ""},
		{176, 0x6431, 0, 0, 1, `7F50",1`, ""},
	}
	for _, tt := range tests {
		got, err := modem.FormatCRSM(tt.cmd, tt.fid, tt.p1, tt.p2, tt.p3, tt.path)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("FormatCRSM(%d,%d,%d,%d,%d,%q): got %q, %v; want %q", tt.cmd, tt.fid, tt.p1, tt.p2, tt.p3, tt.path, got, err, tt.want)
		}
	}
}

func FuzzParseCCHO(f *testing.F) {
	for _, s := range []string{"1", "+CCHO: 3", `+CCHO: "2"`, "2147483648", "+CCHO: -1", "+CCHO:", " 07 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		sid, err := modem.ParseCCHO([]string{line})
		if err != nil {
			return
		}
		if sid < 0 {
			t.Fatalf("negative session %d from %q", sid, line)
		}
		// Re-encoded in both forms, the answer parses to the same ID.
		for _, again := range []string{fmt.Sprint(sid), fmt.Sprintf("+CCHO: %d", sid)} {
			if got, err := modem.ParseCCHO([]string{again}); err != nil || got != sid {
				t.Fatalf("%q → %d → %q → %d, %v", line, sid, again, got, err)
			}
		}
	})
}

func FuzzParseCGLA(f *testing.F) {
	for _, s := range []string{`+CGLA: 4,"9000"`, `+CGLA:6,A79000`, `+CGLA: 6,"9000"`, `+CGLA: -2,""`, `+CGLA:`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		b, err := modem.ParseCGLA([]string{line})
		if err != nil {
			return
		}
		if len(b) < 2 {
			t.Fatalf("accepted %q with %d bytes", line, len(b))
		}
		h := strings.ToUpper(hex.EncodeToString(b))
		again, err := modem.ParseCGLA([]string{fmt.Sprintf(`+CGLA: %d,"%s"`, len(h), h)})
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("%q → %X → %X, %v", line, b, again, err)
		}
	})
}

func FuzzParseCRSM(f *testing.F) {
	for _, s := range []string{`+CRSM: 144,0,"A706300404026430"`, `+CRSM: 106,130`, `+CRSM: 144, 0, A706`,
		`+CRSM: 148,4,""`, `+CRSM: 256,0`, `+CRSM: 144,0,"ABC"`, `+CRSM:`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		res, err := modem.ParseCRSM([]string{line})
		if err != nil {
			return
		}
		if len(res.Data) > 1024 {
			t.Fatalf("accepted %d bytes", len(res.Data))
		}
		// decode → encode → decode is stable.
		enc := fmt.Sprintf("+CRSM: %d,%d", res.SW>>8, res.SW&0xFF)
		if len(res.Data) > 0 {
			enc += fmt.Sprintf(`,"%X"`, res.Data)
		}
		again, err := modem.ParseCRSM([]string{enc})
		if err != nil || again.SW != res.SW || !bytes.Equal(again.Data, res.Data) {
			t.Fatalf("%q → %04X %X → %q → %04X %X, %v", line, res.SW, res.Data, enc, again.SW, again.Data, err)
		}
	})
}
