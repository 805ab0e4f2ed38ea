package syncml

import (
	"errors"
	"testing"
)

func FuzzDecodeXML(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeXML(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %T %v, want *DecodeError", err, err)
			}
			return
		}
		x, err := EncodeXML(m, "")
		if err != nil {
			t.Fatalf("encode of a decoded message: %v", err)
		}
		m2, err := DecodeXML(x)
		if err != nil {
			t.Fatalf("decode of our encoding: %v\n%s", err, x)
		}
		if !hasProblem(m) {
			if !sameMessage(t, m2, m) {
				t.Fatalf("decode→encode→decode not stable:\n%s", x)
			}
			return
		}
		// Misplaced elements inside values may be dropped (they are flagged
		// by Problem); from then on the message must be a fixpoint.
		x2, err := EncodeXML(m2, "")
		if err != nil {
			t.Fatal(err)
		}
		m3, err := DecodeXML(x2)
		if err != nil || !sameMessage(t, m3, m2) {
			t.Fatalf("not a fixpoint after one round trip (%v):\n%s\n%s", err, x, x2)
		}
	})
}

func FuzzDecodeWBXML(f *testing.F) {
	f.Add(vectorBytes(f))
	for _, c := range loadCorpus(f) {
		m, err := DecodeXML(c.data)
		if err != nil {
			f.Fatal(err)
		}
		w, err := Encode(m, WBXML)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeWBXML(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %T %v, want *DecodeError", err, err)
			}
			return
		}
		w, err := Encode(m, WBXML)
		if err != nil {
			t.Fatalf("encode of a decoded message: %v", err)
		}
		m2, err := DecodeWBXML(w)
		if err != nil {
			t.Fatalf("decode of our encoding: %v\n%x", err, w)
		}
		if !hasProblem(m) {
			if !sameMessage(t, m2, m) {
				t.Fatalf("decode→encode→decode not stable:\n%x", w)
			}
			return
		}
		w2, err := Encode(m2, WBXML)
		if err != nil {
			t.Fatal(err)
		}
		m3, err := DecodeWBXML(w2)
		if err != nil || !sameMessage(t, m3, m2) {
			t.Fatalf("not a fixpoint after one round trip (%v):\n%x\n%x", err, w, w2)
		}
	})
}

// hasProblem reports whether any part of m was flagged while decoding.
func hasProblem(m *Message) bool {
	if m.Hdr.Problem != nil || len(m.Extra) > 0 {
		return true
	}
	var walk func([]*Command) bool
	walk = func(cs []*Command) bool {
		for _, c := range cs {
			if c.Problem != nil || walk(c.Children) {
				return true
			}
		}
		return false
	}
	return walk(m.Body)
}
