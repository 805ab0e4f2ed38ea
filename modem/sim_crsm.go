package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
)

// ErrCRSM: the modem's +CRSM answer is malformed.
var ErrCRSM = errors.New("malformed +CRSM answer")

// AT+CRSM <command> values (3GPP TS 27.007 §8.18).
const (
	CRSMReadBinary  = 176
	CRSMReadRecord  = 178
	CRSMGetResponse = 192
	CRSMStatus      = 242
)

// maxCRSMData bounds the <response> of one +CRSM answer (bytes).
const maxCRSMData = 1024

// CRSM reads SIM files with restricted SIM access, AT+CRSM (3GPP TS 27.007
// §8.18): AT+CRSM=<command>,<fileid>,<P1>,<P2>,<P3>[,,"<pathid>"] →
// +CRSM: <sw1>,<sw2>[,"<response>"]. It cannot carry arbitrary APDUs, so it
// implements smartcard.PathReader for smartcard.ReadBootstrapByPath:
//
//	bs, err := smartcard.ReadBootstrapByPath(ctx, modem.NewCRSM(m))
//
// READ BINARY is 176 with the offset in P1 (high) and P2 (low) and the
// length (1..255) in P3; READ RECORD is 178 with the record in P1, P2 = 4
// (absolute); the file header is GET RESPONSE 192 with P3 = 15 (the GSM
// 11.11 EF header length, as Android's RIL asks; UICC modems answer the
// whole FCP or a converted header).
//
// <pathid>: TS 27.007 gives it in the form of TS 102 221 "select by path
// from MF", without the MF ("7F50"), while Android's RIL and smartcard.md
// §6 write it with the MF ("3F007F50"); modems differ. CRSM sends the DF
// of a file below a DF with the MF first and, when the modem refuses that
// (ERROR, +CME ERROR 3/4/50) or answers file not found (6A82, 9404), once
// more without it; for a file directly under the MF it omits <pathid>
// first and then tries "3F00". The first form the card answers through is
// kept for later commands. A CRSM is for one reader at a time.
type CRSM struct {
	c            Commander
	mfForm, form pathForm // learned <pathid> style: files under the MF, files in a DF
}

type pathForm uint8

const (
	formUnknown pathForm = iota
	formWithMF           // "3F007F50", "3F00"
	formNoMF             // "7F50", no <pathid>
)

// NewCRSM returns restricted SIM access over c (usually a *Modem).
func NewCRSM(c Commander) *CRSM { return &CRSM{c: c} }

// FileInfo returns the header of dir/fid (GET RESPONSE).
func (s *CRSM) FileInfo(ctx context.Context, dir []uint16, fid uint16) (apdu.Response, error) {
	return s.do(ctx, CRSMGetResponse, dir, fid, 0, 0, 15)
}

// ReadBinary reads n (1..255) bytes of dir/fid from offset (0..0x7FFF).
func (s *CRSM) ReadBinary(ctx context.Context, dir []uint16, fid uint16, offset, n int) (apdu.Response, error) {
	if offset < 0 || offset > 0x7FFF || n < 1 || n > 255 {
		return apdu.Response{}, fmt.Errorf("AT+CRSM: READ BINARY of %d bytes at %d", n, offset)
	}
	return s.do(ctx, CRSMReadBinary, dir, fid, offset>>8, offset&0xFF, n)
}

// ReadRecord reads record rec (1..254, absolute mode) of n (1..255) bytes.
func (s *CRSM) ReadRecord(ctx context.Context, dir []uint16, fid uint16, rec, n int) (apdu.Response, error) {
	if rec < 1 || rec > 254 || n < 1 || n > 255 {
		return apdu.Response{}, fmt.Errorf("AT+CRSM: READ RECORD %d of %d bytes", rec, n)
	}
	return s.do(ctx, CRSMReadRecord, dir, fid, rec, 0x04, n)
}

