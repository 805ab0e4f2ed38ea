package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/omadm-agent/omadm-agent/agent/notification"
)

// maxNotificationInput bounds what "notification decode" reads: a Package #0
// is at most a few hundred bytes, its hex text twice that plus white space.
const maxNotificationInput = 64 << 10

const notificationUsage = `usage:
  omadm-agent notification decode [FILE|-] [--server-password P | --server-password-file F]
        [--nonce TEXT | --nonce-hex HEX] [--server-id ID]
  omadm-agent notification encode --server-id ID (--server-password P | --server-password-file F)
        (--nonce TEXT | --nonce-hex HEX) --session-id N
        --ui-mode background|informative|user-interaction|not-specified|0-3
        --initiator server|client [--version 11] [--vendor-hex HEX] [--hex]`

// cmdNotification dispatches "notification decode" and "notification encode".
func cmdNotification(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usagef("missing subcommand\n%s", notificationUsage)
	}
	switch args[0] {
	case "decode":
		return cmdNotificationDecode(ctx, c, args[1:])
	case "encode":
		return cmdNotificationEncode(ctx, c, args[1:])
	case "help", "-h", "--help":
		fmt.Fprintln(c.stdout, notificationUsage)
		return nil
	}
	return usagef("unknown subcommand %q (want decode or encode)", args[0])
}

// parseInterspersed parses flags that may come before or after positional
// arguments ("decode FILE --nonce N") and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// secretFlags are the credential flags shared by decode and encode. The
// password is never printed, not even in errors.
type secretFlags struct {
	password     string
	passwordFile string
	nonce        string
	nonceHex     string
	nonceSet     bool
	nonceHexSet  bool
}

func (s *secretFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.password, "server-password", "", "server password (SRVCRED AAuthSecret); prefer --server-password-file")
	fs.StringVar(&s.passwordFile, "server-password-file", "", "read the server password from the first line of this file")
	fs.Func("nonce", "server nonce as text (decode also tries its base64 decoding)", func(v string) error {
		s.nonce, s.nonceSet = v, true
		return nil
	})
	fs.Func("nonce-hex", "server nonce as hex bytes", func(v string) error {
		s.nonceHex, s.nonceHexSet = v, true
		return nil
	})
}

