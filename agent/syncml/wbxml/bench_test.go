package wbxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

// bigSyncML builds a SyncML 1.2 message with n Replace commands whose Data
// carries dataLen bytes each.
func bigSyncML(n, dataLen int) []byte {
	var b strings.Builder
	b.WriteString(`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>` +
		`<SessionID>1A2B</SessionID><MsgID>2</MsgID><Target><LocURI>IMEI:493005100592800</LocURI></Target>` +
		`<Source><LocURI>https://dm.example.com/dm</LocURI></Source></SyncHdr><SyncBody>`)
	data := strings.Repeat("v", dataLen)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<Replace><CmdID>%d</CmdID><Item><Target><LocURI>./Vendor/Node%d</LocURI></Target>`+
			`<Meta><Format xmlns="syncml:metinf">chr</Format><Type xmlns="syncml:metinf">text/plain</Type></Meta>`+
			`<Data>%s</Data></Item></Replace>`, i+1, i, data)
	}
	b.WriteString(`<Final/></SyncBody></SyncML>`)
	return []byte(b.String())
}

var benchDocs = []struct {
	name       string
	n, dataLen int
}{
	{"1000Replace", 1000, 16},
	{"1MB", 200, 5000},
}

func BenchmarkDecode(b *testing.B) {
	for _, bd := range benchDocs {
		data, err := FromXML(bytes.NewReader(bigSyncML(bd.n, bd.dataLen)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s_%dB", bd.name, len(data)), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(data)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := r.Token()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkDecodeEvents is BenchmarkDecode through NextEvent (no token
// boxing), the path agent/syncml uses.
func BenchmarkDecodeEvents(b *testing.B) {
	for _, bd := range benchDocs {
		data, err := FromXML(bytes.NewReader(bigSyncML(bd.n, bd.dataLen)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s_%dB", bd.name, len(data)), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var ev Event
			for b.Loop() {
				r, err := NewReader(data)
				if err != nil {
					b.Fatal(err)
				}
				for {
					err := r.NextEvent(&ev)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bd := range benchDocs {
		x := bigSyncML(bd.n, bd.dataLen)
		d := xml.NewDecoder(bytes.NewReader(x))
		var toks []xml.Token
		for {
			t, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			toks = append(toks, xml.CopyToken(t))
		}
		out, err := encodeAll(SyncML12, toks)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s_%dB", bd.name, len(out)), func(b *testing.B) {
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				e := NewEncoder(io.Discard, SyncML12)
				for _, t := range toks {
					if err := e.EncodeToken(t); err != nil {
						b.Fatal(err)
					}
				}
				if err := e.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnmarshal is the path the session uses: Reader -> xml.NewTokenDecoder -> structs.
func BenchmarkUnmarshal(b *testing.B) {
	type item struct {
		LocURI string `xml:"Target>LocURI"`
		Data   string `xml:"Data"`
	}
	type msg struct {
		Items []item `xml:"SyncBody>Replace>Item"`
	}
	data, err := FromXML(bytes.NewReader(bigSyncML(1000, 16)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(data)
		if err != nil {
			b.Fatal(err)
		}
		var m msg
		if err := xml.NewTokenDecoder(r).Decode(&m); err != nil {
			b.Fatal(err)
		}
		if len(m.Items) != 1000 {
			b.Fatalf("got %d items", len(m.Items))
		}
	}
}
