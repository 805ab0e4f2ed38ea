package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/cmd/omadm-demo/rig"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// quietFor is how long a refused push must leave the test server without a
// request (the agent logs its decision first, so this is on top of that).
const quietFor = 2 * time.Second

// A server-initiated session from an SMS: +CMTI on the pty, the agent reads
// and decodes the PDU, verifies the Package #0 digest, answers over HTTPS
// with Alert 1200 and the notification's SessionID, and deletes the SMS.
func TestPushStartsServerInitiatedSession(t *testing.T) {
	w := start(t, "push-1200", `
recv
expect alert 1200
expect sessionid 1A2B
expect devinfo
send <Get><CmdID>1</CmdID><Item><Target><LocURI>./DevInfo/DevId</LocURI></Target></Item></Get>
recv
expect status 1 200
expect results ./DevInfo/DevId = IMEI:490154203237518
end
`)
	mark := w.agent.Mark()
	idx := w.deliver(w.sms(w.notify(0x1A2B)))
	w.waitDone()

	exs := w.srv.Transcript()
	sid, alerts := sessionStart(t, exs, 0)
	if sid != "1A2B" {
		t.Errorf("package 1 SessionID: got %q, want %q (Package #0 session id 0x1A2B)", sid, "1A2B")
	}
	if !slices.Equal(alerts, []syncml.AlertCode{syncml.AlertServerInitiatedMgmt}) {
		t.Errorf("package 1 alerts: got %v, want [1200]", alerts)
	}
	if l := w.routed(mark); !strings.Contains(l, "action=queued") || !strings.Contains(l, "session_id=1A2B") {
		t.Errorf("routing log line: got %s, want action=queued session_id=1A2B", l)
	}
	if !w.fake.WaitCommand(fmt.Sprintf("AT+CMGD=%d", idx), 1, 5*time.Second) {
		t.Errorf("the accepted push was not deleted from the modem (commands %q)", w.fake.Commands())
	}
	if w.waitStored(idx, false) {
		t.Errorf("modem storage after the session: got %v, want empty", w.fake.Stored())
	}
}

// Pushes that must start nothing: a forged digest, an unknown ServerID and
// the replay of an SMS already acted on. The test server sees no request
// within a bounded wait, and the agent's log says why; the good push in the
// middle shows the set-up works and is what the replay repeats.
//
// The server authenticates with BASIC here: with DIGEST (or HMAC) server
// credentials the session renews the server nonce, so a replayed Package #0
// fails the digest check before the replay check is reached (see
// TestReplayAfterDigestSession).
func TestRefusedPushesStartNothing(t *testing.T) {
	w := start(t, "refusals", `
recv
expect alert 1200
expect sessionid 77
expect devinfo
end
`, func(a *rig.Account) { a.ServerAuth = "BASIC" })
	good := w.notify(0x77) // the session the server wants; sent third

	forged := slices.Clone(good)
	forged[3] ^= 0x5A // one digest octet

	unknown, err := notification.Encode(notification.Notification{
		UIMode: notification.UIBackground, Initiator: notification.InitiatorServer,
		SessionID: 0x78, ServerID: "dm.unknown.example",
	}, w.acct.ServerPassword, w.acct.ServerNonce)
	if err != nil {
		t.Fatal(err)
	}

	// The cases run in this order on one agent: the forged push (same
	// session id as the good one) must not count as "already notified".
	tests := []struct {
		name      string
		pkg0      []byte
		sessionID string // in the "push routed" log line
		reason    string // in the "push routed" log line
		starts    bool   // a session must start (else: no request at all)
		kept      bool   // the SMS stays on the modem (for its own DM client)
	}{
		{name: "forged digest", pkg0: forged, sessionID: "77", reason: "digest does not match"},
		{name: "unknown ServerID", pkg0: unknown, sessionID: "78", reason: "unknown ServerID", kept: true},
		{name: "good", pkg0: good, sessionID: "77", reason: "verified with stored nonce", starts: true},
		{name: "replay of the good SMS", pkg0: good, sessionID: "77", reason: "replay: session 77 already notified"},
	}
	parent := w.t
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w.t = t
			before := len(w.srv.Transcript())
			mark := w.agent.Mark()
			idx := w.deliver(w.sms(tc.pkg0))
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			line, err := w.agent.WaitLine(ctx, mark, rig.Contains(`msg="push routed"`, "session_id="+tc.sessionID))
			cancel()
			if err != nil {
				t.Fatalf("no \"push routed\" log line for session %s: %v", tc.sessionID, err)
			}
			if !strings.Contains(line, tc.reason) {
				t.Errorf("routing log line: got %s, want reason %q", line, tc.reason)
			}
			if tc.starts {
				w.waitDone()
			} else {
				w.quiet(before, quietFor)
			}
			if stored := w.waitStored(idx, tc.kept); stored != tc.kept {
				t.Errorf("SMS %d still on the modem: got %t, want %t (modem commands: %q)", idx, stored, tc.kept, w.fake.Commands())
			}
		})
	}
	w.t = parent
	exs := w.srv.Transcript()
	sid, alerts := sessionStart(t, exs, 0)
	if sid != "77" || !slices.Equal(alerts, []syncml.AlertCode{syncml.AlertServerInitiatedMgmt}) {
		t.Errorf("the one session: SessionID %q alerts %v, want 77 [1200]", sid, alerts)
	}
}

