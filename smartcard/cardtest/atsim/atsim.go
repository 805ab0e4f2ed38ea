package atsim

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/omadm-agent/omadm-agent/smartcard/apdu"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
)

// Final result codes.
const (
	OK          = "OK"
	Error       = "ERROR"
	NotAllowed  = "+CME ERROR: 3"  // operation not allowed
	NotSupport  = "+CME ERROR: 4"  // operation not supported
	BadParams   = "+CME ERROR: 50" // incorrect parameters
	Unknown     = "+CME ERROR: 100"
	maxHexChars = 2 * 261 // a short command APDU
)

// PathForm says which AT+CRSM <pathid> forms the modem accepts.
type PathForm int

// Path forms. A form that is not accepted answers +CME ERROR: 50.
const (
	PathsBoth   PathForm = iota // "7F50" and "3F007F50"
	PathsNoMF                   // only "7F50" (TS 27.007 / TS 102 221 select by path from MF)
	PathsWithMF                 // only "3F007F50"
)

// Modem is the SIM side of a fake AT modem.
type Modem struct {
	// Refusals: a non-empty value is answered as the final result instead
	// of executing the command.
	RefuseCSIM        string // every AT+CSIM
	RefuseCSIMChannel string // AT+CSIM carrying MANAGE CHANNEL or SELECT by DF name
	RefuseCCHO        string // AT+CCHO
	RefuseCGLA        string // AT+CGLA
	RefuseCRSM        string // AT+CRSM
	// CSIMChannelSW, when not 0, is the status word answered (inside
	// +CSIM:) to MANAGE CHANNEL and SELECT by DF name: a modem that
	// intercepts them (e.g. 6D00).
	CSIMChannelSW uint16
	CRSMPaths     PathForm
	CGLAVerbatim  bool // forward CLA of AT+CGLA unchanged
	SessionBase   int  // <sessionid> = channel + SessionBase
	CCHOPrefix    bool // answer "+CCHO: <sessionid>" instead of "<sessionid>"

	card *cardtest.Card
	pa   *cardtest.PathAccess

	mu       sync.Mutex
	sessions map[int]int // sessionid → channel
	cmds     []string
}

// New returns the SIM front end of a modem holding card.
func New(card *cardtest.Card) *Modem {
	return &Modem{card: card, pa: cardtest.NewPathAccess(card), sessions: map[int]int{}}
}

// Card returns the card behind m.
func (m *Modem) Card() *cardtest.Card { return m.card }

// Commands returns the command lines answered so far.
func (m *Modem) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.cmds...)
}

// Count returns how many command lines started with prefix (e.g. "AT+CRSM=").
func (m *Modem) Count(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.cmds {
		if strings.HasPrefix(strings.ToUpper(c), prefix) {
			n++
		}
	}
	return n
}

// Sessions returns the number of logical channel sessions open.
func (m *Modem) Sessions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Answer executes one command line ("AT+CRSM=176,...") and returns the
// response lines, the final result code last.
func (m *Modem) Answer(line string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	line = strings.TrimSpace(line)
	m.cmds = append(m.cmds, line)
	if len(line) < 2 || !strings.EqualFold(line[:2], "AT") {
		return []string{Error}
	}
	name, args, set := strings.Cut(line[2:], "=")
	name = strings.ToUpper(name)
	refuse := map[string]string{"+CSIM": m.RefuseCSIM, "+CCHO": m.RefuseCCHO, "+CGLA": m.RefuseCGLA,
		"+CCHC": m.RefuseCCHO, "+CRSM": m.RefuseCRSM}
	r, known := refuse[name]
	switch {
	case !known || !set:
		return []string{Error}
	case r != "":
		return []string{r}
	case args == "?":
		return []string{OK}
	}
	ps, err := params(args)
	if err != nil {
		return []string{Error}
	}
	ctx := context.Background()
	switch name {
	case "+CSIM":
		return m.csim(ctx, ps)
	case "+CCHO":
		return m.ccho(ctx, ps)
	case "+CGLA":
		return m.cgla(ctx, ps)
	case "+CCHC":
		return m.cchc(ctx, ps)
	}
	return m.crsm(ctx, ps)
}

// param is one AT command parameter.
type param struct {
	s      string
	quoted bool
}

func (p param) empty() bool { return p.s == "" && !p.quoted }

func (p param) int(lo, hi int) (int, bool) {
	if p.quoted || p.s == "" {
		return 0, false
	}
	for _, c := range p.s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(p.s)
	return n, err == nil && n >= lo && n <= hi
}

