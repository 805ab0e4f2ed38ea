package smartcard

import (
	"context"
	"fmt"

	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
	"github.com/omadm-agent/omadm-agent/smartcard/pkcs15"
)

// PathReader reads files by path from the MF without any APDU of its own:
// the model of restricted SIM access, AT+CRSM (3GPP TS 27.007 §8.18),
// implemented by modem.CRSM (and cardtest.PathAccess for tests).
//
// dir is the path of the DF holding the file, as FIDs from the MF: it
// starts with 3F00 ([3F00] for a file directly under the MF, [3F00 7F50]
// for DF.PKCS15). Each method is one command; the Response carries the
// card's status word (SW1 SW2), which the reader branches on; err is for
// the transport only.
type PathReader interface {
	// FileInfo returns the file's header, the answer to GET RESPONSE
	// (CRSM command 192): a TS 102 221 FCP template (tag 62) or the
	// GSM 11.11 / TS 51.011 header, both read by apdu.ParseFileInfo.
	FileInfo(ctx context.Context, dir []uint16, fid uint16) (apdu.Response, error)
	// ReadBinary reads n (1..255) bytes of a transparent EF from offset
	// (0..0x7FFF) (CRSM command 176).
	ReadBinary(ctx context.Context, dir []uint16, fid uint16, offset, n int) (apdu.Response, error)
	// ReadRecord reads record rec (absolute mode) of n bytes of a linear
	// fixed EF (CRSM command 178).
	ReadRecord(ctx context.Context, dir []uint16, fid uint16, rec, n int) (apdu.Response, error)
}

// maxPathChunk is the largest READ BINARY through a PathReader: P3 is one
// byte and AT+CRSM has no Le=00 (smartcard.md §1 step 6).
const maxPathChunk = 255

// maxRetries bounds the resends of one PathReader command after a wrong
// length status (6Cxx, 67xx).
const maxRetries = 2

// ReadBootstrapByPath reads the bootstrap like ReadBootstrap, but with
// path-based file access only (smartcard.md §1 step 2, 2G / no logical
// channel; §6 route C): EF_ICCID 3F00/2FE2, the EF.DIR records (3F00/2F00,
// sizes from FileInfo) for tag 51 of the PKCS#15 application, then, under
// that DF (or 3F00/7F50 as a last resort), EF.ODF 5031 → DODF → the
// bootstrap EF, each file sized by FileInfo and read in ≤ 255-byte pieces.
// The PKCS#15 parsing and the choice of object are those of ReadBootstrap.
//
// An application that exists only as an ADF (selectable by AID, with no DF
// under the MF) cannot be reached this way: the result is then
// ErrNoBootstrap. Bootstrap.Route is RoutePath and Bootstrap.APDUs counts
// PathReader calls.
func ReadBootstrapByPath(ctx context.Context, pr PathReader) (*Bootstrap, error) {
	r := &reader{pr: pr, route: RoutePath}
	bs, err := r.readByPath(ctx)
	if bs != nil {
		bs.APDUs = r.n
		bs.Warnings = append(bs.Warnings, r.warn...)
	}
	return bs, err
}

