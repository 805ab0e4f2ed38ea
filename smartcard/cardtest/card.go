package cardtest

import (
	"bytes"
	"context"
	"sync"

	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
)

// Options tune the fake card's behaviour beyond its file system.
type Options struct {
	// T0 makes case-4 commands answer 61xx (the data then comes with GET
	// RESPONSE), as a T=0 card does.
	T0 bool
	// Record keeps a copy of every command APDU (Card.Log).
	Record bool
}

type channel struct {
	df, ef *Node
	app    *Node // application selected by AID on this channel (7FFF)
}

// Card is a fake UICC or 2G SIM answering APDUs from an FS. It satisfies
// smartcard.Transmitter.
type Card struct {
	fs   *FS
	opts Options

	mu      sync.Mutex
	ch      map[int]*channel
	pending []byte // GET RESPONSE data
	apdus   int
	log     [][]byte
	maxOpen int
	openNow int
}

// NewCard returns a powered card over fs.
func NewCard(fs *FS, opts Options) *Card {
	c := &Card{fs: fs, opts: opts}
	c.Reset()
	return c
}

// Reset is a warm reset: only the basic channel, MF selected.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ch = map[int]*channel{0: {df: c.fs.MF}}
	c.pending = nil
	c.openNow = 0
}

// APDUs returns the number of command APDUs received.
func (c *Card) APDUs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apdus
}

// Log returns the command APDUs received (Options.Record).
func (c *Card) Log() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.log...)
}

// OpenChannels returns how many logical channels (besides 0) are open now,
// and the most that were open at once.
func (c *Card) OpenChannels() (now, most int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.openNow, c.maxOpen
}

// Transmit executes one command APDU.
func (c *Card) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apdus++
	if c.opts.Record {
		c.log = append(c.log, append([]byte(nil), b...))
	}
	return c.exec(b).Bytes(), nil
}

func sw(s uint16) apdu.Response { return apdu.Response{SW: s} }

func (c *Card) exec(b []byte) apdu.Response {
	cmd, err := apdu.ParseCommand(b)
	if err != nil {
		return sw(apdu.SWWrongLength)
	}
	gsm := c.fs.Mode == Mode2G
	if gsm != (cmd.CLA == apdu.ClassGSM) {
		return sw(apdu.SWClassNotSupported)
	}
	chn := 0
	if !gsm {
		chn = apdu.ChannelOf(cmd.CLA)
		if chn < 0 {
			return sw(apdu.SWClassNotSupported)
		}
	}
	st := c.ch[chn]
	if st == nil {
		return sw(apdu.SWNoLogicalChannel)
	}
	if cmd.INS != apdu.InsGetResponse {
		c.pending = nil
	}
	switch cmd.INS {
	case apdu.InsSelect:
		return c.selectFile(st, cmd, gsm)
	case apdu.InsReadBinary:
		return c.readBinary(st, cmd, gsm)
	case apdu.InsReadRecord:
		return c.readRecord(st, cmd, gsm)
	case apdu.InsGetResponse:
		return c.getResponse(cmd)
	case apdu.InsManageChannel:
		if gsm {
			return sw(apdu.SWInsNotSupported)
		}
		return c.manageChannel(chn, cmd)
	}
	return sw(apdu.SWInsNotSupported)
}

// withData returns data for a case-4 command, as 61xx on a T=0 card.
func (c *Card) withData(data []byte, le int) apdu.Response {
	if c.opts.T0 {
		c.pending = data
		return sw(0x6100 | uint16(len(data)&0xFF))
	}
	if le != 256 && le < len(data) {
		return sw(0x6C00 | uint16(len(data)&0xFF))
	}
	return apdu.Response{Data: data, SW: apdu.SWOK}
}

func (c *Card) getResponse(cmd apdu.Command) apdu.Response {
	if c.pending == nil {
		return sw(0x6985)
	}
	p := c.pending
	le := cmd.Le
	if le == apdu.NoLe {
		le = 256
	}
	if le > len(p) && le != 256 {
		return sw(0x6C00 | uint16(len(p)&0xFF))
	}
	if le < len(p) {
		c.pending = p[le:]
		rest := len(c.pending)
		if rest > 256 {
			rest = 0
		}
		return apdu.Response{Data: p[:le], SW: 0x6100 | uint16(rest&0xFF)}
	}
	c.pending = nil
	return apdu.Response{Data: p, SW: apdu.SWOK}
}

