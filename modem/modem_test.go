package modem_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

const (
	wait    = 10 * time.Second
	pkg0V12 = "15d47fba57a3e05ac422858874bcb4b60318000000123412636f6d2e6d676d747372762e6d616e616765"
	wspHead = "010603C4AF87"
	portUDH = "0605040B8423F0"
)

func encode(t testing.TB, specs ...modemtest.PDUSpec) []string {
	t.Helper()
	p, err := modemtest.EncodeDeliver(specs...)
	if err != nil {
		t.Fatalf("encoding PDUs with python3-gammu: %v", err)
	}
	return p
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t      testing.TB
	fake   *modemtest.Fake
	m      *modem.Modem
	out    chan wappush.Push
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuf
}

func newHarness(t testing.TB, cfg modem.Config, prep func(*modemtest.Fake)) *harness {
	t.Helper()
	f, err := modemtest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if prep != nil {
		prep(f)
	}
	h := &harness{t: t, fake: f, out: make(chan wappush.Push), done: make(chan error, 1), logs: &syncBuf{}}
	cfg.Device = f.Path
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.CommandTimeout == 0 {
		// Generous: an AT command that qemu-user on a loaded machine answers
		// late must not time out (a failed init waits for the backoff,
		// which TestUnplugReplug sets to a minute). Tests of timeouts set
		// their own.
		cfg.CommandTimeout = wait
	}
	h.m, err = modem.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.m.Run(ctx, h.out) }()
	t.Cleanup(func() {
		h.stop()
		f.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s\nfake received: %q", h.logs.String(), f.Commands())
		}
	})
	// The start-up sweep's answer is computed when the fake records +CMGL:
	// anything delivered after this point arrives through +CMTI.
	if !f.WaitCommand("AT+CMGL=4", 1, wait) {
		t.Fatalf("agent did not sweep; commands %q", f.Commands())
	}
	return h
}

func (h *harness) stop() error {
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(wait):
		h.t.Errorf("Run did not return after cancel")
		return nil
	}
}

func (h *harness) push() wappush.Push {
	h.t.Helper()
	select {
	case p := <-h.out:
		return p
	case <-time.After(wait):
		h.t.Fatalf("no push within %v", wait)
		return wappush.Push{}
	}
}

func (h *harness) noPush(d time.Duration) {
	h.t.Helper()
	select {
	case p := <-h.out:
		h.t.Fatalf("got push %+v, want none", p)
	case <-time.After(d):
	}
}

func (h *harness) deliver(pdu string) int {
	h.t.Helper()
	i, err := h.fake.Deliver(pdu)
	if err != nil {
		h.t.Fatal(err)
	}
	return i
}

