package mmtest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Identity the fake modem reports.
const (
	Manufacturer = "OMADM Fake Modems"
	Model        = "FM-1"
	Revision     = "FM1.0.7"
	IMEI         = "490154203237518"
	IMSI         = "262011234567890"
	ICCID        = "8949011234567890123"
	OperatorCode = "26201"
	OperatorName = "Fake Telecom"
)

// MaxStored is the size of the fake SIM message storage.
const MaxStored = 30

// Fake is an AT modem served on a unix stream socket, the kind of port
// ModemManager's test profiles accept. It answers the commands ModemManager's
// generic plugin sends while probing, initialising and enabling a 3GPP modem
// and the SMS commands of 3GPP TS 27.005 in PDU mode (+CMGF, +CPMS, +CNMI,
// +CMGL, +CMGR, +CMGD); anything else gets ERROR.
type Fake struct {
	Path string // absolute socket path

	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn net.Conn // the newest client (URCs go there)
	all  map[net.Conn]struct{}
	sms  map[int]string // index → PDU hex (SMSC + TPDU)
	read map[int]bool
	cmds []string
	cops int // +COPS format set by +COPS=3,<format>: 0 long alphanumeric, 2 numeric
}

// NewFake listens on dir/modem.sock (or a shorter temporary path when that
// is too long for a unix socket).
func NewFake(dir string) (*Fake, error) {
	p := filepath.Join(dir, "modem.sock")
	if len(p) > 100 {
		d, err := os.MkdirTemp("", "mm")
		if err != nil {
			return nil, err
		}
		p = filepath.Join(d, "modem.sock")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", abs)
	if err != nil {
		return nil, fmt.Errorf("mmtest: listen: %w", err)
	}
	f := &Fake{Path: abs, ln: ln, all: map[net.Conn]struct{}{}, sms: map[int]string{}, read: map[int]bool{}}
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

// Close stops listening, closes every connection and waits for the
// connection goroutines.
func (f *Fake) Close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.all {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	os.Remove(f.Path)
}

func (f *Fake) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conn = c
		f.all[c] = struct{}{}
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(c)
	}
}

func (f *Fake) serve(c net.Conn) {
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.all, c)
		if f.conn == c {
			f.conn = nil
		}
		f.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReader(c)
	var line []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		switch b {
		case '\r', '\n':
			if len(line) == 0 {
				continue
			}
			cmd := strings.TrimSpace(string(line))
			line = line[:0]
			if cmd == "" {
				continue
			}
			f.mu.Lock()
			f.cmds = append(f.cmds, cmd)
			out := f.answer(cmd)
			f.mu.Unlock()
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(out))
		case 0x1B: // ESC cancels a line
			line = line[:0]
		default:
			if len(line) < 4096 {
				line = append(line, b)
			}
		}
	}
}

func frame(lines ...string) string {
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString("\r\n")
		sb.WriteString(l)
		sb.WriteString("\r\n")
	}
	return sb.String()
}

// answer returns the full reply to one command line. f.mu is held.
func (f *Fake) answer(line string) string {
	up := strings.ToUpper(line)
	if !strings.HasPrefix(up, "AT") {
		return frame("ERROR")
	}
	body := line[2:]
	// Basic commands (ATZ, ATE0, ATV1, AT&F ...) and an empty AT.
	if body == "" || !strings.HasPrefix(body, "+") {
		switch {
		case strings.EqualFold(body, "I"):
			return frame(Manufacturer+" "+Model, "OK")
		default:
			return frame("OK")
		}
	}
	// Extended commands, possibly chained with ';' (AT+COPS=3,2;+COPS?).
	var info []string
	for _, sub := range strings.Split(body, ";") {
		sub = strings.TrimSpace(sub)
		if sub == "" {
			continue
		}
		lines, ok := f.extended(sub)
		if !ok {
			if len(lines) > 0 {
				return frame(lines...)
			}
			return frame("ERROR")
		}
		info = append(info, lines...)
	}
	return frame(append(info, "OK")...)
}

