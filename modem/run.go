package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
	"github.com/warthog618/modem/at"
)

// Handler takes one decoded push. Returning nil accepts it: its SMS (every
// segment) is then deleted from the modem's storage (+CMGD), or acknowledged
// (+CNMA) in direct delivery mode. Returning an error leaves the SMS stored;
// it is offered again at the next sweep (after Config.RetryInterval, a
// reconnect or a modem reset).
type Handler func(ctx context.Context, p wappush.Push) error

// errPortClosed is the cause when the at pipeline stops (read error, device
// unplugged).
var errPortClosed = errors.New("serial port closed (read error or device unplugged)")

// Run receives WAP pushes (WDP port 2948) and delivers them on out until ctx
// ends; it returns ctx.Err(). A push counts as accepted once the consumer has
// received it from out; if the consumer does not take it within
// Config.DeliverTimeout (when set) the SMS stays in storage. Run reopens the
// port when it closes. Only one Run or Serve may be active on a Modem.
func (m *Modem) Run(ctx context.Context, out chan<- wappush.Push) error {
	return m.Serve(ctx, func(ctx context.Context, p wappush.Push) error {
		var timeout <-chan time.Time
		if m.cfg.DeliverTimeout > 0 {
			t := time.NewTimer(m.cfg.DeliverTimeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case out <- p:
			return nil
		case <-timeout:
			return ErrConsumerTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// Serve is Run with a Handler that decides whether a push is accepted.
func (m *Modem) Serve(ctx context.Context, h Handler) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("modem: Run or Serve already active")
	}
	defer m.running.Store(false)
	defer m.disconnect()
	backoff := m.cfg.MinBackoff
	failing := ""
	for {
		s := m.currentSession()
		if s == nil {
			var err error
			s, err = m.connect(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if msg := err.Error(); msg != failing {
					m.log.Warn("modem unavailable; waiting for the device", "err", err)
					failing = msg
				}
				if err := m.waitDevice(ctx, backoff, errors.Is(err, os.ErrNotExist)); err != nil {
					return err
				}
				backoff = min(backoff*2, m.cfg.MaxBackoff)
				continue
			}
			if failing != "" {
				m.log.Info("modem connected again")
				failing = ""
			} else {
				m.log.Info("modem connected")
			}
		}
		start := time.Now()
		err := s.serve(ctx, h)
		m.disconnect()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.log.Warn("modem connection lost; reopening", "err", err)
		failing = err.Error()
		if time.Since(start) > time.Minute {
			backoff = m.cfg.MinBackoff
		}
	}
}

// waitDevice waits until the device path may have appeared (fsnotify on its
// nearest existing ancestor directory), the backoff elapses, or ctx ends. It
// never polls.
func (m *Modem) waitDevice(ctx context.Context, backoff time.Duration, absent bool) error {
	timer := time.NewTimer(backoff)
	defer timer.Stop()
	var events <-chan fsnotify.Event
	var errs <-chan error
	dev := filepath.Clean(m.cfg.Device)
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		dir := filepath.Dir(dev)
		for {
			if err := w.Add(dir); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
		events, errs = w.Events, w.Errors
		// The device may have appeared between the failed open and the watch.
		if _, err := os.Stat(dev); err == nil && absent {
			return nil
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Chmod) {
				continue
			}
			name := filepath.Clean(ev.Name)
			if name == dev || strings.HasPrefix(dev, name+string(filepath.Separator)) {
				return nil
			}
		case _, ok := <-errs:
			if !ok {
				errs = nil
			}
		}
	}
}

func (m *Modem) currentSession() *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sess
}

type evKind int

const (
	evCMTI  evKind = iota // +CMTI: "SM",<index>
	evCMT                 // +CMT: [<alpha>],<length> + PDU line
	evReset               // RDY or an unsolicited +CPIN: READY
)

type event struct {
	kind  evKind
	lines []string
	at    time.Time // arrival
}

// session is one open port. Its fields are owned by the Run goroutine; the at
// indication handlers only send on events.
type session struct {
	m      *Modem
	a      *at.AT
	events chan event
	done   chan struct{} // closed when the port closes: handlers stop sending

	direct bool // +CMT delivery (storage mode refused)
	ack    bool // +CNMA needed (+CSMS=1 accepted)

	h          Handler
	retryArmed bool
	initAt     time.Time // start of the last init
	outOfSync  error     // an AT command timed out: reconnect to resynchronise
}

func newSession(m *Modem, a *at.AT) *session {
	s := &session{m: m, a: a, events: make(chan event, 64), done: make(chan struct{})}
	go func() {
		<-a.Closed()
		close(s.done)
	}()
	return s
}

func (s *session) handler(kind evKind) at.InfoHandler {
	return func(lines []string) {
		select {
		case s.events <- event{kind: kind, lines: lines, at: time.Now()}:
		case <-s.done:
		}
	}
}

func (s *session) register() error {
	inds := []struct {
		prefix string
		h      at.InfoHandler
		opts   []at.IndicationOption
	}{
		{"+CMTI:", s.handler(evCMTI), nil},
		{"+CMT:", s.handler(evCMT), []at.IndicationOption{at.WithTrailingLine}},
		{"RDY", s.handler(evReset), nil},
		{"+CPIN:", s.cpinHandler, nil},
	}
	for _, ind := range inds {
		if err := s.a.AddIndication(ind.prefix, ind.h, ind.opts...); err != nil {
			return fmt.Errorf("add indication %s: %w", ind.prefix, err)
		}
	}
	return nil
}

// cpinHandler sees every +CPIN line, including the answers to our own
// +CPIN? (the at indLoop passes matched lines on as well); those consume a
// token. An unsolicited +CPIN: READY means the modem restarted.
func (s *session) cpinHandler(lines []string) {
	if s.m.takeToken() {
		return
	}
	if strings.Contains(lines[0], "READY") {
		s.handler(evReset)(lines)
	}
}

func (s *session) cmd(ctx context.Context, cmd string) ([]string, error) {
	return s.cmdTimeout(ctx, cmd, s.m.cfg.CommandTimeout)
}

// cmdTimeout runs one command. After an AT timeout the answer may still
// arrive and be taken as the answer to a later command (at matches answers
// by order only): the session is then marked out of sync and serve
// reconnects, rather than risk deleting the wrong message.
func (s *session) cmdTimeout(ctx context.Context, cmd string, d time.Duration) ([]string, error) {
	info, err := s.m.command(ctx, s.a, cmd, d)
	if errors.Is(err, at.ErrDeadlineExceeded) {
		s.outOfSync = err
	}
	return info, err
}

// init puts the modem in the state the session needs: echo off, numeric
// errors, PDU mode, new-message routing (TS 27.005 §3.4.1).
func (s *session) init(ctx context.Context, escape bool) error {
	s.initAt = time.Now()
	initDone := make(chan error, 1)
	go func() {
		cmds := at.WithCmds("E0", "+CMEE=1", "+CMGF=0")
		if escape {
			// Escape a half-sent SMS command, reset to the user profile.
			initDone <- s.a.Init(at.WithCmds("Z", "E0", "+CMEE=1", "+CMGF=0"))
			return
		}
		for _, c := range cmds {
			if _, err := s.a.Command(c); err != nil {
				initDone <- fmt.Errorf("AT%s: %w", c, err)
				return
			}
		}
		initDone <- nil
	}()
	select {
	case err := <-initDone:
		if err != nil {
			return fmt.Errorf("modem init: %w", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	st, err := s.m.simStatus(ctx, s.a)
	if err != nil {
		return fmt.Errorf("modem init: %w", err)
	}
	if st != "READY" {
		return fmt.Errorf("modem init: %w: %s", ErrSIMNotReady, st)
	}
	s.direct, s.ack = false, false
	_, err = s.cmd(ctx, "+CNMI=2,1,0,0,0")
	if err != nil {
		_, err = s.cmd(ctx, "+CNMI=1,1,0,0,0")
	}
	if err == nil {
		return nil
	}
	s.m.log.Warn("modem refuses SMS storage routing (+CNMI=..,1); using direct +CMT delivery", "err", err)
	if _, err := s.cmd(ctx, "+CSMS=1"); err == nil {
		s.ack = true
	}
	if _, err = s.cmd(ctx, "+CNMI=2,2,0,0,0"); err != nil {
		if _, err = s.cmd(ctx, "+CNMI=1,2,0,0,0"); err != nil {
			return fmt.Errorf("modem init: %w", err)
		}
	}
	s.direct = true
	return nil
}

// serve runs the session until the port closes or ctx ends.
func (s *session) serve(ctx context.Context, h Handler) error {
	s.h = h
	m := s.m
	s.sweep(ctx)
	if s.outOfSync != nil {
		return fmt.Errorf("resynchronising after %w", s.outOfSync)
	}
	expiry := time.NewTimer(time.Hour)
	expiry.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer expiry.Stop()
	defer retry.Stop()
	for {
		if dl, ok := m.reasm.NextDeadline(); ok {
			expiry.Reset(time.Until(dl))
		} else {
			expiry.Stop()
		}
		if s.retryArmed {
			retry.Reset(m.cfg.RetryInterval)
			s.retryArmed = false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.a.Closed():
			return errPortClosed
		case e := <-s.events:
			m.wakeups.Add(1)
			if err := s.onEvent(ctx, e); err != nil {
				return err
			}
		case <-expiry.C:
			m.wakeups.Add(1)
			s.dropped(ctx, m.reasm.Expire(time.Now()))
		case <-retry.C:
			m.wakeups.Add(1)
			s.sweep(ctx)
		}
		if s.outOfSync != nil {
			return fmt.Errorf("resynchronising after %w", s.outOfSync)
		}
	}
}

func (s *session) onEvent(ctx context.Context, e event) error {
	log := s.m.log
	switch e.kind {
	case evCMTI:
		idx, err := parseCMTI(e.lines[0])
		if err != nil {
			log.Warn("modem: bad +CMTI line", "line", e.lines[0], "err", err)
			return nil
		}
		s.read(ctx, idx)
	case evCMT:
		if len(e.lines) < 2 {
			return nil
		}
		s.handle(ctx, NoIndex, e.lines[1])
	case evReset:
		if e.at.Before(s.initAt) {
			return nil // RDY and +CPIN: READY of one restart: one init
		}
		log.Warn("modem restarted; initialising again", "line", e.lines[0])
		if err := s.init(ctx, false); err != nil {
			return err
		}
		s.sweep(ctx)
	}
	return nil
}

func parseCMTI(line string) (int, error) {
	v, ok := strings.CutPrefix(line, "+CMTI:")
	if !ok {
		return 0, errors.New("no +CMTI prefix")
	}
	i := strings.LastIndexByte(v, ',')
	if i < 0 {
		return 0, errors.New("no index")
	}
	return strconv.Atoi(strings.TrimSpace(v[i+1:]))
}

// read fetches one stored message (+CMGR) and handles it.
func (s *session) read(ctx context.Context, idx int) {
	info, err := s.cmd(ctx, "+CMGR="+strconv.Itoa(idx))
	if err != nil {
		var cms at.CMSError
		if errors.As(err, &cms) && string(cms) == "321" {
			return // invalid index: already handled by a sweep
		}
		s.m.log.Warn("modem: reading SMS failed; left in storage for the next sweep", "index", idx, "err", err)
		s.retryArmed = true
		return
	}
	for i, l := range info {
		if strings.HasPrefix(l, "+CMGR:") {
			if pdu, ok := pduAfter(info, i); ok {
				s.handle(ctx, idx, pdu)
			}
			return
		}
	}
	// An empty slot answers OK without +CMGR (or +CMS ERROR 321). Right
	// after a +CMTI that is suspicious (a stray OK taken as the answer):
	// look again at the next sweep.
	s.retryArmed = true
}

// pduAfter returns the hex PDU line following the header at info[i],
// skipping blank lines.
func pduAfter(info []string, i int) (string, bool) {
	for j := i + 1; j < len(info); j++ {
		l := strings.TrimSpace(info[j])
		if l == "" {
			continue
		}
		if isHex(l) {
			return l, true
		}
		return "", false
	}
	return "", false
}

func isHex(s string) bool {
	if len(s)%2 != 0 || s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// sweep lists every stored message (+CMGL=4: all, PDU mode) and handles the
// WAP pushes among them.
func (s *session) sweep(ctx context.Context) {
	info, err := s.cmdTimeout(ctx, "+CMGL=4", 4*s.m.cfg.CommandTimeout)
	if err != nil {
		s.m.log.Warn("modem: listing stored SMS failed", "err", err)
		return
	}
	type stored struct {
		idx int
		pdu string
	}
	var list []stored
	for i, l := range info {
		v, ok := strings.CutPrefix(l, "+CMGL:")
		if !ok {
			continue
		}
		f := strings.SplitN(v, ",", 2)
		idx, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil {
			continue
		}
		if pdu, ok := pduAfter(info, i); ok {
			list = append(list, stored{idx, pdu})
		}
	}
	for _, st := range list {
		s.handle(ctx, st.idx, st.pdu)
	}
}

// handle decodes one SMS PDU (hex) held at idx (NoIndex for +CMT) and
// delivers the push it carries or completes.
func (s *session) handle(ctx context.Context, idx int, pduHex string) {
	m, log := s.m, s.m.log
	raw, err := hex.DecodeString(pduHex)
	if err != nil {
		log.Warn("modem: SMS PDU is not hex; left in storage", "index", idx)
		s.ackDirect(ctx)
		return
	}
	seg, push, err := DecodePDU(raw)
	switch {
	case err != nil && seg.IsPush():
		log.Warn("modem: malformed WAP push dropped", "index", idx, "from", seg.From, "err", err)
		s.remove(ctx, indexList(idx))
		s.ackDirect(ctx)
		return
	case err != nil:
		log.Warn("modem: undecodable SMS left in storage", "index", idx, "err", err)
		s.ackDirect(ctx)
		return
	case !seg.IsPush():
		log.Debug("modem: SMS not for WAP push port 2948 left in storage", "index", idx, "port", seg.UDH.DstPort)
		s.ackDirect(ctx)
		return
	}
	indexes := indexList(idx)
	if seg.IsSegmented() {
		msg, dropped := m.reasm.Add(seg, idx, time.Now())
		s.dropped(ctx, dropped)
		s.ackDirect(ctx) // a segment cannot wait for its siblings to be acknowledged
		if msg == nil {
			return
		}
		p, err := wappush.Decode(msg.Payload)
		if err != nil {
			log.Warn("modem: malformed concatenated WAP push dropped", "from", msg.From, "err", err)
			s.remove(ctx, msg.Indexes)
			return
		}
		p.From, p.At = msg.From, msg.At
		push, indexes = &p, msg.Indexes
		if err := s.h(ctx, *push); err != nil {
			log.Warn("modem: push consumer refused the push; left in storage", "from", p.From, "err", err)
			s.retryArmed = !s.direct
			return
		}
		s.remove(ctx, indexes)
		return
	}
	if err := s.h(ctx, *push); err != nil {
		log.Warn("modem: push consumer refused the push; left in storage", "index", idx, "from", push.From, "err", err)
		s.retryArmed = !s.direct
		return // direct mode: no +CNMA, the network delivers it again
	}
	s.remove(ctx, indexes)
	s.ackDirect(ctx)
}

func (s *session) ackDirect(ctx context.Context) {
	if !s.direct || !s.ack {
		return
	}
	if _, err := s.cmd(ctx, "+CNMA"); err != nil {
		s.m.log.Warn("modem: +CNMA failed", "err", err)
	}
}

func (s *session) remove(ctx context.Context, indexes []int) {
	for _, i := range indexes {
		if _, err := s.cmd(ctx, "+CMGD="+strconv.Itoa(i)); err != nil {
			s.m.log.Warn("modem: deleting SMS failed", "index", i, "err", err)
		}
	}
}

// dropped logs given-up partial messages. Timed-out ones are deleted from
// storage (they cannot complete any more and would fill the SIM); evicted
// ones are left for the next sweep.
func (s *session) dropped(ctx context.Context, ds []Dropped) {
	for _, d := range ds {
		s.m.log.Warn("modem: concatenated WAP push dropped", "from", d.From, "ref", d.Ref,
			"have", d.Have, "total", d.Total, "reason", d.Reason)
		if errors.Is(d.Reason, ErrReassemblyTimeout) {
			s.remove(ctx, d.Indexes)
		}
	}
}
