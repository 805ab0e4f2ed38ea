package syncml

import (
	"strconv"
	"testing"
)

func benchHeader(msgID string) Header {
	return Header{VerDTD: VerDTD12, VerProto: VerProtoDM, SessionID: "1A2B", MsgID: msgID,
		Target: &Location{LocURI: "IMEI:493005100592800"}, Source: &Location{LocURI: "https://dm.example.com/dm"},
		Meta: &Meta{MaxMsgSize: "1048576", MaxObjSize: "524288"}}
}

// serverPackage is a server message with n commands: Replace and Get in turn.
func serverPackage(n int) *Message {
	m := &Message{Hdr: benchHeader("2"), Final: true}
	m.Body = append(m.Body, &Command{Kind: KindStatus, CmdID: "1", MsgRef: "1", CmdRef: "0", Cmd: "SyncHdr",
		TargetRefs: []string{"IMEI:493005100592800"}, SourceRefs: []string{"https://dm.example.com/dm"}, Data: "212"})
	for i := 0; i < n; i++ {
		id := strconv.Itoa(i + 2)
		uri := "./Vendor/Settings/Group" + strconv.Itoa(i/10) + "/Value" + strconv.Itoa(i)
		if i%2 == 0 {
			m.Body = append(m.Body, &Command{Kind: KindReplace, CmdID: id, Items: []*Item{{
				Target: &Location{LocURI: uri}, Meta: &Meta{Format: "chr", Type: "text/plain"},
				Data: TextData("value-" + id)}}})
		} else {
			m.Body = append(m.Body, &Command{Kind: KindGet, CmdID: id, Items: []*Item{{Target: &Location{LocURI: uri}}}})
		}
	}
	return m
}

// reply builds the client's answer to pkg: a Status per command (and the
// header), a Results per Get.
func reply(pkg *Message) []*Command {
	out := make([]*Command, 0, 2*len(pkg.Body))
	id := 1
	next := func() string { id++; return strconv.Itoa(id - 1) }
	out = append(out, &Command{Kind: KindStatus, CmdID: next(), MsgRef: pkg.Hdr.MsgID, CmdRef: "0", Cmd: "SyncHdr",
		TargetRefs: []string{"https://dm.example.com/dm"}, SourceRefs: []string{"IMEI:493005100592800"}, Data: "200"})
	for _, c := range pkg.Body {
		if c.Kind == KindStatus {
			continue
		}
		var ref []string
		if len(c.Items) > 0 && c.Items[0].Target != nil {
			ref = []string{c.Items[0].Target.LocURI}
		}
		out = append(out, &Command{Kind: KindStatus, CmdID: next(), MsgRef: pkg.Hdr.MsgID, CmdRef: c.CmdID, Cmd: c.Kind,
			TargetRefs: ref, Data: "200"})
		if c.Kind == KindGet {
			out = append(out, &Command{Kind: KindResults, CmdID: next(), MsgRef: pkg.Hdr.MsgID, CmdRef: c.CmdID,
				Items: []*Item{{Source: &Location{LocURI: ref[0]}, Data: TextData("42")}}})
		}
	}
	return out
}

func benchEncoded(b *testing.B, enc Encoding) ([]byte, []byte) {
	b.Helper()
	pkg := serverPackage(1000)
	in, err := Encode(pkg, enc)
	if err != nil {
		b.Fatal(err)
	}
	rep := &Message{Hdr: benchHeader("3"), Body: reply(pkg), Final: true}
	out, err := Encode(rep, enc)
	if err != nil {
		b.Fatal(err)
	}
	return in, out
}

func benchDecode(b *testing.B, enc Encoding, reply bool) {
	pkg, rep := benchEncoded(b, enc)
	data := pkg
	if reply {
		data = rep
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, enc Encoding, reply bool) {
	pkg := serverPackage(1000)
	m := pkg
	if reply {
		m = &Message{Hdr: benchHeader("3"), Body: replyOf(pkg), Final: true}
	}
	out, err := Encode(m, enc)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Encode(m, enc); err != nil {
			b.Fatal(err)
		}
	}
}

var replyOf = reply

func BenchmarkDecodePackageXML(b *testing.B)   { benchDecode(b, XML, false) }
func BenchmarkDecodePackageWBXML(b *testing.B) { benchDecode(b, WBXML, false) }
func BenchmarkDecodeReplyXML(b *testing.B)     { benchDecode(b, XML, true) }
func BenchmarkDecodeReplyWBXML(b *testing.B)   { benchDecode(b, WBXML, true) }
func BenchmarkEncodePackageXML(b *testing.B)   { benchEncode(b, XML, false) }
func BenchmarkEncodePackageWBXML(b *testing.B) { benchEncode(b, WBXML, false) }
func BenchmarkEncodeReplyXML(b *testing.B)     { benchEncode(b, XML, true) }
func BenchmarkEncodeReplyWBXML(b *testing.B)   { benchEncode(b, WBXML, true) }

// BenchmarkSession is the session's hot path for one 1,000-command package:
// decode it, then build the reply with a Builder (Fits + Add per command).
func BenchmarkSessionXML(b *testing.B)   { benchSession(b, XML) }
func BenchmarkSessionWBXML(b *testing.B) { benchSession(b, WBXML) }

func benchSession(b *testing.B, enc Encoding) {
	data, _ := benchEncoded(b, enc)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, _, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		hdr := benchHeader("3")
		bl, err := NewBuilder(enc, &hdr)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range reply(m) {
			if !bl.Fits(c, 1<<20) {
				b.Fatal("does not fit")
			}
			if err := bl.Add(c); err != nil {
				b.Fatal(err)
			}
		}
		_ = bl.Bytes(true)
	}
}
