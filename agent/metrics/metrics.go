package metrics

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omadm-agent/omadm-agent/agent"
)

// Metric types of the exposition format.
const (
	Counter = "counter"
	Gauge   = "gauge"
)

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

// Sample is one line of a family: its labels and its value.
type Sample struct {
	Labels []Label
	Value  float64
}

// Family is one metric: its HELP text, TYPE and samples. A family without
// samples is not rendered.
type Family struct {
	Name, Help, Type string
	Samples          []Sample
}

// Outcomes are the session outcomes counted per server (agent.Outcome),
// always all rendered so that rate() works from the first failure on.
var Outcomes = []string{"ok", "auth", "transport", "status", "aborted"}

// Verdicts are what a push (or a spool file, or ProcessFile) ended in
// (agent.Router.Counters), rendered with label-friendly names.
var Verdicts = []string{"queued", "bootstrapped", "ignored", "refused", "left_for_modem", "error"}

// Checks are the checks a refused push failed (agent.Decision.Check).
var Checks = []string{"decode", "credentials", "digest", "replay", "rate_limit", "unauthenticated", "bootstrap", "unavailable"}

// States are the agent states of agent.Snapshot.State.
var States = []string{"starting", "idle", "session", "stopping"}

// FromSnapshot returns the agent's metric families for s.
func FromSnapshot(s agent.Snapshot) []Family {
	fams := []Family{
		{Name: "omadm_build_info", Type: Gauge, Help: "The agent's version; always 1.",
			Samples: []Sample{{Labels: []Label{{"version", s.Version}}, Value: 1}}},
	}
	if !s.Started.IsZero() {
		fams = append(fams, Family{Name: "omadm_start_time_seconds", Type: Gauge,
			Help: "When the agent started, in seconds since the epoch.", Samples: []Sample{{Value: seconds(s.Started)}}})
	}
	state := Family{Name: "omadm_agent_state", Type: Gauge, Help: "1 for the agent's current state (starting, idle, session, stopping)."}
	for _, st := range States {
		state.Samples = append(state.Samples, Sample{Labels: []Label{{"state", st}}, Value: b2f(s.State == st)})
	}
	fams = append(fams, state)

	servers := slices.Clone(s.Servers)
	slices.SortFunc(servers, func(a, b agent.ServerState) int { return strings.Compare(a.ServerID, b.ServerID) })
	sessions := Family{Name: "omadm_sessions_total", Type: Counter,
		Help: "DM sessions ended since the agent started, by server and outcome (ok, auth: credentials refused, transport, status: ended by another server status, aborted)."}
	account := Family{Name: "omadm_server_account", Type: Gauge, Help: "1 if the server has a ./DMAcc account, 0 if only configured or seen."}
	running := Family{Name: "omadm_session_running", Type: Gauge, Help: "1 while a session with the server runs."}
	lastEnd := Family{Name: "omadm_session_last_end_timestamp_seconds", Type: Gauge, Help: "When the last session with the server ended."}
	lastOK := Family{Name: "omadm_session_last_success_timestamp_seconds", Type: Gauge, Help: "When the last successful session with the server ended."}
	lastStatus := Family{Name: "omadm_session_last_status", Type: Gauge, Help: "How the last session ended: 0 success, -1 transport failure, else the SyncML status code."}
	lastDur := Family{Name: "omadm_session_last_duration_seconds", Type: Gauge, Help: "How long the last session with the server took."}
	nextPoll := Family{Name: "omadm_server_next_poll_timestamp_seconds", Type: Gauge, Help: "When the next scheduled poll of the server is due."}
	for _, sv := range servers {
		srv := []Label{{"server", sv.ServerID}}
		for _, o := range Outcomes {
			sessions.Samples = append(sessions.Samples, Sample{Labels: []Label{{"outcome", o}, {"server", sv.ServerID}}, Value: float64(sv.Outcomes[o])})
		}
		account.Samples = append(account.Samples, Sample{Labels: srv, Value: b2f(sv.HasAccount)})
		running.Samples = append(running.Samples, Sample{Labels: srv, Value: b2f(sv.Running)})
		if !sv.LastEnd.IsZero() {
			lastEnd.Samples = append(lastEnd.Samples, Sample{Labels: srv, Value: seconds(sv.LastEnd)})
			lastStatus.Samples = append(lastStatus.Samples, Sample{Labels: srv, Value: float64(sv.LastStatus)})
			lastDur.Samples = append(lastDur.Samples, Sample{Labels: srv, Value: sv.LastDuration.Seconds()})
		}
		if !sv.LastSuccess.IsZero() {
			lastOK.Samples = append(lastOK.Samples, Sample{Labels: srv, Value: seconds(sv.LastSuccess)})
		}
		if !sv.NextPoll.IsZero() {
			nextPoll.Samples = append(nextPoll.Samples, Sample{Labels: srv, Value: seconds(sv.NextPoll)})
		}
	}
	fams = append(fams, sessions, account, running, lastEnd, lastOK, lastStatus, lastDur, nextPoll)

	st := s.Stats
	fams = append(fams,
		Family{Name: "omadm_triggers_total", Type: Counter,
			Help: "Session triggers (pushes, polls, retries, alerts, requests) by what became of them: queued, merged into a pending one, dropped.",
			Samples: []Sample{
				{Labels: []Label{{"disposition", "dropped"}}, Value: float64(st.Dropped)},
				{Labels: []Label{{"disposition", "merged"}}, Value: float64(st.Merged)},
				{Labels: []Label{{"disposition", "queued"}}, Value: float64(st.Queued)},
			}},
		Family{Name: "omadm_triggers_dropped_total", Type: Counter, Help: "Dropped session triggers by reason.",
			Samples: counted(st.DropReasons, "reason", nil)},
		Family{Name: "omadm_triggers_queued", Type: Gauge, Help: "Session triggers waiting in the queue.",
			Samples: []Sample{{Value: float64(s.Queued)}}},
	)

	verdicts := map[string]uint64{}
	checks := map[string]uint64{}
	for k, v := range s.Pushes {
		if c, ok := strings.CutPrefix(k, agent.Refused.String()+":"); ok {
			checks[c] += uint64(v)
			continue
		}
		verdicts[strings.ReplaceAll(k, " ", "_")] += uint64(v)
	}
	if n, ok := verdicts["left_for_the_modem"]; ok {
		delete(verdicts, "left_for_the_modem")
		verdicts["left_for_modem"] += n
	}
	fams = append(fams,
		Family{Name: "omadm_pushes_total", Type: Counter,
			Help:    "Package #0 notifications and bootstrap documents received (WAP push, spool, D-Bus) by verdict.",
			Samples: counted(verdicts, "verdict", Verdicts)},
		Family{Name: "omadm_pushes_refused_total", Type: Counter,
			Help:    "Refused pushes by the check they failed (digest: forged or wrong password; replay; rate_limit; decode; ...).",
			Samples: counted(checks, "check", Checks)},
		Family{Name: "omadm_alerts_pending", Type: Gauge, Help: "Generic Alerts waiting in the outbox for delivery.",
			Samples: []Sample{{Value: float64(s.PendingAlerts)}}},
	)
	if s.ModemState != "" {
		fams = append(fams, Family{Name: "omadm_modem_info", Type: Gauge, Help: "The modem's state as a label; always 1.",
			Samples: []Sample{{Labels: []Label{{"state", s.ModemState}}, Value: 1}}})
	}
	return fams
}

