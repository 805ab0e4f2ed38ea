package wbxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusWBXML encodes every oracle input with FromXML.
func corpusWBXML(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range oracleInputs(t) {
		x, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w, err := FromXML(bytes.NewReader(x))
		if err != nil {
			t.Fatalf("%s: FromXML: %v", f, err)
		}
		out[filepath.Base(f)] = w
	}
	return out
}

// eventString renders an event like the token canon of helpers_test.go.
func eventString(ev *Event) string {
	switch ev.Kind {
	case EventStart:
		s := "S {" + ev.Name.Space + "}" + ev.Name.Local
		for _, a := range ev.Attr {
			s += " " + a.Name.Local + "=" + a.Value
		}
		return s
	case EventEnd:
		return "E {" + ev.Name.Space + "}" + ev.Name.Local
	case EventText:
		return "T " + string(ev.Text)
	}
	return "?"
}

func tokenString(tok xml.Token) string {
	switch tok := tok.(type) {
	case xml.StartElement:
		s := "S {" + tok.Name.Space + "}" + tok.Name.Local
		for _, a := range tok.Attr {
			s += " " + a.Name.Local + "=" + a.Value
		}
		return s
	case xml.EndElement:
		return "E {" + tok.Name.Space + "}" + tok.Name.Local
	case xml.CharData:
		return "T " + string(tok)
	}
	return "?"
}

// TestNextEventMatchesToken checks that NextEvent yields the tokens Token
// yields, with offsets that point at the token bytes.
func TestNextEventMatchesToken(t *testing.T) {
	for name, data := range corpusWBXML(t) {
		t.Run(name, func(t *testing.T) {
			rt, err := NewReader(data)
			if err != nil {
				t.Fatal(err)
			}
			re, err := NewReader(data)
			if err != nil {
				t.Fatal(err)
			}
			var ev Event
			last := re.InputOffset()
			for i := 0; ; i++ {
				tok, terr := rt.Token()
				before := re.InputOffset()
				if before < last {
					t.Fatalf("event %d: InputOffset went back from %d to %d", i, last, before)
				}
				eerr := re.NextEvent(&ev)
				if terr != eerr {
					t.Fatalf("event %d: got error %v, want %v", i, eerr, terr)
				}
				if terr == io.EOF {
					if got := re.InputOffset(); got != int64(len(data)) {
						t.Errorf("got InputOffset %d at EOF, want %d", got, len(data))
					}
					return
				}
				if got, want := eventString(&ev), tokenString(tok); got != want {
					t.Fatalf("event %d: got %q, want %q", i, got, want)
				}
				if ev.Offset < before || ev.Offset >= int64(len(data)) {
					t.Fatalf("event %d: Offset %d outside [%d, %d)", i, ev.Offset, before, len(data))
				}
				switch ev.Kind {
				case EventStart:
					if b := data[ev.Offset]; b&0x3f < 0x04 {
						t.Errorf("event %d (%s): byte 0x%02X at Offset %d is not a tag", i, eventString(&ev), b, ev.Offset)
					}
				case EventText:
					if ev.TextAt >= 0 && !bytes.Equal(data[ev.TextAt:ev.TextAt+int64(len(ev.Text))], ev.Text) {
						t.Errorf("event %d: TextAt %d does not hold %q", i, ev.TextAt, ev.Text)
					}
				}
				last = re.InputOffset()
			}
		})
	}
}

