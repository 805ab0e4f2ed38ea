package config

import (
	"log/slog"
	"path/filepath"
	"time"
)

// Config is the agent's whole configuration. The zero value is not useful:
// start from [Default] (Load and Parse do).
//
// Struct tags: `toml:"name"` is the key in the file; `reload:"live"` marks a
// field the daemon applies without a restart (see [Diff]). Every field
// without that tag needs a restart.
type Config struct {
	Agent     Agent     `toml:"agent"`
	Device    Device    `toml:"device"`
	Modem     Modem     `toml:"modem"`
	Transport Transport `toml:"transport"`
	Push      Push      `toml:"push"`
	UI        UI        `toml:"ui"`
	DBus      DBus      `toml:"dbus"`
	Bootstrap Bootstrap `toml:"bootstrap"`
	FUMO      FUMO      `toml:"fumo"`
	System    System    `toml:"system"`
	Metrics   Metrics   `toml:"metrics"`
	// Servers holds the per-ServerID poll schedules ([[server]] tables).
	// Drop-ins merge entries by server_id. Accounts themselves are not
	// configuration: they live in the DM tree (./DMAcc).
	Servers []Server `toml:"server" reload:"live"`
}

// Agent is the [agent] table: the daemon itself.
type Agent struct {
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level" reload:"live"`
	// StateDir holds the tree, the outbox and the nonces (0700).
	StateDir string `toml:"state_dir"`
	// SpoolDir holds pushes and alerts waiting for a session; "" means
	// <state_dir>/spool (see [Agent.Spool]).
	SpoolDir string `toml:"spool_dir"`
	// SessionDeadline bounds one whole DM session, all packages included.
	SessionDeadline time.Duration `toml:"session_deadline"`
	// RecordDir, if set, receives a record of every session (messages
	// with credentials masked). "" disables recording.
	RecordDir string `toml:"record_dir"`
}

// Device is the [device] table: overrides for ./DevInfo and ./DevDetail.
// An empty string means "detect" (from the modem, /etc/os-release, DMI).
type Device struct {
	DevID        string `toml:"dev_id"` // e.g. "IMEI:490154203237518"
	Manufacturer string `toml:"manufacturer"`
	Model        string `toml:"model"`
	DMVersion    string `toml:"dm_version"`
	Lang         string `toml:"lang"`
	DevType      string `toml:"dev_type"`
	OEM          string `toml:"oem"`
	HWVersion    string `toml:"hw_version"`
	FWVersion    string `toml:"fw_version"`
	SWVersion    string `toml:"sw_version"`
}

// Modem is the [modem] table: the AT port that receives WAP pushes.
type Modem struct {
	Enabled bool `toml:"enabled"`
	// Backend is "serial" (the agent owns the AT port: Device, Baud) or
	// "modemmanager" (ModemManager owns the modem; pushes are read from its
	// Messaging D-Bus API on [dbus] bus, and Device and Baud are unused).
	Backend string `toml:"backend"`
	// MMEnableModem lets the agent enable a modem ModemManager keeps
	// disabled (no SMS arrive on a disabled modem). Off: NetworkManager or
	// the system enables it.
	MMEnableModem bool `toml:"modemmanager_enable_modem"`
	// Device is the tty, preferably a stable /dev/serial/by-id/ path.
	Device string `toml:"device"`
	Baud   int    `toml:"baud"`
	// SimPINFile names a file (0600) holding the SIM PIN. The PIN itself
	// is never configuration.
	SimPINFile string `toml:"sim_pin_file"`
	// Coexistence leaves pushes addressed to ServerIDs this agent does not
	// know on the modem, for the modem's own DM client.
	Coexistence bool `toml:"coexistence"`
}

// Transport is the [transport] table: HTTP(S) to the DM server, and the
// connection retry schedule of the w7 application characteristic
// (CONNRETRYFREQ, INITIALBACKOFFTIME, MAXBACKOFFTIME); see [Transport.Backoff].
type Transport struct {
	Encoding   string   `toml:"encoding"` // wbxml or xml
	CAFile     string   `toml:"ca_file"`  // "" = system roots
	ClientCert string   `toml:"client_cert"`
	ClientKey  string   `toml:"client_key"`
	PinSHA256  []string `toml:"pin_sha256"` // SHA-256 of the server's SubjectPublicKeyInfo, base64 or hex
	Proxy      string   `toml:"proxy"`      // http://, https:// or socks5:// URL; "" = none

	ConnectTimeout time.Duration `toml:"connect_timeout"`
	RequestTimeout time.Duration `toml:"request_timeout"`
	MaxMsgSize     int           `toml:"max_msg_size"`
	MaxObjSize     int           `toml:"max_obj_size"`

	ConnRetryFreq  int           `toml:"conn_retry_freq" reload:"live"`
	InitialBackoff time.Duration `toml:"initial_backoff" reload:"live"`
	MaxBackoff     time.Duration `toml:"max_backoff" reload:"live"`
}

