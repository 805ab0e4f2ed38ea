package syncml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// scanEdgeCases are inputs where a tokenizer can easily differ from
// encoding/xml: references, CDATA, comments, declarations, DOCTYPE,
// namespaces, names, line ends, bad bytes and every kind of broken markup.
var scanEdgeCases = []string{
	``,
	`<a/>`,
	`<a></a>`,
	`<a>t</a>`,
	`<?xml version="1.0" encoding="UTF-8"?><a/>`,
	`<?xml version="1.1"?><a/>`,
	`<?xml version='1.0' encoding='ISO-8859-1'?><a/>`,
	`<?xml encoding="utf-8" version="1.0"?><a/>`,
	`<?xml-stylesheet href="x"?><a/>`,
	`<?1x?><a/>`,
	`<? x?><a/>`,
	`<?x`,
	`<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN" "http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd"><a/>`,
	`<!DOCTYPE a [ <!ELEMENT a (#PCDATA)> <!-- c > --> <!ATTLIST a b CDATA "x>"> ]><a/>`,
	`<!DOCTYPE a [<!ENTITY e "v">]><a>&e;</a>`,
	`<!>x>]><a/>`,
	`<!"x>"><a/>`,
	`<!D<<!-x>>><a/>`,
	`<!-- c --><a><!-- d --></a><!-- e -->`,
	`<!---->` + `<a/>`,
	`<!--->--><a/>`,
	`<!-- a -- b --><a/>`,
	`<!-x--><a/>`,
	`<!--`,
	`<a><![CDATA[x<y>&z]]></a>`,
	`<a><![CDATA[]]></a>`,
	`<a><![CDATA[a]]]]><![CDATA[>b]]></a>`,
	"<a><![CDATA[l1\r\nl2\rl3]]></a>",
	`<a><![CDAT[x]]></a>`,
	`<a><![CDATA[x</a>`,
	`<a>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;</a>`,
	`<a>&#xD;&#13;&#x9;&#10;</a>`,
	`<a>&#0;</a>`,
	`<a>&#xD800;</a>`,
	`<a>&#x110000;</a>`,
	`<a>&#X41;</a>`,
	`<a>&#;</a>`,
	`<a>&#x;</a>`,
	`<a>&#12a;</a>`,
	`<a>&nbsp;</a>`,
	`<a>&amp</a>`,
	`<a>& b</a>`,
	`<a>&</a>`,
	`<a>&#`,
	`<a>&am`,
	`<a>&é;</a>`,
	`<a>x]]>y</a>`,
	`<a>x]]y]>z</a>`,
	`<a>]]]></a>`,
	`<a>]&amp;]></a>`,
	"<a>l1\r\nl2\rl3\n\rl4</a>",
	"<a>\x01</a>",
	"<a>\x00</a>",
	"<a>\xff</a>",
	"<a>\xc3</a>",
	"<a>\xef\xbf\xbe</a>",
	"<a>é😀\u2028</a>",
	"\xef\xbb\xbf<a/>",
	"  \n<a/>\n  ",
	`text<a/>`,
	`<a/>text`,
	`<a/><b/>`,
	`<a b="1" c='2' d="&lt;x&gt;" e="a&#10;b"/>`,
	"<a b=\"l1\r\nl2\tx\"/>",
	`<a b="x<y"/>`,
	`<a b="x]]>y"/>`,
	`<a b=x/>`,
	`<a b/>`,
	`<a b ="1"/>`,
	`<a b= '1' />`,
	`<a b="1"c="2"/>`,
	`<a b="1`,
	`<a b="`,
	`<a b`,
	`<a/ >`,
	`<a / >`,
	`<a>`,
	`<a></b>`,
	`<a></a >`,
	`<a></a b>`,
	`</a>`,
	`<a></a></a>`,
	`<`,
	`< a/>`,
	`<1a/>`,
	`<a.b-c_d/>`,
	`<-a/>`,
	`<a:b:c/>`,
	`<a:/>`,
	`<:a/>`,
	`<p:a xmlns:p="urn:p"><p:b/><b/></p:a>`,
	`<p:a xmlns:p="urn:p"></a>`,
	`<a xmlns:p="urn:p"><p:b></q:b></a>`,
	`<p:a/>`,
	`<a xmlns="urn:d"><b xmlns=""><c/></b><d/></a>`,
	`<a xmlns="urn:d" xmlns:m="urn:m"><m:b m:x="1" y="2" xml:lang="en" q:z="3"/></a>`,
	`<xml:a/>`,
	`<xmlns:a/>`,
	`<xmlns/>`,
	`<a xmlns:xmlns="urn:x" xmlns:xml="urn:y"><xml:b/><xmlns:c/></a>`,
	`<é/>`,
	`<aé:b xmlns:aé="urn:x"/>`,
	`<a` + "\xcc\x80" + `/>`,
	"<\xcc\x80a/>",
	"<a\xff/>",
	`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><MsgID>1</MsgID></SyncHdr><SyncBody><Final/></SyncBody></SyncML>`,
	`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr></SyncBody></SyncML>`,
	`<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><MsgID>&nbsp;</MsgID></SyncHdr></SyncML>`,
	"<SyncML xmlns='SYNCML:SYNCML1.2'>\r\n<SyncHdr>\r\n<MsgID>1</MsgID>\r\n</SyncHdr><SyncBody><Add><CmdID>1</CmdID><Item><Data><MgmtTree xmlns=\"syncml:dmddf1.2\"><Node a=\"1\"><NodeName>x</NodeName></Node></MgmtTree></Data></Item></Add></SyncBody></SyncML>",
}

