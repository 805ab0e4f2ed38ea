package dmtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// RecordRedacted is the text agent/session writes in a session record in
// place of a secret value (Cred Data, Chal NextNonce, the HMAC mac, Item
// Data of AAuthSecret and AAuthData nodes).
const RecordRedacted = "REDACTED"

// ErrRecord wraps every error about a session record that cannot be turned
// into a scenario (see *RecordError).
var ErrRecord = errors.New("record error")

// RecordError reports why a session record cannot be converted, naming the
// file and, where there is one, the command.
type RecordError struct {
	Dir  string // the record directory
	File string // the file concerned, e.g. "0004-server.xml" ("" for the directory)
	Cmd  string // the command concerned, e.g. "Replace 4.3 ./DMAcc/x/AppAuth/1/AAuthSecret"
	Msg  string
	Err  error // the underlying error, if any
}

func (e *RecordError) Error() string {
	var b strings.Builder
	b.WriteString("record ")
	b.WriteString(e.Dir)
	if e.File != "" {
		b.WriteString(": " + e.File)
	}
	if e.Cmd != "" {
		b.WriteString(": " + e.Cmd)
	}
	b.WriteString(": " + e.Msg)
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrRecord and the underlying error.
func (e *RecordError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrRecord}
	}
	return []error{ErrRecord, e.Err}
}

// RecordOptions tune the conversion of a session record into a scenario.
type RecordOptions struct {
	// Auth is the "auth" directive of the scenario: none, basic, md5 or
	// hmac. Empty: what the record shows (the Meta Type of the client's
	// Cred, x-syncml-hmac in index.log, else the type of the server's
	// challenge, else none).
	Auth string
	// ServerCred is the "server-cred" directive: none, basic, md5 or hmac.
	// Empty: what the record shows (the server's Cred or x-syncml-hmac).
	ServerCred string
	// Values makes the field device's own data active expectations: the
	// values of Results and the alerts it sent on its own (generic alerts
	// that answer no replayed Exec). By default they are written as
	// comments, since a lab device's values differ.
	Values bool
	// SecretPlaceholder is sent instead of a value that the record holds
	// redacted (a Replace of AAuthSecret, ...). Empty: such a record is
	// refused with a *RecordError naming the file and the command.
	SecretPlaceholder string
}

// Conversion is a session record turned into a scenario.
type Conversion struct {
	// DMS is the scenario text (.dms), with comments that say where each
	// line comes from; it parses to Scenario.
	DMS []byte
	// Scenario is DMS parsed.
	Scenario *Scenario
	// Warnings are the things a technician should know: placeholders
	// sent for redacted values, commands or messages not replayed.
	Warnings []string
}

// Limits on what a record may hold.
const (
	maxRecordFile  = maxRequestBody // one recorded message
	maxRecordIndex = 4 << 20        // index.log
	maxRecordFiles = 100000         // messages in one record
)

var recordNameRE = regexp.MustCompile(`^([0-9]{4,9})-(client|server)\.([A-Za-z0-9]+)$`)

// ScenarioFromRecord converts the session record in dir (as written by
// agent/session when record_dir is set) into a Scenario. See ConvertRecord.
func ScenarioFromRecord(dir string, opts RecordOptions) (*Scenario, error) {
	c, err := ConvertRecord(dir, opts)
	if err != nil {
		return nil, err
	}
	return c.Scenario, nil
}

// ConvertRecord converts the session record in dir into scenario text and
// its parsed Scenario. The record is the directory agent/session writes for
// one session: NNNN-client.<enc> and NNNN-server.<enc> (enc xml or wbxml)
// numbered from 0001 without gaps, client and server alternating, and
// index.log.
//
// Every command of each server package (Get, Add, Replace, Delete, Copy,
// Exec, Atomic, Sequence, UI Alerts; MoreData chunks included) becomes a
// "send" line of the matching round, its CmdID rewritten as MsgID.CmdID of
// the record so that it is the label of the "expect status" line that
// holds the status the field client returned for it. Server messages
// without Final end with "no-final", so the server's package is split where
// the field server split it. A 401/407 challenge becomes "challenge", an
// Alert 1223 "abort", the server's MaxMsgSize "maxmsgsize" and RespURI
// "respuri". The server's Status commands are not replayed: the test server
// answers the client's commands itself.
//
// Errors are *RecordError (wrapping ErrRecord) naming the file: a missing,
// misnamed or undecodable message (.bin), a gap in the numbering, two
// messages of the same side in a row, a redacted value in a server command
// without RecordOptions.SecretPlaceholder, or a command that XML cannot
// carry.
func ConvertRecord(dir string, opts RecordOptions) (*Conversion, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &RecordError{Dir: dir, Msg: "cannot open the record", Err: err}
	}
	if !st.IsDir() {
		return nil, &RecordError{Dir: dir, Msg: "not a directory (a record is the directory of one session)"}
	}
	name := filepath.Base(filepath.Clean(dir))
	return convertRecordFS(os.DirFS(dir), dir, name, opts)
}

// ConvertRecordFS is ConvertRecord on the record at the root of fsys; dir
// names it in errors and name in the scenario.
func ConvertRecordFS(fsys fs.FS, dir, name string, opts RecordOptions) (*Conversion, error) {
	return convertRecordFS(fsys, dir, name, opts)
}

