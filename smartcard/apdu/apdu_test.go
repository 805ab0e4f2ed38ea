package apdu_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestCommandBytes(t *testing.T) {
	tests := []struct {
		name string
		cmd  apdu.Command
		want string
		cas  int
	}{
		{"case 1", apdu.Command{CLA: 0x01, INS: 0x70, P1: 0x80, P2: 0x01, Le: apdu.NoLe}, "01708001", 1},
		{"case 2 Le=1", apdu.OpenChannel(), "0070000001", 2},
		{"case 2 Le=256", apdu.ReadBinary(0x00, 0x0100, 256), "00B0010000", 2},
		{"case 3", apdu.Select(0x00, apdu.SelectByFID, apdu.SelectNone, h("2FE2")), "00A4000C022FE2", 3},
		// Nordic trace step 2 (smartcard.md §5.1).
		{"case 4", apdu.Select(0x01, apdu.SelectByDFName, apdu.SelectFCP, h("A000000063504B43532D3135")), "01A404040CA000000063504B43532D313500", 4},
		{"GSM select", apdu.SelectGSM(0x7F50), "A0A40000027F50", 3},
		{"read record", apdu.ReadRecord(0x00, 1, 38), "00B2010426", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cmd.Bytes()
			if err != nil || !bytes.Equal(got, h(tt.want)) {
				t.Fatalf("got %X, %v; want %s", got, err, tt.want)
			}
			if tt.cmd.Case() != tt.cas {
				t.Errorf("got case %d, want %d", tt.cmd.Case(), tt.cas)
			}
			back, err := apdu.ParseCommand(got)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := back.Bytes()
			if !bytes.Equal(again, got) {
				t.Errorf("round trip: got %X, want %X", again, got)
			}
		})
	}
	if _, err := (apdu.Command{Data: make([]byte, 256), Le: apdu.NoLe}).Bytes(); !errors.Is(err, apdu.ErrEncoding) {
		t.Errorf("Lc 256: got %v, want ErrEncoding", err)
	}
	if _, err := (apdu.Command{Le: 257}).Bytes(); !errors.Is(err, apdu.ErrEncoding) {
		t.Errorf("Le 257: got %v, want ErrEncoding", err)
	}
}

func TestClass(t *testing.T) {
	tests := []struct {
		ch   int
		want byte
	}{{0, 0x00}, {1, 0x01}, {3, 0x03}, {4, 0x40}, {19, 0x4F}}
	for _, tt := range tests {
		got, err := apdu.Class(tt.ch)
		if err != nil || got != tt.want || apdu.ChannelOf(got) != tt.ch {
			t.Errorf("Class(%d): got %02X, %v (back %d); want %02X", tt.ch, got, err, apdu.ChannelOf(got), tt.want)
		}
	}
	if _, err := apdu.Class(20); !errors.Is(err, apdu.ErrChannel) {
		t.Errorf("Class(20): got %v, want ErrChannel", err)
	}
	if apdu.ChannelOf(0xA0) != -1 {
		t.Error("ChannelOf(A0) should be -1")
	}
}

func TestStatusError(t *testing.T) {
	r, err := apdu.ParseResponse(h("6A82"))
	if err != nil {
		t.Fatal(err)
	}
	var se *apdu.StatusError
	if e := r.Err(); !errors.As(e, &se) || se.SW != 0x6A82 || !errors.Is(e, &apdu.StatusError{SW: 0x6A82}) {
		t.Fatalf("got %v, want *StatusError 6A82", e)
	}
	if got := se.Error(); got != "card status 6A82: file or application not found" {
		t.Errorf("got %q", got)
	}
	for _, ok := range []uint16{0x9000, 0x9110, 0x6282, 0x63C1} {
		if !apdu.IsSuccess(ok) {
			t.Errorf("IsSuccess(%04X) = false", ok)
		}
	}
	for _, bad := range []uint16{0x6A82, 0x6982, 0x6E00, 0x9001, 0x6100} {
		if apdu.IsSuccess(bad) {
			t.Errorf("IsSuccess(%04X) = true", bad)
		}
	}
	if _, err := apdu.ParseResponse([]byte{0x90}); !errors.Is(err, apdu.ErrMalformed) {
		t.Errorf("1-byte response: got %v, want ErrMalformed", err)
	}
}

// script answers each command APDU with the next canned response and
// checks the command.
type script struct {
	t     *testing.T
	steps [][2]string // command hex, response hex
}