// hexString decodes a quoted hex string parameter.
func (p param) hex() ([]byte, bool) {
	if !p.quoted || len(p.s)%2 != 0 {
		return nil, false
	}
	b, err := hex.DecodeString(p.s)
	return b, err == nil
}

// params splits a TS 27.007 parameter list: comma separated, strings in
// double quotes, no white space outside strings except around commas.
func params(s string) ([]param, error) {
	var out []param
	for {
		s = strings.TrimLeft(s, " ")
		var p param
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated string")
			}
			p = param{s: s[1 : 1+end], quoted: true}
			s = strings.TrimLeft(s[2+end:], " ")
		} else {
			i := strings.IndexByte(s, ',')
			if i < 0 {
				i = len(s)
			}
			p = param{s: strings.TrimRight(s[:i], " ")}
			if strings.ContainsAny(p.s, ` "`) {
				return nil, fmt.Errorf("bad parameter %q", p.s)
			}
			s = s[i:]
		}
		out = append(out, p)
		if s == "" {
			return out, nil
		}
		if s[0] != ',' {
			return nil, fmt.Errorf("junk %q", s)
		}
		s = s[1:]
	}
}

// lenHex checks a <length>,"<hex>" pair (length in hex characters).
func lenHex(l, c param) ([]byte, bool) {
	n, ok := l.int(8, maxHexChars)
	if !ok || n != len(c.s) {
		return nil, false
	}
	return c.hex()
}

func hexLine(prefix string, b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	return fmt.Sprintf(`%s: %d,"%s"`, prefix, len(h), h)
}

func (m *Modem) csim(ctx context.Context, ps []param) []string {
	if len(ps) != 2 {
		return []string{BadParams}
	}
	cmd, ok := lenHex(ps[0], ps[1])
	if !ok || len(cmd) < 4 {
		return []string{BadParams}
	}
	if cmd[1] == apdu.InsManageChannel || (cmd[1] == apdu.InsSelect && cmd[2] == apdu.SelectByDFName) {
		if m.RefuseCSIMChannel != "" {
			return []string{m.RefuseCSIMChannel}
		}
		if m.CSIMChannelSW != 0 {
			return []string{hexLine("+CSIM", []byte{byte(m.CSIMChannelSW >> 8), byte(m.CSIMChannelSW)}), OK}
		}
	}
	resp, err := m.card.Transmit(ctx, cmd)
	if err != nil {
		return []string{Unknown}
	}
	return []string{hexLine("+CSIM", resp), OK}
}

func (m *Modem) ccho(ctx context.Context, ps []param) []string {
	if len(ps) != 1 {
		return []string{BadParams}
	}
	aid, ok := ps[0].hex()
	if !ok || len(aid) < 1 || len(aid) > 16 {
		return []string{BadParams}
	}
	res, err := apdu.Exchange(ctx, m.card, apdu.OpenChannel())
	if err != nil || res.SW != apdu.SWOK || len(res.Data) != 1 {
		return []string{Unknown}
	}
	ch := int(res.Data[0])
	cla, err := apdu.Class(ch)
	if err != nil {
		return []string{Unknown}
	}
	res, err = apdu.Exchange(ctx, m.card, apdu.Select(cla, apdu.SelectByDFName, apdu.SelectFCP, aid))
	if err != nil || res.Err() != nil {
		m.closeChannel(ctx, ch)
		return []string{Unknown}
	}
	sid := ch + m.SessionBase
	m.sessions[sid] = ch
	if m.CCHOPrefix {
		return []string{fmt.Sprintf("+CCHO: %d", sid), OK}
	}
	return []string{strconv.Itoa(sid), OK}
}

func (m *Modem) closeChannel(ctx context.Context, ch int) apdu.Response {
	c, err := apdu.CloseChannel(ch)
	if err != nil {
		return apdu.Response{SW: apdu.SWWrongP1P2}
	}
	res, _ := apdu.Exchange(ctx, m.card, c)
	return res
}

func (m *Modem) session(p param) (int, int, bool) {
	sid, ok := p.int(0, 1<<16)
	if !ok {
		return 0, 0, false
	}
	ch, ok := m.sessions[sid]
	return sid, ch, ok
}