func convertRecordFS(fsys fs.FS, dir, name string, opts RecordOptions) (*Conversion, error) {
	for what, v := range map[string]string{"auth": opts.Auth, "server-cred": opts.ServerCred} {
		if v != "" && !authModes[v] {
			return nil, fmt.Errorf("dmtest: record option %s %q: want none, basic, md5 or hmac", what, v)
		}
	}
	if strings.ContainsAny(opts.SecretPlaceholder, "\r\n") {
		return nil, errors.New("dmtest: the secret placeholder must be one line")
	}
	var warn []string
	if sub, ok := soleSubRecord(fsys); ok {
		// The directory given to the agent's --record: it holds one
		// session record, take it.
		sfs, err := fs.Sub(fsys, sub)
		if err != nil {
			return nil, &RecordError{Dir: dir, File: sub, Msg: "cannot open the session record", Err: err}
		}
		fsys, dir, name = sfs, filepath.Join(dir, sub), sub
		warn = append(warn, "using the only session record in the directory, "+cleanLine(sub))
	}
	rec, err := readRecord(fsys, dir)
	if err != nil {
		return nil, err
	}
	c := &converter{dir: dir, name: name, opts: opts, rec: rec, labels: map[string]bool{}, byRef: map[string]*recSent{}, warn: warn}
	return c.convert()
}

// ---- reading ----

type recMsg struct {
	n     int
	name  string
	side  string // "client" or "server"
	msg   *syncml.Message
	enc   syncml.Encoding
	hmac  bool   // index.log shows an x-syncml-hmac header
	note  string // index.log note after the size, HMAC header removed
	index bool   // listed in index.log
}

type record struct {
	msgs     []*recMsg
	hasIndex bool
	notes    []string // free "#" lines of index.log
}

func readRecord(fsys fs.FS, dir string) (*record, error) {
	rerr := func(file, msg string, err error) error {
		return &RecordError{Dir: dir, File: file, Msg: msg, Err: err}
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, rerr("", "cannot read the directory", err)
	}
	rec := &record{}
	byNum := map[int]*recMsg{}
	var subRecords []string
	var indexData []byte
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			if isRecordDir(fsys, n) {
				subRecords = append(subRecords, n)
			}
			continue
		}
		if n == "index.log" {
			b, err := readLimited(fsys, n, maxRecordIndex)
			if err != nil {
				return nil, rerr(n, "cannot read", err)
			}
			indexData, rec.hasIndex = b, true
			continue
		}
		if len(n) < 5 || !isDigits(n[:4]) {
			continue // not part of the record (a note, a .dms ...)
		}
		m := recordNameRE.FindStringSubmatch(n)
		if m == nil {
			return nil, rerr(n, "unexpected file name in a record (want NNNN-client.xml, NNNN-server.wbxml ...)", nil)
		}
		num, _ := strconv.Atoi(m[1])
		if prev := byNum[num]; prev != nil {
			return nil, rerr(n, fmt.Sprintf("two messages numbered %04d (%s and %s)", num, prev.name, n), nil)
		}
		switch strings.ToLower(m[3]) {
		case "xml", "wbxml":
		case "bin":
			return nil, rerr(n, "the message did not decode as SyncML when it was recorded (kept raw as .bin); a record with an undecodable message cannot be replayed", nil)
		default:
			return nil, rerr(n, fmt.Sprintf("unknown message encoding %q (want xml or wbxml)", m[3]), nil)
		}
		if len(byNum) >= maxRecordFiles {
			return nil, rerr(n, fmt.Sprintf("more than %d messages", maxRecordFiles), nil)
		}
		byNum[num] = &recMsg{n: num, name: n, side: m[2]}
	}
	if len(byNum) == 0 {
		if len(subRecords) > 0 {
			sort.Strings(subRecords)
			list := subRecords
			more := ""
			if len(list) > 5 {
				list, more = list[:5], fmt.Sprintf(" and %d more", len(subRecords)-5)
			}
			return nil, rerr("", fmt.Sprintf("holds %d session records, not one; convert one of them: %s%s", len(subRecords), strings.Join(list, ", "), more), nil)
		}
		return nil, rerr("", "no recorded messages (NNNN-client.xml, NNNN-server.xml ...): not a session record", nil)
	}
	nums := make([]int, 0, len(byNum))
	for k := range byNum {
		nums = append(nums, k)
	}
	sort.Ints(nums)
	for i, k := range nums {
		m := byNum[k]
		if k != i+1 {
			if i == 0 {
				return nil, rerr(m.name, fmt.Sprintf("the record starts at %04d: message 0001 is missing", k), nil)
			}
			return nil, rerr(m.name, fmt.Sprintf("gap in the numbering: %s follows %s (messages %04d to %04d are missing)", m.name, rec.msgs[i-1].name, i+1, k-1), nil)
		}
		want := "client"
		if i > 0 && rec.msgs[i-1].side == "client" {
			want = "server"
		}
		if m.side != want {
			if i == 0 {
				return nil, rerr(m.name, "a record starts with the client's package 1 (0001-client.*)", nil)
			}
			return nil, rerr(m.name, fmt.Sprintf("follows %s: client and server messages must alternate", rec.msgs[i-1].name), nil)
		}
		rec.msgs = append(rec.msgs, m)
	}
	if rec.hasIndex {
		if err := parseRecordIndex(rec, indexData, dir); err != nil {
			return nil, err
		}
	}
	for _, m := range rec.msgs {
		b, err := readLimited(fsys, m.name, maxRecordFile)
		if err != nil {
			return nil, rerr(m.name, "cannot read", err)
		}
		msg, enc, err := syncml.Decode(b)
		if err != nil {
			return nil, rerr(m.name, "does not decode", err)
		}
		if ext := strings.ToLower(m.name[strings.LastIndexByte(m.name, '.')+1:]); ext != enc.String() {
			return nil, rerr(m.name, fmt.Sprintf("holds %s, not %s", enc, ext), nil)
		}
		m.msg, m.enc = msg, enc
	}
	return rec, nil
}

// soleSubRecord reports the one session record below the root of fsys
// when the root itself holds no message.
func soleSubRecord(fsys fs.FS) (string, bool) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", false
	}
	sub, n := "", 0
	for _, e := range entries {
		if recordNameRE.MatchString(e.Name()) && !e.IsDir() {
			return "", false
		}
		if e.IsDir() && isRecordDir(fsys, e.Name()) {
			sub = e.Name()
			n++
		}
	}
	return sub, n == 1
}