// extended answers one extended command (with its leading '+'). ok=false
// means an error; lines then holds the final result code if not ERROR.
func (f *Fake) extended(cmd string) (lines []string, ok bool) {
	u := strings.ToUpper(cmd)
	switch {
	case u == "+CGMI" || u == "+GMI":
		return []string{Manufacturer}, true
	case u == "+CGMM" || u == "+GMM":
		return []string{Model}, true
	case u == "+CGMR" || u == "+GMR":
		return []string{Revision}, true
	case u == "+CGSN" || u == "+GSN":
		return []string{IMEI}, true
	case u == "+CIMI":
		return []string{IMSI}, true
	case u == "+GCAP":
		return []string{"+GCAP: +CGSM"}, true
	case u == "+CPIN?":
		return []string{"+CPIN: READY"}, true
	case strings.HasPrefix(u, "+CRSM=176,12258,"):
		return []string{"+CRSM: 144,0," + swapNibbles(ICCID)}, true
	case u == "+CFUN?":
		return []string{"+CFUN: 1"}, true
	case strings.HasPrefix(u, "+CFUN="):
		return nil, true
	case u == "+CSQ":
		return []string{"+CSQ: 20,99"}, true
	case u == "+CREG?":
		return []string{"+CREG: 2,1,\"1A2B\",\"01234567\",7"}, true
	case u == "+CGREG?":
		return []string{"+CGREG: 2,1,\"1A2B\",\"01234567\",7"}, true
	case u == "+CEREG?":
		return []string{"+CEREG: 2,1,\"1A2B\",\"01234567\",7"}, true
	case u == "+CREG=?" || u == "+CGREG=?" || u == "+CEREG=?":
		return []string{cmd[:len(cmd)-2] + ": (0-2)"}, true
	case strings.HasPrefix(u, "+CREG=") || strings.HasPrefix(u, "+CGREG=") || strings.HasPrefix(u, "+CEREG="):
		return nil, true
	case u == "+COPS=0" || u == "+COPS":
		return nil, true
	case u == "+COPS=?":
		return []string{`+COPS: (2,"` + OperatorName + `","Fake","` + OperatorCode + `",7),,(0-4),(0-2)`}, true
	case strings.HasPrefix(u, "+COPS=3,"):
		f.cops, _ = strconv.Atoi(u[len("+COPS=3,"):])
		return nil, true
	case u == "+COPS?":
		if f.cops == 0 {
			return []string{`+COPS: 0,0,"` + OperatorName + `",7`}, true
		}
		return []string{`+COPS: 0,2,"` + OperatorCode + `",7`}, true
	case u == "+CSCA?":
		return []string{`+CSCA: "+491710760000",145`}, true
	case u == "+CMGF=?":
		return []string{"+CMGF: (0,1)"}, true
	case u == "+CMGF=0":
		return nil, true
	case u == "+CMGF?":
		return []string{"+CMGF: 0"}, true
	case u == "+CSMS?":
		return []string{"+CSMS: 0,1,1,1"}, true
	case u == "+CPMS=?":
		return []string{`+CPMS: ("SM"),("SM"),("SM")`}, true
	case u == "+CPMS?":
		n := len(f.sms)
		return []string{fmt.Sprintf(`+CPMS: "SM",%d,%d,"SM",%d,%d,"SM",%d,%d`, n, MaxStored, n, MaxStored, n, MaxStored)}, true
	case strings.HasPrefix(u, "+CPMS="):
		n := len(f.sms)
		return []string{fmt.Sprintf(`+CPMS: %d,%d,%d,%d,%d,%d`, n, MaxStored, n, MaxStored, n, MaxStored)}, true
	case u == "+CNMI=?":
		return []string{"+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"}, true
	case strings.HasPrefix(u, "+CNMI="):
		return nil, true
	case strings.HasPrefix(u, "+CMGL="):
		var out []string
		for _, i := range f.indexes() {
			stat := 0
			if f.read[i] {
				stat = 1
			}
			out = append(out, fmt.Sprintf("+CMGL: %d,%d,,%d", i, stat, tpduLen(f.sms[i])), f.sms[i])
		}
		return out, true
	case strings.HasPrefix(u, "+CMGR="):
		i, err := strconv.Atoi(cmd[len("+CMGR="):])
		pdu, ok := f.sms[i]
		if err != nil || !ok {
			return []string{"+CMS ERROR: 321"}, false
		}
		stat := 0
		if f.read[i] {
			stat = 1
		}
		f.read[i] = true
		return []string{fmt.Sprintf("+CMGR: %d,,%d", stat, tpduLen(pdu)), pdu}, true
	case strings.HasPrefix(u, "+CMGD="):
		i, err := strconv.Atoi(strings.SplitN(cmd[len("+CMGD="):], ",", 2)[0])
		if err != nil {
			return []string{"+CMS ERROR: 321"}, false
		}
		delete(f.sms, i)
		delete(f.read, i)
		return nil, true
	case u == "+CMEE=1" || u == "+CMEE=2" || u == "+CMEE=0":
		return nil, true
	}
	return nil, false
}

