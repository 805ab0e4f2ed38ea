package dmtest

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// Scenario is a parsed scenario script (see the package documentation for
// the format). It is immutable once parsed and may be shared by servers.
type Scenario struct {
	// Name is the "name" directive, else the file name without .dms.
	Name string
	// Description is the text of the "description" lines.
	Description string

	auth       string // "" = not set
	serverCred string
	encoding   string // "", "xml", "wbxml"
	maxMsgSize int
	maxObjSize int
	sessionID  int    // -1: none
	initiated  string // "", "client", "server"
	timeout    time.Duration
	rounds     []*round
	lines      int
}

// Rounds returns the number of rounds (client packages the script waits
// for).
func (s *Scenario) Rounds() int { return len(s.rounds) }

// SessionID returns the Package #0 session id the scenario asks for
// ("sessionid" directive) and whether it set one.
func (s *Scenario) SessionID() (uint16, bool) {
	if s.sessionID < 0 {
		return 0, false
	}
	return uint16(s.sessionID), true
}

// round is one client package and the server's answer to it.
type round struct {
	line          int // line of "recv" (0: implicit)
	challenge     string
	challengeLine int
	expects       []*expect
	out           []*outItem
	respURI       string
	fault         *fault
	stall         time.Duration
	maxMsgSize    int // -1: unchanged
	abort         bool
	end           bool
}

type outKind int

const (
	outCmd outKind = iota
	outBreak
	outLarge
)

type outItem struct {
	line  int
	kind  outKind
	label string          // "@name" or ""
	cmd   *syncml.Command // outCmd: CmdIDs as written (labels)
	lo    *largeObject
}

type largeObject struct {
	kind   string // Add or Replace
	uri    string
	size   int
	chunk  int
	format string // chr or b64
	typ    string
}

type fault struct {
	line        int
	kind        string // http, garbage, truncate, close, content-type
	httpStatus  int
	contentType string
}

type codeMatch struct {
	lo, hi int
}

func (c codeMatch) match(code int) bool { return code >= c.lo && code <= c.hi }

type expect struct {
	line int
	text string
	kind string // alert devinfo status results no-results cred sessionid encoding abort messages

	code  int
	codes []codeMatch
	ref   string
	item  string // expect status: the Item (Target or Source ./URI) whose Status is meant
	uri   string

	// results value test
	op    string // "", "=", "~", "size", "sent", "format", "type"
	value string
	re    *regexp.Regexp
	size  int

	// alert qualifiers
	correlator string
	typ        string
	data       string
	hasData    bool
}

// LoadScenario reads and parses a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dmtest: %w", err)
	}
	defer f.Close()
	name := strings.TrimSuffix(filepath.Base(path), ".dms")
	return ParseScenario(name, f)
}

// maxScenarioSize bounds what ParseScenario reads.
const maxScenarioSize = 4 << 20

var authModes = map[string]bool{AuthNone: true, AuthBasic: true, AuthMD5: true, AuthHMAC: true}