func (m *Modem) cgla(ctx context.Context, ps []param) []string {
	if len(ps) != 3 {
		return []string{BadParams}
	}
	_, ch, ok := m.session(ps[0])
	if !ok {
		return []string{BadParams}
	}
	cmd, ok := lenHex(ps[1], ps[2])
	if !ok || len(cmd) < 4 {
		return []string{BadParams}
	}
	if !m.CGLAVerbatim && apdu.ChannelOf(cmd[0]) >= 0 {
		cla, _ := apdu.Class(ch)
		cmd[0] = cla | cmd[0]&0x10 // keep command chaining
	}
	resp, err := m.card.Transmit(ctx, cmd)
	if err != nil {
		return []string{Unknown}
	}
	return []string{hexLine("+CGLA", resp), OK}
}

func (m *Modem) cchc(ctx context.Context, ps []param) []string {
	if len(ps) != 1 {
		return []string{BadParams}
	}
	sid, ch, ok := m.session(ps[0])
	if !ok {
		return []string{BadParams}
	}
	delete(m.sessions, sid)
	if m.closeChannel(ctx, ch).SW != apdu.SWOK {
		return []string{Unknown}
	}
	return []string{OK}
}

// CRSM commands (TS 27.007 §8.18).
const (
	crsmReadBinary  = 176
	crsmReadRecord  = 178
	crsmGetResponse = 192
	crsmStatus      = 242
)

func (m *Modem) crsm(ctx context.Context, ps []param) []string {
	cmd, ok := ps[0].int(0, 255)
	if !ok || len(ps) > 7 {
		return []string{BadParams}
	}
	if cmd == crsmStatus {
		if len(ps) > 1 && !ps[1].empty() {
			return []string{BadParams}
		}
		res, err := m.pa.Status(ctx)
		if err != nil {
			return []string{Unknown}
		}
		return crsmAnswer(res)
	}
	if cmd != crsmReadBinary && cmd != crsmReadRecord && cmd != crsmGetResponse {
		return []string{NotSupport}
	}
	get := func(i, lo, hi int) (int, bool) {
		if i >= len(ps) {
			return 0, false
		}
		return ps[i].int(lo, hi)
	}
	fid, ok := get(1, 1, 0xFFFF)
	if !ok {
		return []string{BadParams}
	}
	var p [3]int
	for i := range p {
		v, ok := get(2+i, 0, 255)
		if !ok {
			if cmd == crsmGetResponse && (2+i >= len(ps) || ps[2+i].empty()) {
				continue // P1..P3 are optional for GET RESPONSE
			}
			return []string{BadParams}
		}
		p[i] = v
	}
	if len(ps) > 5 && !ps[5].empty() {
		return []string{BadParams} // <data>: only for updates
	}
	dir := []uint16{0x3F00}
	if len(ps) > 6 && !ps[6].empty() {
		path, ok := ps[6].hex()
		if !ok || len(path) == 0 || len(path)%2 != 0 || len(path) > 8 {
			return []string{BadParams}
		}
		withMF := path[0] == 0x3F && path[1] == 0x00
		if (withMF && m.CRSMPaths == PathsNoMF) || (!withMF && m.CRSMPaths == PathsWithMF) {
			return []string{BadParams}
		}
		if withMF {
			path = path[2:]
		}
		for i := 0; i < len(path); i += 2 {
			dir = append(dir, uint16(path[i])<<8|uint16(path[i+1]))
		}
	}
	var (
		res apdu.Response
		err error
	)
	switch cmd {
	case crsmReadBinary:
		n := p[2]
		if n == 0 {
			n = 256
		}
		res, err = m.pa.ReadBinary(ctx, dir, uint16(fid), p[0]<<8|p[1], n)
	case crsmReadRecord:
		if p[1] != 0x04 {
			res = apdu.Response{SW: 0x6B00} // only absolute mode here
			break
		}
		n := p[2]
		if n == 0 {
			n = 256
		}
		res, err = m.pa.ReadRecord(ctx, dir, uint16(fid), p[0], n)
	default:
		res, err = m.pa.FileInfo(ctx, dir, uint16(fid))
	}
	if err != nil {
		return []string{Unknown}
	}
	return crsmAnswer(res)
}

func crsmAnswer(res apdu.Response) []string {
	l := fmt.Sprintf("+CRSM: %d,%d", res.SW>>8, res.SW&0xFF)
	if len(res.Data) > 0 {
		l += fmt.Sprintf(`,"%s"`, strings.ToUpper(hex.EncodeToString(res.Data)))
	}
	return []string{l, OK}
}
