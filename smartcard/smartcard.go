package smartcard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
	"github.com/omadm-agent/omadm-agent/smartcard/pkcs15"
)

// Transmitter sends one command APDU to the card and returns the response
// APDU: data followed by SW1 SW2. pcsc.Card, modem.CSIM, modem.CGLA and
// cardtest.Card implement it.
type Transmitter interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// AppOpener is an optional interface of a Transmitter whose transport opens
// the logical channel itself, with the application already selected on it:
// AT+CCHO / AT+CGLA / AT+CCHC (3GPP TS 27.007 §8.45, §8.43, §8.46),
// implemented by modem.CGLA. ReadBootstrap then skips its basic-channel
// steps, MANAGE CHANNEL and SELECT by AID: it calls OpenApp with the
// PKCS#15 AID, sends every APDU through Transmit with the class byte of
// channel 0 (CLA 00; the transport owns the channel bits, see modem.CGLA),
// reads EF_ICCID on that channel last (selecting the MF leaves the
// application), and calls CloseApp on every return path.
type AppOpener interface {
	Transmitter
	OpenApp(ctx context.Context, aid []byte) error
	CloseApp(ctx context.Context) error
}

// Limits.
const (
	MaxFileSize = 32 << 10 // bytes read from one EF (LwM2M Appendix G: ≤ 32 KB)
	MaxRecords  = 32       // EF.DIR records examined
	MaxDODFs    = 8        // DODFs followed from the ODF
	MaxObjects  = 16       // candidate data objects tried
)

// Sentinel errors.
var (
	// ErrNoBootstrap: the card has no PKCS#15 application or no bootstrap
	// object (smartcard.md: 6A82 on the AID means "no smartcard bootstrap").
	ErrNoBootstrap = errors.New("no bootstrap on the smartcard")
	// ErrDocument: the referenced file does not hold a WBXML or XML document.
	ErrDocument = errors.New("smartcard bootstrap file does not hold a document")
	// ErrChannelRefused: no logical channel to the PKCS#15 application
	// could be had (MANAGE CHANNEL or SELECT by AID refused with a status
	// other than "not found", or AppOpener.OpenApp failed). It is wrapped
	// alone, or together with ErrNoBootstrap when the basic-channel
	// fallback then found nothing: another transport (AT+CCHO) may still
	// reach an application that exists only as an ADF.
	ErrChannelRefused = errors.New("logical channel to the PKCS#15 application refused")
)

// Profile of the document, from its content (WBXML public ID or XML root).
type Profile string

// Profiles.
const (
	ProfileDM      Profile = "dm"      // SyncML DM message (public ID 0x1201 or SyncML root)
	ProfileCP      Profile = "cp"      // WAP provisioning document (public ID 0x0B)
	ProfileUnknown Profile = "unknown" // WBXML with another public ID
)

// Route says how the PKCS#15 application was reached.
type Route string

// Routes.
const (
	RouteLogicalChannel Route = "logical-channel" // UICC, SELECT by AID on a logical channel
	RouteBasicChannel   Route = "basic-channel"   // UICC, DF path on the basic channel
	Route2G             Route = "2g"              // GSM SIM, CLA A0
	RoutePath           Route = "path"            // DF path from the MF, file by file (PathReader: AT+CRSM)
)

// Bootstrap is what ReadBootstrap found.
type Bootstrap struct {
	// Document is the file content without the trailing FF fill: a bare
	// WBXML (or XML) document as agent/bootstrap.Apply expects it.
	Document []byte
	Profile  Profile
	OID      string // dotted OID of the data object, e.g. "2.23.43.7.1"
	Label    string // DODF label, e.g. "DM Bootstrap"
	ICCID    string // "" if EF_ICCID could not be read (see Warnings)
	Route    Route
	Path     string // file path, hex: "3F007F506431" or "ADF/6431"
	AID      string // PKCS#15 AID used (hex), on RouteLogicalChannel
	APDUs    int    // command APDUs sent (GET RESPONSE included); PathReader calls on RoutePath
	Reader   string // PC/SC reader name (ReadBootstrapFromReader only)
	Warnings []string
}

// candidate OIDs in priority order.
var candidates = []struct {
	oid pkcs15.OID
}{{pkcs15.OIDDMBootstrap}, {pkcs15.OIDCPBootstrap}, {pkcs15.OIDCPConfig1}, {pkcs15.OIDCPConfig2}}

