package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/omadm-agent/omadm-agent/csp/window"
)

// Validate checks every field and returns errors.Join of one *KeyError per
// problem (Key set, File empty), or nil.
func (c Config) Validate() error {
	v := &validator{}

	a := c.Agent
	v.oneOf("agent.log_level", a.LogLevel, "debug", "info", "warn", "error")
	v.absPath("agent.state_dir", a.StateDir, true)
	v.absPath("agent.spool_dir", a.SpoolDir, false)
	v.absPath("agent.record_dir", a.RecordDir, false)
	v.positive("agent.session_deadline", a.SessionDeadline)

	d := c.Device
	if d.DevID != "" {
		scheme, rest, ok := strings.Cut(d.DevID, ":")
		if !ok || scheme == "" || rest == "" || strings.IndexFunc(d.DevID, unicode.IsSpace) >= 0 {
			v.bad("device.dev_id", `%q is not a device URN like "IMEI:490154203237518" (empty = detect)`, d.DevID)
		}
	}
	v.nonEmpty("device.dm_version", d.DMVersion)
	v.nonEmpty("device.dev_type", d.DevType)
	if d.Lang != "" && !validLang(d.Lang) {
		v.bad("device.lang", "%q is not a language tag like \"en-US\"", d.Lang)
	}

	m := c.Modem
	v.oneOf("modem.backend", m.Backend, "serial", "modemmanager")
	if m.Enabled && m.Backend == "serial" {
		if m.Device == "" {
			v.badNear("modem.device", "modem.enabled", "must be set when modem.enabled is true (e.g. /dev/serial/by-id/usb-...-if02-port0)")
		} else {
			v.absPath("modem.device", m.Device, true)
		}
	} else {
		v.absPath("modem.device", m.Device, false)
	}
	if !slices.Contains(standardBauds, m.Baud) {
		v.bad("modem.baud", "%d is not a standard rate (%s)", m.Baud, joinInts(standardBauds))
	}
	v.absPath("modem.sim_pin_file", m.SimPINFile, false)

	t := c.Transport
	v.oneOf("transport.encoding", t.Encoding, "wbxml", "xml")
	v.absPath("transport.ca_file", t.CAFile, false)
	v.absPath("transport.client_cert", t.ClientCert, false)
	v.absPath("transport.client_key", t.ClientKey, false)
	if (t.ClientCert == "") != (t.ClientKey == "") {
		key, near := "transport.client_key", "transport.client_cert"
		if t.ClientCert == "" {
			key, near = near, key
		}
		v.badNear(key, near, "client_cert and client_key must be set together")
	}
	for i, p := range t.PinSHA256 {
		if !validPin(p) {
			v.bad("transport.pin_sha256", "element %d (%q) is not a SHA-256 digest in base64 (44 chars) or hex (64 chars)", i, p)
		}
	}
	if t.Proxy != "" {
		u, err := url.Parse(t.Proxy)
		if err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "socks5"}, u.Scheme) {
			v.bad("transport.proxy", "%q is not an http://, https:// or socks5:// URL with a host", t.Proxy)
		}
	}
	v.positive("transport.connect_timeout", t.ConnectTimeout)
	v.positive("transport.request_timeout", t.RequestTimeout)
	if t.MaxMsgSize < 1024 || t.MaxMsgSize > 16<<20 {
		v.bad("transport.max_msg_size", "%d is outside 1024..16777216 bytes", t.MaxMsgSize)
	}
	if t.MaxObjSize < t.MaxMsgSize || t.MaxObjSize > 1<<30 {
		v.badNear("transport.max_obj_size", "transport.max_msg_size", "%d must be at least max_msg_size (%d) and at most 1073741824 bytes", t.MaxObjSize, t.MaxMsgSize)
	}
	if t.ConnRetryFreq < 0 || t.ConnRetryFreq > 100 {
		v.bad("transport.conn_retry_freq", "%d is outside 0..100", t.ConnRetryFreq)
	}
	v.positive("transport.initial_backoff", t.InitialBackoff)
	if t.MaxBackoff < t.InitialBackoff {
		v.badNear("transport.max_backoff", "transport.initial_backoff", "%s is shorter than initial_backoff (%s)", fmtDuration(t.MaxBackoff), fmtDuration(t.InitialBackoff))
	}

	p := c.Push
	v.nonNegative("push.replay_window", p.ReplayWindow)
	if p.RateLimit < 0 {
		v.bad("push.rate_limit", "%d is negative (0 = no limit)", p.RateLimit)
	}
	v.absPath("push.user_pin_file", p.UserPINFile, false)
	v.oneOf("push.ui_user_interaction", p.UIUserInteraction, "ui", "background", "reject")

	u := c.UI
	v.oneOf("ui.confirm", u.Confirm, "accept", "reject", "ask")
	v.oneOf("ui.input", u.Input, "default", "reject", "ask")
	v.positive("ui.ask_timeout", u.AskTimeout)
	v.oneOf("ui.on_timeout", u.OnTimeout, "accept", "reject")

	b := c.DBus
	if !validGroup(b.ControlGroup) {
		v.bad("dbus.control_group", "%q is not a group name", b.ControlGroup)
	}
	v.oneOf("dbus.bus", b.Bus, "system", "session")

	bs := c.Bootstrap
	v.absPath("bootstrap.factory_file", bs.FactoryFile, false)
	v.oneOf("bootstrap.smartcard", bs.Smartcard, "none", "modem", "pcsc")
	v.oneOf("bootstrap.sim_route", bs.SIMRoute, "auto", "csim", "cgla", "crsm")
	if bs.Smartcard == "modem" && !m.Enabled {
		v.badNear("bootstrap.smartcard", "modem.enabled", `"modem" needs modem.enabled = true`)
	}
	if bs.Smartcard == "modem" && m.Backend == "modemmanager" {
		v.badNear("bootstrap.smartcard", "modem.backend", `"modem" needs the AT port (modem.backend = "serial"); with ModemManager use "pcsc" or a factory file`)
	}

	f := c.FUMO
	v.absPath("fumo.dir", f.Dir, false)
	v.absPath("fumo.ca_file", f.CAFile, false)
	if f.MaxSize <= 0 {
		v.bad("fumo.max_size", "%d is not a positive size in bytes", f.MaxSize)
	}
	v.oneOf("fumo.reboot", f.Reboot, "logind", "none")
	v.oneOf("fumo.mark_good", f.MarkGood, "none", "after-report", "on-boot")

	v.absPath("metrics.textfile", c.Metrics.Textfile, false)
	v.positive("metrics.interval", c.Metrics.Interval)

	sy := c.System
	v.nonNegative("system.reboot_delay", sy.RebootDelay)
	v.nonNegative("system.min_uptime", sy.MinUptime)
	v.positive("system.job_timeout", sy.JobTimeout)
	if _, err := window.Parse(sy.MaintenanceWindows); err != nil {
		v.bad("system.maintenance_windows", "%s", strings.TrimPrefix(err.Error(), window.ErrSyntax.Error()+" "))
	}
	for _, u := range sy.Units {
		if u == "" || strings.ContainsAny(u, "/ \t\n") {
			v.bad("system.units", "%q is not a unit name", u)
		}
	}

	ids := map[string]bool{}
	for _, s := range c.Servers {
		k := "server[" + s.ServerID + "]"
		if s.ServerID == "" || strings.IndexFunc(s.ServerID, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
			v.bad(k+".server_id", "%q is not a ServerID (non-empty, printable, no blanks)", s.ServerID)
		}
		if ids[s.ServerID] {
			v.bad(k+".server_id", "duplicate server_id %q", s.ServerID)
		}
		ids[s.ServerID] = true
		if s.Encoding != "" {
			v.oneOf(k+".encoding", s.Encoding, "wbxml", "xml")
		}
		v.phase(k, "first", s.FirstInterval, s.FirstRetries)
		v.phase(k, "second", s.SecondInterval, s.SecondRetries)
		v.pollInterval(k+".steady_interval", s.SteadyInterval)
	}
	return errors.Join(v.errs...)
}