// A replay of a Package #0 after the session it started, with DIGEST
// server credentials: the agent renewed the server nonce in that session,
// so the old digest no longer verifies; nothing starts either way.
func TestReplayAfterDigestSession(t *testing.T) {
	w := start(t, "replay-digest", `
recv
expect alert 1200
expect sessionid 99
expect devinfo
send <Get><CmdID>1</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>
recv
expect status 1 200
end
`)
	pdu := w.sms(w.notify(0x99))
	w.deliver(pdu)
	w.waitDone()
	n := len(w.srv.Transcript())
	mark := w.agent.Mark()
	// Marked before the delivery: the storage index may be reused, and a
	// count of its deletes taken after the delivery can already include
	// this one (the agent may delete it first), so waiting for one more
	// would never end.
	cmds := w.fake.Mark()
	idx := w.deliver(pdu)
	del := fmt.Sprintf("AT+CMGD=%d", idx)
	line := w.routed(mark)
	if !strings.Contains(line, "action=refused") {
		t.Errorf("replayed push: got %s, want action=refused", line)
	}
	w.quiet(n, quietFor)
	if !w.fake.WaitCommandSince(cmds, del, 5*time.Second) {
		t.Errorf("the refused push was not consumed (deleted) on the modem: %q", w.fake.Commands())
	}
}

// Unplug the modem (the pty closes, the device path disappears) while the
// agent runs, plug it back: the agent reopens it and handles the next push.
// The push after the replug is signed with the server nonce the agent issued
// in the first session, as a real server would do.
func TestModemUnplugReplug(t *testing.T) {
	w := start(t, "replug", `
recv
expect alert 1200
expect sessionid 101
expect devinfo
send <Get><CmdID>1</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>
recv
expect status 1 200
recv
expect alert 1200
expect sessionid 202
expect devinfo
send <Get><CmdID>2</CmdID><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>
recv
expect status 2 200
end
`)
	// A first push and session before the unplug (two packages, so the
	// agent's Chal with the new server nonce reaches the server).
	w.deliver(w.sms(w.notify(0x101)))
	deadline := time.Now().Add(20 * time.Second)
	for len(w.srv.Transcript()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(w.srv.Transcript()); n < 2 {
		t.Fatalf("first session: %d exchanges, want 2", n)
	}
	if got := w.modemState(); got != "ready" {
		t.Fatalf("ModemState before the unplug: got %q, want ready", got)
	}

	w.fake.Unplug()
	gone := w.waitModemState(`not "ready"`, func(s string) bool { return s != "ready" })
	t.Logf("ModemState after the unplug: %q", gone)

	if err := w.fake.Replug(); err != nil {
		t.Fatal(err)
	}
	w.waitModemReady(2)
	w.waitModemState(`"ready"`, func(s string) bool { return s == "ready" })

	nonce := lastServerNonce(t, w.srv.Transcript())
	if nonce == nil {
		t.Fatal("the agent issued no server nonce in the first session")
	}
	w.notify(0x202) // tells the test server which session to expect
	pkg0, err := notification.Encode(notification.Notification{
		UIMode: notification.UIBackground, Initiator: notification.InitiatorServer,
		SessionID: 0x202, ServerID: w.acct.ServerID,
	}, w.acct.ServerPassword, nonce)
	if err != nil {
		t.Fatal(err)
	}
	mark := w.agent.Mark()
	w.deliver(w.sms(pkg0))
	if l := w.routed(mark); !strings.Contains(l, "action=queued") {
		t.Fatalf("push after the replug: got %s, want action=queued", l)
	}
	w.waitDone()
	exs := w.srv.Transcript()
	var sids []string
	for i, x := range exs {
		if x.Request != nil && x.Request.Hdr.MsgID == "1" {
			sid, _ := sessionStart(t, exs, i)
			sids = append(sids, sid)
		}
	}
	if !slices.Equal(sids, []string{"101", "202"}) {
		t.Errorf("sessions: got %v, want [101 202]", sids)
	}
}
