package dmtest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/notification"
)

// maxRequestBody bounds what the server reads of one request.
const maxRequestBody = 16 << 20

// Server is a scripted OMA DM 1.2 server running one Scenario. It serves
// HTTP requests on its own goroutines (net/http); all scenario state is
// guarded by one mutex, so requests are processed one at a time in arrival
// order. Methods are safe for concurrent use.
type Server struct {
	opts   Options
	sc     *Scenario
	ln     net.Listener
	srv    *http.Server
	url    string
	caPEM  []byte
	logger *slog.Logger

	mu     sync.Mutex
	eng    *engine
	closed bool

	done     chan struct{}
	doneOnce *sync.Once
	serveErr chan error
	timer    *time.Timer
}

// NewServer starts a server for sc. It listens on opts.Addr (default
// 127.0.0.1:0) and serves HTTPS with a fresh self-signed ECDSA P-256 CA
// (see CACertPEM), or plain HTTP if opts.Plain.
func NewServer(sc *Scenario, opts Options) (*Server, error) {
	if sc == nil {
		return nil, errors.New("dmtest: nil scenario")
	}
	opts = withDefaults(sc, opts)
	if !authModes[opts.Auth] {
		return nil, fmt.Errorf("dmtest: auth %q: want none, basic, md5 or hmac", opts.Auth)
	}
	switch opts.Encoding {
	case "", "xml", "wbxml":
	default:
		return nil, fmt.Errorf("dmtest: encoding %q: want xml, wbxml or empty", opts.Encoding)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("dmtest: listen: %w", err)
	}
	host := opts.PublicHost
	lhost, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" {
		host = lhost
		if ip := net.ParseIP(lhost); ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1"
		}
	}
	s := &Server{
		opts:     opts,
		sc:       sc,
		ln:       ln,
		logger:   opts.Logger,
		done:     make(chan struct{}),
		doneOnce: &sync.Once{},
		serveErr: make(chan error, 1),
	}
	scheme := "https"
	if opts.Plain {
		scheme = "http"
	}
	s.url = scheme + "://" + net.JoinHostPort(host, port) + opts.Path
	if !opts.Plain {
		hosts := []string{host, "127.0.0.1", "::1", "localhost"}
		if ip := net.ParseIP(lhost); ip != nil && !ip.IsUnspecified() {
			hosts = append(hosts, lhost)
		} else if ip != nil {
			hosts = append(hosts, localAddrs()...)
			if hn, err := os.Hostname(); err == nil {
				hosts = append(hosts, hn)
			}
		}
		caPEM, cert, err := newCA(hosts)
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.caPEM = caPEM
		s.ln = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		})
	}
	s.eng = newEngine(s)
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
		// HTTP/1.1 only: the "close" fault hijacks the connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if opts.Timeout > 0 {
		s.timer = time.AfterFunc(opts.Timeout, func() {
			s.mu.Lock()
			s.eng.fail("scenario.timeout", fmt.Sprintf("the scenario did not finish within %v (%s)", opts.Timeout, s.eng.where()))
			s.mu.Unlock()
			s.finish()
		})
	}
	go func() { s.serveErr <- s.srv.Serve(s.ln) }()
	return s, nil
}

func localAddrs() []string {
	var out []string
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, n.IP.String())
		}
	}
	return out
}

func withDefaults(sc *Scenario, o Options) Options {
	if o.ServerID == "" {
		o.ServerID = "omadm-dmtest"
	}
	if o.Auth == "" {
		o.Auth = sc.auth
	}
	if o.Auth == "" {
		o.Auth = AuthNone
	}
	if o.Encoding == "" {
		o.Encoding = sc.encoding
	}
	if o.MaxMsgSize == 0 {
		o.MaxMsgSize = sc.maxMsgSize
	}
	if o.MaxObjSize == 0 {
		o.MaxObjSize = sc.maxObjSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Path == "" {
		o.Path = "/dm"
	}
	if !strings.HasPrefix(o.Path, "/") {
		o.Path = "/" + o.Path
	}
	if o.Timeout == 0 {
		o.Timeout = sc.timeout
	}
	return o
}

// URL returns the DM server URL, e.g. https://127.0.0.1:PORT/dm.
func (s *Server) URL() string { return s.url }

// CACertPEM returns the PEM of the CA that signed the server certificate
// (nil for a plain HTTP server).
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// Close stops the server. If the scenario has not finished, the report
// says where it stopped. Done is closed.
func (s *Server) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	s.finish()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dmtest: close: %w", err)
	}
	return nil
}

