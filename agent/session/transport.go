package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// Errors callers branch on.
var (
	// ErrTransport wraps every failure to exchange a message over HTTP;
	// see IsTransient for the classification.
	ErrTransport = errors.New("session: transport")
	// ErrContentType: the response is not a SyncML DM message of the
	// announced Content-Type.
	ErrContentType = errors.New("session: wrong content type")
	// ErrProtocol: the server broke the protocol (undecodable message,
	// wrong SessionID ...).
	ErrProtocol = errors.New("session: protocol error")
	// ErrAuth: authentication failed (the server rejected us, or did not
	// authenticate itself, within the allowed attempts).
	ErrAuth = errors.New("session: authentication failed")
	// ErrAborted: the session was aborted (locally, or by the server's
	// Alert 1223 — see ErrServerAbort).
	ErrAborted     = errors.New("session: aborted")
	ErrServerAbort = fmt.Errorf("%w by the server (Alert 1223)", ErrAborted)
	// ErrUnknownServer: no valid ./DMAcc account has the trigger's ServerID.
	ErrUnknownServer = errors.New("session: unknown server")
)

// errPinMismatch: the server's chain matches no configured pin (fatal).
var errPinMismatch = errors.New("no certificate matches the pinned SPKI SHA-256")

// TransportError describes a failed POST.
type TransportError struct {
	URL        string
	HTTPStatus int  // 0 when no response was received
	Transient  bool // worth retrying later (network, 5xx); false: fix something first (TLS trust, 4xx)
	Sent       bool // the request may have reached the server
	Err        error
}

func (e *TransportError) Error() string {
	u := e.URL
	if pu, err := url.Parse(e.URL); err == nil {
		pu.User = nil
		pu.RawQuery = ""
		u = pu.String()
	}
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("POST %s: HTTP %d: %v", u, e.HTTPStatus, e.Err)
	}
	return fmt.Sprintf("POST %s: %v", u, e.Err)
}

func (e *TransportError) Unwrap() []error { return []error{ErrTransport, e.Err} }

// IsTransient reports whether err is a transport failure worth retrying
// later (connection refused or reset, timeouts, HTTP 5xx); certificate and
// protocol errors are not.
func IsTransient(err error) bool {
	var te *TransportError
	return errors.As(err, &te) && te.Transient
}