// resolve returns the password (and whether one was given) and the nonce
// bytes (nil if none was given).
func (s *secretFlags) resolve() (pass string, havePass bool, nonce []byte, haveNonce bool, err error) {
	if s.password != "" && s.passwordFile != "" {
		return "", false, nil, false, usagef("--server-password and --server-password-file are exclusive")
	}
	pass, havePass = s.password, s.password != ""
	if s.passwordFile != "" {
		b, err := os.ReadFile(s.passwordFile)
		if err != nil {
			return "", false, nil, false, fmt.Errorf("--server-password-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		pass, havePass = strings.TrimSuffix(line, "\r"), true
	}
	switch {
	case s.nonceSet && s.nonceHexSet:
		return "", false, nil, false, usagef("--nonce and --nonce-hex are exclusive")
	case s.nonceSet:
		nonce, haveNonce = []byte(s.nonce), true
	case s.nonceHexSet:
		nonce, err = hex.DecodeString(strings.Join(strings.Fields(s.nonceHex), ""))
		if err != nil {
			return "", false, nil, false, usagef("--nonce-hex: %v", err)
		}
		haveNonce = true
	}
	return pass, havePass, nonce, haveNonce, nil
}

func cmdNotificationDecode(_ context.Context, c *cli, args []string) error {
	fs := c.flags("notification decode")
	fs.Usage = func() { fmt.Fprintln(c.stderr, notificationUsage) }
	var sec secretFlags
	sec.register(fs)
	serverID := fs.String("server-id", "", "also try this identifier (SRVCRED AAuthName) when verifying")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	pass, havePass, nonce, haveNonce, err := sec.resolve()
	if err != nil {
		return err
	}
	if !havePass && (haveNonce || *serverID != "") {
		return usagef("--nonce, --nonce-hex and --server-id are for verification and need --server-password")
	}
	in, name, err := c.openInput(pos)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(in, maxNotificationInput+1))
	in.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(raw) > maxNotificationInput {
		return fmt.Errorf("%s: input larger than %d bytes is not a Package #0", name, maxNotificationInput)
	}
	msg, err := hexOrBinary(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	n, err := notification.Decode(msg)
	var de *notification.DecodeError
	if n == nil {
		if errors.As(err, &de) {
			return fmt.Errorf("%s: field %s at offset %d: %v", name, de.Field, de.Offset, de.Err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	printNotification(c.stdout, n, len(msg))
	if err != nil && errors.As(err, &de) {
		fmt.Fprintf(c.stderr, "warning: field %s at offset %d: %v (decoded anyway)\n", de.Field, de.Offset, de.Err)
	}
	if !havePass {
		return nil
	}
	m, err := notification.VerifyWithResync(n, notification.Credentials{
		ServerID: n.ServerID, AAuthName: *serverID, Password: pass, Nonce: nonce,
	})
	if err != nil {
		what := "the resync nonce 00000000"
		if haveNonce {
			what = "the given nonce (also base64-decoded) and the resync nonce 00000000"
		}
		return fmt.Errorf("digest mismatch: no match with %s", what)
	}
	fmt.Fprintf(c.stdout, "digest-check: OK, %s\n", m)
	if m.Nonce == notification.NonceResync {
		fmt.Fprintln(c.stdout, "note:         resync: the session must start with nonce 00000000 and exchange fresh nonces")
	}
	return nil
}

func printNotification(w io.Writer, n *notification.Notification, size int) {
	fmt.Fprintf(w, "digest:       %x\n", n.Digest)
	fmt.Fprintf(w, "version:      %d (%s)\n", n.Version, n.VersionString())
	fmt.Fprintf(w, "ui-mode:      %d (%s)\n", n.UIMode, n.UIMode)
	fmt.Fprintf(w, "initiator:    %d (%s)\n", n.Initiator, n.Initiator)
	if n.FutureUse != 0 {
		fmt.Fprintf(w, "future-use:   %#x (MUST be 0)\n", n.FutureUse)
	} else {
		fmt.Fprintf(w, "future-use:   0\n")
	}
	fmt.Fprintf(w, "session-id:   %d (SessionID %s)\n", n.SessionID, n.SessionIDHex())
	fmt.Fprintf(w, "server-id:    %s\n", printable(n.ServerID))
	if len(n.Vendor) == 0 {
		fmt.Fprintf(w, "vendor:       (none)\n")
	} else {
		fmt.Fprintf(w, "vendor:       %x (%d bytes)\n", n.Vendor, len(n.Vendor))
	}
	fmt.Fprintf(w, "length:       %d bytes\n", size)
}

// printable returns s as is if it is printable ASCII without leading or
// trailing spaces, otherwise Go-quoted, so a hostile server id cannot inject
// terminal control sequences.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			if s[i] == ' ' && i > 0 && i < len(s)-1 {
				continue
			}
			return strconv.Quote(s)
		}
	}
	return s
}

// hexOrBinary returns b decoded from hex if it consists only of hex digits
// and white space (technicians paste hex), otherwise b itself.
func hexOrBinary(b []byte) ([]byte, error) {
	digits := 0
	for _, r := range string(b) {
		switch {
		case unicode.IsSpace(r):
		case r < 0x80 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'):
			digits++
		default:
			return b, nil
		}
	}
	if digits == 0 {
		return b, nil
	}
	compact := bytes.Join(bytes.Fields(b), nil)
	out := make([]byte, hex.DecodedLen(len(compact)))
	if _, err := hex.Decode(out, compact); err != nil {
		return nil, fmt.Errorf("hex input: %v", err)
	}
	return out, nil
}

func cmdNotificationEncode(_ context.Context, c *cli, args []string) error {
	fs := c.flags("notification encode")
	fs.Usage = func() { fmt.Fprintln(c.stderr, notificationUsage) }
	var sec secretFlags
	sec.register(fs)
	serverID := fs.String("server-id", "", "server identifier (required)")
	sessionID := fs.String("session-id", "", "session id 1..65535, decimal or 0x-prefixed hex (required)")
	uiMode := fs.String("ui-mode", "", "background, informative, user-interaction, not-specified or 0-3 (required)")
	initiator := fs.String("initiator", "", "server or client (required)")
	version := fs.Int("version", notification.DefaultVersion, "10-bit version field, 11 = 1.1")
	vendorHex := fs.String("vendor-hex", "", "vendor-specific trailer as hex")
	asHex := fs.Bool("hex", false, "write hex text instead of raw bytes")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("encode takes no arguments, got %q", pos[0])
	}
	pass, havePass, nonce, haveNonce, err := sec.resolve()
	if err != nil {
		return err
	}
	var missing []string
	if *serverID == "" {
		missing = append(missing, "--server-id")
	}
	if !havePass {
		missing = append(missing, "--server-password")
	}
	if !haveNonce {
		missing = append(missing, "--nonce or --nonce-hex")
	}
	if *sessionID == "" {
		missing = append(missing, "--session-id")
	}
	if *uiMode == "" {
		missing = append(missing, "--ui-mode")
	}
	if *initiator == "" {
		missing = append(missing, "--initiator")
	}
	if len(missing) > 0 {
		return usagef("missing %s", strings.Join(missing, ", "))
	}
	sid, err := strconv.ParseUint(*sessionID, 0, 16)
	if err != nil || sid == 0 {
		return usagef("--session-id %q: want 1..65535 (decimal or 0x hex)", *sessionID)
	}
	ui, err := notification.ParseUIMode(*uiMode)
	if err != nil {
		return usagef("--ui-mode: %v", err)
	}
	ini, err := notification.ParseInitiator(*initiator)
	if err != nil {
		return usagef("--initiator: %v", err)
	}
	if *version < 1 || *version > 1023 {
		return usagef("--version %d: want 1..1023 (11 = 1.1)", *version)
	}
	var vendor []byte
	if *vendorHex != "" {
		vendor, err = hex.DecodeString(strings.Join(strings.Fields(*vendorHex), ""))
		if err != nil {
			return usagef("--vendor-hex: %v", err)
		}
	}
	if len(*serverID) > notification.MaxServerIDLen {
		return usagef("--server-id: %d bytes, at most %d", len(*serverID), notification.MaxServerIDLen)
	}
	out, err := notification.Encode(notification.Notification{
		Version: *version, UIMode: ui, Initiator: ini, SessionID: uint16(sid),
		ServerID: *serverID, Vendor: vendor,
	}, pass, nonce)
	if err != nil {
		return err
	}
	if *asHex {
		_, err = fmt.Fprintf(c.stdout, "%x\n", out)
	} else {
		_, err = c.stdout.Write(out)
	}
	return err
}
