package modem

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

const pkg0V12 = "15d47fba57a3e05ac422858874bcb4b60318000000123412636f6d2e6d676d747372762e6d616e616765"

// sms22 is the §2.2 SMS-DELIVER vector, with an empty SMSC address (00) in
// front as a modem prints it in PDU mode.
const sms22 = "00" + "44" + "0B912143658709F1" + "0004" + "52101201000000" + "37" + "0605040b8423f0" + "010603c4af87" + pkg0V12

func TestDecodePDU(t *testing.T) {
	tests := []struct {
		name     string
		pdu      string
		wantPush bool
		wantSeg  bool
		wantDst  int
		wantErr  bool
	}{
		{name: "protocol.md 2.2 vector", pdu: sms22, wantPush: true, wantDst: 2948},
		{name: "gammu single push", pdu: "0791947101670000400C91947110325476000462111201000000110605040B8423F0010603C4AF87DEADBEEF", wantPush: true, wantDst: 2948},
		{name: "gammu text SMS", pdu: "0791947101670000000791947190F900006211120100000005E8329BFD06", wantDst: -1},
		{name: "gammu segment", pdu: "0791947101670000400C91947110325476000462111201000000" + "0E0B05040B8423F0000342030101" + "02", wantSeg: true, wantDst: 2948},
		{name: "truncated", pdu: "0791947101670000400C9194", wantErr: true},
		{name: "not hex", pdu: "zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg, push, err := DecodePDUHex(tt.pdu)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got nil error, want one")
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if (push != nil) != tt.wantPush {
				t.Fatalf("got push %v, want push=%v", push, tt.wantPush)
			}
			if seg.IsSegmented() != tt.wantSeg || seg.UDH.DstPort != tt.wantDst {
				t.Fatalf("got segmented %v dst %d, want %v %d", seg.IsSegmented(), seg.UDH.DstPort, tt.wantSeg, tt.wantDst)
			}
		})
	}
	seg, push, err := DecodePDUHex(sms22)
	if err != nil {
		t.Fatal(err)
	}
	if push.From != "+12345678901" || seg.UDH.SrcPort != 9200 {
		t.Errorf("got from %q src %d, want +12345678901 9200", push.From, seg.UDH.SrcPort)
	}
	if push.ContentType != "application/vnd.syncml.notification" || push.AppIDCode != 7 || hex.EncodeToString(push.Body) != pkg0V12 {
		t.Errorf("got %+v", push)
	}
	if push.At.Year() != 2025 || push.At.Month() != time.January || push.At.Day() != 21 {
		t.Errorf("got SCTS %v, want 2025-01-21", push.At)
	}
}

func FuzzDecodePDU(f *testing.F) {
	for _, s := range []string{sms22,
		"0791947101670000400C91947110325476000462111201000000110605040B8423F0010603C4AF87DEADBEEF",
		"0791947101670000000791947190F900006211120100000005E8329BFD06",
		"0791947101670000400C91947110325476000462111201000000" + "0F0C05040B8423F008041234030101" + "02"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, pdu []byte) {
		seg, push, err := DecodePDU(pdu)
		if err != nil {
			if push != nil {
				t.Fatalf("push %v with error %v", push, err)
			}
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("decoder panicked: %v", err)
			}
			return
		}
		if push != nil && (!seg.IsPush() || seg.IsSegmented()) {
			t.Fatalf("push returned for a segment %+v", seg)
		}
		if push != nil {
			// The push must be what wappush decodes from the payload.
			p2, err := wappush.Decode(seg.Payload)
			if err != nil || p2.ContentType != push.ContentType || string(p2.Body) != string(push.Body) {
				t.Fatalf("inconsistent push: %v %+v", err, p2)
			}
		}
	})
}

func seg(from string, ref, total, seq int, payload string) Segment {
	return Segment{From: from, EightBit: true, Payload: []byte(payload),
		UDH: wappush.UDH{DstPort: 2948, SrcPort: 9200, Concat: &wappush.Concat{Ref: ref, Total: total, Seq: seq}}}
}