// ParseScenario parses a scenario script. name is used when the script has
// no "name" directive and in error messages. Errors are *ScenarioError
// (wrapping ErrScenario) naming the line.
func ParseScenario(name string, r io.Reader) (*Scenario, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxScenarioSize+1))
	if err != nil {
		return nil, fmt.Errorf("dmtest: reading scenario %s: %w", name, err)
	}
	if len(data) > maxScenarioSize {
		return nil, &ScenarioError{Name: name, Line: 0, Msg: "scenario larger than 4 MiB"}
	}
	p := &parser{name: name, sc: &Scenario{Name: name, sessionID: -1}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxScenarioSize)
	for sc.Scan() {
		p.lines = append(p.lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, &ScenarioError{Name: name, Line: len(p.lines) + 1, Msg: err.Error()}
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.sc, nil
}

type parser struct {
	name  string
	sc    *Scenario
	lines []string
	i     int // index of the current line
	cur   *round
	ended bool
}

func (p *parser) errf(line int, format string, args ...any) error {
	return &ScenarioError{Name: p.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) round(line int) *round {
	if p.cur == nil {
		p.cur = &round{maxMsgSize: -1}
		p.sc.rounds = append(p.sc.rounds, p.cur)
	}
	return p.cur
}

func (p *parser) parse() error {
	for p.i = 0; p.i < len(p.lines); p.i++ {
		ln := p.i + 1
		text := strings.TrimSpace(p.lines[p.i])
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if p.ended {
			return p.errf(ln, "nothing may follow \"end\"")
		}
		verb, rest := cut(text)
		if err := p.step(ln, verb, rest, text); err != nil {
			return err
		}
	}
	p.sc.lines = len(p.lines)
	if len(p.sc.rounds) == 0 {
		return p.errf(len(p.lines), "scenario has no rounds (add \"recv\" and expectations)")
	}
	last := p.sc.rounds[len(p.sc.rounds)-1]
	if n := countCommands(last); n > 0 && last.fault == nil && !last.abort {
		return p.errf(len(p.lines), "the last round sends %d command(s) but no round receives their statuses: add \"recv\" (and \"end\")", n)
	}
	if p.sc.Name == "" {
		p.sc.Name = "unnamed"
	}
	return nil
}

func countCommands(r *round) int {
	n := 0
	for _, o := range r.out {
		if o.kind != outBreak {
			n++
		}
	}
	return n
}

func cut(s string) (string, string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i+1:])
}

func (p *parser) step(ln int, verb, rest, text string) error {
	sc := p.sc
	header := p.cur == nil
	switch verb {
	case "name":
		if rest == "" {
			return p.errf(ln, "name needs a value")
		}
		sc.Name = rest
	case "description":
		if sc.Description != "" {
			sc.Description += " "
		}
		sc.Description += rest
	case "auth", "server-cred":
		if !header {
			return p.errf(ln, "%q is a header directive: put it before the first \"recv\"", verb)
		}
		if !authModes[rest] {
			return p.errf(ln, "%s: want none, basic, md5 or hmac, got %q", verb, rest)
		}
		if verb == "auth" {
			sc.auth = rest
		} else {
			sc.serverCred = rest
		}
	case "encoding":
		if !header {
			return p.errf(ln, "\"encoding\" is a header directive")
		}
		switch rest {
		case "client":
			sc.encoding = ""
		case "xml", "wbxml":
			sc.encoding = rest
		default:
			return p.errf(ln, "encoding: want client, xml or wbxml, got %q", rest)
		}
	case "maxmsgsize", "maxobjsize":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 {
			return p.errf(ln, "%s: want a byte count, got %q", verb, rest)
		}
		if verb == "maxobjsize" {
			if !header {
				return p.errf(ln, "\"maxobjsize\" is a header directive")
			}
			sc.maxObjSize = n
		} else if header {
			sc.maxMsgSize = n
		} else {
			p.cur.maxMsgSize = n
		}
	case "sessionid":
		if !header {
			return p.errf(ln, "\"sessionid\" is a header directive")
		}
		n, err := strconv.ParseUint(rest, 0, 16)
		if err != nil {
			return p.errf(ln, "sessionid: want 0..65535 (decimal or 0x hex), got %q", rest)
		}
		sc.sessionID = int(n)
		if sc.initiated == "" {
			sc.initiated = "server"
		}
	case "initiated":
		if !header {
			return p.errf(ln, "\"initiated\" is a header directive")
		}
		if rest != "client" && rest != "server" {
			return p.errf(ln, "initiated: want client or server, got %q", rest)
		}
		sc.initiated = rest
	case "timeout":
		if !header {
			return p.errf(ln, "\"timeout\" is a header directive")
		}
		d, err := time.ParseDuration(rest)
		if err != nil || d <= 0 {
			return p.errf(ln, "timeout: want a duration such as 30s, got %q", rest)
		}
		sc.timeout = d
	case "recv":
		if rest != "" {
			return p.errf(ln, "recv takes no argument")
		}
		// After a round without commands the session is over; the next
		// recv then waits for a new session.
		p.cur = &round{line: ln, maxMsgSize: -1}
		sc.rounds = append(sc.rounds, p.cur)
	case "end":
		if rest != "" {
			return p.errf(ln, "end takes no argument")
		}
		r := p.round(ln)
		if n := countCommands(r); n > 0 {
			return p.errf(ln, "end: this round sends %d command(s); add \"recv\" for their statuses before \"end\"", n)
		}
		r.end = true
		p.ended = true
	case "expect":
		e, err := p.parseExpect(ln, rest, text)
		if err != nil {
			return err
		}
		r := p.round(ln)
		r.expects = append(r.expects, e)
	case "challenge":
		if !authModes[rest] || rest == AuthNone {
			return p.errf(ln, "challenge: want basic, md5 or hmac, got %q", rest)
		}
		r := p.round(ln)
		r.challenge, r.challengeLine = rest, ln
	case "send":
		return p.parseSend(ln, rest)
	case "large-object":
		lo, label, err := p.parseLarge(ln, rest)
		if err != nil {
			return err
		}
		r := p.round(ln)
		r.out = append(r.out, &outItem{line: ln, kind: outLarge, lo: lo, label: label})
	case "no-final", "break":
		r := p.round(ln)
		r.out = append(r.out, &outItem{line: ln, kind: outBreak})
	case "respuri":
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return p.errf(ln, "respuri: want a path such as /dm/next or an absolute URL")
		}
		p.round(ln).respURI = rest
	case "respond", "garbage", "truncate", "close", "content-type":
		r := p.round(ln)
		if r.fault != nil {
			return p.errf(ln, "a round has at most one fault (already one on line %d)", r.fault.line)
		}
		f := &fault{line: ln, kind: verb}
		switch verb {
		case "respond":
			w, code := cut(rest)
			n, err := strconv.Atoi(code)
			if w != "http" || err != nil || n < 100 || n > 599 {
				return p.errf(ln, "respond: want \"respond http CODE\", got %q", rest)
			}
			f.kind, f.httpStatus = "http", n
		case "content-type":
			if rest == "" {
				return p.errf(ln, "content-type needs a value")
			}
			f.contentType = rest
		default:
			if rest != "" {
				return p.errf(ln, "%s takes no argument", verb)
			}
		}
		r.fault = f
	case "stall":
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return p.errf(ln, "stall: want a duration such as 2s, got %q", rest)
		}
		p.round(ln).stall = d
	case "abort":
		if rest != "" {
			return p.errf(ln, "abort takes no argument")
		}
		p.round(ln).abort = true
	default:
		return p.errf(ln, "unknown directive %q", verb)
	}
	return nil
}

