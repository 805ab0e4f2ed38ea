package modemtest

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Default identity answered by the fake.
const (
	IMEI = "490154203237518"
	IMSI = "234150999999999"
)

type stored struct {
	stat int // 0 REC UNREAD, 1 REC READ
	pdu  string
}

// Fake is a fake AT modem on a pty. The agent opens Path (a symlink to the
// pty slave) exactly as it opens a real device. The fake answers with the
// V.25ter framing of a real modem ("\r\n<line>\r\n"), keeps a message storage
// ("SM") and records every command line it receives.
type Fake struct {
	Path string

	mu      sync.Mutex
	cond    *sync.Cond
	ptm     *os.File
	pts     *os.File
	gen     int // pty generation, bumped by plug
	echo    bool
	mt      int // +CNMI <mt>
	store   map[int]stored
	cmds    []string
	at      []time.Time         // when each of cmds was received
	fail    map[string][]string // command → canned answer lines (once)
	sim     string
	refuse  bool // refuse +CNMI storage routing (mt=1)
	silent  map[string]bool
	extra   func(line string) ([]string, bool)
	acks    int
	wg      sync.WaitGroup
	closed  bool
	maxSlot int
}

// New starts a fake modem whose device symlink is dir/modem.
func New(dir string) (*Fake, error) {
	f := &Fake{Path: filepath.Join(dir, "modem"), echo: true, store: map[int]stored{},
		fail: map[string][]string{}, silent: map[string]bool{}, sim: "READY", maxSlot: 30}
	f.cond = sync.NewCond(&f.mu)
	if err := f.plug(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Fake) plug() error {
	ptm0, pts, err := pty.Open()
	if err != nil {
		return fmt.Errorf("pty: %w", err)
	}
	// A blocking master fd cannot be closed under a blocked Read (the
	// kernel keeps the file until the read returns, so the agent would
	// never see the hangup): use a non-blocking copy in Go's poller.
	nfd, err := unix.Dup(int(ptm0.Fd()))
	ptm0.Close()
	if err != nil {
		pts.Close()
		return fmt.Errorf("dup pty master: %w", err)
	}
	// Not inherited by child processes: a program started later (the agent
	// under test) must not keep the master open, or it would never see the
	// hangup of Unplug.
	unix.CloseOnExec(nfd)
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		pts.Close()
		return fmt.Errorf("pty master non-blocking: %w", err)
	}
	ptm := os.NewFile(uintptr(nfd), "/dev/ptmx")
	if err := makeRaw(pts); err != nil {
		ptm.Close()
		pts.Close()
		return err
	}
	_ = os.Remove(f.Path)
	if err := os.Symlink(pts.Name(), f.Path); err != nil {
		ptm.Close()
		pts.Close()
		return err
	}
	f.mu.Lock()
	f.ptm, f.pts = ptm, pts
	f.gen++
	gen := f.gen
	f.mu.Unlock()
	f.wg.Add(1)
	go f.serve(ptm, gen)
	return nil
}

// makeRaw puts the pty in raw mode before the agent opens it, so that the
// line discipline neither echoes nor translates what the fake writes.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("tcgets: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("tcsets: %w", err)
	}
	return nil
}

// Unplug closes the pty (the agent's reads fail as on a USB unplug) and
// removes the symlink.
func (f *Fake) Unplug() {
	f.mu.Lock()
	ptm, pts := f.ptm, f.pts
	f.ptm, f.pts = nil, nil
	f.mu.Unlock()
	os.Remove(f.Path)
	if ptm != nil {
		ptm.Close()
	}
	if pts != nil {
		pts.Close()
	}
	f.wg.Wait()
}

// Replug creates a new pty behind the same symlink path. The modem state is
// that of a fresh power-up (echo on, no +CNMI routing); the storage is kept.
func (f *Fake) Replug() error {
	f.mu.Lock()
	f.echo, f.mt = true, 0
	f.mu.Unlock()
	return f.plug()
}