func TestReassembler(t *testing.T) {
	now := time.Unix(1000, 0)
	t.Run("out of order with duplicate", func(t *testing.T) {
		r := NewReassembler(time.Minute, 4, 1000)
		for i, s := range []Segment{seg("a", 1, 3, 3, "CC"), seg("a", 1, 3, 1, "AA"), seg("a", 1, 3, 1, "XX")} {
			if m, d := r.Add(s, 10+i, now); m != nil || d != nil {
				t.Fatalf("segment %d: got message %v dropped %v, want none", i, m, d)
			}
		}
		m, _ := r.Add(seg("a", 1, 3, 2, "BB"), 20, now)
		if m == nil || string(m.Payload) != "AABBCC" {
			t.Fatalf("got %v, want payload AABBCC", m)
		}
		if got := m.Indexes; len(got) != 4 {
			t.Fatalf("got indexes %v, want 4 (duplicate included)", got)
		}
		if r.Len() != 0 || r.Bytes() != 0 {
			t.Fatalf("got len %d bytes %d after completion, want 0 0", r.Len(), r.Bytes())
		}
	})
	t.Run("different originators do not mix", func(t *testing.T) {
		r := NewReassembler(time.Minute, 4, 1000)
		r.Add(seg("a", 1, 2, 1, "A1"), 1, now)
		if m, _ := r.Add(seg("b", 1, 2, 2, "B2"), 2, now); m != nil {
			t.Fatalf("got %v, want no message", m)
		}
		if r.Len() != 2 {
			t.Fatalf("got %d partials, want 2", r.Len())
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r := NewReassembler(time.Minute, 4, 1000)
		r.Add(seg("a", 7, 2, 1, "A1"), 5, now)
		if dl, ok := r.NextDeadline(); !ok || !dl.Equal(now.Add(time.Minute)) {
			t.Fatalf("got deadline %v %v", dl, ok)
		}
		if d := r.Expire(now.Add(59 * time.Second)); len(d) != 0 {
			t.Fatalf("got %v before the deadline, want nothing", d)
		}
		d := r.Expire(now.Add(time.Minute))
		if len(d) != 1 || !errors.Is(d[0].Reason, ErrReassemblyTimeout) || d[0].Indexes[0] != 5 {
			t.Fatalf("got %+v, want one timeout with index 5", d)
		}
	})
	t.Run("max partials evicts the oldest", func(t *testing.T) {
		r := NewReassembler(time.Minute, 2, 1000)
		r.Add(seg("a", 1, 2, 1, "x"), 1, now)
		r.Add(seg("a", 2, 2, 1, "x"), 2, now)
		_, d := r.Add(seg("a", 3, 2, 1, "x"), 3, now)
		if len(d) != 1 || d[0].Ref != 1 || !errors.Is(d[0].Reason, ErrReassemblyEvicted) {
			t.Fatalf("got %+v, want ref 1 evicted", d)
		}
	})
	t.Run("byte bound", func(t *testing.T) {
		r := NewReassembler(time.Minute, 10, 10)
		r.Add(seg("a", 1, 2, 1, "123456"), 1, now)
		_, d := r.Add(seg("a", 2, 2, 1, "123456"), 2, now)
		if len(d) != 1 || d[0].Ref != 1 || r.Bytes() != 6 {
			t.Fatalf("got %+v bytes %d, want ref 1 evicted and 6 bytes", d, r.Bytes())
		}
		_, d = r.Add(seg("a", 3, 2, 1, "12345678901"), 3, now)
		if len(d) != 1 || !errors.Is(d[0].Reason, ErrSegmentTooLarge) {
			t.Fatalf("got %+v, want too large", d)
		}
	})
}

// FuzzReassembler feeds random segment sequences and checks the invariants:
// bounds hold, byte accounting is exact, completed payloads are in seq order.
func FuzzReassembler(f *testing.F) {
	f.Add([]byte{0, 1, 3, 3, 0, 1, 3, 1, 0, 1, 3, 2})
	f.Add([]byte{1, 2, 2, 1, 2, 2, 2, 2, 1, 5, 2, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		r := NewReassembler(time.Second, 3, 40)
		now := time.Unix(0, 0)
		for i := 0; i+3 < len(ops); i += 4 {
			from, ref, total, seq := string('a'+ops[i]%3), int(ops[i+1]%4), int(ops[i+2]%5), int(ops[i+3]%6)
			now = now.Add(time.Duration(ops[i]) * 10 * time.Millisecond)
			r.Expire(now)
			payload := strings.Repeat(string('0'+byte(seq)), int(ops[i+1]%7))
			m, _ := r.Add(seg(from, ref, total, seq, payload), i, now)
			if m != nil && total >= 2 && seq >= 1 && seq <= total {
				// every byte of a part is its seq digit: must be non-decreasing
				for j := 1; j < len(m.Payload); j++ {
					if m.Payload[j] < m.Payload[j-1] {
						t.Fatalf("payload out of order: %q", m.Payload)
					}
				}
			}
			if r.Len() > 3 || r.Bytes() > 40 || r.Bytes() < 0 {
				t.Fatalf("bounds broken: len %d bytes %d", r.Len(), r.Bytes())
			}
			sum := 0
			for _, p := range r.partials {
				sum += p.bytes
			}
			if sum != r.Bytes() {
				t.Fatalf("byte accounting: got %d, want %d", r.Bytes(), sum)
			}
		}
	})
}