type reader struct {
	t      Transmitter
	pr     PathReader // set by ReadBootstrapByPath: files are read by path
	n      int        // APDUs sent
	gsm    bool       // 2G SIM: CLA A0
	cla    byte       // class byte of the channel in use
	route  Route
	base   []uint16 // path of the PKCS#15 DF on the basic channel (nil: ADF on a channel)
	warn   []string
	dfName []byte
}

// counting wraps the transmitter to count APDUs and to mark its errors as
// transport errors.
func (r *reader) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	r.n++
	resp, err := r.t.Transmit(ctx, b)
	if err != nil {
		return nil, &transportError{err}
	}
	return resp, nil
}

// transportError marks an error of the transport (PC/SC, the modem, a
// cancelled ctx) as opposed to an answer of the card: the reader gives up
// on it instead of trying the next file or route.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func isTransport(err error) bool {
	var te *transportError
	return errors.As(err, &te)
}

func (r *reader) exchange(ctx context.Context, c apdu.Command) (apdu.Response, error) {
	return apdu.Exchange(ctx, r, c)
}

// ReadBootstrap reads the DM (or, failing that, CP) bootstrap document from
// the card behind t. See the package documentation for the order of tries.
//
// When t implements AppOpener, the transport opens the channel and selects
// the PKCS#15 application itself (see AppOpener).
func ReadBootstrap(ctx context.Context, t Transmitter) (*Bootstrap, error) {
	r := &reader{t: t}
	var (
		bs  *Bootstrap
		err error
	)
	if o, ok := t.(AppOpener); ok {
		bs, err = r.readApp(ctx, o)
	} else {
		bs, err = r.read(ctx)
	}
	if bs != nil {
		bs.APDUs = r.n
		bs.Warnings = append(bs.Warnings, r.warn...)
	}
	return bs, err
}

func (r *reader) read(ctx context.Context) (*Bootstrap, error) {
	// 1. Basic channel: UICC or 2G? ICCID, EF.DIR.
	res, err := r.exchange(ctx, apdu.Select(0x00, apdu.SelectByFID, apdu.SelectFCP, []byte{0x3F, 0x00}))
	if err != nil {
		return nil, fmt.Errorf("select MF: %w", err)
	}
	if apdu.Unsupported(res.SW) {
		r.gsm = true
		res, err = r.exchange(ctx, apdu.SelectGSM(0x3F00))
		if err != nil {
			return nil, fmt.Errorf("select MF (2G): %w", err)
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("select MF: %w", err)
	}
	r.cla = 0x00
	if r.gsm {
		r.cla = apdu.ClassGSM
	}
	bs := &Bootstrap{}
	app, err := r.basics(ctx, bs)
	if err != nil {
		return nil, err
	}
	aid := pkcs15.AID
	if len(app.AID) > 0 {
		aid = app.AID
	}

	// 2. UICC: logical channel + SELECT by AID.
	var firstErr error
	if !r.gsm {
		doc, err := r.viaChannel(ctx, aid, bs)
		if err == nil {
			return doc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, errFallback) {
			return nil, err
		}
		firstErr = err
	}

	// 3. Basic channel by path.
	r.cla = 0x00
	r.route = RouteBasicChannel
	if r.gsm {
		r.cla, r.route = apdu.ClassGSM, Route2G
	}
	return r.byDFPath(ctx, app, bs, firstErr)
}

// basics reads EF_ICCID (into bs) and EF.DIR on the basic channel. A card
// that answers with an error status only leaves a warning; a transport
// error ends the read.
func (r *reader) basics(ctx context.Context, bs *Bootstrap) (pkcs15.App, error) {
	if iccid, err := r.iccid(ctx); err != nil {
		if ctx.Err() != nil {
			return pkcs15.App{}, ctx.Err()
		}
		if isTransport(err) {
			return pkcs15.App{}, fmt.Errorf("EF_ICCID: %w", err)
		}
		r.warn = append(r.warn, "EF_ICCID: "+err.Error())
	} else {
		bs.ICCID = iccid
	}
	app, err := r.dir(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return pkcs15.App{}, ctx.Err()
		}
		if isTransport(err) {
			return pkcs15.App{}, fmt.Errorf("EF.DIR: %w", err)
		}
		r.warn = append(r.warn, "EF.DIR: "+err.Error())
	}
	return app, nil
}

