package rig

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/bootstrap"
	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/device"
	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
	"github.com/omadm-agent/omadm-agent/tree"
)

// test-peers.md §2 (python3-gammu row): the WSP push 01 06 03 C4 AF 87 +
// DE AD BE EF in an SMS-DELIVER from +491701234567 with the port UDH.
const (
	vectorWSP = "010603C4AF87DEADBEEF"
	vectorPDU = "0791947101670000400C91947110325476000462111201000000110605040B8423F0010603C4AF87DEADBEEF"
)

func TestWSPPush(t *testing.T) {
	body, _ := hex.DecodeString("DEADBEEF")
	got := hex.EncodeToString(WSPPush(0x01, body))
	if !strings.EqualFold(got, vectorWSP) {
		t.Fatalf("WSPPush: got %s, want %s", got, vectorWSP)
	}
	p, err := wappush.Decode(WSPPush(0x01, body))
	if err != nil {
		t.Fatal(err)
	}
	if p.ContentType != "application/vnd.syncml.notification" || p.AppID != "x-wap-application:syncml.dm" || !bytes.Equal(p.Body, body) {
		t.Errorf("decoded push: got %q %q %x, want the notification type, syncml.dm and %x", p.ContentType, p.AppID, p.Body, body)
	}
}

func TestPushSMS(t *testing.T) {
	body, _ := hex.DecodeString("DEADBEEF")
	pdu, err := PushSMS(0x01, body)
	if err != nil {
		t.Fatal(err) // says "run `make deps`" when python3-gammu is missing
	}
	if pdu != vectorPDU {
		t.Errorf("PushSMS: got %s, want %s", pdu, vectorPDU)
	}
	raw, _ := hex.DecodeString(pdu)
	ud, from, err := deliverUserData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if from != Sender || !strings.EqualFold(hex.EncodeToString(ud), PushUDH+vectorWSP) {
		t.Errorf("user data: got from %q ud %x, want %q %s", from, ud, Sender, PushUDH+vectorWSP)
	}
}

func TestDescribeSMS(t *testing.T) {
	acct := DemoAccount()
	pkg0, err := notification.Encode(notification.Notification{
		UIMode: notification.UIBackground, Initiator: notification.InitiatorServer, SessionID: 0x2A17, ServerID: acct.ServerID,
	}, acct.ServerPassword, acct.ServerNonce)
	if err != nil {
		t.Fatal(err)
	}
	pdu, err := PushSMS(0x01, pkg0)
	if err != nil {
		t.Fatal(err)
	}
	got := DescribeSMS(pdu)
	for _, want := range []string{"WDP ports 9200 -> 2948", "application/vnd.syncml.notification", `session id 10775 (SessionID "2A17")`, `server id "dm.demo.example"`, "initiator server"} {
		if !strings.Contains(got, want) {
			t.Errorf("DescribeSMS: got\n%s\nwant it to contain %q", got, want)
		}
	}
	if strings.Contains(got, acct.ServerPassword) {
		t.Errorf("DescribeSMS printed the server password")
	}
}

func TestDeliverUserDataErrors(t *testing.T) {
	tests := []struct {
		name string
		pdu  string
		want string
	}{
		{"empty", "", "truncated"},
		{"SMSC only", "0791947101670000", "truncated"},
		{"submit, not deliver", "0791947101670000410C91947110325476000462111201000000110605040B8423F0010603C4AF87DEADBEEF", "not an SMS-DELIVER"},
		{"no UDHI", "0791947101670000000C91947110325476000462111201000000110605040B8423F0010603C4AF87DEADBEEF", "no user data header"},
		{"UDL mismatch", "0791947101670000400C91947110325476000462111201000000120605040B8423F0010603C4AF87DEADBEEF", "UDL 18"},
		{"short address", "0791947101670000400C9194", "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := hex.DecodeString(tc.pdu)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = deliverUserData(raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func FuzzDescribeSMS(f *testing.F) {
	f.Add(vectorPDU)
	f.Add("0791947101670000400C9194")
	f.Add("00")
	f.Fuzz(func(t *testing.T, pdu string) {
		if s := DescribeSMS(pdu); s == "" {
			t.Fatal("empty description")
		}
		if raw, err := hex.DecodeString(pdu); err == nil {
			if ud, _, err := deliverUserData(raw); err == nil && len(ud) > len(raw) {
				t.Fatalf("user data longer than the PDU")
			}
		}
	})
}

// The generated bootstrap document is accepted by agent/bootstrap and gives
// the account and the ACL grant the rest of the rig relies on.
func TestBootstrapXMLApplies(t *testing.T) {
	ctx := context.Background()
	tr, err := device.OpenTree(ctx, device.Options{StateDir: t.TempDir(), Device: config.Default().Device, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	a := DemoAccount()
	a.URL = "https://127.0.0.1:4443/dm"
	rep, err := bootstrap.Apply(ctx, tr, a.BootstrapXML(), bootstrap.Options{Origin: "file"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Added) != 1 || rep.Added[0] != a.ServerID {
		t.Errorf("added accounts: got %v, want [%s]", rep.Added, a.ServerID)
	}
	acc, err := dmacc.New(tr).Account(ctx, a.ServerID)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Addr != a.URL || acc.AuthPref != "DIGEST" {
		t.Errorf("account: got Addr %q AuthPref %q, want %q DIGEST", acc.Addr, acc.AuthPref, a.URL)
	}
	if acc.Client.Name != a.ClientUser || acc.Client.Secret != a.ClientPassword || !bytes.Equal(acc.Client.Nonce, a.ClientNonce) || acc.Client.Type != "DIGEST" {
		t.Errorf("CLCRED: got %s (nonce %q), want %s/%q", acc.Client, acc.Client.Nonce, a.ClientUser, a.ClientNonce)
	}
	if acc.Server.Name != a.ServerID || acc.Server.Secret != a.ServerPassword || !bytes.Equal(acc.Server.Nonce, a.ServerNonce) {
		t.Errorf("SRVCRED: got %s (nonce %q), want %s/%q", acc.Server, acc.Server.Nonce, a.ServerID, a.ServerNonce)
	}
	res, err := tr.Get(ctx, tree.LocalPrincipal, "./Vendor/omadm?prop=ACL")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || string(res.Items[0].Data) != "Get=*&Replace="+a.ServerID {
		t.Errorf("./Vendor/omadm ACL: got %+v, want Get=*&Replace=%s", res.Items, a.ServerID)
	}
}

func TestAgentConfigTOML(t *testing.T) {
	c := AgentConfig{StateDir: "/tmp/x/state", ModemDevice: "/tmp/x/modem", CAFile: "/tmp/x/ca.pem", DevID: "IMEI:1"}
	cfg, _, err := config.Parse("agent.toml", bytes.NewReader(c.TOML()))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Modem.Enabled || cfg.Modem.Device != c.ModemDevice || cfg.Transport.CAFile != c.CAFile ||
		cfg.Agent.StateDir != c.StateDir || cfg.Device.DevID != c.DevID || cfg.DBus.Bus != "system" || cfg.Agent.LogLevel != "debug" {
		t.Errorf("parsed config: got %+v", cfg)
	}
	c.Extra = "[bogus]\nkey = 1"
	if _, _, err := config.Parse("agent.toml", bytes.NewReader(c.TOML())); err == nil {
		t.Errorf("an unknown table was accepted")
	} else if !errors.Is(err, config.ErrUnknownKey) {
		t.Logf("error: %v", err)
	}
}
