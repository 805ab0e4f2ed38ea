package cardtest

import (
	"context"
	"fmt"

	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
)

// PathAccess reads the card's files by path from the MF, as a modem does
// for AT+CRSM (3GPP TS 27.007 §8.18): every call selects the file on the
// basic channel with APDUs (UICC: one SELECT by path from the MF, P1 08;
// 2G: A0 A4 FID by FID) and then sends one READ BINARY, READ RECORD or,
// for FileInfo, returns the file header (UICC: the FCP of the SELECT;
// 2G: GSM 11.11 GET RESPONSE). Status words come back unchanged, so the
// caller sees 6Cxx / 67xx / 6A82 / 9404 as a modem would report them in
// +CRSM: <sw1>,<sw2>. It satisfies smartcard.PathReader.
type PathAccess struct {
	c *Card
}

// NewPathAccess returns path-based access to c.
func NewPathAccess(c *Card) *PathAccess { return &PathAccess{c: c} }

// Card returns the card behind p.
func (p *PathAccess) Card() *Card { return p.c }

func (p *PathAccess) gsm() bool { return p.c.fs.Mode == Mode2G }

// sel selects dir/fid on the basic channel and returns the answer with the
// file header (FCP or GSM header) as data.
func (p *PathAccess) sel(ctx context.Context, dir []uint16, fid uint16) (apdu.Response, error) {
	if len(dir) == 0 || dir[0] != 0x3F00 {
		return apdu.Response{}, fmt.Errorf("cardtest: path %04X does not start at the MF", dir)
	}
	if p.gsm() {
		var res apdu.Response
		for _, f := range append(append([]uint16(nil), dir...), fid) {
			var err error
			if res, err = apdu.Exchange(ctx, p.c, apdu.SelectGSM(f)); err != nil || res.SW != apdu.SWOK {
				return res, err
			}
		}
		return res, nil
	}
	var data []byte
	for _, f := range append(append([]uint16(nil), dir[1:]...), fid) {
		data = append(data, byte(f>>8), byte(f))
	}
	return apdu.Exchange(ctx, p.c, apdu.Select(0x00, apdu.SelectFromMF, apdu.SelectFCP, data))
}

func (p *PathAccess) cla() byte {
	if p.gsm() {
		return apdu.ClassGSM
	}
	return 0x00
}

// send transmits c once (no 6Cxx / 61xx handling: the caller sees them).
func (p *PathAccess) send(ctx context.Context, c apdu.Command) (apdu.Response, error) {
	b, err := c.Bytes()
	if err != nil {
		return apdu.Response{}, err
	}
	rb, err := p.c.Transmit(ctx, b)
	if err != nil {
		return apdu.Response{}, err
	}
	return apdu.ParseResponse(rb)
}

// FileInfo selects dir/fid and returns its header.
func (p *PathAccess) FileInfo(ctx context.Context, dir []uint16, fid uint16) (apdu.Response, error) {
	return p.sel(ctx, dir, fid)
}

// ReadBinary selects dir/fid and reads n bytes from offset.
func (p *PathAccess) ReadBinary(ctx context.Context, dir []uint16, fid uint16, offset, n int) (apdu.Response, error) {
	if res, err := p.sel(ctx, dir, fid); err != nil || res.Err() != nil {
		return apdu.Response{SW: res.SW}, err
	}
	if offset < 0 || offset > 0x7FFF || n < 1 || n > 256 {
		return apdu.Response{SW: apdu.SWWrongP1P2}, nil
	}
	return p.send(ctx, apdu.ReadBinary(p.cla(), offset, n))
}

// ReadRecord selects dir/fid and reads record rec (absolute) of n bytes.
func (p *PathAccess) ReadRecord(ctx context.Context, dir []uint16, fid uint16, rec, n int) (apdu.Response, error) {
	if res, err := p.sel(ctx, dir, fid); err != nil || res.Err() != nil {
		return apdu.Response{SW: res.SW}, err
	}
	if rec < 1 || rec > 255 || n < 1 || n > 256 {
		return apdu.Response{SW: apdu.SWWrongP1P2}, nil
	}
	return p.send(ctx, apdu.ReadRecord(p.cla(), rec, n))
}

// Status sends STATUS on the basic channel (CRSM command 242) and returns
// the card's answer.
func (p *PathAccess) Status(ctx context.Context) (apdu.Response, error) {
	return p.send(ctx, apdu.Command{CLA: p.cla(), INS: apdu.InsStatus, Le: 256})
}
