package notification

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, v := range specVectors {
		f.Add(unhex(f, v.pkg0))
	}
	f.Add(msg("02 d7 ff ff ff ab cd 01", 's'))
	f.Add(msg("02 d8 00 00 00 00 07 02", 'a', 'b', 0xde, 0xad))
	f.Add(msg("ff d0 00 00 00 00 01 01", 'x'))
	f.Add(msg("02 d8 00 00 00 12 34 00"))
	f.Add(msg("02 d8 00 00 00 12 34 03", 'a'))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Decode(b)
		if n == nil {
			if err == nil {
				t.Fatal("nil notification without an error")
			}
			return
		}
		if err != nil && !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("notification returned with error %v", err)
		}
		// Decode -> encode with the same digest reproduces the input exactly.
		out, merr := n.Marshal()
		if merr != nil {
			t.Fatalf("Marshal of a decoded notification: %v", merr)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Marshal: got %x, want %x", out, b)
		}
		n2, err2 := Decode(out)
		if !reflect.DeepEqual(n, n2) || (err == nil) != (err2 == nil) {
			t.Fatalf("unstable: %+v (%v) vs %+v (%v)", n, err, n2, err2)
		}
		// Encode with a real digest must verify.
		enc, eerr := Encode(*n, "pw", []byte("nonce"))
		if eerr != nil {
			t.Fatalf("Encode: %v", eerr)
		}
		n3, _ := Decode(enc)
		if n3 == nil || !Verify(n3, n.ServerID, "pw", []byte("nonce")) {
			t.Fatalf("Encode output does not verify: %x", enc)
		}
	})
}