var labelRE = regexp.MustCompile(`^@[A-Za-z0-9_.-]+$`)

func (p *parser) parseSend(ln int, rest string) error {
	label := ""
	if strings.HasPrefix(rest, "@") {
		label, rest = cut(rest)
		if !labelRE.MatchString(label) {
			return p.errf(ln, "send: bad label %q (want @name)", label)
		}
	}
	if !strings.HasPrefix(rest, "<") {
		return p.errf(ln, "send: want a SyncML command element such as <Get>...</Get>")
	}
	snippet := rest
	for {
		done, err := xmlComplete(snippet)
		if err != nil {
			return p.errf(ln, "send: %v", err)
		}
		if done {
			break
		}
		if p.i+1 >= len(p.lines) {
			return p.errf(ln, "send: element not closed before the end of the file")
		}
		p.i++
		snippet += "\n" + p.lines[p.i]
	}
	cmd, err := parseCommand(snippet)
	if err != nil {
		return p.errf(ln, "send: %v", err)
	}
	r := p.round(ln)
	r.out = append(r.out, &outItem{line: ln, kind: outCmd, cmd: cmd, label: label})
	return nil
}

// xmlComplete reports whether s holds one complete element (plus white
// space).
func xmlComplete(s string) (bool, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	depth, started := 0, false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
				return false, nil
			}
			return false, err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			started = true
		case xml.EndElement:
			depth--
			if depth == 0 && started {
				if strings.TrimSpace(s[d.InputOffset():]) != "" {
					return false, fmt.Errorf("one element per send (text after the closing tag)")
				}
				return true, nil
			}
		}
	}
}

