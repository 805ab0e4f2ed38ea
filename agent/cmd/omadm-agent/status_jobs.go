package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/csp/fumo"
	"github.com/omadm-agent/omadm-agent/csp/system"
)

// printJobs adds the long-running operations that outlive a session to
// the status output: the firmware update (./FUMO/1) and a server-ordered
// reboot or power-off. Both are read from their state files in the state
// directory (the daemon keeps them current), so the lines look the same
// whether the daemon runs or not; nothing is printed where there is no
// file.
func printJobs(w io.Writer, cfg config.Config, stateDir string) {
	fdir := cfg.FUMO.Dir
	if fdir == "" {
		fdir = filepath.Join(stateDir, "fumo")
	}
	if b, err := os.ReadFile(filepath.Join(fdir, fumo.StateFile)); err == nil {
		st, err := fumo.DecodeState(b)
		switch {
		case err != nil:
			fmt.Fprintf(w, "firmware:       state file unreadable: %v\n", err)
		default:
			line := fmt.Sprintf("firmware:       ./FUMO/1 State %d (%s)", int(st.State), st.State)
			if st.PkgName != "" || st.PkgVersion != "" {
				line += fmt.Sprintf("; package %s %s", st.PkgName, st.PkgVersion)
			}
			if j := st.Job; j != nil {
				line += fmt.Sprintf("; %s %s since %s", j.Op, j.Phase, j.Started.Local().Format(time.RFC3339))
				if j.Detail != "" {
					line += ": " + j.Detail
				}
			}
			fmt.Fprintln(w, line)
		}
	}
	if b, err := os.ReadFile(filepath.Join(stateDir, "system", system.StateFile)); err == nil {
		m, err := system.DecodeMarker(b)
		switch {
		case err != nil:
			fmt.Fprintf(w, "power:          state file unreadable: %v\n", err)
		default:
			line := fmt.Sprintf("power:          %s %s (ordered %s", m.Op, m.Phase, m.Requested.Local().Format(time.RFC3339))
			if m.Correlator != "" {
				line += ", correlator " + m.Correlator
			}
			line += ")"
			if m.Result != 0 {
				line += fmt.Sprintf("; result %d", m.Result)
			}
			if m.Message != "" {
				line += ": " + m.Message
			}
			fmt.Fprintln(w, line)
		}
	}
}