func (h *harness) waitDeleted(idx int) {
	h.t.Helper()
	if !h.fake.WaitCommand(fmt.Sprintf("AT+CMGD=%d", idx), 1, wait) {
		h.t.Fatalf("no AT+CMGD=%d; commands %q", idx, h.fake.Commands())
	}
	deadline := time.Now().Add(wait)
	for {
		if _, ok := h.fake.Stored()[idx]; !ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("index %d still stored", idx)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLog waits until the agent's log contains s.
func (h *harness) waitLog(s string) {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for !strings.Contains(h.logs.String(), s) {
		if time.Now().After(deadline) {
			h.t.Fatalf("agent log has no %q", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func checkNotificationPush(t testing.TB, p wappush.Push, body string) {
	t.Helper()
	if p.ContentType != "application/vnd.syncml.notification" || p.ContentTypeCode != 0x44 || p.AppIDCode != 7 {
		t.Errorf("got content type %q/%#x app %d, want notification/0x44/7", p.ContentType, p.ContentTypeCode, p.AppIDCode)
	}
	if got := hex.EncodeToString(p.Body); got != strings.ToLower(body) {
		t.Errorf("got body %s, want %s", got, body)
	}
	if p.From != "+491701234567" {
		t.Errorf("got from %q, want +491701234567", p.From)
	}
	if want := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC); p.At.Year() != 2026 || p.At.Hour() != 10 || p.At.Day() != want.Day() {
		t.Errorf("got at %v, want 2026-11-21 10:00", p.At)
	}
}

func TestSinglePushViaCMTI(t *testing.T) {
	pdu := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + pkg0V12})[0]
	h := newHarness(t, modem.Config{}, nil)
	idx := h.deliver(pdu)
	checkNotificationPush(t, h.push(), pkg0V12)
	h.waitDeleted(idx)
	for _, want := range []string{"ATE0", "AT+CMEE=1", "AT+CMGF=0", "AT+CPIN?", "AT+CMGL=4", fmt.Sprintf("AT+CMGR=%d", idx)} {
		if h.fake.Count(want) == 0 {
			t.Errorf("command %s never sent; got %q", want, h.fake.Commands())
		}
	}
}

func TestSweepAtStart(t *testing.T) {
	p := encode(t,
		modemtest.PDUSpec{Text: "hello", Number: "+4917099"},
		modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "AABB"},
		modemtest.PDUSpec{UDH: "0605040B8523F0", Data: wspHead + "CCDD"}, // port 2949
	)
	var idx []int
	h := newHarness(t, modem.Config{}, func(f *modemtest.Fake) {
		for _, pdu := range p {
			i, err := f.Store(pdu)
			if err != nil {
				t.Fatal(err)
			}
			idx = append(idx, i)
		}
	})
	checkNotificationPush(t, h.push(), "AABB")
	h.waitDeleted(idx[1])
	// The sweep handles idx[2] after the push: wait until it has, so that
	// the checks below do not run before the agent could act wrongly.
	h.waitLog(fmt.Sprintf("left in storage\" device=%s index=%d port=2949", h.fake.Path, idx[2]))
	h.noPush(200 * time.Millisecond)
	st := h.fake.Stored()
	for _, i := range []int{idx[0], idx[2]} {
		if _, ok := st[i]; !ok {
			t.Errorf("non-push SMS at %d was removed", i)
		}
		if n := h.fake.Count(fmt.Sprintf("AT+CMGD=%d", i)); n != 0 {
			t.Errorf("got %d AT+CMGD=%d, want 0", n, i)
		}
	}
}

func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	size := (len(b) + n - 1) / n
	for len(b) > 0 {
		k := min(size, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

func TestConcatenated(t *testing.T) {
	wsp, _ := hex.DecodeString(wspHead + pkg0V12)
	parts := chunks(wsp, 3)
	var specs []modemtest.PDUSpec
	for i, c := range parts { // 8-bit reference 0x42
		specs = append(specs, modemtest.PDUSpec{UDH: fmt.Sprintf("0B05040B8423F0000342%02X%02X", len(parts), i+1), Data: hex.EncodeToString(c)})
	}
	for i, c := range chunks(wsp, 2) { // 16-bit reference 0x1234
		specs = append(specs, modemtest.PDUSpec{UDH: fmt.Sprintf("0C05040B8423F008041234%02X%02X", 2, i+1), Data: hex.EncodeToString(c)})
	}
	p := encode(t, specs...)
	// A reassembly timeout far beyond the test, so that a loaded machine
	// reading the segments slowly cannot make them time out (that case is
	// TestConcatenatedTimeout).
	h := newHarness(t, modem.Config{ReassemblyTimeout: time.Hour}, nil)

	// 8-bit ref, out of order: 3, 1, 2
	i3 := h.deliver(p[2])
	i1 := h.deliver(p[0])
	h.noPush(100 * time.Millisecond)
	i2 := h.deliver(p[1])
	checkNotificationPush(t, h.push(), pkg0V12)
	for _, i := range []int{i1, i2, i3} {
		h.waitDeleted(i)
	}
	// 16-bit ref, out of order: 2, 1
	j2 := h.deliver(p[4])
	j1 := h.deliver(p[3])
	checkNotificationPush(t, h.push(), pkg0V12)
	h.waitDeleted(j1)
	h.waitDeleted(j2)
}

// TestConcatenatedTimeout: a segment whose sibling never arrives gives no
// push; it is kept until the reassembly timeout, then deleted.
func TestConcatenatedTimeout(t *testing.T) {
	const timeout = 1500 * time.Millisecond
	wsp, _ := hex.DecodeString(wspHead + pkg0V12)
	// ref 0x43: segment 2 of 2 never arrives
	p := encode(t, modemtest.PDUSpec{UDH: "0B05040B8423F000034302" + "01", Data: hex.EncodeToString(wsp[:10])})
	h := newHarness(t, modem.Config{ReassemblyTimeout: timeout}, nil)
	mark := h.fake.Mark()
	k := h.deliver(p[0])
	read, del := fmt.Sprintf("AT+CMGR=%d", k), fmt.Sprintf("AT+CMGD=%d", k)
	if !h.fake.WaitCommandSince(mark, read, wait) {
		t.Fatal("segment not read")
	}
	h.noPush(300 * time.Millisecond)
	if !h.fake.WaitCommandSince(mark, del, wait) {
		t.Fatal("timed-out segment not deleted")
	}
	// The agent starts the timeout after the fake answered +CMGR, so the
	// delete can arrive no sooner than timeout after the read, however
	// slowly the test goroutine runs.
	readAt, _ := h.fake.ReceivedSince(mark, read)
	delAt, _ := h.fake.ReceivedSince(mark, del)
	if d := delAt.Sub(readAt); d < timeout {
		t.Errorf("incomplete segment deleted %v after it was read, before the %v timeout", d, timeout)
	}
	if !strings.Contains(h.logs.String(), "timed out") {
		t.Errorf("timeout not logged: %s", h.logs.String())
	}
}

func TestNonPushLeftInPlace(t *testing.T) {
	p := encode(t,
		modemtest.PDUSpec{Text: "hello", Number: "+4917099"},
		modemtest.PDUSpec{UDH: "0605040B8523F0", Data: wspHead + "CCDD"},
		modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "EEFF"},
	)
	h := newHarness(t, modem.Config{}, nil)
	a := h.deliver(p[0])
	b := h.deliver(p[1])
	c := h.deliver(p[2])
	checkNotificationPush(t, h.push(), "EEFF")
	h.waitDeleted(c)
	for _, i := range []int{a, b} {
		if n := h.fake.Count(fmt.Sprintf("AT+CMGD=%d", i)); n != 0 {
			t.Errorf("got %d AT+CMGD=%d, want 0", n, i)
		}
		if _, ok := h.fake.Stored()[i]; !ok {
			t.Errorf("SMS %d removed from storage", i)
		}
	}
}

func TestCMSErrorOnCMGR(t *testing.T) {
	p := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "0102"})
	h := newHarness(t, modem.Config{RetryInterval: 300 * time.Millisecond}, nil)
	h.fake.FailNext("AT+CMGR=1", "+CMS ERROR: 500")
	idx := h.deliver(p[0])
	if idx != 1 {
		t.Fatalf("got index %d, want 1", idx)
	}
	// the retry sweep finds it
	checkNotificationPush(t, h.push(), "0102")
	h.waitDeleted(1)
	// Not deleted after the +CMS ERROR: the delete follows a second read of
	// index 1 (the retry sweep or another +CMGR). Checked on the order of
	// the commands, not by counting deletes at a moment that the 300 ms
	// retry can beat on a loaded machine.
	cmds := h.fake.Commands()
	failed := slices.Index(cmds, "AT+CMGR=1")
	deleted := slices.Index(cmds, "AT+CMGD=1")
	if failed < 0 || deleted < failed {
		t.Fatalf("got commands %q, want AT+CMGR=1 (answered +CMS ERROR) before AT+CMGD=1", cmds)
	}
	if !slices.ContainsFunc(cmds[failed+1:deleted], func(c string) bool { return c == "AT+CMGR=1" || c == "AT+CMGL=4" }) {
		t.Errorf("deleted after a +CMS ERROR without reading it again: %q", cmds[failed:deleted+1])
	}
	if !strings.Contains(h.logs.String(), "CMS Error: 500") {
		t.Errorf("+CMS ERROR not logged with its cause")
	}
}

func TestGarbageLinesAndTimeout(t *testing.T) {
	p := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "0A0B"}, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "0C0D"})
	h := newHarness(t, modem.Config{CommandTimeout: 300 * time.Millisecond, RetryInterval: 300 * time.Millisecond}, nil)
	if err := h.fake.SendRaw("\r\n\x00\xff\xfegarbage\r\n+CMTI: nonsense\r\n+CMTI: \"SM\",x\r\nOK\r\n+CMT: \r\n\r\n>\r\nERROR\r\n"); err != nil {
		t.Fatal(err)
	}
	idx := h.deliver(p[0])
	checkNotificationPush(t, h.push(), "0A0B")
	h.waitDeleted(idx)
	// an AT timeout on +CMGR: the message is left, then found by the retry sweep
	h.fake.Silence("AT+CMGR=1", true)
	mark := h.fake.Mark()
	idx = h.deliver(p[1])
	if idx != 1 {
		t.Fatalf("got index %d, want 1 (the silenced one)", idx)
	}
	// Since the mark: the first message was read at index 1 too, so a
	// count taken over all commands would not wait for this read at all.
	if !h.fake.WaitCommandSince(mark, "AT+CMGR=1", wait) {
		t.Fatal("no +CMGR")
	}
	h.fake.Silence("AT+CMGR=1", false)
	checkNotificationPush(t, h.push(), "0C0D")
	h.waitDeleted(idx)
}

