package modem_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/modem/modemtest"
)

// BenchmarkCMTIToPush measures the time from the +CMTI line written by the
// fake modem to the push received on Run's channel (+CMGR round trip over
// the pty, PDU and WSP decoding included; the +CMGD that follows is not).
func BenchmarkCMTIToPush(b *testing.B) {
	pdu := encode(b, modemtest.PDUSpec{UDH: portUDH, Data: wspHead + pkg0V12})[0]
	h := newHarness(b, modem.Config{}, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		idx := h.deliver(pdu)
		h.push()
		b.StopTimer()
		h.waitDeleted(idx)
		b.StartTimer()
	}
}

// ctxSwitches sums voluntary context switches of every thread of the process.
func ctxSwitches(tb testing.TB) int64 {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // thread exited
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "voluntary_ctxt_switches:"); ok {
				x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += x
			}
		}
	}
	return n
}

// BenchmarkIdleWakeups runs the modem loop with no traffic for 1 s per
// iteration and reports the loop's wakeups (select returns) and the whole
// test process's voluntary context switches per second.
func BenchmarkIdleWakeups(b *testing.B) {
	h := newHarness(b, modem.Config{}, nil)
	time.Sleep(200 * time.Millisecond) // let the start-up sweep settle
	w0, c0 := modem.Wakeups(h.m), ctxSwitches(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Second)
	}
	b.StopTimer()
	secs := float64(b.N)
	b.ReportMetric(float64(modem.Wakeups(h.m)-w0)/secs, "loopwakeups/s")
	b.ReportMetric(float64(ctxSwitches(b)-c0)/secs, "ctxsw/s")
}

// TestIdleLoopDoesNotPoll asserts the loop sleeps without traffic.
func TestIdleLoopDoesNotPoll(t *testing.T) {
	h := newHarness(t, modem.Config{}, nil)
	time.Sleep(100 * time.Millisecond)
	w0 := modem.Wakeups(h.m)
	time.Sleep(1500 * time.Millisecond)
	if d := modem.Wakeups(h.m) - w0; d != 0 {
		t.Fatalf("got %d loop wakeups in 1.5 s idle, want 0", d)
	}
}