// lookup resolves one FID from the current DF with the usual search order:
// the MF, the current DF, its children, its parent and the parent's
// children (ISO 7816-4 §7.1.1 / GSM 11.11 §6.5).
func (c *Card) lookup(st *channel, fid uint16) *Node {
	if fid == 0x3F00 {
		return c.fs.MF
	}
	if fid == 0x7FFF && st.app != nil {
		return st.app
	}
	df := st.df
	if df.FID == fid && fid != 0 {
		return df
	}
	if n := df.child(fid); n != nil {
		return n
	}
	if p := df.Parent; p != nil {
		if p.FID == fid {
			return p
		}
		if n := p.child(fid); n != nil && n.Kind == KindDF {
			return n
		}
	}
	return nil
}

func (c *Card) selectFile(st *channel, cmd apdu.Command, gsm bool) apdu.Response {
	var target *Node
	switch {
	case gsm:
		if cmd.P1 != 0 || cmd.P2 != 0 || len(cmd.Data) != 2 {
			return sw(0x6B00)
		}
		target = c.lookup(st, uint16(cmd.Data[0])<<8|uint16(cmd.Data[1]))
	case cmd.P1 == 0x00:
		if len(cmd.Data) == 0 {
			target = c.fs.MF
		} else if len(cmd.Data) == 2 {
			target = c.lookup(st, uint16(cmd.Data[0])<<8|uint16(cmd.Data[1]))
		} else {
			return sw(0x6A87)
		}
	case cmd.P1 == 0x04:
		if len(cmd.Data) == 0 {
			return sw(0x6A87)
		}
		target = c.byName(cmd.Data)
		if target != nil {
			st.app = target
		}
	case cmd.P1 == 0x08 || cmd.P1 == 0x09:
		if len(cmd.Data) == 0 || len(cmd.Data)%2 != 0 {
			return sw(0x6A87)
		}
		cur := st.df
		if cmd.P1 == 0x08 {
			cur = c.fs.MF
		}
		for i := 0; i < len(cmd.Data); i += 2 {
			fid := uint16(cmd.Data[i])<<8 | uint16(cmd.Data[i+1])
			var next *Node
			if fid == 0x7FFF && i == 0 && st.app != nil {
				next = st.app
			} else if cur.Kind == KindDF {
				next = cur.child(fid)
			}
			if next == nil {
				cur = nil
				break
			}
			cur = next
		}
		target = cur
	default:
		return sw(0x6A86)
	}
	if target == nil {
		if gsm {
			return sw(apdu.SWGSMFileNotFound)
		}
		return sw(apdu.SWFileNotFound)
	}
	if target.Kind == KindDF {
		st.df, st.ef = target, nil
	} else {
		st.df, st.ef = target.Parent, target
	}
	if gsm {
		c.pending = gsmInfo(target)
		return sw(0x9F00 | uint16(len(c.pending)))
	}
	switch cmd.P2 &^ 0x03 {
	case 0x0C:
		return sw(apdu.SWOK)
	case 0x00, 0x04:
		return c.withData(fcp(target), cmd.Le)
	}
	return sw(0x6A86)
}

func (c *Card) byName(aid []byte) *Node {
	var found *Node
	var walk func(n *Node)
	walk = func(n *Node) {
		if found != nil {
			return
		}
		if len(n.Name) > 0 && bytes.HasPrefix(n.Name, aid) {
			found = n
			return
		}
		for _, k := range n.Children {
			if k.Kind == KindDF {
				walk(k)
			}
		}
	}
	for _, a := range c.fs.ADFs {
		walk(a)
	}
	walk(c.fs.MF)
	return found
}

func (c *Card) readBinary(st *channel, cmd apdu.Command, gsm bool) apdu.Response {
	ef := st.ef
	if ef == nil {
		if gsm {
			return sw(0x9400)
		}
		return sw(apdu.SWCommandNotAllowed)
	}
	if ef.Kind != KindTransparent {
		if gsm {
			return sw(0x9408)
		}
		return sw(0x6981)
	}
	if ef.Deny != 0 {
		return sw(ef.Deny)
	}
	if cmd.P1&0x80 != 0 {
		return sw(0x6A86) // short EF identifier: not supported here
	}
	off := int(cmd.P1)<<8 | int(cmd.P2)
	if off >= len(ef.Data) {
		if gsm {
			return sw(0x9402)
		}
		return sw(apdu.SWWrongP1P2)
	}
	le := cmd.Le
	if le == apdu.NoLe {
		return sw(apdu.SWWrongLength)
	}
	avail := len(ef.Data) - off
	if le <= avail {
		return apdu.Response{Data: ef.Data[off : off+le], SW: apdu.SWOK}
	}
	if gsm {
		return sw(0x6700 | uint16(avail&0xFF))
	}
	if le == 256 {
		return apdu.Response{Data: ef.Data[off:], SW: apdu.SWEndOfFile}
	}
	return sw(0x6C00 | uint16(avail))
}