func TestModemReset(t *testing.T) {
	p := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "1111"}, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "2222"})
	h := newHarness(t, modem.Config{}, nil)
	i, _ := h.fake.Store(p[0]) // arrived during the restart
	if err := h.fake.Reset(); err != nil {
		t.Fatal(err)
	}
	if !h.fake.WaitCommand("AT+CNMI=2,1,0,0,0", 2, wait) {
		t.Fatalf("no re-init after the reset")
	}
	checkNotificationPush(t, h.push(), "1111")
	h.waitDeleted(i)
	j := h.deliver(p[1])
	checkNotificationPush(t, h.push(), "2222")
	h.waitDeleted(j)
	// RDY and +CPIN: READY may each cause an init, but our own +CPIN?
	// answers must not: the count must settle.
	n := h.fake.Count("AT+CNMI=2,1,0,0,0")
	time.Sleep(300 * time.Millisecond)
	if n2 := h.fake.Count("AT+CNMI=2,1,0,0,0"); n2 != n || n > 3 {
		t.Errorf("got %d then %d +CNMI, want a stable count <= 3 (no init loop)", n, n2)
	}
}

func TestUnplugReplug(t *testing.T) {
	p := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "3333"}, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "4444"})
	// The fallback backoff is far slower than the wait below, so only the
	// fsnotify watch on the device's directory can have woken the agent.
	h := newHarness(t, modem.Config{MinBackoff: time.Minute, MaxBackoff: time.Minute}, nil)
	h.fake.Unplug()
	time.Sleep(300 * time.Millisecond)
	i, _ := h.fake.Store(p[0]) // arrives while unplugged
	start := time.Now()
	if err := h.fake.Replug(); err != nil {
		t.Fatal(err)
	}
	if !h.fake.WaitCommand("AT+CNMI=2,1,0,0,0", 2, wait) {
		t.Fatalf("agent did not reopen the port within %v of the replug (fsnotify; the backoff is 1 min)", wait)
	}
	t.Logf("reopened %v after the replug", time.Since(start))
	checkNotificationPush(t, h.push(), "3333")
	h.waitDeleted(i)
	j := h.deliver(p[1])
	checkNotificationPush(t, h.push(), "4444")
	h.waitDeleted(j)
	logs := h.logs.String()
	if n := strings.Count(logs, "connection lost"); n != 1 {
		t.Errorf("got %d 'connection lost' log lines, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs, "modem unavailable"); n > 1 {
		t.Errorf("got %d 'modem unavailable' log lines, want at most 1", n)
	}
}

