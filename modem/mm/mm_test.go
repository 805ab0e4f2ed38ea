package mm_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/modem/mm"
	"github.com/omadm-agent/omadm-agent/modem/mm/mmtest"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

const (
	wait = 15 * time.Second
	// Package #0 (protocol.md §2.2) behind a WSP Push header: TID 01, Push
	// 06, headers 3 bytes: content type 0xC4 (0x44 notification),
	// X-WAP-Application-ID (0xAF) syncml.dm (0x87).
	pkg0V12 = "15d47fba57a3e05ac422858874bcb4b60318000000123412636f6d2e6d676d747372762e6d616e616765"
	wspHead = "010603C4AF87"
	portUDH = "0605040B8423F0"
)

// rig is the one ModemManager of this test binary (probing costs seconds).
var rig *mmtest.MM

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mmtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rig, err = mmtest.Start(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start ModemManager:", err)
		return 1
	}
	defer rig.Stop()
	return m.Run()
}

func encode(t testing.TB, specs ...modemtest.PDUSpec) []string {
	t.Helper()
	p, err := modemtest.EncodeDeliver(specs...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dial gives the test (and the Source) a connection of their own.
func dial(t testing.TB) *dbus.Conn {
	t.Helper()
	c, err := mmtest.Dial(rig.Bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func list(t testing.TB, c *dbus.Conn) []dbus.ObjectPath {
	t.Helper()
	var paths []dbus.ObjectPath
	if err := c.Object(mm.Service, rig.Modem).Call(mm.IfaceMessaging+".List", 0).Store(&paths); err != nil {
		t.Fatalf("Messaging.List: %v", err)
	}
	return paths
}

// cleanup deletes every SMS ModemManager holds, so that tests sharing the
// daemon start empty.
func cleanup(t *testing.T) {
	t.Cleanup(func() {
		c := dial(t)
		for _, p := range list(t, c) {
			c.Object(mm.Service, rig.Modem).Call(mm.IfaceMessaging+".Delete", 0, p)
		}
	})
}

func waitFor(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; ModemManager log tail:\n%s", what, rig.LogTail(3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reads counts the AT+CMGR=idx commands the fake modem has received (the
// shared fake keeps the commands of every earlier test).
func reads(idx int) int {
	want, n := fmt.Sprintf("AT+CMGR=%d", idx), 0
	for _, c := range rig.Fake.Commands() {
		if strings.EqualFold(strings.TrimSpace(c), want) {
			n++
		}
	}
	return n
}

// deliverRead delivers pdu and waits until ModemManager has read it
// (one more AT+CMGR of its index than before).
func deliverRead(t testing.TB, pdu string) {
	t.Helper()
	stored := map[int]bool{}
	for i := range rig.Fake.Stored() {
		stored[i] = true
	}
	next := 1 // the index Deliver will use: the lowest free one
	for stored[next] {
		next++
	}
	before := reads(next)
	idx, err := rig.Fake.Deliver(pdu)
	if err != nil {
		t.Fatal(err)
	}
	if idx != next {
		t.Fatalf("Deliver used index %d, expected %d", idx, next)
	}
	// ModemManager ignores a +CMTI that arrives while it is still busy
	// with the previous message (doc.go); under load that can be this one.
	// Indicate it again until it is read: the test is about what the
	// Source makes of ModemManager, not about ModemManager's AT parser.
	for try := 0; ; try++ {
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) && reads(idx) <= before {
			time.Sleep(20 * time.Millisecond)
		}
		if reads(idx) > before {
			return
		}
		if try == 4 {
			t.Fatalf("ModemManager did not read index %d after 5 indications; log tail:\n%s", idx, rig.LogTail(3000))
		}
		if err := rig.Fake.Notify(idx); err != nil {
			t.Fatal(err)
		}
	}
}

// serve runs a Source until the test ends; pushes go to the returned channel.
func serve(t *testing.T, cfg mm.Config, accept func(wappush.Push) error) <-chan wappush.Push {
	t.Helper()
	ch := make(chan wappush.Push, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	src := mm.New(dial(t), cfg)
	go func() {
		done <- src.Serve(ctx, func(ctx context.Context, p wappush.Push) error {
			if accept != nil {
				if err := accept(p); err != nil {
					return err
				}
			}
			ch <- p
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Serve returned %v, want context.Canceled", err)
			}
		case <-time.After(wait):
			t.Error("Serve did not return after cancel")
		}
	})
	return ch
}

func receive(t *testing.T, ch <-chan wappush.Push) wappush.Push {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(wait):
		t.Fatalf("no push delivered; ModemManager log tail:\n%s", rig.LogTail(3000))
	}
	return wappush.Push{}
}

func checkNotification(t *testing.T, p wappush.Push, body string) {
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
	if p.At.Year() != 2026 || p.At.Month() != 11 || p.At.Day() != 21 || p.At.Hour() != 10 {
		t.Errorf("got at %v, want 2026-11-21 10:00", p.At)
	}
}

func TestPushDeliveredAndDeleted(t *testing.T) {
	cleanup(t)
	pdu := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + pkg0V12})[0]
	ch := serve(t, mm.Config{}, nil)
	time.Sleep(200 * time.Millisecond) // let Serve subscribe (the initial List covers a race anyway)
	idx, err := rig.Fake.Deliver(pdu)
	if err != nil {
		t.Fatal(err)
	}
	checkNotification(t, receive(t, ch), pkg0V12)
	c := dial(t)
	waitFor(t, "the SMS object to be deleted", func() bool { return len(list(t, c)) == 0 })
	waitFor(t, "the SIM storage slot to be freed (AT+CMGD)", func() bool {
		_, ok := rig.Fake.Stored()[idx]
		return !ok
	})
}

func TestTextAndForeignPushLeftAlone(t *testing.T) {
	cleanup(t)
	p := encode(t,
		modemtest.PDUSpec{Text: "hello", Number: "+4917099"},
		// A WAP push of another kind (SI, text/vnd.wap.sic 0x2E) on port 2948.
		modemtest.PDUSpec{UDH: portUDH, Data: "010603AEAF81" + "AABB"},
		modemtest.PDUSpec{UDH: portUDH, Data: wspHead + pkg0V12},
	)
	ch := serve(t, mm.Config{}, nil)
	time.Sleep(200 * time.Millisecond)
	c := dial(t)
	var idx []int
	for n, pdu := range p[:2] {
		// One at a time: ModemManager 1.20.4 read only the first of three
		// +CMTI that arrived in one burst.
		i, err := rig.Fake.Deliver(pdu)
		if err != nil {
			t.Fatal(err)
		}
		idx = append(idx, i)
		waitFor(t, "ModemManager to expose the SMS", func() bool { return len(list(t, c)) == n+1 })
	}
	if _, err := rig.Fake.Deliver(p[2]); err != nil {
		t.Fatal(err)
	}
	checkNotification(t, receive(t, ch), pkg0V12)
	waitFor(t, "the push to be deleted", func() bool { return len(list(t, c)) == 2 })
	time.Sleep(300 * time.Millisecond)
	if n := len(list(t, c)); n != 2 {
		t.Errorf("got %d SMS in ModemManager, want 2 (text and SI push left alone)", n)
	}
	st := rig.Fake.Stored()
	for _, i := range idx[:2] {
		if _, ok := st[i]; !ok {
			t.Errorf("SIM slot %d was deleted; it holds a message that is not ours", i)
		}
	}
	select {
	case p := <-ch:
		t.Errorf("got a second push %q, want none", p.ContentType)
	default:
	}
}

func TestStoredBeforeServe(t *testing.T) {
	cleanup(t)
	pdu := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + pkg0V12})[0]
	if _, err := rig.Fake.Deliver(pdu); err != nil {
		t.Fatal(err)
	}
	c := dial(t)
	waitFor(t, "ModemManager to expose the SMS", func() bool { return len(list(t, c)) == 1 })
	ch := serve(t, mm.Config{}, nil)
	checkNotification(t, receive(t, ch), pkg0V12)
	waitFor(t, "the SMS object to be deleted", func() bool { return len(list(t, c)) == 0 })
}