// parseCommand decodes one command snippet by wrapping it in a message.
func parseCommand(snippet string) (*syncml.Command, error) {
	doc := `<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>` +
		`<SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>x</LocURI></Target><Source><LocURI>y</LocURI></Source></SyncHdr><SyncBody>` +
		snippet + `</SyncBody></SyncML>`
	m, err := syncml.DecodeXML([]byte(doc))
	if err != nil {
		return nil, err
	}
	if len(m.Body) != 1 || len(m.Extra) != 0 || m.Final {
		return nil, fmt.Errorf("want exactly one command element")
	}
	c := m.Body[0]
	switch c.Kind {
	case syncml.KindStatus, syncml.KindResults:
		return nil, fmt.Errorf("a server does not send %s", c.Kind)
	}
	if c.Problem != nil && c.Raw != nil {
		return nil, fmt.Errorf("%s: %v (a scenario sends DM commands only)", c.Kind, c.Problem)
	}
	return c, nil
}

func (p *parser) parseLarge(ln int, rest string) (*largeObject, string, error) {
	f := strings.Fields(rest)
	lo := &largeObject{kind: syncml.KindReplace, format: "chr", typ: "text/plain"}
	label := ""
	if len(f) > 0 && strings.HasPrefix(f[0], "@") {
		label, f = f[0], f[1:]
		if !labelRE.MatchString(label) {
			return nil, "", p.errf(ln, "large-object: bad label %q", label)
		}
	}
	if len(f) > 0 && (f[0] == "add" || f[0] == "replace") {
		lo.kind = map[string]string{"add": syncml.KindAdd, "replace": syncml.KindReplace}[f[0]]
		f = f[1:]
	}
	if len(f) < 2 {
		return nil, "", p.errf(ln, "large-object: want [@label] [add|replace] URI SIZE [chunk N] [format chr|b64] [type T]")
	}
	lo.uri = f[0]
	if !strings.HasPrefix(lo.uri, ".") {
		return nil, "", p.errf(ln, "large-object: URI %q is not a device URI (./...)", lo.uri)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n <= 0 || n > 64<<20 {
		return nil, "", p.errf(ln, "large-object: size %q: want 1..67108864", f[1])
	}
	lo.size = n
	lo.chunk = 4000
	for f = f[2:]; len(f) > 0; f = f[2:] {
		if len(f) < 2 {
			return nil, "", p.errf(ln, "large-object: %q needs a value", f[0])
		}
		switch f[0] {
		case "chunk":
			c, err := strconv.Atoi(f[1])
			if err != nil || c < 16 {
				return nil, "", p.errf(ln, "large-object: chunk %q: want at least 16", f[1])
			}
			lo.chunk = c
		case "format":
			if f[1] != "chr" && f[1] != "b64" {
				return nil, "", p.errf(ln, "large-object: format chr or b64, got %q", f[1])
			}
			lo.format = f[1]
		case "type":
			lo.typ = f[1]
		default:
			return nil, "", p.errf(ln, "large-object: unknown option %q", f[0])
		}
	}
	if lo.format == "b64" && lo.size%4 != 0 {
		return nil, "", p.errf(ln, "large-object: a b64 object's size must be a multiple of 4")
	}
	return lo, label, nil
}

func parseCodes(s string) ([]codeMatch, error) {
	var out []codeMatch
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "any":
			out = append(out, codeMatch{100, 599})
		case len(part) == 3 && strings.HasSuffix(part, "xx") && part[0] >= '1' && part[0] <= '5':
			d := int(part[0]-'0') * 100
			out = append(out, codeMatch{d, d + 99})
		default:
			n, err := strconv.Atoi(part)
			if err != nil || n < 100 || n > 599 {
				return nil, fmt.Errorf("bad status code %q (want e.g. 200, 2xx, 200,304 or any)", part)
			}
			out = append(out, codeMatch{n, n})
		}
	}
	return out, nil
}