func (s *script) Transmit(_ context.Context, b []byte) ([]byte, error) {
	if len(s.steps) == 0 {
		s.t.Fatalf("unexpected APDU %X", b)
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	if !bytes.Equal(b, h(st[0])) {
		s.t.Fatalf("got APDU %X, want %s", b, st[0])
	}
	return h(st[1]), nil
}

func TestExchange(t *testing.T) {
	tests := []struct {
		name  string
		cmd   apdu.Command
		steps [][2]string
		data  string
		sw    uint16
	}{
		{"61xx on channel 1", apdu.Select(0x01, apdu.SelectByDFName, apdu.SelectFCP, h("A000000063504B43532D3135")),
			[][2]string{{"01A404040CA000000063504B43532D313500", "6104"}, {"01C0000004", "62028201" + "9000"}}, "62028201", 0x9000},
		{"61xx chained", apdu.ReadBinary(0x00, 0, 256),
			[][2]string{{"00B0000000", "AA6102"}, {"00C0000002", "BBCC9000"}}, "AABBCC", 0x9000},
		{"6Cxx", apdu.ReadRecord(0x00, 1, 256),
			[][2]string{{"00B2010400", "6C02"}, {"00B2010402", "61629000"}}, "6162", 0x9000},
		{"9Fxx on a 2G SIM", apdu.SelectGSM(0x2FE2),
			[][2]string{{"A0A40000022FE2", "9F0F"}, {"A0C000000F", "0000000A2FE204000400FF01020000" + "9000"}}, "0000000A2FE204000400FF01020000", 0x9000},
		{"9Fxx is a status on CLA 00", apdu.ReadBinary(0x00, 0, 1), [][2]string{{"00B0000001", "9F10"}}, "", 0x9F10},
		{"error status passes through", apdu.SelectGSM(0x6F07), [][2]string{{"A0A40000026F07", "9404"}}, "", 0x9404},
		{"channel 5 keeps its class", apdu.ReadBinary(0x41, 0, 256),
			[][2]string{{"41B0000000", "6101"}, {"41C0000001", "019000"}}, "01", 0x9000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{t: t, steps: tt.steps}
			r, err := apdu.Exchange(context.Background(), s, tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(r.Data) != hex.EncodeToString(h(tt.data)) || r.SW != tt.sw {
				t.Errorf("got %X %04X, want %s %04X", r.Data, r.SW, tt.data, tt.sw)
			}
			if len(s.steps) != 0 {
				t.Errorf("%d scripted steps unused", len(s.steps))
			}
		})
	}
}

type loop struct{}

func (loop) Transmit(context.Context, []byte) ([]byte, error) { return []byte{0x61, 0x00}, nil }

func TestExchangeBounded(t *testing.T) {
	_, err := apdu.Exchange(context.Background(), loop{}, apdu.ReadBinary(0, 0, 256))
	if !errors.Is(err, apdu.ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed after endless 61xx", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := apdu.Exchange(ctx, loop{}, apdu.ReadBinary(0, 0, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestParseFileInfo(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want apdu.FileInfo
	}{
		// Nordic trace (smartcard.md §5.1 step 3).
		{"UICC EF FCP", "62168202412183025031" + "8A01058B036F0602" + "800200208800", apdu.FileInfo{Type: apdu.FileTransparent, Size: 0x20, FID: 0x5031}},
		{"UICC linear", "62128205422100260283022F008A0105800200" + "4C", apdu.FileInfo{Type: apdu.FileLinearFixed, Size: 0x4C, RecordLen: 38, Records: 2, FID: 0x2F00}},
		{"GSM EF", "0000000A2FE204000400FF01020000", apdu.FileInfo{Type: apdu.FileTransparent, Size: 10, FID: 0x2FE2}},
		{"GSM linear", "000000262F0004000400FF01020126", apdu.FileInfo{Type: apdu.FileLinearFixed, Size: 0x26, RecordLen: 0x26, Records: 1, FID: 0x2F00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apdu.ParseFileInfo(h(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.want.Type || got.Size != tt.want.Size || got.RecordLen != tt.want.RecordLen ||
				got.Records != tt.want.Records || got.FID != tt.want.FID {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "62", "6205820241", "6281", "000000", "0000000A2FE20400"} {
		if _, err := apdu.ParseFileInfo(h(bad)); !errors.Is(err, apdu.ErrMalformed) {
			t.Errorf("ParseFileInfo(%s): got %v, want ErrMalformed", bad, err)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"0070000001", "01A404040CA000000063504B43532D313500", "00A4000C022FE2", "01708001", "00B0000000"} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := apdu.ParseCommand(b)
		if err != nil {
			return
		}
		enc, err := c.Bytes()
		if err != nil {
			t.Fatalf("parsed %X but cannot encode: %v", b, err)
		}
		c2, err := apdu.ParseCommand(enc)
		if err != nil {
			t.Fatalf("re-parse of %X: %v", enc, err)
		}
		enc2, _ := c2.Bytes()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable: %X → %X", enc, enc2)
		}
	})
}

func FuzzParseFileInfo(f *testing.F) {
	for _, s := range []string{"621682024121830250318A01058B036F0602800200208800", "0000000A2FE204000400FF01020000", "62128205422100260283022F008A01058002004C"} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fi, err := apdu.ParseFileInfo(b)
		if err == nil && (fi.Size < 0 || fi.RecordLen < 0 || fi.Records < 0) {
			t.Fatalf("negative sizes %+v", fi)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add(h("9000"))
	f.Add(h("019000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := apdu.ParseResponse(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Bytes(), b) {
			t.Fatalf("round trip %X → %X", b, r.Bytes())
		}
	})
}
