package pcsc

import (
	"bytes"
	"testing"
)

// readerState builds one pcscd READER_STATE record.
func readerState(name string, state uint32, atr []byte, proto uint32) []byte {
	r := make([]byte, readerStateSz)
	copy(r, name)
	ne.PutUint32(r[132:], state)
	copy(r[140:], atr)
	ne.PutUint32(r[176:], uint32(len(atr)))
	ne.PutUint32(r[180:], proto)
	return r
}

func TestParseReaderStates(t *testing.T) {
	b := append(readerState("Virtual PCD 00 00", StatePresent, []byte{0x3B, 0x02, 0x14, 0x50}, 1),
		readerState("", 0, nil, 0)...)
	b = append(b, readerState("Virtual PCD 00 01", StateAbsent, nil, 0)...)
	got := parseReaderStates(b)
	if len(got) != 2 || got[0].Name != "Virtual PCD 00 00" || !got[0].CardPresent() ||
		!bytes.Equal(got[0].ATR, []byte{0x3B, 0x02, 0x14, 0x50}) || got[1].CardPresent() {
		t.Errorf("got %+v, want the two named readers, the first with a card and its ATR", got)
	}
}

// FuzzParseReaderStates: whatever pcscd (or something on its socket)
// answers, parsing never panics, names hold no NUL, and an ATR is never
// longer than the field it comes from.
func FuzzParseReaderStates(f *testing.F) {
	f.Add(readerState("Virtual PCD 00 00", StatePresent, []byte{0x3B, 0x80, 0x01, 0x81}, 2))
	f.Add(append(readerState("a", 0, nil, 0), 1, 2, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range parseReaderStates(b) {
			if r.Name == "" || bytes.IndexByte([]byte(r.Name), 0) >= 0 || len(r.ATR) > maxATR {
				t.Fatalf("bad reader %+v", r)
			}
		}
	})
}
