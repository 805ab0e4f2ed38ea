package dmtest

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// Authentication modes of Options.Auth and the scenario directive "auth".
const (
	AuthNone  = "none"
	AuthBasic = "basic"
	AuthMD5   = "md5"
	AuthHMAC  = "hmac"
)

// Options configure a Server. Zero values are replaced by the scenario's
// header directives, then by the defaults noted on each field.
type Options struct {
	// ServerID is the server identifier (DMAcc ServerID). It names the
	// server in its own Cred, in its x-syncml-hmac header and in Package #0
	// (the SyncHdr Source/LocURI of server messages is the URL).
	// Default "omadm-dmtest".
	ServerID string
	// ServerPassword is the server's secret (SRVCRED AAuthSecret). It is
	// used for the server's Cred, its x-syncml-hmac header and the
	// Package #0 digest. Never printed.
	ServerPassword string
	// ServerNonce is the nonce the client issued to the server (SRVCRED
	// AAuthData, binary), used for the server's md5 Cred, HMAC and Package #0.
	ServerNonce []byte
	// ClientUser and ClientPassword are the client credentials the server
	// accepts (CLCRED AAuthName / AAuthSecret). Never printed.
	ClientUser, ClientPassword string
	// ClientNonce is the nonce the server issued to the client in an earlier
	// session (CLCRED AAuthData, binary): the client's first md5 Cred or HMAC
	// must be computed with it.
	ClientNonce []byte
	// Auth is the authentication the server requires from the client:
	// none, basic, md5 or hmac. Empty: the scenario's "auth" directive,
	// else none.
	Auth string
	// Encoding of the server's replies: "xml", "wbxml", or empty to reply in
	// the encoding of each client message.
	Encoding string
	// MaxMsgSize is advertised in the server's SyncHdr Meta and checked on
	// every client message. 0: the scenario's "maxmsgsize", else none.
	MaxMsgSize int
	// MaxObjSize is advertised in the server's SyncHdr Meta (0: scenario's
	// "maxobjsize", else none).
	MaxObjSize int
	// Logger receives one record per exchange and per failed check. Nil:
	// discard. Secrets are never logged.
	Logger *slog.Logger
	// Plain serves plain HTTP instead of HTTPS.
	Plain bool
	// Addr is the listen address. Default "127.0.0.1:0".
	Addr string
	// PublicHost is the host name or address put in URL() and in the
	// server certificate (besides 127.0.0.1, ::1, localhost and the listen
	// address), e.g. the lab machine's address when a device on the network
	// is the client. Default: the listen host, or 127.0.0.1.
	PublicHost string
	// Path is the URL path of the DM endpoint. Default "/dm".
	Path string
	// Timeout bounds the whole scenario: when it expires the scenario fails
	// and Done is closed. 0: the scenario's "timeout", else no limit.
	Timeout time.Duration
}

// Check is one line of a Report.
type Check struct {
	// Name is a built-in check name (see Checks) or, for a scenario
	// expectation, "line N: <the line>".
	Name string
	Pass bool
	// Detail explains the outcome for a human: what was seen, what was
	// expected, which message.
	Detail string
	// Advisory checks are reported but do not make the report fail
	// (recommended behaviour such as the optional HTTP headers of §5.8).
	Advisory bool
}

// Report is the outcome of a scenario run.
type Report struct {
	Scenario string
	Checks   []Check
}

// Passed reports whether every non-advisory check passed and at least one
// check ran.
func (r Report) Passed() bool {
	if len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.Pass && !c.Advisory {
			return false
		}
	}
	return true
}

// Failed returns the checks that failed (advisory ones included).
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

// String renders the report for humans: one line per check, PASS, FAIL or
// WARN (a failed advisory check), then a summary line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario %s\n", r.Scenario)
	pass, fail, warn := 0, 0, 0
	for _, c := range r.Checks {
		tag := "PASS"
		switch {
		case c.Pass:
			pass++
		case c.Advisory:
			tag = "WARN"
			warn++
		default:
			tag = "FAIL"
			fail++
		}
		fmt.Fprintf(&b, "  %s  %s", tag, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(&b, ": %s", c.Detail)
		}
		b.WriteByte('\n')
	}
	verdict := "PASSED"
	if !r.Passed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "%s: %d passed, %d failed, %d warnings\n", verdict, pass, fail, warn)
	return b.String()
}

// Exchange is one HTTP request and its response as the server saw them.
type Exchange struct {
	Time time.Time
	// Request side.
	Method          string
	Path            string
	RequestType     string // Content-Type header
	RequestSize     int
	Request         *syncml.Message // nil if the body did not decode
	RequestEncoding syncml.Encoding
	RequestErr      string // decode error, if any
	// Response side.
	HTTPStatus       int
	ResponseType     string // Content-Type header ("" if none)
	ResponseSize     int
	Response         *syncml.Message // nil for faults without a message
	ResponseEncoding syncml.Encoding
	// Fault names the fault injected instead of (or into) the normal reply:
	// "http 500", "garbage", "truncate", "close", "stall 2s",
	// "content-type text/html"; empty for a normal reply.
	Fault string
	// Notes are remarks of the engine on this exchange (challenges, chunk
	// reassembly, failed checks), for the transcript.
	Notes []string
}

// Errors.
var (
	// ErrScenario wraps every scenario syntax error (see *ScenarioError).
	ErrScenario = errors.New("scenario error")
	// ErrClosed is returned by methods of a closed Server.
	ErrClosed = errors.New("dmtest: server closed")
)

// ScenarioError reports a scenario file problem with its line.
type ScenarioError struct {
	Name string // scenario name or file
	Line int
	Msg  string
}

func (e *ScenarioError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
}

// Unwrap returns ErrScenario.
func (e *ScenarioError) Unwrap() error { return ErrScenario }
