package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// problems splits a joined error into its messages.
func problems(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, e := range unjoin(err) {
		out = append(out, e.Error())
	}
	return out
}

func parseString(t *testing.T, doc string) (Config, Sources, error) {
	t.Helper()
	return Parse("test.toml", strings.NewReader(doc))
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	c, src, err := parseString(t, "")
	if err != nil {
		t.Fatalf("Parse(\"\") error: %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("Parse(\"\") = %+v, want Default()", c)
	}
	if len(src.Keys) != 0 {
		t.Errorf("Sources.Keys = %v, want empty", src.Keys)
	}
}

func TestParseValues(t *testing.T) {
	doc := `
[agent]
log_level = "debug"
spool_dir = "/data/spool"
session_deadline = "90s"

[modem]
enabled = true
device = "/dev/serial/by-id/usb-Quectel-if02-port0"
baud = 921600

[transport]
encoding = "xml"
pin_sha256 = ["` + strings.Repeat("ab", 32) + `", "` + "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" + `"]
max_backoff = "1h"

[[server]]
server_id = "dm.example.com"
steady_interval = "24h"
encoding = "xml"
`
	c, src, err := parseString(t, doc)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Default()
	want.Agent.LogLevel = "debug"
	want.Agent.SpoolDir = "/data/spool"
	want.Agent.SessionDeadline = 90 * time.Second
	want.Modem.Enabled = true
	want.Modem.Device = "/dev/serial/by-id/usb-Quectel-if02-port0"
	want.Modem.Baud = 921600
	want.Transport.Encoding = "xml"
	want.Transport.PinSHA256 = []string{strings.Repeat("ab", 32), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}
	want.Transport.MaxBackoff = time.Hour
	s := DefaultServer()
	s.ServerID, s.SteadyInterval, s.Encoding = "dm.example.com", 24*time.Hour, "xml"
	want.Servers = []Server{s}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if got := c.Agent.Spool(); got != "/data/spool" {
		t.Errorf("Spool() = %q, want /data/spool", got)
	}
	if got := c.EncodingFor("dm.example.com"); got != "xml" {
		t.Errorf("EncodingFor = %q, want xml", got)
	}
	wantSrc := map[string]int{
		"agent.log_level": 3, "modem.baud": 10, "transport.max_backoff": 15,
		"server[dm.example.com]": 17, "server[dm.example.com].steady_interval": 19,
	}
	for k, line := range wantSrc {
		if p := src.Keys[k]; p.File != "test.toml" || p.Line != line {
			t.Errorf("Sources.Keys[%q] = %v, want test.toml:%d", k, p, line)
		}
	}
}

// TestParseProblems checks that each problem is reported with its file,
// line and key, and that all of them come out of one call.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // every problem, in order
		is   error    // sentinel every problem must match
	}{
		{
			name: "unknown key with suggestion",
			doc:  "[modem]\nbaud = 9600\n\nbaudrate = 115200\n",
			want: []string{`test.toml:4: unknown key "modem.baudrate" (did you mean "modem.baud"?)`},
			is:   ErrUnknownKey,
		},
		{
			name: "key in the wrong table",
			doc:  "[agent]\nbaud = 9600\n",
			want: []string{`test.toml:2: unknown key "agent.baud" (did you mean "modem.baud"?)`},
			is:   ErrUnknownKey,
		},
		{
			name: "unknown table",
			doc:  "[modme]\nbaud = 9600\n",
			want: []string{`test.toml:1: unknown key "modme" (did you mean "modem"?)`},
			is:   ErrUnknownKey,
		},
		{
			name: "unknown key without suggestion",
			doc:  "[ui]\nzzzzzzzz = 1\n",
			want: []string{`test.toml:2: unknown key "ui.zzzzzzzz"`},
			is:   ErrUnknownKey,
		},
		{
			name: "case matters",
			doc:  "[agent]\nLog_Level = \"info\"\n",
			want: []string{`test.toml:2: unknown key "agent.Log_Level" (did you mean "agent.log_level"?)`},
			is:   ErrUnknownKey,
		},
		{
			name: "dotted key",
			doc:  "modem.baudrate = 1\n",
			want: []string{`test.toml:1: unknown key "modem.baudrate" (did you mean "modem.baud"?)`},
			is:   ErrUnknownKey,
		},
		{
			name: "bad duration",
			doc:  "[transport]\n\ninitial_backoff = \"16x\"\n",
			want: []string{`test.toml:3: transport.initial_backoff: invalid duration "16x" (want a number with a unit: "90s", "15m", "24h")`},
			is:   ErrBadValue,
		},
		{
			name: "duration without unit",
			doc:  "[transport]\nmax_backoff = \"86400\"\n",
			want: []string{`test.toml:2: transport.max_backoff: invalid duration "86400" (want a number with a unit: "90s", "15m", "24h")`},
			is:   ErrBadValue,
		},
		{
			name: "duration as integer",
			doc:  "[ui]\nask_timeout = 300\n",
			want: []string{`test.toml:2: ui.ask_timeout: want a duration string such as "90s", "15m" or "24h", got integer 300`},
			is:   ErrBadValue,
		},
		{
			name: "string for integer",
			doc:  "[modem]\nbaud = \"115200\"\n",
			want: []string{`test.toml:2: modem.baud: want an integer, got string "115200"`},
			is:   ErrBadValue,
		},
		{
			name: "string for boolean",
			doc:  "[modem]\nenabled = \"yes\"\n",
			want: []string{`test.toml:2: modem.enabled: want true or false, got string "yes"`},
			is:   ErrBadValue,
		},
		{
			name: "integer out of range",
			doc:  "[push]\nrate_limit = 99999999999\n",
			want: []string{`test.toml:2: push.rate_limit: 99999999999 is out of range`},
			is:   ErrBadValue,
		},
		{
			name: "array element not a string",
			doc:  "[transport]\npin_sha256 = [\"" + strings.Repeat("0", 64) + "\", 5]\n",
			want: []string{`test.toml:2: transport.pin_sha256: element 1: want a string, got integer 5`},
			is:   ErrBadValue,
		},
		{
			name: "table where a value belongs",
			doc:  "[agent.log_level]\nx = 1\n",
			want: []string{`test.toml:1: agent.log_level: want a string, got a table`},
			is:   ErrBadValue,
		},
		{
			name: "value where a table belongs",
			doc:  "modem = 5\n",
			want: []string{`test.toml:1: modem: want a table [modem], got integer 5`},
			is:   ErrBadValue,
		},
		{
			name: "server as a plain table",
			doc:  "[server]\nserver_id = \"a\"\n",
			want: []string{`test.toml:1: server: want [[server]] tables, got a table`},
			is:   ErrBadValue,
		},
		{
			name: "syntax error",
			doc:  "[agent]\nlog_level = \"info\n",
			want: []string{`test.toml:2: syntax error: strings cannot contain newlines`},
			is:   ErrSyntax,
		},
		{
			name: "duplicate key is a syntax error",
			doc:  "[modem]\nbaud = 1\nbaud = 2\n",
			want: []string{`test.toml:3: syntax error: Key 'modem.baud' has already been defined.`},
			is:   ErrSyntax,
		},
		{
			name: "server without server_id",
			doc:  "[[server]]\nsteady_interval = \"1h\"\n",
			want: []string{`test.toml:1: server[0]: missing server_id`},
			is:   ErrBadValue,
		},
		{
			name: "duplicate server_id in one file",
			doc:  "[[server]]\nserver_id = \"a\"\n\n[[server]]\nserver_id = \"a\"\n",
			want: []string{`test.toml:5: server[a].server_id: duplicate server_id "a" (first at line 1)`},
			is:   ErrBadValue,
		},
		{
			name: "unknown key in the second server names the right line",
			doc: "[[server]]\nserver_id = \"a\"\nsteady_interval = \"1h\"\n\n" +
				"[[server]]\nserver_id = \"b\"\nsteady = \"1h\"\n",
			want: []string{`test.toml:7: unknown key "server[b].steady" (did you mean "server.steady_interval"?)`},
			is:   ErrUnknownKey,
		},
		{
			name: "bad value in the first of two servers",
			doc: "[[server]]\nserver_id = \"a\"\nsteady_interval = \"5s\"\n\n" +
				"[[server]]\nserver_id = \"b\"\nsteady_interval = \"1h\"\n",
			want: []string{`test.toml:3: server[a].steady_interval: 5s must be 0 (off) or at least 1m`},
			is:   ErrBadValue,
		},
		{
			name: "every problem at once, in line order",
			doc: "[agent]\nlog_level = \"verbose\"\nstate_dir = \"var/lib\"\n" +
				"[modem]\nbaudrate = 1\nenabled = true\n" +
				"[transport]\ninitial_backoff = \"1d\"\n",
			want: []string{
				`test.toml:2: agent.log_level: "verbose" is not one of debug, info, warn, error`,
				`test.toml:3: agent.state_dir: "var/lib" is not an absolute path`,
				`test.toml:5: unknown key "modem.baudrate" (did you mean "modem.baud"?)`,
				`test.toml:6: modem.device: must be set when modem.enabled is true (e.g. /dev/serial/by-id/usb-...-if02-port0)`,
				`test.toml:8: transport.initial_backoff: invalid duration "1d" (want a number with a unit: "90s", "15m", "24h")`,
			},
		},
		{
			name: "line numbers survive multi-line strings and arrays",
			doc: "[device]\nmodel = \"\"\"\n[modem]\nbaud = 1\n\"\"\"\n" +
				"oem = '''x = 1'''\n[transport]\npin_sha256 = [\n  \"" + strings.Repeat("0", 64) + "\", # ]\n  # comment ]\n]\nproxy = \"ftp://x\"\n",
			want: []string{`test.toml:12: transport.proxy: "ftp://x" is not an http://, https:// or socks5:// URL with a host`},
			is:   ErrBadValue,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseString(t, tt.doc)
			got := problems(err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got problems\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if tt.is != nil {
				for _, e := range unjoin(err) {
					if !errors.Is(e, tt.is) {
						t.Errorf("problem %q does not match %v", e, tt.is)
					}
				}
			}
		})
	}
}

