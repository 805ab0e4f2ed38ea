package session

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
	"github.com/omadm-agent/omadm-agent/tree"
)

// Defaults of Config.
const (
	DefaultMaxMsgSize = 16384
	DefaultMaxObjSize = 1 << 20
	DefaultDeadline   = 10 * time.Minute
	// DefaultAuthAttempts bounds how often Package 1 is sent again after a
	// 401/407 challenge, and how often the server is challenged.
	DefaultAuthAttempts = 3
	// abortTimeout bounds the best-effort Alert 1223 sent on a local abort.
	abortTimeout = 5 * time.Second
)

// Accounts is what the engine needs from the DMAcc store; *dmacc.Store
// implements it.
type Accounts interface {
	Account(ctx context.Context, serverID string) (dmacc.Account, error)
	SetNonce(ctx context.Context, serverID, level string, nonce []byte) error
}

// Outbox is what the engine needs from the pending-alert store;
// *outbox.Outbox implements it.
// Entries carry the ServerID they are for; a session sends only its
// server's.
type Outbox interface {
	Add(serverID string, a tree.Alert) (string, error)
	Pending() ([]outbox.Entry, error)
	Ack(ids ...string) error
}

// Initiator says who started the session: Alert 1201 (client) or 1200
// (server, after a Package #0).
type Initiator int

// Initiators.
const (
	ClientInitiated Initiator = iota
	ServerInitiated
)

func (i Initiator) alert() syncml.AlertCode {
	if i == ServerInitiated {
		return syncml.AlertServerInitiatedMgmt
	}
	return syncml.AlertClientInitiatedMgmt
}

func (i Initiator) String() string {
	if i == ServerInitiated {
		return "server"
	}
	return "client"
}

// Trigger asks for one session.
type Trigger struct {
	ServerID  string
	Initiator Initiator
	// SessionID is the SyncHdr SessionID: the Package #0 session id in hex
	// for a server-initiated session; generated when empty. "0" is legal.
	SessionID string
	// Alerts are generic alerts to send in Package 1. With a Config.Outbox
	// they are persisted there first (for ServerID) and sent with every
	// other alert pending for ServerID.
	Alerts []tree.Alert
	// NonceReset: the Package #0 verified only with the resync nonce
	// 0x00000000 (Notification §6.2); our first Cred is built on it.
	NonceReset bool
}

// Config configures an Engine. Tree and Accounts are required.
type Config struct {
	Tree     *tree.Tree
	Accounts Accounts

	// HTTPClient, if nil, is built from Transport by NewHTTPClient.
	HTTPClient *http.Client
	Transport  Transport

	// XML selects XML for every server not listed in Encodings; the
	// default is WBXML.
	XML       bool
	Encodings map[string]syncml.Encoding

	// MaxMsgSize and MaxObjSize are ours, advertised in every SyncHdr.
	MaxMsgSize int
	MaxObjSize int

	// Deadline bounds a whole session (0: DefaultDeadline; <0: none).
	Deadline time.Duration
	// AuthAttempts bounds re-authentication rounds (0: DefaultAuthAttempts).
	AuthAttempts int

	// UI answers UI alerts 1100-1104; nil means Headless{} (accept
	// confirmations, DR defaults for input).
	UI UIHandler

	// Outbox keeps generic alerts until the server acknowledges them.
	Outbox Outbox

	// RecordDir, if set, gets one sub-directory per session holding every
	// message (secrets redacted) and an index.
	RecordDir string

	Logger *slog.Logger

	// DevID returns the device id (SyncHdr Source). Nil: ./DevInfo/DevId.
	DevID func(ctx context.Context) (string, error)

	// UserAgent is sent in User-Agent (default "omadm-agent/dev").
	UserAgent string
}

// Transport configures the HTTP client NewHTTPClient builds and the retry
// policy (used with any client).
type Transport struct {
	// CAFile is a PEM bundle replacing the system roots; CAPEM likewise
	// (both may be given). Empty: system roots (SSL_CERT_FILE honoured).
	CAFile string
	CAPEM  []byte
	// ClientCert and ClientKey are PEM files for TLS client authentication.
	ClientCert, ClientKey string
	// PinSHA256 lists base64 or hex SHA-256 digests of SubjectPublicKeyInfo;
	// if set, one certificate of the verified chain must match.
	PinSHA256 []string
	// Proxy is an http://, https:// or socks5:// URL; empty means the
	// environment (HTTPS_PROXY, NO_PROXY ...).
	Proxy string

	ConnectTimeout time.Duration // default 30s
	RequestTimeout time.Duration // default 2m, per POST

	// ConnRetryFreq, InitialBackoff and MaxBackoff are the w7 CONNRETRYFREQ,
	// INITIALBACKOFFTIME and MAXBACKOFFTIME (defaults 3, 16s, 24h): retry n
	// waits min(InitialBackoff*2^(n-1), MaxBackoff). ConnRetryFreq < 0
	// disables retries.
	ConnRetryFreq  int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

func (t Transport) withDefaults() Transport {
	if t.ConnectTimeout == 0 {
		t.ConnectTimeout = 30 * time.Second
	}
	if t.RequestTimeout == 0 {
		t.RequestTimeout = 2 * time.Minute
	}
	if t.ConnRetryFreq == 0 {
		t.ConnRetryFreq = 3
	}
	if t.InitialBackoff == 0 {
		t.InitialBackoff = 16 * time.Second
	}
	if t.MaxBackoff == 0 {
		t.MaxBackoff = 24 * time.Hour
	}
	return t
}

// backoff returns the wait before retry n (1-based) and false when retries
// are exhausted.
func (t Transport) backoff(n int) (time.Duration, bool) {
	if n < 1 || n > t.ConnRetryFreq {
		return 0, false
	}
	d := t.InitialBackoff
	for i := 1; i < n; i++ {
		if d >= t.MaxBackoff/2 {
			d = t.MaxBackoff
			break
		}
		d *= 2
	}
	return min(d, t.MaxBackoff), true
}

// Summary describes a finished session.
type Summary struct {
	ServerID  string
	SessionID string
	Initiator Initiator
	Started   time.Time
	Duration  time.Duration
	// MessagesSent/Received count SyncML messages; RoundTrips counts POSTs
	// that got a response.
	MessagesSent, MessagesReceived, RoundTrips int
	// Commands counts server commands answered; Statuses counts the status
	// codes sent, per code.
	Commands int
	Statuses map[int]int
	// AlertsSent and AlertsAcked count generic alerts.
	AlertsSent, AlertsAcked int
	// ClientAuthenticated: the server accepted our credentials (212, or
	// 200 without challenge). ServerAuthenticated: the server proved itself
	// (Cred/HMAC against SRVCRED, or TLS when no SRVCRED auth is required).
	ClientAuthenticated, ServerAuthenticated bool
	// Result is "ok", "aborted by server", "aborted" or "failed".
	Result string
	// RecordDir is where the session was recorded, if it was.
	RecordDir string
}