// recordDirRE matches the name agent/session gives a record:
// TIME-SERVERID-SESSIONID (the ServerID with unsafe characters as "_").
var recordDirRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-(.+)-([A-Za-z0-9._-]*)$`)

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isRecordDir reports whether sub (a directory of fsys) looks like one
// session record.
func isRecordDir(fsys fs.FS, sub string) bool {
	es, err := fs.ReadDir(fsys, sub)
	if err != nil {
		return false
	}
	for _, e := range es {
		if e.Name() == "index.log" || recordNameRE.MatchString(e.Name()) {
			return true
		}
	}
	return false
}

func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// parseRecordIndex reads index.log: one line per message,
// "TIME NAME N bytes [x-syncml-hmac: ...] [note]", and "TIME # note" lines.
// A message it lists must exist.
func parseRecordIndex(rec *record, data []byte, dir string) error {
	byName := map[string]*recMsg{}
	for _, m := range rec.msgs {
		byName[m.name] = m
	}
	for ln, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if f[1] == "#" {
			rec.notes = append(rec.notes, cleanLine(strings.TrimSpace(strings.SplitN(line, "#", 2)[1])))
			continue
		}
		if !recordNameRE.MatchString(f[1]) {
			continue
		}
		m := byName[f[1]]
		if m == nil {
			return &RecordError{Dir: dir, File: f[1], Msg: fmt.Sprintf("listed in index.log (line %d) but missing from the record", ln+1)}
		}
		m.index = true
		var note []string
		if len(f) > 4 && f[3] == "bytes" {
			inHMAC := false
			for _, w := range f[4:] {
				switch {
				case w == "x-syncml-hmac:":
					m.hmac, inHMAC = true, true
				case inHMAC:
					// The header's parameters end with the one that holds
					// the (redacted) mac, or with the line.
					if strings.HasPrefix(strings.ToLower(w), "mac=") && !strings.HasSuffix(w, ",") {
						inHMAC = false
					}
				default:
					note = append(note, w)
				}
			}
		}
		rest := strings.Join(note, " ")
		m.note = cleanLine(strings.TrimSpace(rest))
	}
	return nil
}

// ---- conversion ----

// recSent is one server command of the record (children of Atomic and
// Sequence included) with what the field client answered.
type recSent struct {
	label     string
	desc      string
	target    string
	file      string
	status    int
	hasStatus bool
	ans       itemAnswers // every Status and the Items it names
	dup       string      // why a Status of it was a duplicate, if one was
	results   []*recResult
	chunk     *recResult // chunked Results being reassembled
}

type recResult struct {
	uri      string
	data     strings.Builder
	tree     bool
	redacted bool
}

type recSend struct {
	brk     bool
	cmd     *syncml.Command
	comment []string
}

type recRound struct {
	clientFiles []string
	challenge   string
	chalFile    string
	alerts      []*syncml.Command
	devinfo     bool
	abort       bool // the client sent Alert 1223
	sends       []*recSend
	sent        []*recSent // commands of this round's server package
	maxMsg      int        // -1: unchanged
	respURI     string
	srvAbort    bool
	srvFiles    []string
	notes       []string
}

type converter struct {
	dir, name string
	opts      RecordOptions
	rec       *record

	labels map[string]bool
	byRef  map[string]*recSent
	seq    int
	warn   []string
	execs  map[string]bool // correlators of the server's Exec commands

	rounds  []*recRound
	pend    *recRound
	cmds    []*syncml.Command // every send, in order, for the final check
	cliAuth string
	cliFile string
	chalAut string
	srvAuth string
	srvFile string
	maxMsg  int
	maxObj  int
	srvSeen bool
	respURI string
	enc     map[syncml.Encoding]bool
}

func (c *converter) warnf(format string, a ...any) {
	c.warn = append(c.warn, fmt.Sprintf(format, a...))
}

func (c *converter) errf(file, cmd, format string, a ...any) error {
	return &RecordError{Dir: c.dir, File: file, Cmd: cmd, Msg: fmt.Sprintf(format, a...)}
}

func (c *converter) newRound() *recRound {
	r := c.pend
	if r == nil {
		r = &recRound{maxMsg: -1}
	}
	c.pend = nil
	c.rounds = append(c.rounds, r)
	return r
}

func (c *converter) pending() *recRound {
	if c.pend == nil {
		c.pend = &recRound{maxMsg: -1}
	}
	return c.pend
}

func refKey(msgRef, cmdRef string) string { return msgRef + "\x00" + cmdRef }

func (c *converter) convert() (*Conversion, error) {
	c.execs = map[string]bool{}
	c.enc = map[syncml.Encoding]bool{}
	var cur *recRound
	cliOpen, srvOpen, resend, ended := false, false, false, false
	for i, m := range c.rec.msgs {
		c.enc[m.enc] = true
		if ended {
			c.warnf("%s and the %d message(s) after it come after the end of the session and are not replayed", m.name, len(c.rec.msgs)-i-1)
			break
		}
		if m.side == "client" {
			c.clientAuth(m)
			if srvOpen {
				// An answer to a server message without Final: Status,
				// Results and Alert 1222 for the server's package.
				if m.msg.Final {
					c.warnf("%s closes the client's package with Final while the server's package is unfinished", m.name)
				}
				p := c.pending()
				p.clientFiles = append(p.clientFiles, m.name)
				if c.collect(m, p) {
					ended = true
				}
				continue
			}
			if !cliOpen && !resend {
				cur = c.newRound()
			}
			resend = false
			cur.clientFiles = append(cur.clientFiles, m.name)
			if c.collect(m, cur) {
				ended = true
			}
			cliOpen = !m.msg.Final
			continue
		}
		// Server message.
		c.serverAuth(m)
		c.serverHeader(m, cur)
		code, chal := hdrStatusOf(m.msg)
		if code == int(syncml.StatusInvalidCredentials) || code == int(syncml.StatusMissingCredentials) {
			if n := countServerCommands(m.msg); n > 0 {
				return nil, c.errf(m.name, "", "the server answers with %d and a challenge but also sends %d command(s); a scenario cannot replay that", code, n)
			}
			typ := chalType(chal)
			if typ == "" {
				typ = c.opts.Auth
			}
			if typ == "" || typ == AuthNone {
				typ = c.cliAuth
			}
			if typ == "" || typ == AuthNone {
				c.warnf("%s: the server answered %d without a usable Chal; not replayed as a challenge", m.name, code)
			} else {
				cur.challenge, cur.chalFile = typ, m.name
				if c.chalAut == "" {
					c.chalAut = typ
				}
			}
			// The client resends its package: what it sent so far does
			// not count.
			if n := len(cur.clientFiles); n > 0 {
				cur.clientFiles[n-1] += " challenged by " + m.name
			}
			cur.alerts, cur.devinfo = nil, false
			cliOpen, resend = false, true
			continue
		}
		if cliOpen {
			// Status + Alert 1222 asking for the rest of the client's
			// package.
			if countServerCommands(m.msg) > 0 {
				c.warnf("%s: the server sent commands before the client's package ended; the replay sends them after it", m.name)
			} else {
				continue
			}
		}
		wasOpen := cliOpen
		if err := c.serverMessage(m, cur); err != nil {
			return nil, err
		}
		if cur.srvAbort {
			ended = true
			continue
		}
		if m.msg.Final {
			srvOpen = false
			if len(cur.sent) == 0 && !wasOpen {
				ended = true // a package without commands ends the session
			}
		} else {
			srvOpen = true
			cur.sends = append(cur.sends, &recSend{brk: true, comment: []string{
				fmt.Sprintf("%s has no Final: the client must ask for the rest with Alert 1222", m.name)}})
		}
	}
	if c.pend != nil {
		c.newRound()
	}
	if last := c.rounds[len(c.rounds)-1]; len(last.sent) > 0 && !last.srvAbort {
		r := c.newRound()
		r.notes = append(r.notes, "the record ends here: the field client's answer to the last server package is missing")
		c.warnf("the record ends before the client answered the server's last package; the replay expects an answer")
	} else if !ended && len(last.srvFiles) == 0 {
		last.notes = append(last.notes, "the record ends here without the server's answer to this package; the replay answers with statuses and ends the session")
	}
	return c.emit()
}

// hdrStatusOf returns the code and Chal of the first SyncHdr Status of m.
func hdrStatusOf(m *syncml.Message) (int, *syncml.Chal) {
	for _, cmd := range m.Body {
		if cmd.Kind == syncml.KindStatus && cmd.CmdRef == "0" {
			code, _ := cmd.StatusCode()
			return int(code), cmd.Chal
		}
	}
	return 0, nil
}

func schemeMode(metaType string) string {
	s, err := auth.ParseMetaType(metaType)
	if err != nil {
		return ""
	}
	switch s {
	case auth.SchemeBasic:
		return AuthBasic
	case auth.SchemeMD5:
		return AuthMD5
	case auth.SchemeHMAC:
		return AuthHMAC
	}
	return ""
}

func chalType(ch *syncml.Chal) string {
	if ch == nil || ch.Meta == nil {
		return ""
	}
	if ch.Meta.Type == "" {
		return AuthBasic
	}
	return schemeMode(ch.Meta.Type)
}

func credMode(cr *syncml.Cred) (string, bool) {
	if cr == nil {
		return "", false
	}
	if cr.Meta == nil || cr.Meta.Type == "" {
		return AuthBasic, true
	}
	return schemeMode(cr.Meta.Type), true
}

func (c *converter) clientAuth(m *recMsg) { c.noteAuth(m, "client", &c.cliAuth, &c.cliFile) }

func (c *converter) serverAuth(m *recMsg) { c.noteAuth(m, "server", &c.srvAuth, &c.srvFile) }

// noteAuth records in *mode (and the file it was seen in) how side
// authenticated in message m: HMAC wins, else the first Cred's type.
func (c *converter) noteAuth(m *recMsg, side string, mode, file *string) {
	if m.hmac && *mode != AuthHMAC {
		*mode, *file = AuthHMAC, m.name
		return
	}
	if got, ok := credMode(m.msg.Hdr.Cred); ok && *mode == "" {
		if got == "" {
			c.warnf("%s: %s Cred of type %q, which the test server does not support", m.name, side, cleanLine(m.msg.Hdr.Cred.Meta.Type))
			return
		}
		*mode, *file = got, m.name
	}
}

func countServerCommands(m *syncml.Message) int {
	n := 0
	for _, cmd := range m.Body {
		if cmd.Kind == syncml.KindStatus {
			continue
		}
		if cmd.Kind == syncml.KindAlert {
			if a, ok := cmd.AlertCode(); ok && a == syncml.AlertNextMessage {
				continue
			}
		}
		n++
	}
	return n
}

// collect takes the statuses, results and alerts of a client message. r
// is the round whose expectations get the alerts. It reports whether the
// client aborted the session.
func (c *converter) collect(m *recMsg, r *recRound) bool {
	abort := false
	for _, cmd := range m.msg.Body {
		switch cmd.Kind {
		case syncml.KindStatus:
			if cmd.CmdRef == "0" {
				continue
			}
			if s := c.byRef[refKey(cmd.MsgRef, cmd.CmdRef)]; s != nil {
				code, ok := cmd.StatusCode()
				if ok {
					s.status, s.hasStatus = int(code), true
					if why := s.ans.add(cmd, int(code)); why != "" && s.dup == "" {
						s.dup = why
					}
				}
			}
		case syncml.KindResults:
			s := c.byRef[refKey(cmd.MsgRef, cmd.CmdRef)]
			if s == nil {
				continue
			}
			for _, it := range cmd.Items {
				uri := ""
				if it.Source != nil {
					uri = it.Source.LocURI
				}
				res := s.chunk
				if res == nil || res.uri != uri {
					res = &recResult{uri: uri}
					s.results = append(s.results, res)
				}
				if it.Data != nil {
					if it.Data.IsTree() {
						res.tree = true
						res.data.Write(it.Data.Tree)
					} else {
						if it.Data.Text == RecordRedacted {
							res.redacted = true
						}
						res.data.WriteString(it.Data.Text)
					}
				}
				if it.MoreData {
					s.chunk = res
				} else {
					s.chunk = nil
				}
			}
		case syncml.KindAlert:
			code, _ := cmd.AlertCode()
			switch code {
			case syncml.AlertNextMessage:
			case syncml.AlertSessionAbort:
				r.abort = true
				abort = true
			default:
				r.alerts = append(r.alerts, cmd)
			}
		case syncml.KindReplace:
			for _, it := range cmd.Items {
				if it.Source != nil && strings.HasPrefix(it.Source.LocURI, "./DevInfo/") {
					r.devinfo = true
				}
			}
		}
	}
	return abort
}

var labelPartRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// label names a server command after the record: MsgID.CmdID.
func (c *converter) label(msgID, cmdID string) string {
	l := ""
	if labelPartRE.MatchString(msgID) && labelPartRE.MatchString(cmdID) {
		l = msgID + "." + cmdID
	}
	for l == "" || c.labels[l] {
		c.seq++
		l = fmt.Sprintf("%s.x%d", safeLabelPart(msgID), c.seq)
	}
	c.labels[l] = true
	return l
}

func safeLabelPart(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 16; i++ {
		ch := s[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' {
			b.WriteByte(ch)
		}
	}
	if b.Len() == 0 {
		return "m"
	}
	return b.String()
}

func firstTarget(cmd *syncml.Command) string {
	for _, it := range cmd.Items {
		if it.Target != nil {
			return it.Target.LocURI
		}
	}
	return ""
}

func describe(cmd *syncml.Command, label string) string {
	d := cmd.Kind + " " + label
	if cmd.Kind == syncml.KindAlert {
		d = "Alert " + cmd.Data + " " + label
	}
	if t := firstTarget(cmd); t != "" {
		d += " " + t
	}
	return cleanLine(d)
}

// serverHeader takes MaxMsgSize, MaxObjSize and RespURI from the header of
// server message m: the first server message gives the header directives,
// a later change becomes a directive of round r (the engine applies it to
// the whole reply package of the round).
func (c *converter) serverHeader(m *recMsg, r *recRound) {
	h := m.msg.Hdr
	first := !c.srvSeen
	c.srvSeen = true
	if h.Meta != nil {
		if v, ok := h.Meta.MaxMsgSizeInt(); ok && v > 0 && v <= 1<<30 {
			if first {
				c.maxMsg = int(v)
			} else if int(v) != c.effectiveMaxMsg() {
				r.maxMsg = int(v)
			}
		}
		if v, ok := h.Meta.MaxObjSizeInt(); ok && v > 0 && v <= 1<<30 && c.maxObj == 0 {
			c.maxObj = int(v)
		}
	}
	if h.RespURI != "" {
		p := respPath(h.RespURI)
		if p == "" {
			c.warnf("%s: RespURI %q cannot be replayed", m.name, cleanLine(h.RespURI))
		} else if p != c.respURI {
			if r.respURI != "" && r.respURI != p {
				c.warnf("%s: RespURI changes within a package; the replay uses the first", m.name)
			} else {
				r.respURI = p
				c.respURI = p
			}
		}
	}
}

// serverMessage adds the commands of server message m to round r.
func (c *converter) serverMessage(m *recMsg, r *recRound) error {
	h := m.msg.Hdr
	r.srvFiles = append(r.srvFiles, m.name)
	first := true
	for _, cmd := range m.msg.Body {
		switch cmd.Kind {
		case syncml.KindStatus:
			continue
		case syncml.KindResults:
			c.warnf("%s: the server sent Results (CmdID %s); not replayed", m.name, cleanLine(cmd.CmdID))
			continue
		case syncml.KindAlert:
			code, _ := cmd.AlertCode()
			if code == syncml.AlertNextMessage {
				continue
			}
			if code == syncml.AlertSessionAbort {
				r.srvAbort = true
				if len(m.msg.Body) > 0 {
					for _, o := range m.msg.Body {
						if o != cmd && o.Kind != syncml.KindStatus {
							c.warnf("%s: the server aborts the session (Alert 1223); its other commands are not replayed", m.name)
							break
						}
					}
				}
				return nil
			}
		}
		if cmd.Raw != nil {
			c.warnf("%s: the server sent <%s>, which a scenario cannot send; not replayed", m.name, cleanLine(cmd.Kind))
			r.sends = append(r.sends, &recSend{comment: []string{fmt.Sprintf("%s: <%s> (CmdID %s) not replayed: a scenario cannot send it", m.name, cleanLine(cmd.Kind), cleanLine(cmd.CmdID))}})
			continue
		}
		s := &recSend{cmd: cmd}
		if first {
			s.comment = append(s.comment, fmt.Sprintf("server message %s (%s)", cleanLine(h.MsgID), m.name))
			first = false
		}
		if err := c.addCommand(m, cmd, r, s, true); err != nil {
			return err
		}
		r.sends = append(r.sends, s)
		c.cmds = append(c.cmds, cmd)
	}
	return nil
}

// addCommand labels cmd (and its children), registers them for the
// client's statuses and handles redacted values.
func (c *converter) addCommand(m *recMsg, cmd *syncml.Command, r *recRound, s *recSend, top bool) error {
	label := c.label(m.msg.Hdr.MsgID, cmd.CmdID)
	key := refKey(m.msg.Hdr.MsgID, cmd.CmdID)
	desc := describe(cmd, label)
	rs := &recSent{label: label, desc: desc, target: firstTarget(cmd), file: m.name, ans: itemAnswers{items: itemRefs(cmd)}}
	if c.byRef[key] == nil {
		c.byRef[key] = rs
	} else {
		s.comment = append(s.comment, fmt.Sprintf("CmdID %s appears twice in %s: the status of %s cannot be told apart", cleanLine(cmd.CmdID), m.name, label))
	}
	cmd.CmdID = label
	r.sent = append(r.sent, rs)
	if cmd.Kind == syncml.KindExec && cmd.Correlator != "" {
		c.execs[cmd.Correlator] = true
	}
	if cmd.Cred != nil {
		// DM has no Cred in commands; the recorder redacted it anyway.
		cmd.Cred = nil
		s.comment = append(s.comment, fmt.Sprintf("%s: its Cred (redacted in the record) is not replayed", desc))
	}
	for _, it := range cmd.Items {
		if it.Data == nil || it.Data.IsTree() || it.Data.Text != RecordRedacted {
			continue
		}
		uri := ""
		if it.Target != nil {
			uri = it.Target.LocURI
		}
		if c.opts.SecretPlaceholder == "" {
			return c.errf(m.name, desc, "the value sent to %s was redacted when the record was made, so the replay cannot send it; give a placeholder to send instead (RecordOptions.SecretPlaceholder, omadm-dmserver --secret-placeholder TEXT) and edit the scenario if needed", cleanLine(uri))
		}
		it.Data = syncml.TextData(c.opts.SecretPlaceholder)
		s.comment = append(s.comment, fmt.Sprintf("SECRET: the value sent to %s was redacted in the record; the replay sends the placeholder instead: edit it if the lab device needs the real value", cleanLine(uri)))
		c.warnf("%s: %s: the redacted value sent to %s is replayed as the placeholder", m.name, desc, cleanLine(uri))
	}
	for _, ch := range cmd.Children {
		if err := c.addCommand(m, ch, r, s, false); err != nil {
			return err
		}
	}
	return nil
}

func (c *converter) effectiveMaxMsg() int {
	v := c.maxMsg
	for _, r := range c.rounds {
		if r.maxMsg >= 0 {
			v = r.maxMsg
		}
	}
	return v
}

// respPath returns the path (and query) of a RespURI for the "respuri"
// directive, or "" if it has none usable.
func respPath(u string) string {
	s := strings.TrimSpace(u)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		j := strings.IndexByte(s, '/')
		if j < 0 {
			return ""
		}
		s = s[j:]
	}
	if !strings.HasPrefix(s, "/") || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return ""
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	return s
}

// cleanLine makes s safe inside one scenario line: control characters
// become "?".
func cleanLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// plainToken reports whether s can stand as one field of a directive.
func plainToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// ---- writing ----

func (c *converter) emit() (*Conversion, error) {
	var b bytes.Buffer
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	comment := func(s string) { line("# %s", cleanLine(s)) }

	first := c.rec.msgs[0].msg
	devID, sid := "", cleanLine(first.Hdr.SessionID)
	if first.Hdr.Source != nil {
		devID = cleanLine(first.Hdr.Source.LocURI)
	}
	var encs []string
	for _, e := range []syncml.Encoding{syncml.XML, syncml.WBXML} {
		if c.enc[e] {
			encs = append(encs, e.String())
		}
	}
	comment(fmt.Sprintf("Converted from the session record %s (omadm-dmserver --from-record).", c.dir))
	comment("send: the field server's commands; each CmdID is rewritten MsgID.CmdID of the record")
	comment("(server message, command) and is the label that \"expect status\" refers to.")
	comment("expect status: the status the field client returned for that command.")
	if c.opts.Values {
		comment("Results values and the alerts the device sent on its own are expected too (values option).")
	} else {
		comment("Results values and alerts the device sent on its own are commented out: a lab device's")
		comment("values differ (omadm-dmserver --expect-values makes them active).")
	}
	for _, n := range c.rec.notes {
		comment("index.log: " + n)
	}
	if !c.rec.hasIndex {
		comment("the record has no index.log: HMAC use cannot be seen")
	}
	if m := recordDirRE.FindStringSubmatch(c.name); m != nil {
		comment(fmt.Sprintf("the field account's ServerID, as the record's name gives it: %s (a server-initiated", m[1]))
		comment("replay needs a lab account with the --server-id of the Package #0)")
	}
	line("name %s", cleanLine("record-"+c.name))
	line("description field session %s of %s, %d messages (%s)", orDash(sid), orDash(devID), len(c.rec.msgs), strings.Join(encs, "+"))

	// Authentication.
	cliAuth, why := c.opts.Auth, "chosen by the technician"
	if cliAuth == "" {
		switch {
		case c.cliAuth != "":
			cliAuth = c.cliAuth
			why = fmt.Sprintf("what the field client sent (%s)", c.cliFile)
			if c.cliAuth == AuthHMAC {
				why = fmt.Sprintf("x-syncml-hmac on %s in index.log", c.cliFile)
			}
		case c.chalAut != "":
			cliAuth, why = c.chalAut, "the type the field server challenged with"
		default:
			cliAuth, why = AuthNone, "the field client sent no credentials"
		}
	}
	comment(fmt.Sprintf("auth %s: %s; credentials are redacted in records, so give the lab device's", cliAuth, why))
	comment("(--client-user, --client-password, --client-nonce).")
	line("auth %s", cliAuth)
	srvCred, why := c.opts.ServerCred, "chosen by the technician"
	if srvCred == "" {
		if c.srvAuth != "" {
			srvCred, why = c.srvAuth, fmt.Sprintf("the field server authenticated itself (%s)", c.srvFile)
		} else {
			srvCred, why = AuthNone, "the field server sent no credentials"
		}
	}
	if srvCred != AuthNone {
		comment(fmt.Sprintf("server-cred %s: %s; give the lab server's secret (--server-password, --server-nonce).", srvCred, why))
	}
	line("server-cred %s", srvCred)
	if c.maxMsg > 0 {
		line("maxmsgsize %d", c.maxMsg)
	}
	if c.maxObj > 0 {
		line("maxobjsize %d", c.maxObj)
	}
	if len(c.rounds) > 0 && hasAlertCode(c.rounds[0].alerts, syncml.AlertServerInitiatedMgmt) {
		if n, err := strconv.ParseUint(strings.TrimSpace(first.Hdr.SessionID), 16, 16); err == nil {
			comment("a server-initiated session: trigger the lab device with the Package #0 of --push-out")
			line("sessionid 0x%04X", n)
		} else {
			line("initiated server")
		}
	}

	for i, r := range c.rounds {
		line("")
		files := strings.Join(r.clientFiles, ", ")
		if files == "" {
			files = "no client message recorded"
		}
		comment(fmt.Sprintf("round %d: the client's package %d (%s)", i+1, i+1, files))
		for _, n := range r.notes {
			comment(n)
		}
		line("recv")
		if r.challenge != "" {
			comment(fmt.Sprintf("the field server challenged this package (%s): the client must resend it", r.chalFile))
			line("challenge %s", r.challenge)
		}
		c.emitAlerts(line, comment, r, i == 0)
		if i == 0 && r.devinfo {
			line("expect devinfo")
		}
		if i > 0 {
			c.emitStatuses(line, comment, c.rounds[i-1])
		}
		if r.abort {
			line("expect abort")
		}
		if r.maxMsg >= 0 {
			line("maxmsgsize %d", r.maxMsg)
		}
		if r.respURI != "" {
			comment("the field server gave RespURI; the replay gives the same path")
			line("respuri %s", r.respURI)
		}
		for _, s := range r.sends {
			for _, cm := range s.comment {
				comment(cm)
			}
			if s.brk {
				line("no-final")
				continue
			}
			if s.cmd == nil {
				continue
			}
			sn, err := commandSnippet(s.cmd)
			if err != nil {
				return nil, c.errf(c.fileOf(s.cmd), describe(s.cmd, s.cmd.CmdID), "cannot be written as a scenario line: %v", err)
			}
			line("send %s", sn)
		}
		if r.srvAbort {
			comment("the field server aborted the session (Alert 1223)")
			line("abort")
		}
	}
	line("end")

	if b.Len() > maxScenarioSize {
		return nil, c.errf("", "", "the scenario would be %d bytes, more than the %d a scenario may have", b.Len(), maxScenarioSize)
	}
	sc, err := ParseScenario("record-"+c.name, bytes.NewReader(b.Bytes()))
	if err != nil {
		return nil, &RecordError{Dir: c.dir, Msg: "internal: the generated scenario does not parse", Err: err}
	}
	if err := c.verify(sc); err != nil {
		return nil, err
	}
	return &Conversion{DMS: b.Bytes(), Scenario: sc, Warnings: c.warn}, nil
}

func (c *converter) fileOf(cmd *syncml.Command) string {
	for _, r := range c.rounds {
		for _, s := range r.sent {
			if s.label == cmd.CmdID {
				return s.file
			}
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func hasAlertCode(as []*syncml.Command, code syncml.AlertCode) bool {
	for _, a := range as {
		if n, ok := a.AlertCode(); ok && n == code {
			return true
		}
	}
	return false
}

func (c *converter) emitAlerts(line func(string, ...any), comment func(string), r *recRound, first bool) {
	for _, a := range r.alerts {
		code, ok := a.AlertCode()
		if !ok || code < 1000 || code > 1999 {
			comment(fmt.Sprintf("the client sent Alert %q", a.Data))
			continue
		}
		e := fmt.Sprintf("expect alert %d", code)
		active := c.opts.Values
		why := "the device sent it on its own"
		switch {
		case code == syncml.AlertClientInitiatedMgmt || code == syncml.AlertServerInitiatedMgmt:
			active = first
			why = "session start outside package 1"
		case a.Correlator != "" && c.execs[a.Correlator]:
			active = true
		}
		if plainToken(a.Correlator) {
			e += " correlator " + a.Correlator
		}
		for _, it := range a.Items {
			if it.Meta != nil && plainToken(it.Meta.Type) {
				e += " type " + it.Meta.Type
				break
			}
		}
		if active {
			line("%s", e)
		} else {
			comment(e + "    (" + why + ")")
		}
	}
}

func (c *converter) emitStatuses(line func(string, ...any), comment func(string), prev *recRound) {
	if len(prev.sent) == 0 {
		return
	}
	comment(fmt.Sprintf("what the field client answered to the server's package %s", strings.Join(prev.srvFiles, ", ")))
	for _, s := range prev.sent {
		switch {
		case !s.hasStatus:
			comment(fmt.Sprintf("no Status from the field client for %s", s.desc))
		case len(s.ans.answers) > 1:
			emitItemStatuses(line, comment, s)
		case s.status < 100 || s.status > 599:
			comment(fmt.Sprintf("the field client answered %s with %d, which is no status code", s.desc, s.status))
		default:
			line("expect status %s %d", s.label, s.status)
		}
		seen := map[string]bool{}
		for _, res := range s.results {
			if seen[res.uri] {
				continue
			}
			seen[res.uri] = true
			if !strings.HasPrefix(res.uri, ".") || !plainToken(res.uri) {
				comment(fmt.Sprintf("Results for %q cannot be expected (not a ./URI)", res.uri))
				continue
			}
			own := false
			for _, it := range s.ans.items {
				own = own || (it.target != "" && stripQuery(res.uri) == stripQuery(it.target))
			}
			value := ""
			data := res.data.String()
			switch {
			case res.redacted:
				comment(fmt.Sprintf("the value of %s was redacted in the record", res.uri))
			case res.tree:
				comment(fmt.Sprintf("%s: a tree of %d bytes (not compared)", res.uri, len(data)))
			case len(data) <= 200 && data == strings.TrimSpace(data) && plainText(data):
				value = fmt.Sprintf("expect results %s = %s", res.uri, data)
			default:
				value = fmt.Sprintf("expect results %s size %d", res.uri, len(data))
			}
			if value != "" && c.opts.Values {
				line("%s", value)
				continue
			}
			if own {
				line("expect results %s", res.uri)
			} else {
				comment(fmt.Sprintf("expect results %s", res.uri))
			}
			if value != "" {
				comment(value + "    (the field device's value)")
			}
		}
	}
}

// emitItemStatuses writes the expectations for a command the field client
// answered with several Statuses: "expect status LABEL CODES ITEM" per Item
// when they were Statuses per Item naming every Item once, else the codes
// every Status had (the replay then fails status.complete as the field
// client did).
func emitItemStatuses(line func(string, ...any), comment func(string), s *recSent) {
	a := &s.ans
	codes := a.codes()
	for _, code := range codes {
		if code < 100 || code > 599 {
			comment(fmt.Sprintf("the field client answered %s with %s, not all status codes", s.desc, joinCodes(codes)))
			return
		}
	}
	why := s.dup
	if miss := a.missing(); why == "" && len(miss) > 0 {
		why = "no Status named Item " + strings.Join(miss, ", ")
	}
	for _, it := range a.items {
		if u := it.uri(); why == "" && (!strings.HasPrefix(u, ".") || !plainToken(u)) {
			why = fmt.Sprintf("Item %q cannot be named in an expectation", u)
		}
	}
	if why != "" {
		comment(fmt.Sprintf("the field client answered %s with %d Statuses (%s), not one per Item: %s", s.desc, len(codes), joinCodes(codes), why))
		line("expect status %s %s", s.label, joinCodes(codes))
		return
	}
	seen := map[string]bool{}
	for _, it := range a.items {
		u := it.uri()
		if seen[u] {
			continue
		}
		seen[u] = true
		c, _ := a.codesFor(u)
		line("expect status %s %s %s", s.label, joinCodes(c), u)
	}
}

// joinCodes writes codes as the CODES of an expectation: distinct, in
// order, comma-separated.
func joinCodes(codes []int) string {
	var out []string
	seen := map[int]bool{}
	for _, c := range codes {
		if !seen[c] {
			seen[c] = true
			out = append(out, strconv.Itoa(c))
		}
	}
	return strings.Join(out, ",")
}

func stripQuery(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return strings.TrimSuffix(u, "/")
}

func plainText(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}

// snippetHdr is the header used to encode a single command.
var snippetHdr = syncml.Header{VerDTD: syncml.VerDTD12, VerProto: syncml.VerProtoDM, SessionID: "1", MsgID: "1",
	Target: &syncml.Location{LocURI: "x"}, Source: &syncml.Location{LocURI: "y"}}

// commandSnippet writes cmd as one line of XML for a "send" directive.
func commandSnippet(cmd *syncml.Command) (string, error) {
	b, err := syncml.EncodeXML(&syncml.Message{Hdr: snippetHdr, Body: []*syncml.Command{cmd}}, "")
	if err != nil {
		return "", err
	}
	s := string(b)
	i := strings.Index(s, "<SyncBody>")
	j := strings.LastIndex(s, "</SyncBody>")
	if i < 0 || j < i {
		return "", errors.New("internal: no SyncBody in the encoded command")
	}
	return oneLine(s[i+len("<SyncBody>") : j]), nil
}

// oneLine replaces line breaks in the character data of an XML snippet by
// character references, so the snippet fits on one scenario line. Breaks
// inside tags stay (they are white space there); a snippet with comments,
// CDATA or processing instructions is left as it is.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") || strings.Contains(s, "<!") || strings.Contains(s, "<?") {
		return s
	}
	var b strings.Builder
	inTag := false
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case inTag && quote != 0:
			if ch == quote {
				quote = 0
			}
		case inTag:
			if ch == '"' || ch == '\'' {
				quote = ch
			} else if ch == '>' {
				inTag = false
			} else if ch == '\n' || ch == '\r' {
				ch = ' '
			}
		case ch == '<':
			inTag = true
		case ch == '\n':
			b.WriteString("&#xA;")
			continue
		case ch == '\r':
			b.WriteString("&#xD;")
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// verify checks that the parsed scenario sends exactly the recorded
// commands, in order.
func (c *converter) verify(sc *Scenario) error {
	var got []*syncml.Command
	for _, r := range sc.rounds {
		for _, o := range r.out {
			if o.kind == outCmd {
				got = append(got, o.cmd)
			}
		}
	}
	if len(got) != len(c.cmds) {
		return &RecordError{Dir: c.dir, Msg: fmt.Sprintf("internal: the generated scenario sends %d commands, the record has %d", len(got), len(c.cmds))}
	}
	for i, want := range c.cmds {
		a, err1 := commandSnippet(want)
		b, err2 := commandSnippet(got[i])
		if err1 != nil || err2 != nil || a != b {
			return &RecordError{Dir: c.dir, File: c.fileOf(want), Cmd: describe(want, want.CmdID),
				Msg: "cannot be written as a scenario line: it does not read back the same"}
		}
	}
	return nil
}