func TestDirectCMTFallback(t *testing.T) {
	p := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "5555"})
	f, err := modemtest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.RefuseStorageRouting(true)
	out := make(chan wappush.Push)
	m, err := modem.New(modem.Config{Device: f.Path, CommandTimeout: wait})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, out) }()
	defer func() { cancel(); <-done }()
	if !f.WaitCommand("AT+CNMI=2,2,0,0,0", 1, wait) || f.MT() != 2 {
		t.Fatalf("no fallback to +CMT delivery: %q", f.Commands())
	}
	if f.Count("AT+CSMS=1") != 1 {
		t.Errorf("+CSMS=1 not sent")
	}
	if _, err := f.Deliver(p[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-out:
		checkNotificationPush(t, got, "5555")
	case <-time.After(wait):
		t.Fatal("no push")
	}
	if !f.WaitCommand("AT+CNMA", 1, wait) {
		t.Errorf("push not acknowledged with +CNMA")
	}
}

func TestConsumerRefusal(t *testing.T) {
	p := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + "6666"})
	f, err := modemtest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := modem.New(modem.Config{Device: f.Path, RetryInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	accepted := make(chan wappush.Push, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Serve(ctx, func(ctx context.Context, p wappush.Push) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return errors.New("disk full")
			}
			accepted <- p
			return nil
		})
	}()
	defer func() { cancel(); <-done }()
	if !f.WaitCommand("AT+CNMI=2,1,0,0,0", 1, wait) {
		t.Fatal("no init")
	}
	idx, _ := f.Deliver(p[0])
	select {
	case <-accepted:
	case <-time.After(wait):
		t.Fatal("push not offered again after a refusal")
	}
	mu.Lock()
	if calls != 2 {
		t.Errorf("got %d handler calls, want 2", calls)
	}
	mu.Unlock()
	if !f.WaitCommand(fmt.Sprintf("AT+CMGD=%d", idx), 1, wait) {
		t.Fatal("not deleted after acceptance")
	}
	if n := f.Count(fmt.Sprintf("AT+CMGD=%d", idx)); n != 1 {
		t.Errorf("got %d deletes, want 1", n)
	}
}