// dfPaths returns the candidate paths of the PKCS#15 DF under the MF: the
// one of EF.DIR tag 51, then 3F00/7F50 (common, not normative: the last
// resort of smartcard.md §4).
func dfPaths(app pkcs15.App) [][]uint16 {
	var paths [][]uint16
	if len(app.Path) > 0 {
		p, err := pkcs15.Path{Path: app.Path}.FIDs()
		if err == nil {
			if p[0] != 0x3F00 {
				p = append([]uint16{0x3F00}, p...)
			}
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 || !equalFIDs(paths[0], []uint16{0x3F00, 0x7F50}) {
		paths = append(paths, []uint16{0x3F00, 0x7F50})
	}
	return paths
}

// byDFPath walks the PKCS#15 DF found by path (basic channel, 2G or
// PathReader). firstErr is the error of an earlier route, reported (and
// wrapped) when no path leads to a bootstrap either.
func (r *reader) byDFPath(ctx context.Context, app pkcs15.App, bs *Bootstrap, firstErr error) (*Bootstrap, error) {
	for _, p := range dfPaths(app) {
		if r.pr == nil {
			if _, err := r.selectPath(ctx, p); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if isTransport(err) {
					return nil, err
				}
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
		}
		r.base = p
		doc, err := r.walk(ctx, bs)
		if err == nil || !errors.Is(err, errFallback) {
			return doc, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrNoBootstrap, firstErr)
}

// fidsHex writes a path as concatenated 4-digit hex FIDs ("3F007F50").
func fidsHex(fids []uint16) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 4*len(fids))
	for _, f := range fids {
		b = append(b, digits[f>>12], digits[f>>8&0xF], digits[f>>4&0xF], digits[f&0xF])
	}
	return string(b)
}

func equalFIDs(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// errFallback marks a failure after which another route may succeed.
var errFallback = errors.New("try the next route")

func fallback(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errFallback}, args...)...)
}

func (r *reader) viaChannel(ctx context.Context, aid []byte, bs *Bootstrap) (doc *Bootstrap, err error) {
	res, err := r.exchange(ctx, apdu.OpenChannel())
	if err != nil {
		return nil, fmt.Errorf("manage channel: %w", err)
	}
	if res.SW != apdu.SWOK || len(res.Data) != 1 {
		return nil, fallback("%w: MANAGE CHANNEL: %v", ErrChannelRefused, statusOrShape(res))
	}
	ch := int(res.Data[0])
	cla, cerr := apdu.Class(ch)
	if cerr != nil || ch == 0 {
		return nil, fallback("%w: MANAGE CHANNEL returned channel %d", ErrChannelRefused, ch)
	}
	defer func() {
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		cl, _ := apdu.CloseChannel(ch)
		res, cerr := r.exchange(cctx, cl)
		if cerr == nil {
			cerr = res.Err()
		}
		if cerr != nil {
			r.warn = append(r.warn, fmt.Sprintf("closing logical channel %d: %v", ch, cerr))
		}
	}()
	r.cla = cla
	r.route = RouteLogicalChannel
	res, err = r.exchange(ctx, apdu.Select(cla, apdu.SelectByDFName, apdu.SelectFCP, aid))
	if err != nil {
		return nil, fmt.Errorf("select PKCS#15 AID: %w", err)
	}
	if err := res.Err(); err != nil {
		if apdu.NotFound(res.SW) {
			return nil, fallback("select PKCS#15 AID on channel %d: %w", ch, err)
		}
		return nil, fallback("%w: select PKCS#15 AID on channel %d: %w", ErrChannelRefused, ch, err)
	}
	r.base = nil
	r.dfName = aid
	return r.walk(ctx, bs)
}

// readApp reads through a transport that opens the channel itself
// (AppOpener): ODF → DODF → object relative to the application, then
// EF_ICCID on the same channel.
func (r *reader) readApp(ctx context.Context, o AppOpener) (doc *Bootstrap, err error) {
	aid := pkcs15.AID
	if err := o.OpenApp(ctx, aid); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrChannelRefused, err)
	}
	defer func() {
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		if cerr := o.CloseApp(cctx); cerr != nil {
			r.warn = append(r.warn, fmt.Sprintf("closing the application channel: %v", cerr))
		}
	}()
	r.cla, r.route, r.base, r.dfName = 0x00, RouteLogicalChannel, nil, aid
	bs := &Bootstrap{}
	doc, err = r.walk(ctx, bs)
	if err != nil {
		if errors.Is(err, errFallback) {
			return nil, fmt.Errorf("%w: %w", ErrNoBootstrap, err)
		}
		return nil, err
	}
	if iccid, err := r.iccid(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isTransport(err) {
			return nil, fmt.Errorf("EF_ICCID: %w", err)
		}
		r.warn = append(r.warn, "EF_ICCID: "+err.Error())
	} else {
		doc.ICCID = iccid
	}
	return doc, nil
}