// scanTrace renders every event of src, and how it ended, comparably.
func scanTrace(src source) []string {
	var out []string
	var ev event
	for {
		err := src.next(&ev)
		if err == io.EOF {
			return append(out, fmt.Sprintf("EOF @%d", src.inputOffset()))
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return append(out, fmt.Sprintf("SyntaxError %q line %d @%d", se.Msg, se.Line, src.inputOffset()))
			}
			return append(out, fmt.Sprintf("error %q @%d", err.Error(), ev.Offset))
		}
		switch ev.Kind {
		case evStart:
			s := fmt.Sprintf("S {%s}%s @%d", ev.Name.Space, ev.Name.Local, ev.Offset)
			for _, a := range ev.Attr {
				s += fmt.Sprintf(" {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
			}
			out = append(out, s)
		case evEnd:
			out = append(out, fmt.Sprintf("E {%s}%s @%d", ev.Name.Space, ev.Name.Local, ev.Offset))
		case evText:
			if ev.TextAt >= 0 {
				out = append(out, fmt.Sprintf("T %q @%d (verbatim at %d)", ev.Text, ev.Offset, ev.TextAt))
			} else {
				out = append(out, fmt.Sprintf("T %q @%d", ev.Text, ev.Offset))
			}
		}
		if len(out) > 100000 {
			return append(out, "too many events")
		}
	}
}

// stripVerbatim drops the scanner-only " (verbatim at N)" notes after
// checking that they are true.
func stripVerbatim(t *testing.T, data []byte, tr []string) []string {
	t.Helper()
	out := make([]string, len(tr))
	for i, s := range tr {
		if k := strings.LastIndex(s, " (verbatim at "); k >= 0 && strings.HasPrefix(s, "T ") {
			var at int
			fmt.Sscanf(s[k:], " (verbatim at %d)", &at)
			var text string
			fmt.Sscanf(s[2:], "%q", &text)
			if at < 0 || at+len(text) > len(data) || string(data[at:at+len(text)]) != text {
				t.Errorf("event %d: %s: text is not found verbatim at %d", i, s, at)
			}
			s = s[:k]
		}
		out[i] = s
	}
	return out
}

// checkScanner compares the scanner with encoding/xml on data: same events
// with the same offsets, the same end (EOF, or the same error message,
// line and offset), and the same decoded message.
func checkScanner(t *testing.T, data []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	want := scanTrace(&tokenSource{r: d, off: d})
	got := stripVerbatim(t, data, scanTrace(newXMLScanner(data)))
	if !reflect.DeepEqual(got, want) {
		n := 0
		for n < len(got) && n < len(want) && got[n] == want[n] {
			n++
		}
		g, w := "(none)", "(none)"
		if n < len(got) {
			g = got[n]
		}
		if n < len(want) {
			w = want[n]
		}
		t.Fatalf("input %q: event %d: got %s, want (encoding/xml) %s", data, n, g, w)
	}
	m1, err1 := DecodeXML(data)
	m2, err2 := decodeXMLStd(data)
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("input %q: got error %v, want %v", data, err1, err2)
	}
	if err1 != nil {
		if err1.Error() != err2.Error() {
			t.Fatalf("input %q: got error %v, want %v", data, err1, err2)
		}
		return
	}
	if !reflect.DeepEqual(m1, m2) {
		t.Fatalf("input %q: decoded messages differ:\ngot  %+v\nwant %+v", data, m1, m2)
	}
}

func TestXMLScannerMatchesEncodingXML(t *testing.T) {
	for i, s := range scanEdgeCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkScanner(t, []byte(s)) })
	}
	for _, f := range loadCorpus(t) {
		t.Run(f.name, func(t *testing.T) {
			checkScanner(t, f.data)
			// Every prefix of a real message: all the ways to be truncated.
			for n := 0; n < len(f.data) && n < 4096; n += 7 {
				checkScanner(t, f.data[:n])
			}
		})
	}
}

// FuzzXMLScanner is the differential fuzz target of the XML scanner against
// encoding/xml (events, offsets, errors, decoded messages).
func FuzzXMLScanner(f *testing.F) {
	for _, s := range scanEdgeCases {
		f.Add([]byte(s))
	}
	for _, c := range loadCorpus(f) {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScanner(t, data)
	})
}
