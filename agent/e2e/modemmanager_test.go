package e2e

import (
	"testing"
	"time"
)

// TestPushThroughModemManager: with [modem] backend = "modemmanager" the
// real ModemManager owns the modem (test mode, a fake AT modem on a unix
// socket). An authenticated WAP-push SMS reaches ModemManager (+CMTI,
// AT+CMGR), the agent reads it from ModemManager's Messaging API, runs
// the server-initiated session, and has ModemManager delete the message
// (AT+CMGD on the modem). The modem object ./Vendor/omadm/Modem shows
// ModemManager's view of the modem.
func TestPushThroughModemManager(t *testing.T) {
	w := startWith(t, "push-modemmanager", `
recv
expect alert 1200
expect sessionid 2C
send <Get><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/omadm/Modem/Manufacturer</LocURI></Target></Item></Get>
recv
expect status 1 200
expect results ./Vendor/omadm/Modem/Manufacturer ~ .
end
`, worldOpts{modemManager: true})

	idx, err := w.mm.Fake.Deliver(w.sms(w.notify(0x2C)))
	if err != nil {
		t.Fatal(err)
	}
	w.waitDone()

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, stored := w.mm.Fake.Stored()[idx]; !stored {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("the handled push is still in the modem's storage at index %d (commands %q)", idx, w.mm.Fake.Commands())
}