func (c *Card) readRecord(st *channel, cmd apdu.Command, gsm bool) apdu.Response {
	ef := st.ef
	if ef == nil {
		if gsm {
			return sw(0x9400)
		}
		return sw(apdu.SWCommandNotAllowed)
	}
	if ef.Kind != KindLinear {
		if gsm {
			return sw(0x9408)
		}
		return sw(0x6981)
	}
	if ef.Deny != 0 {
		return sw(ef.Deny)
	}
	if cmd.P2 != 0x04 {
		return sw(0x6A86)
	}
	n := int(cmd.P1)
	if n < 1 || n*ef.RecLen > len(ef.Data) {
		if gsm {
			return sw(0x9402)
		}
		return sw(apdu.SWRecordNotFound)
	}
	if cmd.Le != 256 && cmd.Le != ef.RecLen {
		if gsm {
			return sw(0x6700 | uint16(ef.RecLen))
		}
		return sw(0x6C00 | uint16(ef.RecLen))
	}
	return apdu.Response{Data: ef.Data[(n-1)*ef.RecLen : n*ef.RecLen], SW: apdu.SWOK}
}

func (c *Card) manageChannel(chn int, cmd apdu.Command) apdu.Response {
	switch cmd.P1 {
	case 0x00: // open, card assigns
		if chn != 0 || cmd.P2 != 0 {
			return sw(0x6A86)
		}
		for i := 1; i <= c.fs.Channels; i++ {
			if c.ch[i] == nil {
				c.ch[i] = &channel{df: c.fs.MF}
				c.openNow++
				if c.openNow > c.maxOpen {
					c.maxOpen = c.openNow
				}
				return c.withData([]byte{byte(i)}, cmd.Le)
			}
		}
		if c.fs.Channels == 0 {
			return sw(apdu.SWNoLogicalChannel)
		}
		return sw(0x6A81)
	case 0x80: // close
		target := int(cmd.P2)
		if target == 0 {
			target = chn
		}
		if target == 0 || c.ch[target] == nil {
			return sw(apdu.SWNoLogicalChannel)
		}
		delete(c.ch, target)
		c.openNow--
		return sw(apdu.SWOK)
	}
	return sw(0x6A86)
}

// fcp builds a TS 102 221 FCP template for n.
func fcp(n *Node) []byte {
	var v []byte
	switch n.Kind {
	case KindDF:
		v = append(v, 0x82, 0x02, 0x78, 0x21)
	case KindTransparent:
		v = append(v, 0x82, 0x02, 0x41, 0x21)
	case KindLinear:
		v = append(v, 0x82, 0x05, 0x42, 0x21, 0x00, byte(n.RecLen), byte(len(n.Data)/n.RecLen))
	}
	if n.FID != 0 {
		v = append(v, 0x83, 0x02, byte(n.FID>>8), byte(n.FID))
	}
	if len(n.Name) > 0 {
		v = append(v, 0x84, byte(len(n.Name)))
		v = append(v, n.Name...)
	}
	v = append(v, 0x8A, 0x01, 0x05)
	if n.Kind != KindDF {
		v = append(v, 0x80, 0x02, byte(len(n.Data)>>8), byte(len(n.Data)))
	}
	return append([]byte{0x62, byte(len(v))}, v...)
}

// gsmInfo builds the GSM 11.11 GET RESPONSE header of n.
func gsmInfo(n *Node) []byte {
	if n.Kind == KindDF {
		b := make([]byte, 22)
		b[4], b[5] = byte(n.FID>>8), byte(n.FID)
		b[6] = 0x02
		if n.Parent == nil {
			b[6] = 0x01
		}
		b[12] = 9
		return b
	}
	b := make([]byte, 15)
	b[2], b[3] = byte(len(n.Data)>>8), byte(len(n.Data))
	b[4], b[5] = byte(n.FID>>8), byte(n.FID)
	b[6] = 0x04
	b[11] = 0x01 // not invalidated
	b[12] = 0x02
	if n.Kind == KindLinear {
		b[13], b[14] = 0x01, byte(n.RecLen)
	}
	return b
}
