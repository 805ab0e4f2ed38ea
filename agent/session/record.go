package session

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree"
)

// Redacted replaces secret values in session records.
const Redacted = "REDACTED"

// recorder writes every message of a session into one directory:
// NNNN-client.<enc>, NNNN-server.<enc> and index.log. Secrets are
// redacted: Cred Data, Chal NextNonce, the mac of x-syncml-hmac, and Item
// Data of secret nodes (AAuthSecret, AAuthData) in server commands.
type recorder struct {
	dir string
	n   int
	idx *os.File
	err error
}

// safeName replaces each run of characters other than A-Z a-z 0-9 . _ -
// by one "_", so a ServerID or SessionID can be part of a directory name.
func safeName(s string) string {
	var b strings.Builder
	run := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
			run = false
		} else if !run {
			b.WriteByte('_')
			run = true
		}
	}
	return b.String()
}

func newRecorder(parent, serverID, sessionID string, now time.Time) (*recorder, error) {
	name := fmt.Sprintf("%s-%s-%s", now.UTC().Format("20060102T150405.000Z"),
		safeName(serverID), safeName(sessionID))
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("session: record: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "index.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("session: record: %w", err)
	}
	return &recorder{dir: dir, idx: f}, nil
}

func (r *recorder) close() {
	if r != nil && r.idx != nil {
		r.idx.Close()
	}
}

// write records one message. raw is the exact wire bytes; it is re-encoded
// with secrets redacted when it decodes, else kept raw as .bin.
func (r *recorder) write(side string, raw []byte, hmacHdr, note string) {
	if r == nil || r.err != nil {
		return
	}
	r.n++
	ext := "bin"
	out := raw
	if m, enc, err := syncml.Decode(raw); err == nil {
		redact(m)
		if b, err := syncml.Encode(m, enc); err == nil {
			out, ext = b, enc.String()
		}
	} else {
		note = strings.TrimSpace(note + " undecodable")
	}
	name := fmt.Sprintf("%04d-%s.%s", r.n, side, ext)
	if err := os.WriteFile(filepath.Join(r.dir, name), out, 0o600); err != nil {
		r.err = err
		return
	}
	line := fmt.Sprintf("%s %s %d bytes", time.Now().UTC().Format(time.RFC3339Nano), name, len(raw))
	if hmacHdr != "" {
		line += " " + redactHMAC(hmacHdr)
	}
	if note != "" {
		line += " " + note
	}
	if _, err := fmt.Fprintln(r.idx, line); err != nil {
		r.err = err
	}
}

// note appends a free line to the index.
func (r *recorder) note(format string, a ...any) {
	if r == nil || r.err != nil {
		return
	}
	fmt.Fprintf(r.idx, "%s # %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, a...))
}

// redactHMAC replaces the value of every mac= parameter (any case, quoted
// or not) of an x-syncml-hmac header by Redacted.
func redactHMAC(h string) string {
	var b strings.Builder
	b.WriteString("x-syncml-hmac: ")
	for {
		i := indexFold(h, "mac")
		if i < 0 {
			b.WriteString(h)
			return b.String()
		}
		j := i + 3
		for j < len(h) && isHdrSpace(h[j]) {
			j++
		}
		if j >= len(h) || h[j] != '=' {
			b.WriteString(h[:i+3])
			h = h[i+3:]
			continue
		}
		j++
		for j < len(h) && isHdrSpace(h[j]) {
			j++
		}
		quoted := j < len(h) && h[j] == '"'
		if quoted {
			j++
		}
		b.WriteString(h[:j])
		b.WriteString(Redacted)
		for j < len(h) && h[j] != ',' && h[j] != '"' && !isHdrSpace(h[j]) {
			j++
		}
		h = h[j:]
	}
}

func isHdrSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// indexFold is strings.Index for an ASCII lower-case needle, ignoring case.
func indexFold(s, lower string) int {
	for i := 0; i+len(lower) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(lower)], lower) {
			return i
		}
	}
	return -1
}

// redact removes secrets from m in place.
func redact(m *syncml.Message) {
	if m.Hdr.Cred != nil {
		m.Hdr.Cred.Data = Redacted
	}
	var walk func(cs []*syncml.Command)
	walk = func(cs []*syncml.Command) {
		for _, c := range cs {
			if c.Cred != nil {
				c.Cred.Data = Redacted
			}
			if c.Chal != nil && c.Chal.Meta != nil && c.Chal.Meta.NextNonce != "" {
				c.Chal.Meta.NextNonce = Redacted
			}
			for _, it := range c.Items {
				loc := it.Target
				if loc == nil {
					loc = it.Source
				}
				if loc != nil && it.Data != nil && isSecretURI(loc.LocURI) {
					it.Data = syncml.TextData(Redacted)
				} else if it.Data != nil && tndsHoldsSecret(c, it) {
					// A subtree (TNDS) that carries a secret node, e.g. an
					// Add of a whole ./DMAcc account: the whole Data goes.
					it.Data = syncml.TextData(Redacted)
				}
			}
			walk(c.Children)
		}
	}
	walk(m.Body)
}

// tndsHoldsSecret reports whether it carries a TNDS subtree (embedded
// MgmtTree, or Data typed application/vnd.syncml.dmtnds+*) that contains a
// secret node name, or one that cannot be inspected (b64 that does not
// decode): such Data is redacted whole.
func tndsHoldsSecret(c *syncml.Command, it *syncml.Item) bool {
	m := metaOf(c, it)
	var raw []byte
	switch {
	case it.Data.IsTree():
		raw = it.Data.Tree
	case strings.Contains(m.Type, "dmtnds"):
		raw = []byte(it.Data.Text)
		if m.Format == tree.FormatB64 {
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(it.Data.Text), ""))
			if err != nil {
				return true
			}
			raw = b
		}
	default:
		return false
	}
	return bytes.Contains(raw, []byte("AAuthSecret")) || bytes.Contains(raw, []byte("AAuthData"))
}

func isSecretURI(s string) bool {
	s, _, _ = strings.Cut(s, "?")
	s = strings.TrimSuffix(s, "/")
	i := strings.LastIndexByte(s, '/')
	name := s[i+1:]
	if un, err := tree.UnescapeName(name); err == nil {
		name = un
	}
	return tree.IsSecretName(name)
}