// Done is closed when the scenario has run to its end, has failed for
// good (timeout, too many failed authentications) or the server was closed.
// After Restart it returns the channel of the new run.
func (s *Server) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *Server) finish() {
	s.mu.Lock()
	once, done := s.doneOnce, s.done
	s.mu.Unlock()
	once.Do(func() { close(done) })
}

// Restart runs the scenario again from its first round, on the same
// address and with the same certificate; the report, transcript and
// session state of the previous run are discarded (the last client nonce
// is kept, as a device would keep it). It is meant for a lab server that
// serves one device run after run.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	nonce := s.eng.clientNonce
	s.eng = newEngine(s)
	s.eng.clientNonce = nonce
	s.done = make(chan struct{})
	s.doneOnce = &sync.Once{}
	if s.timer != nil {
		s.timer.Reset(s.opts.Timeout)
	}
}

// Report returns the checks so far. Before the scenario has finished, the
// check "scenario.complete" fails and says where the script is waiting.
func (s *Server) Report() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eng.report()
}

// Transcript returns a copy of the exchanges so far.
func (s *Server) Transcript() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Exchange, len(s.eng.transcript))
	copy(out, s.eng.transcript)
	return out
}

// Notification returns a Package #0 (OMA-TS-DM_Notification-V1_2) for this
// server's account: Options.ServerID, signed with Options.ServerPassword and
// the current server nonce (Options.ServerNonce, or the last NextNonce the
// client issued to the server in a Chal), initiator server, with sessionID and the given UI
// mode. From then on the server expects the session to be server initiated:
// Alert 1200 and SyncHdr SessionID equal to the session id in upper-case hex
// without leading zeros (§6.2.2.10).
func (s *Server) Notification(sessionID uint16, ui notification.UIMode) ([]byte, error) {
	s.mu.Lock()
	nonce := append([]byte(nil), s.eng.serverNonce...)
	s.mu.Unlock()
	b, err := notification.Encode(notification.Notification{
		UIMode:    ui,
		Initiator: notification.InitiatorServer,
		SessionID: sessionID,
		ServerID:  s.opts.ServerID,
	}, s.opts.ServerPassword, nonce)
	if err != nil {
		return nil, fmt.Errorf("dmtest: notification: %w", err)
	}
	s.mu.Lock()
	s.eng.expectServerInitiated(sessionID)
	s.mu.Unlock()
	return b, nil
}

// ClientNonce returns the nonce the client must use for its next md5 Cred
// or HMAC (the last NextNonce the server sent, or Options.ClientNonce).
// It is what a device stores in CLCRED AAuthData.
func (s *Server) ClientNonce() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.eng.clientNonce...)
}

func newNonce() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

// request is what the handler passes to the engine.
type request struct {
	method string
	path   string
	header http.Header
	body   []byte
	err    error // reading the body failed
}

// response is what the engine wants written.
type response struct {
	status      int
	contentType string
	header      http.Header
	body        []byte
	stall       time.Duration
	close       bool // hijack and close without answering
	finish      bool // the scenario ends once this is written
	ex          int  // index of the exchange in the transcript
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err == nil && len(body) > maxRequestBody {
		err = fmt.Errorf("request body larger than %d bytes", maxRequestBody)
	}
	req := &request{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body, err: err}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	resp := s.eng.handle(req)
	s.mu.Unlock()

	if resp.stall > 0 {
		t := time.NewTimer(resp.stall)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.mu.Lock()
			s.eng.note(resp.ex, "client closed the connection during the stall")
			s.eng.clientGaveUp(resp.ex)
			fin := resp.finish
			s.mu.Unlock()
			if fin {
				s.finish()
			}
			return
		}
	}
	if resp.close {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		} else {
			panic(http.ErrAbortHandler)
		}
	} else {
		for k, v := range resp.header {
			w.Header()[k] = v
		}
		if resp.contentType != "" {
			w.Header().Set("Content-Type", resp.contentType)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
		w.WriteHeader(resp.status)
		_, _ = w.Write(resp.body)
	}
	s.opts.Logger.Info("dmtest exchange", "method", req.method, "path", req.path, "status", resp.status, "bytes_in", len(req.body), "bytes_out", len(resp.body))
	if resp.finish {
		s.finish()
	}
}