// Close stops the fake.
func (f *Fake) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.Unplug()
}

// serve reads command lines from the pty master and answers them.
func (f *Fake) serve(ptm *os.File, gen int) {
	defer f.wg.Done()
	buf := make([]byte, 512)
	var line []byte
	for {
		n, err := ptm.Read(buf)
		if err != nil {
			return
		}
		for _, c := range buf[:n] {
			switch c {
			case '\r':
				f.command(ptm, string(line))
				line = line[:0]
			case '\n', 0x1b, 0x1a:
				// LF after CR, ESC (at's escape), Ctrl-Z: ignored
				if c != '\n' {
					line = line[:0]
				}
			default:
				line = append(line, c)
			}
		}
	}
}

func (f *Fake) write(ptm *os.File, s string) {
	_, _ = ptm.Write([]byte(s))
}

// cont marks a line that continues the previous one without the leading
// CRLF: the PDU line after +CMGR/+CMGL/+CMT headers.
const cont = "\x01"

// frame renders response lines as a V.25ter modem does: "\r\n<line>\r\n",
// except PDU lines, which directly follow their header ("<pdu>\r\n").
func frame(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		if pdu, ok := strings.CutPrefix(l, cont); ok {
			b.WriteString(pdu)
			b.WriteString("\r\n")
			continue
		}
		b.WriteString("\r\n")
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String()
}

func (f *Fake) command(ptm *os.File, line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	f.mu.Lock()
	echo := f.echo
	f.cmds = append(f.cmds, line)
	f.at = append(f.at, time.Now())
	f.cond.Broadcast()
	if f.silent[line] {
		f.mu.Unlock()
		return
	}
	canned, isCanned := f.fail[line]
	if isCanned {
		delete(f.fail, line)
	}
	var resp []string
	extra := f.extra
	switch {
	case isCanned:
		resp = canned
	case extra != nil:
		f.mu.Unlock()
		r, ok := extra(line)
		f.mu.Lock()
		resp = r
		if !ok {
			resp = f.answer(line)
		}
	default:
		resp = f.answer(line)
	}
	f.mu.Unlock()
	var out strings.Builder
	if echo {
		out.WriteString(line + "\r")
	}
	out.WriteString(frame(resp...))
	f.write(ptm, out.String())
}

// answer computes the response lines; f.mu is held.
func (f *Fake) answer(line string) []string {
	up := strings.ToUpper(line)
	if !strings.HasPrefix(up, "AT") {
		return []string{"ERROR"}
	}
	cmd := up[2:]
	arg := func(prefix string) (string, bool) { return strings.CutPrefix(cmd, prefix) }
	switch {
	case cmd == "" || cmd == "+CMEE=1" || cmd == "+CMGF=0":
		return []string{"OK"}
	case cmd == "Z":
		f.echo, f.mt = true, 0
		return []string{"OK"}
	case cmd == "E0":
		f.echo = false
		return []string{"OK"}
	case cmd == "E1":
		f.echo = true
		return []string{"OK"}
	case cmd == "+CGSN":
		return []string{IMEI, "OK"}
	case cmd == "+CIMI":
		return []string{IMSI, "OK"}
	case cmd == "+CPIN?":
		return []string{"+CPIN: " + f.sim, "OK"}
	case cmd == "+CSMS=1":
		return []string{"+CSMS: 1,1,1", "OK"}
	case cmd == "+CNMA" || cmd == "+CNMA=0":
		f.acks++
		return []string{"OK"}
	}
	if v, ok := arg("+CNMI="); ok {
		fs := strings.Split(v, ",")
		if len(fs) < 2 {
			return []string{"+CMS ERROR: 302"}
		}
		mt, err := strconv.Atoi(fs[1])
		if err != nil || mt < 0 || mt > 3 || (mt == 1 && f.refuse) {
			return []string{"+CMS ERROR: 303"}
		}
		f.mt = mt
		return []string{"OK"}
	}
	if v, ok := arg("+CMGR="); ok {
		i, err := strconv.Atoi(v)
		if err != nil {
			return []string{"+CMS ERROR: 302"}
		}
		m, ok := f.store[i]
		if !ok {
			return []string{"+CMS ERROR: 321"}
		}
		resp := []string{fmt.Sprintf("+CMGR: %d,,%d", m.stat, tpduLen(m.pdu)), cont + m.pdu, "OK"}
		m.stat = 1
		f.store[i] = m
		return resp
	}
	if v, ok := arg("+CMGL="); ok {
		want, err := strconv.Atoi(v)
		if err != nil || want < 0 || want > 4 {
			return []string{"+CMS ERROR: 302"}
		}
		var resp []string
		for _, i := range f.indexes() {
			m := f.store[i]
			if want != 4 && m.stat != want {
				continue
			}
			resp = append(resp, fmt.Sprintf("+CMGL: %d,%d,,%d", i, m.stat, tpduLen(m.pdu)), cont+m.pdu)
			m.stat = 1
			f.store[i] = m
		}
		return append(resp, "OK")
	}
	if v, ok := arg("+CMGD="); ok {
		i, err := strconv.Atoi(strings.SplitN(v, ",", 2)[0])
		if err != nil {
			return []string{"+CMS ERROR: 302"}
		}
		delete(f.store, i)
		return []string{"OK"}
	}
	return []string{"ERROR"}
}

