package syncml

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/omadm-agent/omadm-agent/agent/syncml/wbxml"
)

// Builder assembles an outgoing message command by command and always knows
// the exact size of the finished message, so a session can keep each
// message within the peer's MaxMsgSize. Each command is encoded once, when
// it is measured or added; nothing already added is encoded again.
//
// Size reports the size of the message as Bytes(true) would return it, that
// is including <Final/> and the closing tags. Bytes(false) is smaller by the
// size of Final.
//
// A Builder is not safe for concurrent use.
type Builder struct {
	enc Encoding
	// The message so far is full followed by buf. Chunks are never grown
	// in place, so adding commands copies each byte once.
	full  [][]byte
	nfull int // total length of full
	buf   []byte
	n     int
	page  byte // WBXML: code page after the last command

	// Cache of the last command measured by SizeOf, reused by Add.
	last      *Command
	lastBytes []byte
	lastPage  byte

	scratch xmlWriter // reused for XML commands
	fast    fastSink  // reused for WBXML commands
	wsink   tokenSink // reused for WBXML commands fast cannot write, with its encoder
}

var (
	errHeaderNotStreamable = errors.New("header needs a WBXML string table (element without token?)")
	errNotStreamable       = errors.New("command needs a WBXML string table (element without token?)")
)

// Sizes of the fixed tails.
const (
	xmlFinal = len("<Final/>")
	xmlClose = len("</SyncBody></SyncML>")
)

// NewBuilder starts a message with the given header.
func NewBuilder(enc Encoding, hdr *Header) (*Builder, error) {
	b := &Builder{enc: enc}
	switch enc {
	case XML:
		w := &xmlWriter{buf: make([]byte, 0, 4096)}
		openMessage(w, hdr)
		w.closeOpen()
		if w.err != nil {
			return nil, w.err
		}
		b.buf = w.buf
	case WBXML:
		// The WBXML encoder hands out bytes only for a complete document:
		// encode the message without commands and cut its tail (END of
		// SyncML), then mark SyncBody as having content.
		out, err := encodeWBXML(&Message{Hdr: *hdr})
		if err != nil {
			return nil, err
		}
		n := len(out)
		if !bytes.HasPrefix(out, wbxmlHeader) || n < 2 || out[n-1] != 0x01 || out[n-2] != 0x2B {
			return nil, &EncodeError{Field: "SyncHdr", Err: errHeaderNotStreamable}
		}
		b.buf = append(make([]byte, 0, 4096), out[:n-1]...)
		b.buf[n-2] |= 0x40 // SyncBody gets content
	default:
		return nil, fmt.Errorf("syncml: unknown encoding %v", enc)
	}
	return b, nil
}

// Encoding returns the encoding of the message being built.
func (b *Builder) Encoding() Encoding { return b.enc }

// Len returns the number of commands added.
func (b *Builder) Len() int { return b.n }

// Size returns the size in bytes that the finished message (with Final)
// would have now.
func (b *Builder) Size() int { return b.nfull + len(b.buf) + b.tail(b.page) }

func (b *Builder) tail(page byte) int {
	if b.enc == XML {
		return xmlFinal + xmlClose
	}
	n := 3 // Final, END SyncBody, END SyncML
	if page != 0 {
		n += 2 // SWITCH_PAGE 0 before Final
	}
	return n
}

// SizeOf returns by how many bytes the message would grow if cmd were
// added now.
func (b *Builder) SizeOf(cmd *Command) (int, error) {
	enc, page, err := b.encode(cmd)
	if err != nil {
		return 0, err
	}
	return len(enc) + b.switchCost() + b.tail(page) - b.tail(b.page), nil
}

// Fits reports whether the message, with cmd added, stays within max bytes.
func (b *Builder) Fits(cmd *Command, max int) bool {
	n, err := b.SizeOf(cmd)
	return err == nil && b.Size()+n <= max
}

func (b *Builder) switchCost() int {
	if b.enc == WBXML && b.page != 0 {
		return 2
	}
	return 0
}

// Add appends cmd to the message. If cmd is the command last passed to
// SizeOf or Fits, its encoding is reused (do not change it in between).
func (b *Builder) Add(cmd *Command) error {
	enc, page, err := b.encode(cmd)
	if err != nil {
		return err
	}
	need := len(enc) + b.switchCost()
	if len(b.buf)+need > cap(b.buf) {
		// Start a new chunk rather than grow (and copy) this one.
		b.full = append(b.full, b.buf)
		b.nfull += len(b.buf)
		b.buf = make([]byte, 0, max(need, min(2*cap(b.buf), 256<<10)))
	}
	if b.switchCost() != 0 {
		b.buf = append(b.buf, 0x00, 0x00)
	}
	b.buf = append(b.buf, enc...)
	b.page = page
	b.n++
	b.last, b.lastBytes = nil, nil
	return nil
}

// encode returns the encoding of cmd on its own and the WBXML code page the
// encoder is on after it.
func (b *Builder) encode(cmd *Command) ([]byte, byte, error) {
	if cmd == b.last && b.last != nil {
		return b.lastBytes, b.lastPage, nil
	}
	var out []byte
	var page byte
	switch b.enc {
	case XML:
		w := &b.scratch
		w.buf, w.err, w.open = w.buf[:0], nil, false
		w.stack = append(w.stack[:0], xmlFrame{space: NSSyncML12})
		writeCommand(w, cmd)
		if w.err != nil {
			return nil, 0, w.err
		}
		out = w.buf
	case WBXML:
		// Each command is encoded as the body of a document of its own,
		// starting on code page 0, by one reused encoder; its bytes are
		// valid until the next encode.
		f := &b.fast
		f.reset()
		writeCommand(f, cmd)
		if !f.bail {
			out, page = f.buf, f.page
			break
		}
		s := &b.wsink
		if s.w == nil {
			s.w = wbxml.NewEncoder(nil, wbxml.SyncML12)
		} else {
			s.w.Reset(nil)
		}
		s.stack, s.err = s.stack[:0], nil
		writeCommand(s, cmd)
		if s.err != nil {
			return nil, 0, s.err
		}
		body, err := s.w.Body()
		if err != nil {
			if errors.Is(err, wbxml.ErrStringTable) {
				err = errNotStreamable
			}
			return nil, 0, &EncodeError{Field: cmd.Kind, Err: err}
		}
		out, page = body, s.w.CodePage()
	}
	b.last, b.lastBytes, b.lastPage = cmd, out, page
	return out, page, nil
}

// Bytes returns the finished message, with <Final/> if final is true. The
// Builder may be used further; later Adds do not change the returned slice.
func (b *Builder) Bytes(final bool) []byte {
	out := make([]byte, 0, b.Size())
	for _, c := range b.full {
		out = append(out, c...)
	}
	out = append(out, b.buf...)
	switch b.enc {
	case XML:
		if final {
			out = append(out, "<Final/>"...)
		} else if b.n == 0 {
			// <SyncBody> becomes <SyncBody/> as Encode writes it.
			out = append(out[:len(out)-1], "/>"...)
			return append(out, "</SyncML>"...)
		}
		return append(out, "</SyncBody></SyncML>"...)
	default:
		if final {
			if b.page != 0 {
				out = append(out, 0x00, 0x00)
			}
			out = append(out, 0x12)
		} else if b.n == 0 {
			out[len(out)-1] &^= 0x40 // empty SyncBody
			return append(out, 0x01)
		}
		return append(out, 0x01, 0x01)
	}
}
