package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/omadm-agent/omadm-agent/agent/auth"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/csp/dmacc"
)

// Protocol-level status codes the engine sets itself (everything about a
// tree operation goes through tree.StatusCode).
const (
	codeOK              = 200
	codeAuthAccepted    = 212
	codeChunkAccepted   = 213
	codeNotExecuted     = 215
	codeRolledBack      = 216
	codeInvalidCred     = 401
	codeMissingCred     = 407
	codeTooLarge        = 413
	codeSizeMismatch    = 424
	codeAtomicFailed    = 507
	codeRollbackFailed  = 516
	codeAtomicTooLarge  = 517
	codeOptionalFeature = 406
	codeCommandFailed   = 500
)

// supportedAuth reports whether t is a DM-level scheme the engine speaks.
func supportedAuth(t string) bool {
	return t == auth.AAuthBasic || t == auth.AAuthDigest || t == auth.AAuthHMAC
}

// cred returns the Cred of our next SyncHdr (nil when none is due).
func (s *session) cred() *syncml.Cred {
	s.credSent = false
	if s.clType == "" || s.clAuthed && s.clType != auth.AAuthHMAC {
		return nil
	}
	c := s.acc.Client
	switch s.clType {
	case auth.AAuthBasic:
		s.credSent = true
		return &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeBasic, Format: "b64"}, Data: auth.Basic(c.Name, c.Secret)}
	case auth.AAuthDigest:
		s.credSent = true
		return &syncml.Cred{Meta: &syncml.Meta{Type: auth.MetaTypeMD5, Format: "b64"}, Data: auth.MD5Digest(c.Name, c.Secret, s.clNonce)}
	}
	return nil // HMAC travels in the HTTP header
}

// hmacHeader returns the x-syncml-hmac value for body when HMAC is in use.
func (s *session) hmacHeader(body []byte) string {
	if s.clType != auth.AAuthHMAC {
		return ""
	}
	s.credSent = true
	c := s.acc.Client
	return fmt.Sprintf("algorithm=MD5, username=%q, mac=%s", c.Name, auth.MAC(c.Name, c.Secret, s.clNonce, body))
}

// newNonce returns 16 random octets (Security §5.1.3.2 recommends ≥ 16).
func newNonce() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

// challenge issues a fresh nonce for the server and returns the Chal
// carrying it. The nonce checks the server's next message at once, but it
// becomes the stored SRVCRED nonce (which also verifies the next Package #0)
// only once the message carrying the Chal has reached the server: see
// commitServerNonce. A session that ends before that keeps the old nonce,
// the one the server knows.
func (s *session) challenge(_ context.Context) (*syncml.Chal, error) {
	mt, err := auth.MetaTypeForAAuthType(s.srvType)
	if err != nil {
		return nil, err
	}
	meta := &syncml.Meta{Type: mt, Format: "b64"}
	if s.srvType != auth.AAuthBasic {
		n := newNonce()
		s.srvNonce = n
		s.srvNoncePending = n
		meta.NextNonce = base64.StdEncoding.EncodeToString(n)
	}
	return &syncml.Chal{Meta: meta}, nil
}

// commitServerNonce stores the nonce of the last Chal sent to the server as
// the SRVCRED nonce; called after the server answered the message that
// carried it.
func (s *session) commitServerNonce(ctx context.Context) error {
	if s.srvNoncePending == nil {
		return nil
	}
	n := s.srvNoncePending
	s.srvNoncePending = nil
	if err := s.cfg.Accounts.SetNonce(ctx, s.trig.ServerID, dmacc.LevelServer, n); err != nil {
		return fmt.Errorf("storing the server nonce: %w", err)
	}
	return nil
}