func (s *CRSM) do(ctx context.Context, cmd int, dir []uint16, fid uint16, p1, p2, p3 int) (apdu.Response, error) {
	if len(dir) == 0 || dir[0] != 0x3F00 || len(dir) > 5 {
		return apdu.Response{}, fmt.Errorf("AT+CRSM: DF path %04X does not start at the MF", dir)
	}
	var rel strings.Builder
	for _, f := range dir[1:] {
		fmt.Fprintf(&rel, "%04X", f)
	}
	state := &s.form
	order := []pathForm{formWithMF, formNoMF}
	if len(dir) == 1 {
		state = &s.mfForm
		order = []pathForm{formNoMF, formWithMF}
	}
	if *state != formUnknown {
		order = []pathForm{*state}
	}
	var (
		res apdu.Response
		err error
	)
	for i, f := range order {
		path := rel.String()
		if f == formWithMF {
			path = "3F00" + path
		}
		line, ferr := FormatCRSM(cmd, int(fid), p1, p2, p3, path)
		if ferr != nil {
			return apdu.Response{}, ferr
		}
		var info []string
		info, err = s.c.Command(ctx, line)
		last := i == len(order)-1
		if err != nil {
			if !last && ctx.Err() == nil && modemRefused(err) {
				continue
			}
			return apdu.Response{}, err
		}
		if res, err = ParseCRSM(info); err != nil {
			return apdu.Response{}, err
		}
		if res.SW == apdu.SWFileNotFound || res.SW == apdu.SWGSMFileNotFound {
			if !last {
				continue
			}
			return res, nil
		}
		*state = f // the path resolved
		return res, nil
	}
	return res, err
}

// FormatCRSM returns the AT+CRSM command (without "AT") for command cmd on
// file fid with P1, P2, P3 and, when pathid is not empty, <pathid> (hex
// FIDs; <data> is left empty).
func FormatCRSM(cmd, fid, p1, p2, p3 int, pathid string) (string, error) {
	if cmd < 0 || cmd > 255 || fid < 0 || fid > 0xFFFF || p1 < 0 || p1 > 255 || p2 < 0 || p2 > 255 || p3 < 0 || p3 > 255 {
		return "", fmt.Errorf("AT+CRSM: parameter out of range (%d,%d,%d,%d,%d)", cmd, fid, p1, p2, p3)
	}
	if len(pathid)%4 != 0 || strings.Trim(pathid, "0123456789ABCDEFabcdef") != "" {
		return "", fmt.Errorf("AT+CRSM: bad pathid %q", pathid)
	}
	if pathid == "" {
		return fmt.Sprintf("+CRSM=%d,%d,%d,%d,%d", cmd, fid, p1, p2, p3), nil
	}
	return fmt.Sprintf(`+CRSM=%d,%d,%d,%d,%d,,"%s"`, cmd, fid, p1, p2, p3, strings.ToUpper(pathid)), nil
}

// ParseCRSM extracts the status word and the response data from the
// information lines of an AT+CRSM answer: +CRSM: <sw1>,<sw2>[,<response>],
// <response> hex, quoted or not, possibly empty.
func ParseCRSM(info []string) (apdu.Response, error) {
	for _, l := range info {
		v, ok := strings.CutPrefix(strings.TrimSpace(l), "+CRSM:")
		if !ok {
			continue
		}
		parts := strings.SplitN(v, ",", 3)
		if len(parts) < 2 {
			return apdu.Response{}, fmt.Errorf("%w: %q", ErrCRSM, l)
		}
		var sw [2]uint16
		for i := range sw {
			n, err := strconv.ParseUint(strings.TrimSpace(parts[i]), 10, 8)
			if err != nil {
				return apdu.Response{}, fmt.Errorf("%w: sw%d in %q", ErrCRSM, i+1, l)
			}
			sw[i] = uint16(n)
		}
		res := apdu.Response{SW: sw[0]<<8 | sw[1]}
		if len(parts) == 3 {
			hs := unquote(strings.TrimSpace(parts[2]))
			if len(hs) > 2*maxCRSMData {
				return apdu.Response{}, fmt.Errorf("%w: response of %d hex digits", ErrCRSM, len(hs))
			}
			b, err := hex.DecodeString(hs)
			if err != nil {
				return apdu.Response{}, fmt.Errorf("%w: %v", ErrCRSM, err)
			}
			if len(b) > 0 {
				res.Data = b
			}
		}
		return res, nil
	}
	return apdu.Response{}, fmt.Errorf("%w: no +CRSM line in %q", ErrCRSM, info)
}