// NewHTTPClient builds the HTTP client of t: TLS 1.2 or newer, the system
// roots (SSL_CERT_FILE and SSL_CERT_DIR honoured by crypto/x509) or the
// configured CA bundle, an optional client certificate, optional SPKI
// SHA-256 pinning, the configured or environment proxy, and timeouts.
func NewHTTPClient(t Transport) (*http.Client, error) {
	t = t.withDefaults()
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CAFile != "" || len(t.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("session: CA bundle: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("session: CA bundle %s: no certificate", t.CAFile)
			}
		}
		if len(t.CAPEM) > 0 && !pool.AppendCertsFromPEM(t.CAPEM) {
			return nil, errors.New("session: CA PEM: no certificate")
		}
		tc.RootCAs = pool
	}
	if t.ClientCert != "" || t.ClientKey != "" {
		cert, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("session: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if len(t.PinSHA256) > 0 {
		pins := make([][]byte, 0, len(t.PinSHA256))
		for _, p := range t.PinSHA256 {
			b, err := decodePin(p)
			if err != nil {
				return nil, err
			}
			pins = append(pins, b)
		}
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				for _, c := range chain {
					sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
					for _, p := range pins {
						if bytes.Equal(sum[:], p) {
							return nil
						}
					}
				}
			}
			return errPinMismatch
		}
	}
	proxy := http.ProxyFromEnvironment
	if t.Proxy != "" {
		pu, err := url.Parse(t.Proxy)
		if err != nil || pu.Host == "" {
			return nil, fmt.Errorf("session: bad proxy URL")
		}
		switch pu.Scheme {
		case "http", "https", "socks5":
		default:
			return nil, fmt.Errorf("session: proxy scheme %q not supported", pu.Scheme)
		}
		proxy = http.ProxyURL(pu)
	}
	d := &net.Dialer{Timeout: t.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           d.DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   t.ConnectTimeout,
		ResponseHeaderTimeout: t.RequestTimeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4,
		ForceAttemptHTTP2:     false,
	}
	return &http.Client{Transport: tr, Timeout: t.RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

func decodePin(p string) ([]byte, error) {
	p = strings.TrimPrefix(strings.TrimSpace(p), "sha256/")
	if b, err := hex.DecodeString(p); err == nil && len(b) == sha256.Size {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(p); err == nil && len(b) == sha256.Size {
		return b, nil
	}
	return nil, fmt.Errorf("session: pin %q is not a SHA-256 digest in hex or base64", p)
}

// exchange is one POST and its decoded answer.
type exchange struct {
	body []byte
	msg  *syncml.Message
	enc  syncml.Encoding
	hmac string // x-syncml-hmac of the response, if any
}

// post sends body to u and returns the response, checked: HTTP 200, a
// SyncML DM Content-Type that matches the body, a decodable message.
// Transport failures are retried per policy when retry is true.
func (s *session) post(ctx context.Context, u string, body []byte, hmacHdr string, retry bool) (*exchange, error) {
	for attempt := 0; ; attempt++ {
		ex, err := s.postOnce(ctx, u, body, hmacHdr)
		if err == nil {
			return ex, nil
		}
		var te *TransportError
		if !retry || !errors.As(err, &te) || !te.Transient || ctx.Err() != nil {
			return nil, err
		}
		// Mid-session, only retry what surely never reached the server.
		if te.Sent && !s.firstExchange() {
			return nil, err
		}
		wait, ok := s.tp.backoff(attempt + 1)
		if !ok {
			return nil, err
		}
		s.log.Warn("transport failed, retrying", "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

func (s *session) postOnce(ctx context.Context, u string, body []byte, hmacHdr string) (*exchange, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, &TransportError{URL: u, Err: err}
	}
	req.Header.Set("Content-Type", s.enc.ContentType())
	req.Header.Set("Accept", s.enc.ContentType())
	req.Header.Set("Accept-Charset", "utf-8")
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("Cache-Control", "private")
	req.Header.Set("User-Agent", s.userAgent)
	if hmacHdr != "" {
		req.Header.Set(auth.HMACHeaderName, hmacHdr)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, &TransportError{URL: u, Transient: transientNetErr(err), Sent: !isDialErr(err), Err: err}
	}
	defer resp.Body.Close()
	limit := int64(s.maxMsg) + int64(s.maxObj) + 64<<10
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &TransportError{URL: u, HTTPStatus: resp.StatusCode, Transient: true, Sent: true, Err: fmt.Errorf("reading response: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &TransportError{URL: u, HTTPStatus: resp.StatusCode, Sent: true,
			Transient: resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout,
			Err:       errors.New(http.StatusText(resp.StatusCode))}
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: response larger than %d bytes", ErrProtocol, limit)
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	s.recordIn(data, resp.Header.Get(auth.HMACHeaderName))
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty response body (Content-Type %q)", ErrProtocol, ct)
	}
	msg, enc, err := syncml.Decode(data)
	if err != nil {
		if mt != syncml.ContentTypeWBXML && mt != syncml.ContentTypeXML {
			return nil, fmt.Errorf("%w: %q is not a SyncML DM message", ErrContentType, ct)
		}
		return nil, fmt.Errorf("%w: undecodable %s message: %w", ErrProtocol, mt, err)
	}
	if mt != enc.ContentType() {
		return nil, fmt.Errorf("%w: body is %s but Content-Type is %q", ErrContentType, enc, ct)
	}
	return &exchange{body: data, msg: msg, enc: enc, hmac: resp.Header.Get(auth.HMACHeaderName)}, nil
}

// isDialErr reports whether err happened before anything was sent.
func isDialErr(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) || errors.Is(err, syscall.ECONNREFUSED)
}

// transientNetErr classifies a client.Do error.
func transientNetErr(err error) bool {
	var (
		cerr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		rerr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &cerr), errors.As(err, &uerr), errors.As(err, &herr), errors.As(err, &rerr):
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, errPinMismatch):
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "unsupported protocol scheme") {
		return false
	}
	if strings.Contains(err.Error(), "tls: ") {
		return false
	}
	return true
}