// counted turns a map of counts into samples labelled name, sorted by
// value; the keys in always are present even when zero.
func counted(m map[string]uint64, name string, always []string) []Sample {
	keys := slices.Clone(always)
	for k := range m {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]Sample, 0, len(keys))
	for _, k := range keys {
		out = append(out, Sample{Labels: []Label{{name, k}}, Value: float64(m[k])})
	}
	return out
}

func seconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Render writes fams in the text exposition format. Samples are written in
// the order given; FromSnapshot already sorts them.
func Render(w io.Writer, fams []Family) error {
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		if len(f.Samples) == 0 {
			continue
		}
		bw.WriteString("# HELP " + f.Name + " " + escapeHelp(f.Help) + "\n")
		bw.WriteString("# TYPE " + f.Name + " " + f.Type + "\n")
		for _, s := range f.Samples {
			bw.WriteString(f.Name)
			if len(s.Labels) > 0 {
				bw.WriteByte('{')
				for i, l := range s.Labels {
					if i > 0 {
						bw.WriteByte(',')
					}
					bw.WriteString(l.Name + `="` + escapeLabel(l.Value) + `"`)
				}
				bw.WriteByte('}')
			}
			bw.WriteByte(' ')
			bw.WriteString(formatValue(s.Value))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// escapeLabel escapes a label value; invalid UTF-8 (which collectors
// refuse, failing the whole file) becomes U+FFFD.
func escapeLabel(s string) string { return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
