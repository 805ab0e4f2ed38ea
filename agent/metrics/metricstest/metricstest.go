package metricstest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Binary is the node_exporter executable as Debian installs it.
const Binary = "/usr/bin/prometheus-node-exporter"

// NodeExporter is a running node_exporter.
type NodeExporter struct {
	URL string // http://127.0.0.1:PORT/metrics
	cmd *exec.Cmd
}

// StartNodeExporter starts node_exporter reading the *.prom files of dir
// and stops it (by PID) when the test ends. It fails the test when the
// program is missing.
func StartNodeExporter(t testing.TB, dir string) *NodeExporter {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("%s not found: run `make deps` (Debian package prometheus-node-exporter)", Binary)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(Binary, "--collector.disable-defaults", "--collector.textfile",
			"--collector.textfile.directory="+dir, "--web.listen-address="+addr, "--log.level=warn")
		var logs strings.Builder
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start node_exporter: %v", err)
		}
		ne := &NodeExporter{URL: "http://" + addr + "/metrics", cmd: cmd}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case err := <-exited:
				lastErr = fmt.Errorf("node_exporter exited: %v: %s", err, logs.String())
			default:
			}
			if lastErr != nil {
				break
			}
			if resp, err := http.Get(ne.URL); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Cleanup(func() {
						_ = cmd.Process.Kill()
						<-exited
					})
					return ne
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if lastErr == nil {
			_ = cmd.Process.Kill()
			<-exited
			lastErr = fmt.Errorf("node_exporter not answering on %s: %s", addr, logs.String())
		}
	}
	t.Fatal(lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Scrape fetches and parses the exporter's metrics.
func (n *NodeExporter) Scrape(ctx context.Context) (Samples, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape: %s", resp.Status)
	}
	return Parse(resp.Body)
}

// Samples maps a sample's identity, name{label="value",...} with labels
// sorted by name as node_exporter prints them, to its value.
type Samples map[string]float64

// Parse reads the text exposition format (comments skipped). It accepts
// what a Prometheus exporter prints; a malformed line is an error naming
// it.
func Parse(r io.Reader) (Samples, error) {
	out := Samples{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, val, err := splitSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: value: %w", n, line, err)
		}
		out[id] = v
	}
	return out, sc.Err()
}

// splitSample splits a sample line into its identity and its value,
// skipping quoted label values (which may hold spaces, braces and escaped
// quotes).
func splitSample(line string) (string, string, error) {
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", "", fmt.Errorf("no metric name")
	}
	if line[i] == '{' {
		inQuote := false
		j := i + 1
		for ; j < len(line); j++ {
			c := line[j]
			switch {
			case inQuote && c == '\\':
				j++
			case c == '"':
				inQuote = !inQuote
			case !inQuote && c == '}':
				goto closed
			}
		}
		return "", "", fmt.Errorf("unterminated label set")
	closed:
		i = j + 1
		if i >= len(line) || line[i] != ' ' {
			return "", "", fmt.Errorf("no value after the labels")
		}
	}
	rest := strings.TrimSpace(line[i:])
	if f := strings.Fields(rest); len(f) == 1 || len(f) == 2 { // value [timestamp]
		return line[:i], f[0], nil
	}
	return "", "", fmt.Errorf("want a value and at most a timestamp")
}

// Value returns the value of name with the given labels (name, value
// pairs, in any order) and whether it was present.
func (s Samples) Value(name string, labels ...string) (float64, bool) {
	v, ok := s[ID(name, labels...)]
	return v, ok
}

// ID builds a sample identity as Samples keys it: labels sorted by name,
// values escaped.
func ID(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	type kv struct{ k, v string }
	var ls []kv
	for i := 0; i+1 < len(labels); i += 2 {
		ls = append(ls, kv{labels[i], labels[i+1]})
	}
	slices.SortFunc(ls, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	var b strings.Builder
	b.WriteString(name + "{")
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.k + `="` + esc.Replace(l.v) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}