func statusOrShape(res apdu.Response) string {
	if err := res.Err(); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("unexpected %d data bytes", len(res.Data))
}

// walk reads ODF → DODFs → the bootstrap file, relative to the selected
// PKCS#15 DF/ADF.
func (r *reader) walk(ctx context.Context, bs *Bootstrap) (*Bootstrap, error) {
	odf, _, err := r.readFile(ctx, pkcs15.Path{Path: []byte{0x50, 0x31}})
	if err != nil {
		if isTransport(err) {
			return nil, fmt.Errorf("EF.ODF: %w", err)
		}
		return nil, fallback("EF.ODF: %w", err)
	}
	entries, err := pkcs15.ParseODF(odf)
	if err != nil {
		return nil, fmt.Errorf("EF.ODF: %w", err)
	}
	dodfs := pkcs15.DODFPaths(entries)
	if len(dodfs) == 0 {
		return nil, fmt.Errorf("%w: EF.ODF has no dataObjects (A7) entry", ErrNoBootstrap)
	}
	if len(dodfs) > MaxDODFs {
		dodfs = dodfs[:MaxDODFs]
	}
	var objs []pkcs15.DataObject
	var parseErr error
	for _, p := range dodfs {
		b, _, err := r.readFile(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if isTransport(err) {
				return nil, fmt.Errorf("DODF %s: %w", p, err)
			}
			r.warn = append(r.warn, fmt.Sprintf("DODF %s: %v", p, err))
			continue
		}
		o, err := pkcs15.ParseDODF(b)
		if err != nil && parseErr == nil {
			parseErr = fmt.Errorf("DODF %s: %w", p, err)
			r.warn = append(r.warn, parseErr.Error())
		}
		objs = append(objs, o...)
	}
	tried := 0
	var lastErr error
	for _, c := range candidates {
		for _, o := range objs {
			if !o.Matches(c.oid) || (!o.HasPath && len(o.Direct) == 0) {
				continue
			}
			if tried++; tried > MaxObjects {
				break
			}
			doc, err := r.object(ctx, o, c.oid, bs)
			if err == nil {
				return doc, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if isTransport(err) {
				return nil, fmt.Errorf("object %s: %w", c.oid, err)
			}
			r.warn = append(r.warn, fmt.Sprintf("object %s %q: %v", c.oid, o.Label, err))
			lastErr = err
		}
	}
	switch {
	case lastErr != nil:
		return nil, fmt.Errorf("%w: %w", ErrNoBootstrap, lastErr)
	case parseErr != nil:
		return nil, fmt.Errorf("%w: %w", ErrNoBootstrap, parseErr)
	}
	return nil, fmt.Errorf("%w: no DM or CP bootstrap object in %d DODF entries", ErrNoBootstrap, len(objs))
}

func (r *reader) object(ctx context.Context, o pkcs15.DataObject, oid pkcs15.OID, bs *Bootstrap) (*Bootstrap, error) {
	var raw []byte
	path := "direct"
	if o.HasPath {
		var err error
		raw, path, err = r.readFile(ctx, o.Path)
		if err != nil {
			return nil, err
		}
	} else {
		raw = o.Direct
	}
	doc := bytes.TrimRight(raw, "\xff")
	if len(doc) == 0 {
		return nil, errors.New("file is empty (all FF)")
	}
	prof, err := sniff(doc)
	if err != nil {
		return nil, err
	}
	out := *bs
	out.Document = append([]byte(nil), doc...)
	out.Profile = prof
	out.OID = oid.String()
	out.Label = o.Label
	out.Route = r.route
	out.Path = path
	if r.route == RouteLogicalChannel {
		out.AID = strings.ToUpper(fmt.Sprintf("%x", r.dfName))
	}
	return &out, nil
}

// sniff checks the document shape (smartcard.md §2.5) and tells the profile.
func sniff(doc []byte) (Profile, error) {
	if doc[0] == '<' || (len(doc) > 3 && bytes.HasPrefix(doc, []byte("\xef\xbb\xbf<"))) {
		if bytes.Contains(doc, []byte("wap-provisioningdoc")) {
			return ProfileCP, nil
		}
		return ProfileDM, nil
	}
	if doc[0] < 0x01 || doc[0] > 0x03 {
		return "", fmt.Errorf("%w: first byte %02X is not a WBXML version", ErrDocument, doc[0])
	}
	// mb_u_int32 public ID.
	var id uint32
	for i := 1; i < len(doc) && i < 6; i++ {
		id = id<<7 | uint32(doc[i]&0x7F)
		if doc[i]&0x80 == 0 {
			switch id {
			case 0x1201, 0x1202, 0x1203:
				return ProfileDM, nil
			case 0x0B:
				return ProfileCP, nil
			case 0x00: // public ID in the string table: let the decoder decide
				return ProfileUnknown, nil
			}
			return ProfileUnknown, nil
		}
	}
	return "", fmt.Errorf("%w: truncated WBXML header", ErrDocument)
}

// iccid reads EF_ICCID (3F00/2FE2) on the basic channel.
func (r *reader) iccid(ctx context.Context) (string, error) {
	b, _, err := r.readFile(ctx, pkcs15.Path{Path: []byte{0x3F, 0x00, 0x2F, 0xE2}})
	if err != nil {
		return "", err
	}
	return DecodeICCID(b)
}

// DecodeICCID decodes the BCD, nibble-swapped EF_ICCID content (TS 102 221
// §13.2); an F nibble ends the number.
func DecodeICCID(b []byte) (string, error) {
	var s strings.Builder
	for _, c := range b {
		for _, d := range [2]byte{c & 0x0F, c >> 4} {
			if d == 0x0F {
				goto done
			}
			if d > 9 {
				return "", fmt.Errorf("EF_ICCID: nibble %X is not a digit", d)
			}
			s.WriteByte('0' + d)
		}
	}
done:
	if s.Len() < 6 {
		return "", fmt.Errorf("EF_ICCID: %d digits", s.Len())
	}
	return s.String(), nil
}

// dir reads EF.DIR and returns the PKCS#15 application record, if any.
func (r *reader) dir(ctx context.Context) (pkcs15.App, error) {
	fi, err := r.selectPath(ctx, []uint16{0x3F00, pkcs15.FIDDir})
	if err != nil {
		return pkcs15.App{}, err
	}
	return r.dirRecords(fi, func(i int) (apdu.Response, error) {
		return r.exchange(ctx, apdu.ReadRecord(r.cla, i, fi.RecordLen))
	})
}

// dirRecords reads the EF.DIR records (described by fi) with read until
// the PKCS#15 application record.
func (r *reader) dirRecords(fi apdu.FileInfo, read func(rec int) (apdu.Response, error)) (pkcs15.App, error) {
	if fi.Type != apdu.FileLinearFixed || fi.RecordLen == 0 {
		return pkcs15.App{}, fmt.Errorf("EF.DIR is a %v", fi.Type)
	}
	n := fi.Records
	if n == 0 || n > MaxRecords {
		n = MaxRecords
	}
	for i := 1; i <= n; i++ {
		res, err := read(i)
		if err != nil {
			return pkcs15.App{}, err
		}
		if apdu.NotFound(res.SW) || res.SW == 0x6B00 {
			break
		}
		if err := res.Err(); err != nil {
			return pkcs15.App{}, fmt.Errorf("record %d: %w", i, err)
		}
		app, ok, err := pkcs15.ParseDirRecord(res.Data)
		if err != nil {
			r.warn = append(r.warn, fmt.Sprintf("EF.DIR record %d: %v", i, err))
			continue
		}
		if ok && app.IsPKCS15() {
			return app, nil
		}
	}
	return pkcs15.App{}, errors.New("no PKCS#15 application record")
}

// selectPath selects FID by FID and returns the info of the last one.
func (r *reader) selectPath(ctx context.Context, fids []uint16) (apdu.FileInfo, error) {
	var fi apdu.FileInfo
	for _, fid := range fids {
		var c apdu.Command
		if r.gsm {
			c = apdu.SelectGSM(fid)
		} else {
			c = apdu.Select(r.cla, apdu.SelectByFID, apdu.SelectFCP, []byte{byte(fid >> 8), byte(fid)})
		}
		res, err := r.exchange(ctx, c)
		if err != nil {
			return fi, err
		}
		if err := res.Err(); err != nil {
			return fi, fmt.Errorf("select %04X: %w", fid, err)
		}
		if len(res.Data) > 0 {
			if fi, err = apdu.ParseFileInfo(res.Data); err != nil {
				return fi, fmt.Errorf("select %04X: %w", fid, err)
			}
		} else {
			fi = apdu.FileInfo{}
		}
	}
	return fi, nil
}

// readFile selects p (absolute from the MF, or relative to the PKCS#15
// DF/ADF) and reads its body, bounded by MaxFileSize. It returns the bytes
// and a printable path.
func (r *reader) readFile(ctx context.Context, p pkcs15.Path) ([]byte, string, error) {
	fids, err := p.FIDs()
	if err != nil {
		return nil, "", err
	}
	name := strings.ToUpper(fmt.Sprintf("%x", p.Path))
	if !p.Absolute() {
		switch {
		case r.base != nil:
			// On the basic channel the current DF may have moved: reselect.
			fids = append(append([]uint16(nil), r.base...), fids...)
			name = fidsHex(r.base) + name
		default:
			name = "ADF/" + name
		}
	}
	if r.pr != nil {
		return r.readFileByPath(ctx, p, fids, name)
	}
	fi, err := r.selectPath(ctx, fids)
	if err != nil {
		return nil, name, err
	}
	if fi.Type == apdu.FileDF {
		return nil, name, fmt.Errorf("%s is a DF", name)
	}
	if fi.Type == apdu.FileLinearFixed || fi.Type == apdu.FileCyclic {
		return r.readRecordEF(ctx, p, fi, name)
	}
	off, size, unknown, err := span(p, fi, name)
	if err != nil {
		return nil, name, err
	}
	chunk := 256
	if r.gsm {
		chunk = 255
	}
	out := make([]byte, 0, min(size, 4096))
	for len(out) < size {
		n := min(chunk, size-len(out))
		res, err := r.exchange(ctx, apdu.ReadBinary(r.cla, off+len(out), n))
		if err != nil {
			return nil, name, err
		}
		if unknown && len(out) > 0 && (res.SW == apdu.SWWrongP1P2 || res.SW == 0x9402) {
			break // end of a file of unknown size
		}
		if err := res.Err(); err != nil {
			return nil, name, fmt.Errorf("read binary %s at %d: %w", name, off+len(out), err)
		}
		if len(res.Data) == 0 {
			break
		}
		if len(res.Data) > n {
			return nil, name, fmt.Errorf("read binary %s: %d bytes for Le %d", name, len(res.Data), n)
		}
		out = append(out, res.Data...)
		if res.SW == apdu.SWEndOfFile {
			break
		}
	}
	return out, name, nil
}

// span is the part of transparent EF fi that path p names: offset and
// length (the whole file without an index/length), bounded by MaxFileSize
// and the 15-bit READ BINARY offset; unknown when the card gave no size
// (then up to MaxFileSize is read, until the card says the end).
func span(p pkcs15.Path, fi apdu.FileInfo, name string) (off, size int, unknown bool, err error) {
	off, size = 0, fi.Size
	if p.HasRange {
		off, size = p.Index, p.Length
		if fi.Size > 0 && off+size > fi.Size {
			return 0, 0, false, fmt.Errorf("%s: range %d+%d beyond the file size %d", name, off, size, fi.Size)
		}
	}
	if size > MaxFileSize || off+size > 0x7FFF {
		return 0, 0, false, fmt.Errorf("%s: %d bytes exceed the limit of %d", name, size, MaxFileSize)
	}
	if size == 0 {
		return off, MaxFileSize, true, nil
	}
	return off, size, false, nil
}

// cleanupContext is the context for closing what a read opened (a logical
// channel, a card connection): ctx while it lives, else a detached one of
// 2 s, so that a cancelled read still closes.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
}

func (r *reader) readRecordEF(ctx context.Context, p pkcs15.Path, fi apdu.FileInfo, name string) ([]byte, string, error) {
	rec := 1
	if p.HasRange && p.Index > 0 {
		rec = p.Index
	}
	res, err := r.exchange(ctx, apdu.ReadRecord(r.cla, rec, fi.RecordLen))
	if err != nil {
		return nil, name, err
	}
	if err := res.Err(); err != nil {
		return nil, name, fmt.Errorf("read record %s #%d: %w", name, rec, err)
	}
	return res.Data, name, nil
}