func (r *reader) readByPath(ctx context.Context) (*Bootstrap, error) {
	bs := &Bootstrap{}
	// EF_ICCID is 10 bytes (TS 102 221 §13.2): no FileInfo needed.
	res, err := r.pathCall(ctx, func() (apdu.Response, error) {
		return r.pr.ReadBinary(ctx, []uint16{0x3F00}, 0x2FE2, 0, 10)
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("EF_ICCID: %w", err)
	case res.Err() != nil:
		r.warn = append(r.warn, "EF_ICCID: "+res.Err().Error())
	default:
		if iccid, err := DecodeICCID(res.Data); err != nil {
			r.warn = append(r.warn, err.Error())
		} else {
			bs.ICCID = iccid
		}
	}
	app, err := r.dirByPath(ctx)
	if err != nil {
		if isTransport(err) {
			return nil, fmt.Errorf("EF.DIR: %w", err)
		}
		r.warn = append(r.warn, "EF.DIR: "+err.Error())
	}
	return r.byDFPath(ctx, app, bs, nil)
}

// pathCall runs one PathReader command, counting it and marking its error
// as a transport error.
func (r *reader) pathCall(ctx context.Context, f func() (apdu.Response, error)) (apdu.Response, error) {
	if err := ctx.Err(); err != nil {
		return apdu.Response{}, &transportError{err}
	}
	r.n++
	res, err := f()
	if err != nil {
		return apdu.Response{}, &transportError{err}
	}
	return res, nil
}

// fileInfoByPath returns the header of dir/fid. An unreadable header is not an
// error: the zero FileInfo (size unknown) comes back with a warning.
func (r *reader) fileInfoByPath(ctx context.Context, dir []uint16, fid uint16, name string) (apdu.FileInfo, error) {
	res, err := r.pathCall(ctx, func() (apdu.Response, error) { return r.pr.FileInfo(ctx, dir, fid) })
	if err != nil {
		return apdu.FileInfo{}, err
	}
	if err := res.Err(); err != nil {
		return apdu.FileInfo{}, fmt.Errorf("%s: get response: %w", name, err)
	}
	fi, err := apdu.ParseFileInfo(res.Data)
	if err != nil {
		r.warn = append(r.warn, fmt.Sprintf("%s: header not understood (%v), reading to the end", name, err))
		return apdu.FileInfo{}, nil
	}
	return fi, nil
}

// wrongLength returns the length a 6Cxx or 67xx (xx ≠ 0) status asks for.
func wrongLength(sw uint16) (int, bool) {
	if (sw>>8 == 0x6C || sw>>8 == 0x67) && sw&0xFF != 0 {
		return int(sw & 0xFF), true
	}
	return 0, false
}

func (r *reader) dirByPath(ctx context.Context) (pkcs15.App, error) {
	mf := []uint16{0x3F00}
	fi, err := r.fileInfoByPath(ctx, mf, pkcs15.FIDDir, "EF.DIR")
	if err != nil {
		return pkcs15.App{}, err
	}
	return r.dirRecords(fi, func(i int) (apdu.Response, error) {
		return r.recordByPath(ctx, mf, pkcs15.FIDDir, i, fi.RecordLen)
	})
}

func (r *reader) recordByPath(ctx context.Context, dir []uint16, fid uint16, rec, n int) (apdu.Response, error) {
	for try := 0; ; try++ {
		res, err := r.pathCall(ctx, func() (apdu.Response, error) { return r.pr.ReadRecord(ctx, dir, fid, rec, n) })
		if err != nil {
			return res, err
		}
		if l, ok := wrongLength(res.SW); ok && try < maxRetries && l != n {
			n = l
			continue
		}
		return res, nil
	}
}

// readFileByPath is readFile for a PathReader: fids is the absolute path
// of the file.
func (r *reader) readFileByPath(ctx context.Context, p pkcs15.Path, fids []uint16, name string) ([]byte, string, error) {
	if len(fids) < 2 || fids[0] != 0x3F00 {
		return nil, name, fmt.Errorf("%s: not a path from the MF", name)
	}
	dir, fid := fids[:len(fids)-1], fids[len(fids)-1]
	fi, err := r.fileInfoByPath(ctx, dir, fid, name)
	if err != nil {
		return nil, name, err
	}
	switch fi.Type {
	case apdu.FileDF:
		return nil, name, fmt.Errorf("%s is a DF", name)
	case apdu.FileLinearFixed, apdu.FileCyclic:
		rec := 1
		if p.HasRange && p.Index > 0 {
			rec = p.Index
		}
		res, err := r.recordByPath(ctx, dir, fid, rec, fi.RecordLen)
		if err != nil {
			return nil, name, err
		}
		if err := res.Err(); err != nil {
			return nil, name, fmt.Errorf("read record %s #%d: %w", name, rec, err)
		}
		return res.Data, name, nil
	}
	off, size, unknown, err := span(p, fi, name)
	if err != nil {
		return nil, name, err
	}
	out := make([]byte, 0, min(size, 4096))
	for len(out) < size {
		n := min(maxPathChunk, size-len(out))
		at := off + len(out)
		var res apdu.Response
		for try := 0; ; try++ {
			res, err = r.pathCall(ctx, func() (apdu.Response, error) { return r.pr.ReadBinary(ctx, dir, fid, at, n) })
			if err != nil {
				return nil, name, err
			}
			if l, ok := wrongLength(res.SW); ok && try < maxRetries && l < n {
				n = l // fewer bytes left than asked for
				continue
			}
			break
		}
		if unknown && len(out) > 0 && (res.SW == apdu.SWWrongP1P2 || res.SW == 0x9402) {
			break // end of a file of unknown size
		}
		if err := res.Err(); err != nil {
			return nil, name, fmt.Errorf("read binary %s at %d: %w", name, at, err)
		}
		if len(res.Data) == 0 {
			break
		}
		if len(res.Data) > n {
			return nil, name, fmt.Errorf("read binary %s: %d bytes for %d asked", name, len(res.Data), n)
		}
		out = append(out, res.Data...)
		if res.SW == apdu.SWEndOfFile || len(res.Data) < n {
			break
		}
	}
	return out, name, nil
}
