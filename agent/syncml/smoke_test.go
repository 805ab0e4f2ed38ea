package syncml

import "testing"

func TestSmoke(t *testing.T) {
	for _, f := range loadCorpus(t) {
		m, err := DecodeXML(f.data)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		x, err := EncodeXML(m, "")
		if err != nil {
			t.Errorf("%s: enc xml %v", f.name, err)
			continue
		}
		m2, err := DecodeXML(x)
		if err != nil {
			t.Errorf("%s: redecode %v", f.name, err)
			continue
		}
		if !sameMessage(t, m2, m) {
			t.Errorf("%s: xml mismatch\n%s", f.name, x)
		}
		w, err := Encode(m, WBXML)
		if err != nil {
			t.Errorf("%s: enc wbxml %v", f.name, err)
			continue
		}
		m3, err := DecodeWBXML(w)
		if err != nil {
			t.Errorf("%s: dec wbxml %v", f.name, err)
			continue
		}
		if !sameMessage(t, m3, m) {
			x3, _ := EncodeXML(m3, "")
			t.Errorf("%s: wbxml mismatch\n%s\n%s", f.name, x, x3)
		}
	}
}
