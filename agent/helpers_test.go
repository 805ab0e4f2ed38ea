package agent

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/notification"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/modem/wappush"
)

// The protocol.md §1.6 vector account.
const (
	vecServer   = "com.mgmtsrv.manage"
	vecPassword = "serverpassword"
	vecNonce    = "srvnonce"
	vecIMSI     = "234150999999999"
	vecPushMAC  = "CCE7A84919C94383788FCCE5E72C6CD791406C2A" // protocol.md §2.4, NETWPIN
)

// fakeAccounts is an AccountStore over a map, safe for concurrent use.
type fakeAccounts struct {
	mu   sync.Mutex
	accs map[string]dmacc.Account
}

func newAccounts(ids ...string) *fakeAccounts {
	f := &fakeAccounts{accs: map[string]dmacc.Account{}}
	for _, id := range ids {
		f.add(id)
	}
	return f
}

func (f *fakeAccounts) add(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accs[id] = dmacc.Account{
		Node: "./DMAcc/" + id, ServerID: id, Addr: "https://" + id + "/dm",
		Server: dmacc.Credential{Node: "./DMAcc/" + id + "/AppAuth/2", Type: "DIGEST", Name: id, Secret: vecPassword, Nonce: []byte(vecNonce)},
	}
}

func (f *fakeAccounts) set(a dmacc.Account) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accs[a.ServerID] = a
}

func (f *fakeAccounts) Account(_ context.Context, id string) (dmacc.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accs[id]
	if !ok {
		return dmacc.Account{}, fmt.Errorf("%w: %q", dmacc.ErrUnknownServer, id)
	}
	return a, nil
}

func (f *fakeAccounts) Accounts(context.Context) ([]dmacc.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]dmacc.Account, 0, len(f.accs))
	for _, a := range f.accs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServerID < out[j].ServerID })
	return out, nil
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// pkg0 builds a Package #0 for server with the given session id and ui mode,
// its digest computed with password and nonce.
func pkg0(t testing.TB, server string, session uint16, ui notification.UIMode, password string, nonce []byte) []byte {
	t.Helper()
	b, err := notification.Encode(notification.Notification{
		UIMode: ui, Initiator: notification.Initiator(1), SessionID: session, ServerID: server,
	}, password, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func notifPush(body []byte) wappush.Push {
	return wappush.Push{ContentType: CTNotification, ContentTypeCode: wappush.CodeSyncMLNotification, SEC: wappush.SECNone, Body: body}
}

func readTestdata(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hmacSHA1Hex(key, body []byte) string {
	m := hmac.New(sha1.New, key)
	m.Write(body)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}