// authenticateServer checks the server's credentials (Cred in SyncHdr or
// x-syncml-hmac) against SRVCRED and returns the SyncHdr status code and
// Chal to answer with. It sets s.msgAuthed.
func (s *session) authenticateServer(ctx context.Context, ex *exchange) (int, *syncml.Chal, error) {
	s.msgAuthed = false
	if !s.srvRequired {
		// No DM-level server credentials configured: the transport (TLS
		// server authentication) is all there is.
		s.msgAuthed = true
		s.srvAuthed = strings.HasPrefix(s.url, "https:")
		s.sum.ServerAuthenticated = s.srvAuthed
		return codeOK, nil, nil
	}
	sc := s.acc.Server
	ok, first := false, false
	cred := ex.msg.Hdr.Cred
	switch {
	case s.srvType == auth.AAuthHMAC:
		if ex.hmac != "" {
			h, err := auth.ParseHMACHeader(ex.hmac)
			if err == nil && auth.VerifyHMAC(h, sc.Name, sc.Secret, s.srvNonce, ex.body) == nil {
				ok = true
			}
		}
	case cred != nil && cred.Meta != nil:
		switch cred.Meta.Type {
		case auth.MetaTypeBasic:
			ok = s.srvType == auth.AAuthBasic && auth.VerifyBasic(sc.Name, sc.Secret, strings.TrimSpace(cred.Data))
		case auth.MetaTypeMD5:
			ok = s.srvType == auth.AAuthDigest && auth.VerifyMD5(sc.Name, sc.Secret, s.srvNonce, cred.Data)
		}
		first = ok && !s.srvAuthed
	case cred == nil && s.srvAuthed:
		// Authenticated earlier in this session (Cred need not be repeated).
		s.msgAuthed = true
		return codeOK, nil, nil
	}
	if ok {
		s.msgAuthed = true
		s.srvAuthed = true
		s.sum.ServerAuthenticated = true
		switch {
		case s.srvType == auth.AAuthHMAC:
			// Every HMAC message gets 200 and a new nonce for the next one.
			chal, err := s.challenge(ctx)
			return codeOK, chal, err
		case first && s.srvType == auth.AAuthDigest:
			// A fresh nonce so this Cred cannot be replayed.
			chal, err := s.challenge(ctx)
			return codeAuthAccepted, chal, err
		case first:
			return codeAuthAccepted, nil, nil
		}
		return codeOK, nil, nil
	}
	s.srvChallenges++
	if s.srvChallenges > s.cfg.AuthAttempts {
		return 0, nil, fmt.Errorf("%w: the server did not authenticate itself after %d challenges", ErrAuth, s.cfg.AuthAttempts)
	}
	code := codeInvalidCred
	if cred == nil && ex.hmac == "" {
		code = codeMissingCred
	}
	s.log.Warn("server not authenticated, challenging it", "code", code)
	chal, err := s.challenge(ctx)
	return code, chal, err
}

// handleStatus processes a Status from the server. It reports whether the
// server challenged our credentials (go back to Package 1).
func (s *session) handleStatus(ctx context.Context, c *syncml.Command) (bool, error) {
	code, _ := c.StatusCode()
	if c.CmdRef == "0" || c.Cmd == "SyncHdr" {
		return s.handleHdrStatus(ctx, c, int(code))
	}
	key := c.MsgRef + "/" + c.CmdRef
	if id, ok := s.alertIDs[key]; ok {
		delete(s.alertIDs, key)
		switch {
		case (code == 200 || code == 202) && s.msgAuthed && s.cfg.Outbox != nil:
			if err := s.cfg.Outbox.Ack(id); err != nil {
				s.log.Warn("outbox ack", "err", err)
			} else {
				s.sum.AlertsAcked++
			}
		default:
			s.log.Warn("generic alert not acknowledged", "status", int(code))
		}
	}
	return false, nil
}

func (s *session) handleHdrStatus(ctx context.Context, c *syncml.Command, code int) (bool, error) {
	var nonce []byte
	var chalType string
	if c.Chal != nil && c.Chal.Meta != nil {
		chalType = c.Chal.Meta.Type
		if nn := c.Chal.Meta.NextNonce; nn != "" {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(nn))
			if err != nil {
				return false, fmt.Errorf("%w: NextNonce is not base64", ErrProtocol)
			}
			nonce = b
		}
	}
	if nonce != nil {
		// Always use the latest nonce to build credentials; persist it only
		// when it came from an authenticated server.
		s.clNonce = nonce
		if s.msgAuthed && s.srvAuthed {
			if err := s.cfg.Accounts.SetNonce(ctx, s.trig.ServerID, dmacc.LevelClient, nonce); err != nil {
				s.log.Warn("storing the client nonce", "err", err)
			}
		}
	}
	switch code {
	case codeAuthAccepted:
		s.clAuthed = true
		s.sum.ClientAuthenticated = true
	case codeOK:
		if !s.credSent || s.clType == auth.AAuthHMAC {
			s.sum.ClientAuthenticated = true
		}
	case codeInvalidCred, codeMissingCred:
		s.sum.ClientAuthenticated = false
		s.clAuthed = false
		if chalType == "" {
			return false, fmt.Errorf("%w: server answered %d without a challenge", ErrAuth, code)
		}
		t, err := auth.AAuthTypeForMetaType(chalType)
		if err != nil || !supportedAuth(t) {
			return false, fmt.Errorf("%w: server asks for %q, which is not supported", ErrAuth, chalType)
		}
		if s.acc.Client.Node == "" {
			return false, fmt.Errorf("%w: server asks for credentials but the account has no CLCRED", ErrAuth)
		}
		s.clRounds++
		if s.clRounds > s.cfg.AuthAttempts {
			return false, fmt.Errorf("%w: credentials rejected %d times (last status %d)", ErrAuth, s.clRounds, code)
		}
		s.clType = t
		s.log.Info("server challenged our credentials", "code", code, "type", t, "round", s.clRounds)
		return true, nil
	default:
		if code >= 300 {
			return false, fmt.Errorf("%w: server answered our SyncHdr with %s", ErrProtocol, strconv.Itoa(code))
		}
	}
	return false, nil
}
