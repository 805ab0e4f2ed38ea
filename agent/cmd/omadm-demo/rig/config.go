package rig

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/omadm-agent/omadm-agent/agent/config"
)

// AgentConfig is what a run changes from the shipped defaults.
type AgentConfig struct {
	StateDir    string
	ModemDevice string // "" disables the modem
	CAFile      string
	LogLevel    string // default "debug"
	Encoding    string // "wbxml" (default) or "xml"
	DevID       string
	// ModemManager: the modem is ModemManager's ([modem] backend =
	// "modemmanager"); ModemDevice is then unused.
	ModemManager bool
	// Extra is appended verbatim (more tables or keys for a test).
	Extra string
}

// TOML renders the configuration file.
func (c AgentConfig) TOML() []byte {
	q := strconv.Quote
	lvl := c.LogLevel
	if lvl == "" {
		lvl = "debug"
	}
	enc := c.Encoding
	if enc == "" {
		enc = "wbxml"
	}
	var b bytes.Buffer
	b.WriteString("# written by omadm-demo/rig for one end-to-end run\n")
	fmt.Fprintf(&b, "[agent]\nlog_level = %s\nstate_dir = %s\nsession_deadline = \"45s\"\n\n", q(lvl), q(c.StateDir))
	fmt.Fprintf(&b, "[device]\ndev_id = %s\nmanufacturer = \"omadm-agent project\"\nmodel = \"demo-gateway\"\nfw_version = \"demo-1.0\"\n\n", q(c.DevID))
	switch {
	case c.ModemManager:
		b.WriteString("[modem]\nenabled = true\nbackend = \"modemmanager\"\n\n")
	case c.ModemDevice != "":
		fmt.Fprintf(&b, "[modem]\nenabled = true\ndevice = %s\n\n", q(c.ModemDevice))
	}
	fmt.Fprintf(&b, "[transport]\nencoding = %s\nca_file = %s\nconnect_timeout = \"5s\"\nrequest_timeout = \"20s\"\ninitial_backoff = \"1s\"\nmax_backoff = \"2s\"\nconn_retry_freq = 1\n\n", q(enc), q(c.CAFile))
	b.WriteString("[dbus]\nbus = \"system\"\n")
	if c.Extra != "" {
		b.WriteString("\n" + c.Extra + "\n")
	}
	return b.Bytes()
}

// WriteConfig writes the configuration to path (0600) and checks it with
// agent/config, so a mistake is reported here and not by the daemon.
func (c AgentConfig) WriteConfig(path string) error {
	data := c.TOML()
	if _, _, err := config.Parse(path, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("generated configuration is invalid: %w", err)
	}
	return os.WriteFile(path, data, 0o600)
}