// tpduLen is the <length> of +CMGR/+CMGL/+CMT in PDU mode: the TPDU octets,
// without the SMSC address (TS 27.005 §3.1).
func tpduLen(pdu string) int {
	b, err := hex.DecodeString(pdu)
	if err != nil || len(b) == 0 {
		return 0
	}
	return len(b) - 1 - int(b[0])
}

func (f *Fake) indexes() []int {
	idx := make([]int, 0, len(f.store))
	for i := range f.store {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	return idx
}

func (f *Fake) freeSlot() (int, error) {
	for i := 1; i <= f.maxSlot; i++ {
		if _, ok := f.store[i]; !ok {
			return i, nil
		}
	}
	return 0, errors.New("storage full")
}

// Store puts a PDU (hex) into the storage without telling the agent, as if
// it arrived while the agent was not running. It returns the index.
func (f *Fake) Store(pdu string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.freeSlot()
	if err != nil {
		return 0, err
	}
	f.store[i] = stored{stat: 0, pdu: strings.ToUpper(pdu)}
	return i, nil
}

// Deliver receives an SMS from the network: with +CNMI <mt>=1 it is stored
// and announced with +CMTI (returns its index); with <mt>=2 or 3 it is sent
// directly with +CMT (returns -1). With <mt>=0 it is stored silently.
func (f *Fake) Deliver(pdu string) (int, error) {
	pdu = strings.ToUpper(pdu)
	f.mu.Lock()
	mt := f.mt
	f.mu.Unlock()
	if mt == 2 || mt == 3 {
		return -1, f.Send(fmt.Sprintf("+CMT: ,%d", tpduLen(pdu)), cont+pdu)
	}
	i, err := f.Store(pdu)
	if err != nil {
		return 0, err
	}
	if mt == 1 {
		return i, f.Send(fmt.Sprintf(`+CMTI: "SM",%d`, i))
	}
	return i, nil
}

// Send writes unsolicited lines (each framed "\r\n<line>\r\n"); garbage
// works too.
func (f *Fake) Send(lines ...string) error {
	return f.SendRaw(frame(lines...))
}

// SendRaw writes raw bytes to the agent.
func (f *Fake) SendRaw(s string) error {
	f.mu.Lock()
	ptm := f.ptm
	f.mu.Unlock()
	if ptm == nil {
		return errors.New("modemtest: unplugged")
	}
	_, err := ptm.Write([]byte(s))
	return err
}

// Reset simulates a modem restart: settings back to power-up defaults,
// then "RDY" and "+CPIN: READY" unsolicited.
func (f *Fake) Reset() error {
	f.mu.Lock()
	f.echo, f.mt = true, 0
	f.mu.Unlock()
	return f.Send("RDY", "+CPIN: READY")
}

// FailNext makes the next command line equal to cmd (e.g. "AT+CMGR=1")
// answer with lines instead (e.g. "+CMS ERROR: 500").
func (f *Fake) FailNext(cmd string, lines ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[cmd] = lines
}

// Silence makes the fake never answer cmd (an AT timeout).
func (f *Fake) Silence(cmd string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.silent[cmd] = on
}

// RefuseStorageRouting makes +CNMI with <mt>=1 fail, so that the agent falls
// back to direct +CMT delivery.
func (f *Fake) RefuseStorageRouting(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse = on
}

// SetSIM sets the +CPIN? answer ("READY", "SIM PIN", ...).
func (f *Fake) SetSIM(state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sim = state
}

// MT returns the current +CNMI <mt>.
func (f *Fake) MT() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mt
}