func (p *parser) parseExpect(ln int, rest, text string) (*expect, error) {
	kind, args := cut(rest)
	e := &expect{line: ln, text: text, kind: kind}
	f := strings.Fields(args)
	switch kind {
	case "alert":
		if len(f) < 1 {
			return nil, p.errf(ln, "expect alert CODE [correlator C] [type T] [data D]")
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1000 || n > 1999 {
			return nil, p.errf(ln, "expect alert: bad alert code %q", f[0])
		}
		e.code = n
		for f = f[1:]; len(f) > 0; f = f[2:] {
			if len(f) < 2 {
				return nil, p.errf(ln, "expect alert: %q needs a value", f[0])
			}
			switch f[0] {
			case "correlator":
				e.correlator = f[1]
			case "type":
				e.typ = f[1]
			case "data":
				e.data, e.hasData = f[1], true
			default:
				return nil, p.errf(ln, "expect alert: unknown qualifier %q", f[0])
			}
		}
	case "devinfo", "abort":
		if len(f) != 0 {
			return nil, p.errf(ln, "expect %s takes no argument", kind)
		}
	case "status":
		if len(f) != 2 && len(f) != 3 {
			return nil, p.errf(ln, "expect status REF CODES [ITEM] (REF: @label, a CmdID from a snippet, a ./URI or hdr; ITEM: the ./URI of one Item of that command)")
		}
		e.ref = f[0]
		if len(f) == 3 {
			if f[0] == "hdr" {
				return nil, p.errf(ln, "expect status hdr: the SyncHdr has no Items")
			}
			if !strings.HasPrefix(f[2], ".") {
				return nil, p.errf(ln, "expect status: ITEM %q is not a ./URI (the Target or Source of one Item of the command)", f[2])
			}
			e.item = f[2]
		}
		codes, err := parseCodes(f[1])
		if err != nil {
			return nil, p.errf(ln, "expect status: %v", err)
		}
		e.codes = codes
	case "results", "no-results":
		if len(f) < 1 || !strings.HasPrefix(f[0], ".") {
			return nil, p.errf(ln, "expect %s ./URI ...", kind)
		}
		e.uri = f[0]
		if kind == "no-results" {
			if len(f) != 1 {
				return nil, p.errf(ln, "expect no-results takes only a URI")
			}
			break
		}
		// The value part is taken from the raw text so that it may
		// contain spaces.
		_, after := cut(args)
		after = strings.TrimSpace(after)
		if after == "" {
			break
		}
		op, val := cut(after)
		switch {
		case strings.HasPrefix(after, "="):
			e.op, e.value = "=", strings.TrimSpace(after[1:])
		case strings.HasPrefix(after, "~"):
			e.op = "~"
			re, err := regexp.Compile(strings.TrimSpace(after[1:]))
			if err != nil {
				return nil, p.errf(ln, "expect results: bad regexp: %v", err)
			}
			e.re = re
		case op == "size":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return nil, p.errf(ln, "expect results: size %q", val)
			}
			e.op, e.size = "size", n
		case op == "sent" && val == "":
			e.op = "sent"
		case op == "format" || op == "type":
			if val == "" {
				return nil, p.errf(ln, "expect results: %s needs a value", op)
			}
			e.op, e.value = op, val
		default:
			return nil, p.errf(ln, "expect results URI [= VALUE | ~ REGEXP | size N | sent | format F | type T]")
		}
	case "cred":
		if len(f) != 1 || !authModes[f[0]] {
			return nil, p.errf(ln, "expect cred none|basic|md5|hmac")
		}
		e.value = f[0]
	case "sessionid":
		if len(f) != 1 {
			return nil, p.errf(ln, "expect sessionid VALUE (as it appears in SyncHdr, e.g. 0 or 1A2B)")
		}
		e.value = f[0]
	case "encoding":
		if len(f) != 1 || (f[0] != "xml" && f[0] != "wbxml") {
			return nil, p.errf(ln, "expect encoding xml|wbxml")
		}
		e.value = f[0]
	case "messages":
		if len(f) != 1 {
			return nil, p.errf(ln, "expect messages N (at least N client messages in the package)")
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return nil, p.errf(ln, "expect messages: bad count %q", f[0])
		}
		e.size = n
	default:
		return nil, p.errf(ln, "unknown expectation %q (alert, devinfo, status, results, no-results, cred, sessionid, encoding, abort, messages)", kind)
	}
	return e, nil
}
