package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/agent/metrics"
	"github.com/omadm-agent/omadm-agent/csp/fumo"
	"github.com/omadm-agent/omadm-agent/csp/system"
)

// jobMetrics returns the metric families of the same state files as
// printJobs: the firmware update's ./FUMO/1 State (and the job's phase)
// and a server-ordered reboot or power-off still in progress.
func jobMetrics(cfg config.Config, stateDir string) []metrics.Family {
	var fams []metrics.Family
	fdir := cfg.FUMO.Dir
	if fdir == "" {
		fdir = filepath.Join(stateDir, "fumo")
	}
	if b, err := os.ReadFile(filepath.Join(fdir, fumo.StateFile)); err == nil {
		if st, err := fumo.DecodeState(b); err == nil {
			fams = append(fams, metrics.Family{Name: "omadm_fumo_state", Type: metrics.Gauge,
				Help:    "./FUMO/1/State (OMA FUMO 1.0: 10 idle, 20 download failed, 30 downloading, 40 downloaded, 50 updating, 60 update failed, 70 update done...).",
				Samples: []metrics.Sample{{Labels: []metrics.Label{{Name: "instance", Value: "1"}}, Value: float64(st.State)}}})
			if j := st.Job; j != nil {
				fams = append(fams, metrics.Family{Name: "omadm_fumo_job_info", Type: metrics.Gauge,
					Help:    "The firmware job in progress or last finished, as labels; always 1.",
					Samples: []metrics.Sample{{Labels: []metrics.Label{{Name: "op", Value: string(j.Op)}, {Name: "phase", Value: string(j.Phase)}}, Value: 1}}})
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(stateDir, "system", system.StateFile)); err == nil {
		if m, err := system.DecodeMarker(b); err == nil {
			fams = append(fams, metrics.Family{Name: "omadm_power_action_info", Type: metrics.Gauge,
				Help:    "The last server-ordered reboot or power-off and its phase, as labels; always 1.",
				Samples: []metrics.Sample{{Labels: []metrics.Label{{Name: "op", Value: m.Op}, {Name: "phase", Value: m.Phase}}, Value: 1}}})
		}
	}
	return fams
}

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
				if !j.NotBefore.IsZero() {
					line += "; reboot waits for the maintenance window at " + j.NotBefore.Local().Format(time.RFC3339)
				}
			}
			if n := st.Notify; n != nil {
				line += fmt.Sprintf("; install notify %d %s", int(n.Status), n.State)
				if n.Error != "" {
					line += fmt.Sprintf(" (%d tries: %s)", n.Tries, n.Error)
				}
			}
			if m := st.Mark; m != nil {
				line += fmt.Sprintf("; slot %s mark-good %s", m.Slot, m.Status)
				if m.Error != "" {
					line += fmt.Sprintf(" (%d failed: %s)", m.Tries, m.Error)
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
			if !m.NotBefore.IsZero() && m.Phase == system.PhaseScheduled {
				line += "; waits for the maintenance window at " + m.NotBefore.Local().Format(time.RFC3339)
			}
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