// Acks returns the number of +CNMA received.
func (f *Fake) Acks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acks
}

// Stored returns a copy of the storage: index → PDU hex.
func (f *Fake) Stored() map[int]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[int]string, len(f.store))
	for i, m := range f.store {
		out[i] = m.pdu
	}
	return out
}

// Commands returns every command line received so far.
func (f *Fake) Commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

// Count returns how many times the command line cmd was received.
func (f *Fake) Count(cmd string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count(cmd)
}

func (f *Fake) count(cmd string) int {
	n := 0
	for _, c := range f.cmds {
		if c == cmd {
			n++
		}
	}
	return n
}

// WaitCommand waits until cmd has been received at least n times in all,
// or the timeout elapses; it reports whether it was.
func (f *Fake) WaitCommand(cmd string, n int, timeout time.Duration) bool {
	return f.waitFor(timeout, func() bool { return f.count(cmd) >= n })
}

// waitFor waits until ok (called with f.mu held) holds or timeout passes;
// it reports whether ok held.
func (f *Fake) waitFor(timeout time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() {
		f.mu.Lock()
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	defer t.Stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	for !ok() {
		if !time.Now().Before(deadline) {
			return false
		}
		f.cond.Wait()
	}
	return true
}

// WaitCommandSince waits until cmd has been received after mark (see Mark),
// or the timeout elapses; it reports whether it was. Unlike a count taken
// after the fact, it cannot miss a command that arrived before the call.
func (f *Fake) WaitCommandSince(mark int, cmd string, timeout time.Duration) bool {
	return f.waitFor(timeout, func() bool { return slices.Contains(f.cmds[min(mark, len(f.cmds)):], cmd) })
}

// Extend makes h answer the command lines it knows (ok true), before the
// built-in commands: e.g. the SIM access commands of
// smartcard/cardtest/atsim (AT+CSIM, AT+CCHO/CGLA/CCHC, AT+CRSM). h runs
// without the fake's lock held.
func (f *Fake) Extend(h func(line string) (resp []string, ok bool)) {
	f.mu.Lock()
	f.extra = h
	f.mu.Unlock()
}

// Mark returns the number of commands received so far, for CommandsSince.
func (f *Fake) Mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cmds)
}

// ReceivedSince returns when cmd was first received after mark (see Mark),
// and whether it was. Comparing two such times gives a lower bound on how
// long the agent waited between two commands that no scheduling delay can
// shorten, unlike a wall-clock check made by the test goroutine.
func (f *Fake) ReceivedSince(mark int, cmd string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := max(mark, 0); i < len(f.cmds); i++ {
		if f.cmds[i] == cmd {
			return f.at[i], true
		}
	}
	return time.Time{}, false
}

// CommandsSince returns the commands received after mark.
func (f *Fake) CommandsSince(mark int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if mark > len(f.cmds) {
		return nil
	}
	return append([]string(nil), f.cmds[mark:]...)
}