func swapNibbles(s string) string {
	if len(s)%2 == 1 {
		s += "F"
	}
	b := []byte(s)
	for i := 0; i+1 < len(b); i += 2 {
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}

// tpduLen is the PDU-mode <length>: TPDU octets without the SMSC address.
func tpduLen(pdu string) int {
	if len(pdu) < 2 {
		return 0
	}
	n, _ := strconv.ParseUint(pdu[:2], 16, 8)
	return len(pdu)/2 - 1 - int(n)
}

func (f *Fake) indexes() []int {
	var ix []int
	for i := range f.sms {
		ix = append(ix, i)
	}
	sort.Ints(ix)
	return ix
}

// ErrFull: the fake SIM storage is full.
var ErrFull = errors.New("mmtest: SMS storage full")

// Store puts a PDU (hex, SMSC address + TPDU) into the SIM storage without
// an indication and returns its index (1-based).
func (f *Fake) Store(pdu string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.store(pdu)
}

func (f *Fake) store(pdu string) (int, error) {
	for i := 1; i <= MaxStored; i++ {
		if _, ok := f.sms[i]; !ok {
			f.sms[i] = strings.ToUpper(pdu)
			return i, nil
		}
	}
	return 0, ErrFull
}

// Deliver stores a PDU and sends +CMTI: "SM",<index> to the current client.
func (f *Fake) Deliver(pdu string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, err := f.store(pdu)
	if err != nil {
		return 0, err
	}
	if f.conn == nil {
		return i, errors.New("mmtest: no client connected")
	}
	f.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := f.conn.Write([]byte(frame(fmt.Sprintf(`+CMTI: "SM",%d`, i)))); err != nil {
		return i, fmt.Errorf("mmtest: send +CMTI: %w", err)
	}
	return i, nil
}

// Notify sends +CMTI for the SMS already stored at index i again, as a
// modem's new-message indication (tests use it when ModemManager dropped
// the first one: it ignores a +CMTI that arrives while it is busy).
func (f *Fake) Notify(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sms[i]; !ok {
		return fmt.Errorf("mmtest: nothing stored at %d", i)
	}
	if f.conn == nil {
		return errors.New("mmtest: no client connected")
	}
	f.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := f.conn.Write([]byte(frame(fmt.Sprintf(`+CMTI: "SM",%d`, i)))); err != nil {
		return fmt.Errorf("mmtest: send +CMTI: %w", err)
	}
	return nil
}

// Stored returns a copy of the SIM storage.
func (f *Fake) Stored() map[int]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[int]string, len(f.sms))
	for k, v := range f.sms {
		m[k] = v
	}
	return m
}

// Commands returns every command line received so far.
func (f *Fake) Commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}