func TestInputOffsetStartAndEmbedded(t *testing.T) {
	x := []byte(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncBody><Add><CmdID>1</CmdID><Item><Data>` +
		`<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD></MgmtTree></Data></Item></Add></SyncBody></SyncML>`)
	data, err := FromXML(bytes.NewReader(x))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.InputOffset(); got != 5 {
		t.Errorf("got InputOffset %d before the body, want 5 (header length)", got)
	}
	var ev Event
	for {
		if err := r.NextEvent(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.Kind == EventStart && ev.Name.Local == "VerDTD" {
			break
		}
	}
	// The embedded document's VerDTD tag, counted in the outer document.
	sub := data[ev.Offset:]
	if len(sub) == 0 || sub[0]&0x3f < 0x05 {
		t.Fatalf("Offset %d does not point at a tag (0x%x)", ev.Offset, sub)
	}
	if r.InputOffset() <= ev.Offset || r.InputOffset() > int64(len(data)) {
		t.Errorf("got InputOffset %d after embedded VerDTD at %d, want inside the document after it", r.InputOffset(), ev.Offset)
	}
}

// encodeUnboxed encodes XML text through EncodeStart/EncodeEnd/EncodeText.
func encodeUnboxed(t *testing.T, e *Encoder, x []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(x))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			err = e.EncodeStart(tok.Name, tok.Attr)
		case xml.EndElement:
			err = e.EncodeEnd(tok.Name)
		case xml.CharData:
			err = e.EncodeText(string(tok))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestEncoderUnboxedAndReset checks that the unboxed methods write the bytes
// EncodeToken writes, and that a Reset encoder writes what a fresh one does.
func TestEncoderUnboxedAndReset(t *testing.T) {
	var reused *Encoder
	for _, f := range oracleInputs(t) {
		x, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := FromXML(bytes.NewReader(x))
		if err != nil {
			t.Fatal(err)
		}
		doc := SyncML12
		if strings.Contains(string(x), "wap-provisioningdoc") {
			doc = ProvDoc10
		} else if !strings.Contains(string(x), "SYNCML:SYNCML1.2") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			var buf bytes.Buffer
			e := NewEncoder(&buf, doc)
			encodeUnboxed(t, e, x)
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("unboxed: got %x, want %x", buf.Bytes(), want)
			}
			if doc != SyncML12 {
				return
			}
			if reused == nil {
				reused = NewEncoder(nil, doc)
			} else {
				reused.Reset(nil)
			}
			encodeUnboxed(t, reused, x)
			body, err := reused.Body()
			if !bytes.HasPrefix(want, []byte{0x02, 0xA4, 0x01, 0x6A, 0x00}) {
				// LITERAL tags: the body needs the string table.
				if !errors.Is(err, ErrStringTable) {
					t.Errorf("got Body error %v, want ErrStringTable", err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if !bytes.Equal(body, want[5:]) {
				t.Errorf("Body after Reset: got %x, want %x", body, want[5:])
			}
			if err := reused.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(reused.Bytes(), want) {
				t.Errorf("Bytes after Reset: got %x, want %x", reused.Bytes(), want)
			}
		})
	}
}

func TestEncoderBodyAndCodePage(t *testing.T) {
	tests := []struct {
		name    string
		x       string
		page    byte
		wantErr error
	}{
		{"ends on MetInf", `<Status xmlns="SYNCML:SYNCML1.2"><CmdID>1</CmdID><Meta><Type xmlns="syncml:metinf">t</Type></Meta></Status>`, 1, nil},
		{"ends on SyncML", `<Status xmlns="SYNCML:SYNCML1.2"><Meta><Type xmlns="syncml:metinf">t</Type></Meta><Data>200</Data></Status>`, 0, nil},
		{"literal tag", `<Status xmlns="SYNCML:SYNCML1.2"><Bogus>1</Bogus></Status>`, 0, ErrStringTable},
		{"unclosed", `<Status xmlns="SYNCML:SYNCML1.2"><CmdID>1</CmdID>`, 0, ErrUnclosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncoder(nil, SyncML12)
			d := xml.NewDecoder(strings.NewReader(tt.x))
			for {
				tok, err := d.Token()
				if err != nil {
					break
				}
				if err := e.EncodeToken(tok); err != nil {
					t.Fatal(err)
				}
			}
			body, err := e.Body()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := e.CodePage(); got != tt.page {
				t.Errorf("got CodePage %d, want %d", got, tt.page)
			}
			if err := e.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(e.Bytes()[5:], body) {
				t.Errorf("got Body %x, want %x", body, e.Bytes()[5:])
			}
		})
	}
}
