package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The annotated default file shipped as /etc/omadm-agent/agent.toml. Its
// conventions: "#key = value" (no blank after #) is a setting at its
// default, "# text" is prose, "## ..." is an example [[server]] block.
const shippedPath = "../../packaging/agent.toml"

var (
	settingLine = regexp.MustCompile(`^#([a-z_0-9]+ = .*)$`)
	exampleLine = regexp.MustCompile(`^##( ?)(.*)$`)
)

func readShipped(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(shippedPath)
	if err != nil {
		t.Fatalf("read the shipped config: %v", err)
	}
	return string(b)
}

// TestShippedConfigIsDefault: the file as shipped changes nothing.
func TestShippedConfigIsDefault(t *testing.T) {
	c, _, err := Parse(shippedPath, strings.NewReader(readShipped(t)))
	if err != nil {
		t.Fatalf("shipped config does not load: %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("shipped config = %+v, want Default()", c)
	}
}

// TestShippedConfigDocumentsDefaults: with every "#key = value" line
// uncommented, the file still loads to Default() (so each documented
// default is the real one) and sets every key of the schema exactly once.
func TestShippedConfigDocumentsDefaults(t *testing.T) {
	var lines []string
	for l := range strings.Lines(readShipped(t)) {
		l = strings.TrimRight(l, "\n")
		if m := settingLine.FindStringSubmatch(l); m != nil {
			l = m[1]
		}
		lines = append(lines, l)
	}
	doc := strings.Join(lines, "\n")
	c, src, err := Parse(shippedPath, strings.NewReader(doc))
	if err != nil {
		t.Fatalf("uncommented shipped config does not load: %v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("documented defaults differ from Default():\n got %+v\nwant %+v", c, Default())
	}
	for _, k := range Keys() {
		if !strings.Contains(k, ".") || strings.HasPrefix(k, "server.") {
			continue
		}
		if _, ok := src.Keys[k]; !ok {
			t.Errorf("shipped config does not document %q", k)
		}
	}
}

// TestShippedServerExamples: the first "##" block lists every [[server]]
// key at its default; the second is the documented example schedule.
func TestShippedServerExamples(t *testing.T) {
	var blocks []string
	var cur []string
	for l := range strings.Lines(readShipped(t) + "\n") {
		l = strings.TrimRight(l, "\n")
		m := exampleLine.FindStringSubmatch(l)
		if m != nil && m[2] != "" {
			cur = append(cur, m[2])
			continue
		}
		if len(cur) > 0 {
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
			cur = nil
		}
	}
	if len(blocks) != 2 {
		t.Fatalf("found %d example blocks, want 2: %q", len(blocks), blocks)
	}

	c, src, err := Parse("defaults block", strings.NewReader(blocks[0]))
	if err != nil {
		t.Fatalf("server defaults block does not load: %v", err)
	}
	want := DefaultServer()
	want.ServerID = "dm.example.com"
	if !slices.Equal(c.Servers, []Server{want}) {
		t.Errorf("server defaults block = %+v, want %+v", c.Servers, want)
	}
	for _, k := range Keys() {
		if rest, ok := strings.CutPrefix(k, "server."); ok {
			if _, ok := src.Keys["server[dm.example.com]."+rest]; !ok {
				t.Errorf("server defaults block does not list %q", rest)
			}
		}
	}

	c, _, err = Parse("example block", strings.NewReader(blocks[1]))
	if err != nil {
		t.Fatalf("server example block does not load: %v", err)
	}
	if len(c.Servers) != 1 {
		t.Fatalf("example block has %d servers, want 1", len(c.Servers))
	}
	// "every 15 minutes for the first hour, every 2 hours for a day, then daily"
	var elapsed time.Duration
	for n := 1; ; n++ {
		d, ok := c.Servers[0].PollDelay(n)
		if !ok {
			t.Fatalf("example schedule stops at poll %d", n)
		}
		elapsed += d
		switch n {
		case 4:
			if elapsed != time.Hour {
				t.Errorf("after 4 polls: %v, want 1h", elapsed)
			}
		case 16:
			if elapsed != 25*time.Hour {
				t.Errorf("after 16 polls: %v, want 1h + 24h", elapsed)
			}
		case 17:
			if d != 24*time.Hour {
				t.Errorf("poll 17 delay %v, want 24h", d)
			}
			return
		}
	}
}