// TestValidate has one case per rule: the config is Default() with one
// change, and exactly the named problem must come out.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" = valid
	}{
		{"log level", func(c *Config) { c.Agent.LogLevel = "trace" }, `agent.log_level: "trace" is not one of debug, info, warn, error`},
		{"state dir empty", func(c *Config) { c.Agent.StateDir = "" }, `agent.state_dir: must not be empty`},
		{"state dir relative", func(c *Config) { c.Agent.StateDir = "state" }, `agent.state_dir: "state" is not an absolute path`},
		{"spool dir relative", func(c *Config) { c.Agent.SpoolDir = "spool" }, `agent.spool_dir: "spool" is not an absolute path`},
		{"record dir relative", func(c *Config) { c.Agent.RecordDir = "rec" }, `agent.record_dir: "rec" is not an absolute path`},
		{"record dir ok", func(c *Config) { c.Agent.RecordDir = "/var/log/omadm" }, ""},
		{"metrics textfile relative", func(c *Config) { c.Metrics.Textfile = "omadm.prom" }, `metrics.textfile: "omadm.prom" is not an absolute path`},
		{"metrics interval zero", func(c *Config) { c.Metrics.Interval = 0 }, `metrics.interval: 0s must be greater than 0`},
		{"maintenance window ok", func(c *Config) { c.System.MaintenanceWindows = []string{"Mon-Fri 01:00-03:00", "Sat 23:00-02:00"} }, ""},
		{"maintenance window bad", func(c *Config) { c.System.MaintenanceWindows = []string{"02:00-04:00", "Mo 02:00"} }, `system.maintenance_windows: "Mo 02:00": "Mo" is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)`},
		{"mark good", func(c *Config) { c.FUMO.MarkGood = "always" }, `fumo.mark_good: "always" is not one of none, after-report, on-boot`},
		{"sim route", func(c *Config) { c.Bootstrap.SIMRoute = "ccho" }, `bootstrap.sim_route: "ccho" is not one of auto, csim, cgla, crsm`},
		{"session deadline zero", func(c *Config) { c.Agent.SessionDeadline = 0 }, `agent.session_deadline: 0s must be greater than 0`},
		{"dev id ok", func(c *Config) { c.Device.DevID = "IMEI:490154203237518" }, ""},
		{"dev id no scheme", func(c *Config) { c.Device.DevID = "490154203237518" }, `device.dev_id: "490154203237518" is not a device URN like "IMEI:490154203237518" (empty = detect)`},
		{"dev id blank", func(c *Config) { c.Device.DevID = "IMEI: 1" }, `device.dev_id: "IMEI: 1" is not a device URN like "IMEI:490154203237518" (empty = detect)`},
		{"dm version empty", func(c *Config) { c.Device.DMVersion = "" }, `device.dm_version: must not be empty`},
		{"dev type empty", func(c *Config) { c.Device.DevType = "" }, `device.dev_type: must not be empty`},
		{"lang bad", func(c *Config) { c.Device.Lang = "english please" }, `device.lang: "english please" is not a language tag like "en-US"`},
		{"lang empty detects", func(c *Config) { c.Device.Lang = "" }, ""},
		{"lang de-CH", func(c *Config) { c.Device.Lang = "de-CH" }, ""},
		{"modem enabled without device", func(c *Config) { c.Modem.Enabled = true }, `modem.device: must be set when modem.enabled is true (e.g. /dev/serial/by-id/usb-...-if02-port0)`},
		{"modem device relative", func(c *Config) { c.Modem.Enabled, c.Modem.Device = true, "ttyUSB2" }, `modem.device: "ttyUSB2" is not an absolute path`},
		{"modem baud typo", func(c *Config) { c.Modem.Baud = 11520 }, `modem.baud: 11520 is not a standard rate (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1500000, 2000000, 3000000, 4000000)`},
		{"sim pin file relative", func(c *Config) { c.Modem.SimPINFile = "pin" }, `modem.sim_pin_file: "pin" is not an absolute path`},
		{"encoding", func(c *Config) { c.Transport.Encoding = "json" }, `transport.encoding: "json" is not one of wbxml, xml`},
		{"ca file relative", func(c *Config) { c.Transport.CAFile = "ca.pem" }, `transport.ca_file: "ca.pem" is not an absolute path`},
		{"cert without key", func(c *Config) { c.Transport.ClientCert = "/etc/c.pem" }, `transport.client_key: client_cert and client_key must be set together`},
		{"key without cert", func(c *Config) { c.Transport.ClientKey = "/etc/k.pem" }, `transport.client_cert: client_cert and client_key must be set together`},
		{"pin short", func(c *Config) { c.Transport.PinSHA256 = []string{"abcd"} }, `transport.pin_sha256: element 0 ("abcd") is not a SHA-256 digest in base64 (44 chars) or hex (64 chars)`},
		{"pin hex bad", func(c *Config) { c.Transport.PinSHA256 = []string{strings.Repeat("g", 64)} }, `transport.pin_sha256: element 0 ("` + strings.Repeat("g", 64) + `") is not a SHA-256 digest in base64 (44 chars) or hex (64 chars)`},
		{"proxy scheme", func(c *Config) { c.Transport.Proxy = "ftp://p:21" }, `transport.proxy: "ftp://p:21" is not an http://, https:// or socks5:// URL with a host`},
		{"proxy ok", func(c *Config) { c.Transport.Proxy = "socks5://127.0.0.1:1080" }, ""},
		{"connect timeout", func(c *Config) { c.Transport.ConnectTimeout = -time.Second }, `transport.connect_timeout: -1s must be greater than 0`},
		{"request timeout", func(c *Config) { c.Transport.RequestTimeout = 0 }, `transport.request_timeout: 0s must be greater than 0`},
		{"max msg size small", func(c *Config) { c.Transport.MaxMsgSize = 100 }, `transport.max_msg_size: 100 is outside 1024..16777216 bytes`},
		{"max obj below msg", func(c *Config) { c.Transport.MaxObjSize = 2048 }, `transport.max_obj_size: 2048 must be at least max_msg_size (16384) and at most 1073741824 bytes`},
		{"conn retry negative", func(c *Config) { c.Transport.ConnRetryFreq = -1 }, `transport.conn_retry_freq: -1 is outside 0..100`},
		{"conn retry zero ok", func(c *Config) { c.Transport.ConnRetryFreq = 0 }, ""},
		{"initial backoff zero", func(c *Config) { c.Transport.InitialBackoff = 0 }, `transport.initial_backoff: 0s must be greater than 0`},
		{"max below initial", func(c *Config) { c.Transport.MaxBackoff = time.Second }, `transport.max_backoff: 1s is shorter than initial_backoff (16s)`},
		{"replay window negative", func(c *Config) { c.Push.ReplayWindow = -time.Minute }, `push.replay_window: -1m is negative`},
		{"replay window off", func(c *Config) { c.Push.ReplayWindow = 0 }, ""},
		{"rate limit negative", func(c *Config) { c.Push.RateLimit = -1 }, `push.rate_limit: -1 is negative (0 = no limit)`},
		{"user pin file relative", func(c *Config) { c.Push.UserPINFile = "p" }, `push.user_pin_file: "p" is not an absolute path`},
		{"ui user interaction", func(c *Config) { c.Push.UIUserInteraction = "ask" }, `push.ui_user_interaction: "ask" is not one of ui, background, reject`},
		{"ui confirm", func(c *Config) { c.UI.Confirm = "yes" }, `ui.confirm: "yes" is not one of accept, reject, ask`},
		{"ui input", func(c *Config) { c.UI.Input = "accept" }, `ui.input: "accept" is not one of default, reject, ask`},
		{"ui ask timeout", func(c *Config) { c.UI.AskTimeout = 0 }, `ui.ask_timeout: 0s must be greater than 0`},
		{"ui on timeout", func(c *Config) { c.UI.OnTimeout = "ask" }, `ui.on_timeout: "ask" is not one of accept, reject`},
		{"control group", func(c *Config) { c.DBus.ControlGroup = "a b" }, `dbus.control_group: "a b" is not a group name`},
		{"control group empty", func(c *Config) { c.DBus.ControlGroup = "" }, `dbus.control_group: "" is not a group name`},
		{"bus", func(c *Config) { c.DBus.Bus = "user" }, `dbus.bus: "user" is not one of system, session`},
		{"factory file relative", func(c *Config) { c.Bootstrap.FactoryFile = "f.xml" }, `bootstrap.factory_file: "f.xml" is not an absolute path`},
		{"smartcard", func(c *Config) { c.Bootstrap.Smartcard = "sim" }, `bootstrap.smartcard: "sim" is not one of none, modem, pcsc`},
		{"smartcard modem needs modem", func(c *Config) { c.Bootstrap.Smartcard = "modem" }, `bootstrap.smartcard: "modem" needs modem.enabled = true`},
		{"smartcard pcsc", func(c *Config) { c.Bootstrap.Smartcard = "pcsc" }, ""},
		{"server ok", func(c *Config) {
			c.Servers = []Server{{ServerID: "a", FirstInterval: time.Minute, FirstRetries: 2, SteadyInterval: time.Hour}}
		}, ""},
		{"server id empty", func(c *Config) { c.Servers = []Server{{}} }, `server[].server_id: "" is not a ServerID (non-empty, printable, no blanks)`},
		{"server id blank", func(c *Config) { c.Servers = []Server{{ServerID: "a b"}} }, `server[a b].server_id: "a b" is not a ServerID (non-empty, printable, no blanks)`},
		{"server id duplicate", func(c *Config) { c.Servers = []Server{{ServerID: "a"}, {ServerID: "a"}} }, `server[a].server_id: duplicate server_id "a"`},
		{"server encoding", func(c *Config) { c.Servers = []Server{{ServerID: "a", Encoding: "x"}} }, `server[a].encoding: "x" is not one of wbxml, xml`},
		{"retries without interval", func(c *Config) { c.Servers = []Server{{ServerID: "a", SecondRetries: 3}} }, `server[a].second_interval: must be set when second_retries is 3`},
		{"interval without retries", func(c *Config) { c.Servers = []Server{{ServerID: "a", FirstInterval: time.Hour}} }, `server[a].first_retries: is 0, so first_interval (1h) is never used; set both or neither`},
		{"retries negative", func(c *Config) { c.Servers = []Server{{ServerID: "a", FirstRetries: -1}} }, `server[a].first_retries: -1 is negative`},
		{"interval too short", func(c *Config) { c.Servers = []Server{{ServerID: "a", SteadyInterval: 30 * time.Second}} }, `server[a].steady_interval: 30s must be 0 (off) or at least 1m`},
		{"interval negative", func(c *Config) { c.Servers = []Server{{ServerID: "a", SteadyInterval: -time.Hour}} }, `server[a].steady_interval: -1h must be 0 (off) or at least 1m`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			got := problems(c.Validate())
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			for _, e := range unjoin(c.Validate()) {
				var ke *KeyError
				if !errors.As(e, &ke) || !errors.Is(e, ErrBadValue) || ke.Key == "" {
					t.Errorf("problem %v is not a *KeyError with a key matching ErrBadValue", e)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDropIns(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "agent.toml")
	writeFile(t, main, "[agent]\nlog_level = \"warn\"\n\n[[server]]\nserver_id = \"a\"\nsteady_interval = \"1h\"\nretry_on_failure = false\n")
	// Applied in lexical order: 10 before 20; 20 wins for log_level.
	writeFile(t, filepath.Join(dir, "conf.d", "20-b.toml"), "[agent]\nlog_level = \"debug\"\n")
	writeFile(t, filepath.Join(dir, "conf.d", "10-a.toml"), "[agent]\nlog_level = \"error\"\n\n[[server]]\nserver_id = \"a\"\nsteady_interval = \"2h\"\n\n[[server]]\nserver_id = \"b\"\n")
	// Not applied: wrong suffix, hidden, directory.
	writeFile(t, filepath.Join(dir, "conf.d", "30-c.toml.dpkg-old"), "garbage = = =")
	writeFile(t, filepath.Join(dir, "conf.d", ".40-d.toml"), "garbage = = =")
	writeFile(t, filepath.Join(dir, "conf.d", "50.toml", "x"), "")

	c, src, err := Load(main)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Agent.LogLevel != "debug" {
		t.Errorf("log_level = %q, want debug (from 20-b.toml)", c.Agent.LogLevel)
	}
	wantServers := []Server{
		{ServerID: "a", SteadyInterval: 2 * time.Hour, RetryOnFailure: false},
		{ServerID: "b", RetryOnFailure: true},
	}
	if !reflect.DeepEqual(c.Servers, wantServers) {
		t.Errorf("servers = %+v, want %+v", c.Servers, wantServers)
	}
	wantFiles := []string{main, filepath.Join(dir, "conf.d", "10-a.toml"), filepath.Join(dir, "conf.d", "20-b.toml")}
	if !slices.Equal(src.Files, wantFiles) {
		t.Errorf("Files = %q, want %q", src.Files, wantFiles)
	}
	checks := map[string]Position{
		"agent.log_level":            {wantFiles[2], 2},
		"server[a].steady_interval":  {wantFiles[1], 6},
		"server[a].retry_on_failure": {main, 7},
		"server[b]":                  {wantFiles[1], 8},
		// Not set anywhere: Where falls back to the enclosing table.
		"server[b].first_retries": {wantFiles[1], 8},
	}
	for key, want := range checks {
		if got, _ := src.Where(key); got != want {
			t.Errorf("Where(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestLoadProblemsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "agent.toml")
	writeFile(t, main, "[transport]\ninitial_backoff = \"1m\"\n[modem]\nbaud = \"x\"\n")
	d10 := filepath.Join(dir, "conf.d", "10-x.toml")
	writeFile(t, d10, "# comment\n[modem]\n\n\nenabled = true\n\nbaudrate = 9600\n")
	d20 := filepath.Join(dir, "conf.d", "20-y.toml")
	writeFile(t, d20, "[agent\n")
	d30 := filepath.Join(dir, "conf.d", "30-z.toml")
	writeFile(t, d30, "[transport]\nmax_backoff = \"30s\"\n")

	_, _, err := Load(main)
	want := []string{
		main + `:4: modem.baud: want an integer, got string "x"`,
		d10 + `:5: modem.device: must be set when modem.enabled is true (e.g. /dev/serial/by-id/usb-...-if02-port0)`,
		d10 + `:7: unknown key "modem.baudrate" (did you mean "modem.baud"?)`,
		d20 + `:2: syntax error: expected '.' or ']' to end table name, but got '\n' instead`,
		d30 + `:2: transport.max_backoff: 30s is shorter than initial_backoff (1m)`,
	}
	if got := problems(err); !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Load(filepath.Join(dir, "agent.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error matching fs.ErrNotExist", err)
	}
	// A missing main file does not stop the drop-ins from being checked.
	writeFile(t, filepath.Join(dir, "conf.d", "a.toml"), "[ui]\nconfirm = 1\n")
	_, _, err = Load(filepath.Join(dir, "agent.toml"))
	if got := len(problems(err)); got != 2 {
		t.Errorf("got %d problems (%v), want 2", got, err)
	}
}

func TestDiff(t *testing.T) {
	old := Default()
	old.Servers = []Server{{ServerID: "a", SteadyInterval: time.Hour}, {ServerID: "gone"}}
	new := Default()
	new.Agent.LogLevel = "debug"
	new.Agent.StateDir = "/data/omadm"
	new.Modem.Baud = 9600
	new.Transport.MaxBackoff = time.Hour
	new.Transport.PinSHA256 = []string{"x"}
	new.UI.Confirm = "ask"
	new.Push.UIUserInteraction = "reject"
	new.Servers = []Server{{ServerID: "a", SteadyInterval: 2 * time.Hour}, {ServerID: "b"}}

	live, restart := Diff(old, new)
	wantLive := []Change{
		{"agent.log_level", `"info"`, `"debug"`},
		{"transport.max_backoff", `"24h"`, `"1h"`},
		{"push.ui_user_interaction", `"ui"`, `"reject"`},
		{"ui.confirm", `"accept"`, `"ask"`},
		{"server[a].steady_interval", `"1h"`, `"2h"`},
		{"server[gone]", "present", ""},
		{"server[b]", "", "present"},
	}
	wantRestart := []Change{
		{"agent.state_dir", `"/var/lib/omadm-agent"`, `"/data/omadm"`},
		{"modem.baud", "115200", "9600"},
		{"transport.pin_sha256", "[]", `["x"]`},
	}
	if !reflect.DeepEqual(live, wantLive) {
		t.Errorf("live = %v\nwant %v", live, wantLive)
	}
	if !reflect.DeepEqual(restart, wantRestart) {
		t.Errorf("needRestart = %v\nwant %v", restart, wantRestart)
	}
	if l, r := Diff(new, new); l != nil || r != nil {
		t.Errorf("Diff(x, x) = %v, %v; want nothing", l, r)
	}
	if got := wantLive[0].String(); got != `agent.log_level: "info" -> "debug"` {
		t.Errorf("Change.String() = %q", got)
	}
}

func TestLive(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"agent.log_level", true},
		{"agent.state_dir", false},
		{"transport.initial_backoff", true},
		{"transport.encoding", false},
		{"ui.confirm", true},
		{"server[x].steady_interval", true},
		{"server", true},
		{"modem", false},
		{"nope.x", false},
	}
	for _, tt := range tests {
		if got := Live(tt.key); got != tt.want {
			t.Errorf("Live(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestWriteRoundTrip(t *testing.T) {
	c := Default()
	c.Agent.LogLevel = "debug"
	c.Transport.PinSHA256 = []string{strings.Repeat("0", 64)}
	c.Transport.MaxBackoff = 90 * time.Minute
	c.Servers = []Server{{ServerID: `dm"quoted"`, SteadyInterval: 24 * time.Hour, RetryOnFailure: true}}
	var b strings.Builder
	if err := Write(&b, c); err != nil {
		t.Fatal(err)
	}
	got, _, err := parseString(t, b.String())
	if err != nil {
		t.Fatalf("Parse(Write(c)): %v\n%s", err, b.String())
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("Parse(Write(c)) = %+v\nwant %+v", got, c)
	}
	if !strings.Contains(b.String(), `max_backoff = "1h30m"`) {
		t.Errorf("Write output lacks max_backoff = \"1h30m\":\n%s", b.String())
	}
}

func TestBackoff(t *testing.T) {
	tr := Default().Transport
	tests := []struct {
		n    int
		want time.Duration
		ok   bool
	}{
		{0, 0, false}, {1, 16 * time.Second, true}, {2, 32 * time.Second, true},
		{3, 64 * time.Second, true}, {4, 0, false},
	}
	for _, tt := range tests {
		got, ok := tr.Backoff(tt.n)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Backoff(%d) = %v, %v; want %v, %v", tt.n, got, ok, tt.want, tt.ok)
		}
	}
	// Capped at max_backoff, without overflow for large n.
	tr.ConnRetryFreq, tr.MaxBackoff = 100, 24*time.Hour
	if got, _ := tr.Backoff(13); got != 65536*time.Second {
		t.Errorf("Backoff(13) = %v, want 16s*2^12 = 18h12m16s", got)
	}
	for _, n := range []int{14, 50, 100} {
		if got, ok := tr.Backoff(n); got != 24*time.Hour || !ok {
			t.Errorf("Backoff(%d) = %v, %v; want 24h, true", n, got, ok)
		}
	}
}

func TestPollDelay(t *testing.T) {
	s := Server{ServerID: "a", FirstInterval: 15 * time.Minute, FirstRetries: 4,
		SecondInterval: 2 * time.Hour, SecondRetries: 12, SteadyInterval: 24 * time.Hour}
	tests := []struct {
		n    int
		want time.Duration
		ok   bool
	}{
		{0, 0, false}, {1, 15 * time.Minute, true}, {4, 15 * time.Minute, true},
		{5, 2 * time.Hour, true}, {16, 2 * time.Hour, true}, {17, 24 * time.Hour, true}, {1000, 24 * time.Hour, true},
	}
	for _, tt := range tests {
		if got, ok := s.PollDelay(tt.n); got != tt.want || ok != tt.ok {
			t.Errorf("PollDelay(%d) = %v, %v; want %v, %v", tt.n, got, ok, tt.want, tt.ok)
		}
	}
	// Skipped phases and a stop after the second phase.
	s = Server{SecondInterval: time.Hour, SecondRetries: 2}
	for n, want := range []bool{false, true, true, false, false} {
		if _, ok := s.PollDelay(n); ok != want {
			t.Errorf("PollDelay(%d) ok = %v, want %v", n, ok, want)
		}
	}
	if _, ok := DefaultServer().PollDelay(1); ok {
		t.Error("DefaultServer().PollDelay(1) ok = true, want no polling")
	}
}

func TestKeyLines(t *testing.T) {
	doc := "a = 1\n[t]\n  b.c = 'x' # [nope]\n\"q.k\" = 2\n[[s]]\nk = 1\n[s.sub]\nm = \"\"\"\nz = 1\n\"\"\"\n[[s]]\nk = [\n  1,\n]\nn = { p = 1 }\n"
	kl := scanKeyLines(doc)
	want := map[string]int{
		"a": 1, "t": 2, "t.b.c": 3, "t.q.k": 4, "s[0]": 5, "s[0].k": 6, "s[0].sub": 7,
		"s[0].sub.m": 8, "s[1]": 11, "s[1].k": 12, "s[1].n": 15,
	}
	if !reflect.DeepEqual(map[string]int(kl), want) {
		t.Errorf("scanKeyLines = %v, want %v", kl, want)
	}
	if got := kl.lookup("s[1].n.p"); got != 15 {
		t.Errorf("lookup(s[1].n.p) = %d, want 15 (enclosing key)", got)
	}
	if got := kl.lookup("zzz"); got != 0 {
		t.Errorf("lookup(zzz) = %d, want 0", got)
	}
}

func TestKeysAndSuggest(t *testing.T) {
	keys := Keys()
	for _, k := range []string{"agent", "agent.log_level", "modem.baud", "server", "server.steady_interval", "bootstrap.pcsc_reader"} {
		if !slices.Contains(keys, k) {
			t.Errorf("Keys() lacks %q", k)
		}
	}
	tests := []struct{ in, want string }{
		{"modem.baudrate", "modem.baud"},
		{"modem.bud", "modem.baud"},
		{"transport.max_backof", "transport.max_backoff"},
		{"agent.device", "modem.device"},
		{"xyz", ""},
		{"modem.qqqqqqqq", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
