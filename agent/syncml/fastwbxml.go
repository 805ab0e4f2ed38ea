package syncml

import (
	"encoding/xml"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

// fastSink writes the WBXML body of one command straight from the model,
// for the Builder: the bytes wbxml.Encoder writes for the same tokens,
// without its generality. It handles what DM commands hold (SyncML and
// MetInf elements of the tag tables, leaf text, Item Data text) and gives
// up (bail) on anything else: attributes, unknown elements, text next to
// child elements, embedded trees, the MetInf Types libwbxml rewrites, Data
// that looks like an embedded document. The Builder then uses the general
// encoder, so the output never differs (TestBuilderExact, FuzzFastSink).
type fastSink struct {
	buf   []byte
	page  byte
	stack []fastElem
	bail  bool
}

type fastElem struct {
	pos  int  // of the tag byte
	kind byte // fastData, fastItem, fastAddReplace or 0
	text bool // text written
}

const (
	fastData = 1 + iota
	fastItem
	fastAddReplace
)

type fastTag struct {
	page, tok, kind byte
	ok              bool
}

// fastSyncML and fastMetInf map element names to their tokens; they are
// built once from the wbxml tables and never change.
var fastSyncML, fastMetInf = func() (s, m map[string]fastTag) {
	s, m = map[string]fastTag{}, map[string]fastTag{}
	for _, n := range []string{"CmdID", "MsgRef", "CmdRef", "Cmd", "NoResp", "TargetRef", "SourceRef",
		"Cred", "Chal", "Meta", "Data", "Correlator", "Item", "Target", "Source", "LocURI", "LocName",
		"MoreData", KindAdd, KindAlert, KindAtomic, KindCopy, KindDelete, KindExec, KindGet, KindReplace,
		KindResults, KindSequence, KindStatus} {
		if p, t, ok := wbxml.SyncML12.Tag(xml.Name{Space: NSSyncML12, Local: n}); ok {
			ft := fastTag{page: p, tok: t, ok: true}
			switch n {
			case "Data":
				ft.kind = fastData
			case "Item":
				ft.kind = fastItem
			case KindAdd, KindReplace:
				ft.kind = fastAddReplace
			}
			s[n] = ft
		}
	}
	for _, n := range []string{"Format", "Type", "Mark", "Size", "NextNonce", "Version", "MaxMsgSize", "MaxObjSize", "EMI"} {
		if p, t, ok := wbxml.SyncML12.Tag(xml.Name{Space: NSMetInf, Local: n}); ok {
			m[n] = fastTag{page: p, tok: t, ok: true}
		}
	}
	return s, m
}()

func (w *fastSink) reset() {
	w.buf, w.page, w.stack, w.bail = w.buf[:0], 0, w.stack[:0], false
}

func (w *fastSink) start(space, local string, attrs []xml.Attr) {
	if w.bail {
		return
	}
	var t fastTag
	switch space {
	case NSSyncML12:
		t = fastSyncML[local]
	case NSMetInf:
		t = fastMetInf[local]
	}
	if !t.ok || len(attrs) > 0 || len(w.stack) >= wbxml.MaxDepth {
		w.bail = true
		return
	}
	if n := len(w.stack); n > 0 {
		top := &w.stack[n-1]
		if top.text {
			w.bail = true // text before a child: the encoder's whitespace rules
			return
		}
		w.buf[top.pos] |= 0x40
	}
	if t.page != w.page {
		w.buf = append(w.buf, 0x00, t.page)
		w.page = t.page
	}
	w.stack = append(w.stack, fastElem{pos: len(w.buf), kind: t.kind})
	w.buf = append(w.buf, t.tok)
}

func (w *fastSink) end() {
	if w.bail {
		return
	}
	e := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	if w.buf[e.pos]&0x40 != 0 {
		w.buf = append(w.buf, 0x01)
	}
}

// rewrittenType lists the MetInf Types the encoder rewrites (and after
// which it writes Data as a string).
func rewrittenType(s string) bool {
	return strings.HasPrefix(s, "application/vnd.syncml") &&
		(strings.HasSuffix(s, "+xml") || strings.HasSuffix(s, "+wbxml"))
}

func (w *fastSink) text(s string) {
	if w.bail || s == "" {
		return
	}
	n := len(w.stack)
	top := &w.stack[n-1]
	if top.text || (rewrittenType(s) && w.page == 1) {
		w.bail = true
		return
	}
	top.text = true
	w.buf[top.pos] |= 0x40
	if top.kind == fastData && n >= 3 && w.stack[n-2].kind == fastItem && w.stack[n-3].kind == fastAddReplace {
		if len(s) >= 4 && s[0] >= 0x01 && s[0] <= 0x03 {
			w.bail = true // might be an embedded document
			return
		}
		w.buf = append(w.buf, 0xC3) // OPAQUE
		w.buf = appendMbUint(w.buf, uint32(len(s)))
		w.buf = append(w.buf, s...)
		return
	}
	// STR_I; a NUL, which STR_I cannot hold, is ENTITY 0.
	for len(s) > 0 {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			i = len(s)
		}
		if i > 0 {
			w.buf = append(w.buf, 0x03)
			w.buf = append(w.buf, s[:i]...)
			w.buf = append(w.buf, 0)
		}
		for i < len(s) && s[i] == 0 {
			w.buf = append(w.buf, 0x02, 0)
			i++
		}
		s = s[i:]
	}
}

func appendMbUint(b []byte, v uint32) []byte {
	var tmp [5]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v != 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(b, tmp[i:]...)
}

func (w *fastSink) opaque(s string) { w.text(s) }
func (w *fastSink) raw([]byte)      { w.bail = true }
func (w *fastSink) error() error    { return nil }