func TestOpenIdentity(t *testing.T) {
	f, err := modemtest.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := modem.Open(ctx, modem.Config{Device: f.Path})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, err := m.IMEI(ctx); err != nil || got != modemtest.IMEI {
		t.Errorf("IMEI: got %q %v, want %s", got, err, modemtest.IMEI)
	}
	if got, err := m.IMSI(ctx); err != nil || got != modemtest.IMSI {
		t.Errorf("IMSI: got %q %v, want %s", got, err, modemtest.IMSI)
	}
	if err := m.SIMReady(ctx); err != nil {
		t.Errorf("SIMReady: %v", err)
	}
	f.SetSIM("SIM PIN")
	if err := m.SIMReady(ctx); !errors.Is(err, modem.ErrSIMNotReady) {
		t.Errorf("SIMReady: got %v, want ErrSIMNotReady", err)
	}
	if _, err := m.Command(ctx, "+BOGUS"); err == nil {
		t.Errorf("got nil error for an unknown command")
	}
	m.Close()
	if _, err := m.IMEI(ctx); !errors.Is(err, modem.ErrNotConnected) {
		t.Errorf("after Close: got %v, want ErrNotConnected", err)
	}
}

func TestCancelStopsPromptly(t *testing.T) {
	h := newHarness(t, modem.Config{}, nil)
	start := time.Now()
	err := h.stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v to return after cancel", d)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	// no goroutine may remain blocked in the serial port Read or at's loops
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		leak := ""
		for _, fn := range []string{"serial.(*unixPort).Read", "at.lineReader", "at.cmdLoop", "(*AT).indLoop", "(*session)"} {
			if strings.Contains(stacks, fn) {
				leak = fn
			}
		}
		if leak == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutine left in %s:\n%s", leak, stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCancelWhileDeviceAbsent(t *testing.T) {
	m, err := modem.New(modem.Config{Device: t.TempDir() + "/by-id/none"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, make(chan wappush.Push)) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatalf("Run did not return within %v", wait)
	}
}