func TestRefusedPushKeptAndRetried(t *testing.T) {
	cleanup(t)
	pdu := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + pkg0V12})[0]
	refusals := 0
	ch := serve(t, mm.Config{RetryInterval: 500 * time.Millisecond}, func(wappush.Push) error {
		if refusals < 2 {
			refusals++
			return errors.New("busy")
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond)
	if _, err := rig.Fake.Deliver(pdu); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	checkNotification(t, receive(t, ch), pkg0V12)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("accepted after %v; two refusals with RetryInterval 500ms need at least ~1s", d)
	}
	c := dial(t)
	waitFor(t, "the SMS object to be deleted", func() bool { return len(list(t, c)) == 0 })
}

// running starts src.Serve and returns once it is running for certain:
// its Handler has taken a push. A fixed pause before the next step cannot
// promise that on a loaded machine (the goroutine may not have started).
func running(ctx context.Context, t *testing.T, src *mm.Source) <-chan error {
	t.Helper()
	pdu := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + pkg0V12})[0]
	taken := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- src.Serve(ctx, func(context.Context, wappush.Push) error {
			select {
			case taken <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	if _, err := rig.Fake.Deliver(pdu); err != nil {
		t.Fatal(err)
	}
	select {
	case <-taken:
	case err := <-done:
		t.Fatalf("Serve returned %v before it took the push", err)
	case <-time.After(wait):
		t.Fatalf("Serve took no push; ModemManager log tail:\n%s", rig.LogTail(3000))
	}
	return done
}

func TestServeTwice(t *testing.T) {
	cleanup(t)
	src := mm.New(dial(t), mm.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := running(ctx, t, src)
	if err := src.Serve(ctx, nil); !errors.Is(err, mm.ErrBusy) {
		t.Errorf("got %v, want ErrBusy", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestIMEI(t *testing.T) {
	got, err := mm.New(dial(t), mm.Config{}).IMEI(context.Background())
	if err != nil || got != mmtest.IMEI {
		t.Errorf("got %q, %v, want %q", got, err, mmtest.IMEI)
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

// TestConcatenatedPush checks that ModemManager reassembles a multipart 8-bit
// WAP push (concatenation IE 0x00 next to the port IE) before it exposes
// Data, and that the Source delivers it once, complete.
func TestConcatenatedPush(t *testing.T) {
	cleanup(t)
	wsp, _ := hex.DecodeString(wspHead + pkg0V12)
	parts := chunks(wsp, 3)
	var specs []modemtest.PDUSpec
	for i, c := range parts {
		specs = append(specs, modemtest.PDUSpec{UDH: fmt.Sprintf("0B05040B8423F0000342%02X%02X", len(parts), i+1), Data: hex.EncodeToString(c)})
	}
	p := encode(t, specs...)
	ch := serve(t, mm.Config{}, nil)
	time.Sleep(200 * time.Millisecond)
	// Out of order: 3, 1, then (after a pause) 2. ModemManager drops a +CMTI
	// that arrives while it is still busy with the previous one (doc.go), so
	// each part is sent once ModemManager has read the one before (AT+CMGR),
	// not after a fixed pause that a loaded machine can outrun.
	for _, i := range []int{2, 0} {
		deliverRead(t, p[i])
	}
	select {
	case got := <-ch:
		t.Fatalf("got a push (%d body bytes) before the last segment arrived", len(got.Body))
	case <-time.After(300 * time.Millisecond):
	}
	deliverRead(t, p[1])
	checkNotification(t, receive(t, ch), pkg0V12)
	c := dial(t)
	waitFor(t, "the SMS object to be deleted", func() bool { return len(list(t, c)) == 0 })
	waitFor(t, "every segment's SIM slot to be freed", func() bool { return len(rig.Fake.Stored()) == 0 })
}

// TestModemManagerAppearsLater: Serve starts on a bus without ModemManager,
// waits (no error, no polling: the backoff is an hour), picks the daemon up
// through NameOwnerChanged / InterfacesAdded, and again after a restart.
func TestModemManagerAppearsLater(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bus, err := dbusmockrun.StartBus(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Stop()
	conn, err := mmtest.Dial(bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch := make(chan wappush.Push, 4)
	sctx, scancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- mm.New(conn, mm.Config{MinBackoff: time.Hour, MaxBackoff: time.Hour}).Serve(sctx, func(_ context.Context, p wappush.Push) error {
			ch <- p
			return nil
		})
	}()
	defer func() {
		scancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve returned %v, want context.Canceled", err)
		}
	}()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v while ModemManager is absent, want it to wait", err)
	case <-time.After(500 * time.Millisecond):
	}
	pdu := encode(t, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + pkg0V12})[0]
	for round := range 2 {
		m, err := mmtest.StartOn(ctx, t.TempDir(), bus.Addr)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := m.Fake.Deliver(pdu); err != nil {
			m.Stop()
			t.Fatal(err)
		}
		select {
		case p := <-ch:
			checkNotification(t, p, pkg0V12)
		case <-time.After(wait):
			t.Errorf("round %d: no push delivered; log tail:\n%s", round, m.LogTail(3000))
		}
		if err := m.Stop(); err != nil {
			t.Errorf("round %d: stop: %v", round, err)
		}
	}
}

func TestConnectionClosed(t *testing.T) {
	cleanup(t)
	c, err := mmtest.Dial(rig.Bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	done := running(context.Background(), t, mm.New(c, mm.Config{}))
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, mm.ErrConnClosed) {
			t.Errorf("got %v, want ErrConnClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return after the connection closed")
	}
}

// TestServeOnClosedConnection: a connection already closed when Serve
// subscribes gives ErrConnClosed, like one that closes later.
func TestServeOnClosedConnection(t *testing.T) {
	c, err := mmtest.Dial(rig.Bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	err = mm.New(c, mm.Config{}).Serve(context.Background(), func(context.Context, wappush.Push) error { return nil })
	if !errors.Is(err, mm.ErrConnClosed) {
		t.Errorf("got %v, want ErrConnClosed", err)
	}
}