// Push is the [push] table: Package #0 notifications and WAP push bootstrap.
type Push struct {
	// ReplayWindow: a notification whose digest was already seen within
	// this window is dropped. 0 disables the check.
	ReplayWindow time.Duration `toml:"replay_window"`
	// RateLimit is the most notifications accepted per minute; 0 = no limit.
	RateLimit int `toml:"rate_limit"`
	// UserPINFile names a file holding the USERPIN for WAP push bootstrap.
	UserPINFile string `toml:"user_pin_file"`
	// UIUserInteraction is what to do with a notification whose ui-mode is
	// 3 (user interaction): "ui" applies the [ui] policy, "background" runs
	// the session as if ui-mode were background, "reject" ignores it.
	UIUserInteraction string `toml:"ui_user_interaction" reload:"live"`
}

// UI is the [ui] table: answers to server UI alerts (1100-1104) on a device
// that usually has no screen.
type UI struct {
	// Confirm answers Alert 1101 (confirmation): accept, reject or ask
	// (forward to a UI agent over D-Bus and wait AskTimeout).
	Confirm string `toml:"confirm" reload:"live"`
	// Input answers Alerts 1102-1104 (text input, single and multiple
	// choice): "default" (the server's DR default), reject or ask.
	Input string `toml:"input" reload:"live"`
	// AskTimeout bounds a question forwarded to a UI agent.
	AskTimeout time.Duration `toml:"ask_timeout" reload:"live"`
	// OnTimeout is the answer when nobody replied in time: accept or reject.
	OnTimeout string `toml:"on_timeout" reload:"live"`
}

// DBus is the [dbus] table: the control API.
type DBus struct {
	// ControlGroup may call the changing methods (StartSession, Reload,
	// ProcessFile); the shipped bus policy names the same group.
	ControlGroup string `toml:"control_group"`
	// Bus is "system", or "session" for tests.
	Bus string `toml:"bus"`
}

// Bootstrap is the [bootstrap] table: where the first accounts come from.
type Bootstrap struct {
	// FactoryFile is a bootstrap document (DM SyncML or CP w7) applied
	// when the tree has no account. "" = none.
	FactoryFile string `toml:"factory_file"`
	// Smartcard is none, modem (through the modem port, see SIMRoute) or pcsc.
	Smartcard string `toml:"smartcard"`
	// PCSCReader selects a reader by name; "" = the first with a card.
	PCSCReader string `toml:"pcsc_reader"`
	// SIMRoute is how the SIM is read through the modem: "auto" (AT+CSIM,
	// then AT+CCHO/CGLA, then AT+CRSM, moving on only when the modem or
	// card refuses a route), or one of "csim", "cgla", "crsm".
	SIMRoute string `toml:"sim_route"`
}

// FUMO is the [fumo] table: firmware updates (./FUMO, OMA FUMO 1.0)
// installed by RAUC over D-Bus (csp/fumo).
type FUMO struct {
	// Enabled mounts ./FUMO/1 when the D-Bus connection is up. Its jobs
	// fail (result 410) where no RAUC service runs.
	Enabled bool `toml:"enabled"`
	// Dir holds the downloaded bundle and the job state; "" =
	// <state_dir>/fumo. It must survive reboots and hold the largest bundle.
	Dir string `toml:"dir"`
	// CAFile replaces the system roots for package downloads; "" = the
	// system roots.
	CAFile string `toml:"ca_file"`
	// MaxSize is the largest package accepted, in bytes.
	MaxSize int64 `toml:"max_size"`
	// Reboot is what happens once a bundle is installed: "logind"
	// (org.freedesktop.login1 Reboot) or "none" (something else reboots).
	Reboot string `toml:"reboot"`
	// MarkGood is whether the agent marks the updated RAUC slot good:
	// "none" (the system's health check does), "after-report" (once the
	// result alert has reached the server after the reboot) or "on-boot"
	// (as soon as the new slot is seen booted).
	MarkGood string `toml:"mark_good"`
}

// System is the [system] table: ./Vendor/omadm/System (csp/system), device
// reboot through logind and control of allow-listed systemd units.
type System struct {
	// Units are the systemd units a server may see and start, stop or
	// restart (./Vendor/omadm/System/Services/<unit>); empty = none. The
	// agent's own unit, dbus, logind and journald are refused.
	Units []string `toml:"units"`
	// PowerOff adds the PowerOff Exec node.
	PowerOff bool `toml:"power_off"`
	// RebootDelay is the wait between an accepted Reboot and the reboot,
	// so the session can end and its statuses reach the server.
	RebootDelay time.Duration `toml:"reboot_delay"`
	// MinUptime refuses (403) a server-ordered reboot sooner than this
	// after a reboot the agent ordered: no reboot loops.
	MinUptime time.Duration `toml:"min_uptime"`
	// JobTimeout bounds the wait for a unit's start/stop/restart job.
	JobTimeout time.Duration `toml:"job_timeout"`
	// MaintenanceWindows confine server-ordered reboots and power-offs,
	// and the reboot after a firmware install
	// (csp/window syntax, local time: "02:00-04:00", "Mon-Fri 01:00-03:00",
	// "Sat 23:00-02:00"); empty = any time.
	MaintenanceWindows []string `toml:"maintenance_windows"`
}