var standardBauds = []int{9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1500000, 2000000, 3000000, 4000000}

type validator struct{ errs []error }

func (v *validator) bad(key, format string, a ...any) {
	v.errs = append(v.errs, &KeyError{Key: key, Err: badValue(format, a...)})
}

// badNear is bad for a problem that a related key (near) may have caused.
func (v *validator) badNear(key, near, format string, a ...any) {
	v.errs = append(v.errs, &KeyError{Key: key, near: near, Err: badValue(format, a...)})
}

func (v *validator) oneOf(key, val string, allowed ...string) {
	if !slices.Contains(allowed, val) {
		v.bad(key, "%q is not one of %s", val, strings.Join(allowed, ", "))
	}
}

func (v *validator) nonEmpty(key, val string) {
	if val == "" {
		v.bad(key, "must not be empty")
	}
}

func (v *validator) absPath(key, val string, required bool) {
	switch {
	case val == "" && required:
		v.bad(key, "must not be empty")
	case val != "" && !filepath.IsAbs(val):
		v.bad(key, "%q is not an absolute path", val)
	}
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.bad(key, "%s must be greater than 0", fmtDuration(d))
	}
}

func (v *validator) nonNegative(key string, d time.Duration) {
	if d < 0 {
		v.bad(key, "%s is negative", fmtDuration(d))
	}
}

func (v *validator) pollInterval(key string, d time.Duration) {
	if d < 0 || (d > 0 && d < MinPollInterval) {
		v.bad(key, "%s must be 0 (off) or at least %s", fmtDuration(d), fmtDuration(MinPollInterval))
	}
}

// phase checks one (interval, retries) pair of a poll schedule: both set
// or both zero, so no half-configured phase is silently skipped.
func (v *validator) phase(server, name string, d time.Duration, n int) {
	ik, nk := server+"."+name+"_interval", server+"."+name+"_retries"
	v.pollInterval(ik, d)
	switch {
	case n < 0:
		v.bad(nk, "%d is negative", n)
	case n > 0 && d == 0:
		v.badNear(ik, nk, "must be set when %s_retries is %d", name, n)
	case n == 0 && d > 0:
		v.badNear(nk, ik, "is 0, so %s_interval (%s) is never used; set both or neither", name, fmtDuration(d))
	}
}

func validLang(s string) bool {
	for i, part := range strings.Split(s, "-") {
		if len(part) < 1 || len(part) > 8 || (i == 0 && len(part) < 2) {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func validGroup(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func validPin(s string) bool {
	if len(s) == 64 {
		b, err := hex.DecodeString(s)
		return err == nil && len(b) == 32
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// fmtDuration prints d without trailing zero units: 24h, 1h30m, 16s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