// Metrics is the [metrics] table: the agent's counters and gauges in the
// Prometheus text format, for fleet monitoring (node_exporter's textfile
// collector, or anything that reads the file).
type Metrics struct {
	// Textfile is the file the metrics are written to (atomically, mode
	// 0644: it holds no secret) whenever they change, at most once per
	// Interval; "" = off. For node_exporter, a *.prom file in its
	// --collector.textfile.directory.
	Textfile string `toml:"textfile"`
	// Interval is the shortest time between two writes of Textfile.
	Interval time.Duration `toml:"interval"`
}

// Server is one [[server]] table: how often the agent opens a session to
// one DM server on its own, modelled on the Windows DMClient Poll settings.
// See [Server.PollDelay] for the exact schedule.
type Server struct {
	ServerID string `toml:"server_id"`
	// Encoding overrides transport.encoding for this server; "" = inherit.
	Encoding string `toml:"encoding"`

	FirstInterval  time.Duration `toml:"first_interval"`
	FirstRetries   int           `toml:"first_retries"`
	SecondInterval time.Duration `toml:"second_interval"`
	SecondRetries  int           `toml:"second_retries"`
	// SteadyInterval is the interval after both phases; 0 = stop polling.
	SteadyInterval time.Duration `toml:"steady_interval"`
	// RetryOnFailure retries a failed poll session on the transport
	// backoff schedule instead of waiting for the next poll.
	RetryOnFailure bool `toml:"retry_on_failure"`
}

// Defaults that other packages may want to name.
const (
	DefaultPath     = "/etc/omadm-agent/agent.toml"
	DefaultStateDir = "/var/lib/omadm-agent"
	// MinPollInterval is the shortest non-zero poll interval accepted, to
	// protect servers from a typo like "1s".
	MinPollInterval = time.Minute
)

// Default returns the configuration used for every key no file sets.
func Default() Config {
	return Config{
		Agent: Agent{
			LogLevel:        "info",
			StateDir:        DefaultStateDir,
			SessionDeadline: 10 * time.Minute,
		},
		Device: Device{
			DMVersion: "1.2",
			Lang:      "en-US",
			DevType:   "gateway",
		},
		Modem: Modem{
			Backend:     "serial",
			Baud:        115200,
			Coexistence: true,
		},
		Transport: Transport{
			Encoding:       "wbxml",
			ConnectTimeout: 30 * time.Second,
			RequestTimeout: 2 * time.Minute,
			MaxMsgSize:     16384,
			MaxObjSize:     1 << 20,
			ConnRetryFreq:  3,
			InitialBackoff: 16 * time.Second,
			MaxBackoff:     24 * time.Hour,
		},
		Push: Push{
			ReplayWindow:      time.Hour,
			RateLimit:         6,
			UIUserInteraction: "ui",
		},
		UI: UI{
			Confirm:    "accept",
			Input:      "default",
			AskTimeout: 5 * time.Minute,
			OnTimeout:  "reject",
		},
		DBus: DBus{
			ControlGroup: "omadm",
			Bus:          "system",
		},
		Bootstrap: Bootstrap{
			Smartcard: "none",
			SIMRoute:  "auto",
		},
		FUMO: FUMO{
			Enabled:  true,
			MaxSize:  1 << 30,
			Reboot:   "logind",
			MarkGood: "none",
		},
		System: System{
			RebootDelay: 30 * time.Second,
			MinUptime:   10 * time.Minute,
			JobTimeout:  20 * time.Second,
		},
		Metrics: Metrics{
			Interval: 5 * time.Second,
		},
	}
}

// DefaultServer returns the values a [[server]] table starts from: no
// polling at all until intervals are set, and retries on failure.
func DefaultServer() Server {
	return Server{RetryOnFailure: true}
}

// Spool returns the spool directory: SpoolDir, or <StateDir>/spool.
func (a Agent) Spool() string {
	if a.SpoolDir != "" {
		return a.SpoolDir
	}
	return filepath.Join(a.StateDir, "spool")
}

// Level returns LogLevel as a slog.Level (info for an invalid value;
// Validate rejects those).
func (a Agent) Level() slog.Level {
	switch a.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Server returns the [[server]] entry for id and whether there is one.
func (c Config) Server(id string) (Server, bool) {
	for _, s := range c.Servers {
		if s.ServerID == id {
			return s, true
		}
	}
	return Server{}, false
}

// EncodingFor returns the encoding to use with server id: its own
// override, or transport.encoding.
func (c Config) EncodingFor(id string) string {
	if s, ok := c.Server(id); ok && s.Encoding != "" {
		return s.Encoding
	}
	return c.Transport.Encoding
}
