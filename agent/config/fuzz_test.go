package config

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; every problem is a *KeyError with a line
// inside the document; a configuration that loads is valid and survives
// Write → Parse unchanged.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile(shippedPath); err == nil {
		f.Add(b)
	}
	seeds := []string{
		"",
		"[agent]\nlog_level = \"debug\"\n",
		"[modem]\nbaudrate = 1\n[[server]]\nserver_id = \"a\"\nsteady_interval = \"1h\"\n",
		"[[server]]\nserver_id = \"a\"\n[[server]]\nserver_id = \"a\"\n",
		"[transport]\npin_sha256 = [\n\"x\", # ]\n]\ninitial_backoff = \"1x\"\n",
		"[device]\nmodel = \"\"\"\n[modem]\n\"\"\"\n",
		"a.b.c = {d = [1, {e = 2}]}\n",
		"[agent.log_level]\n",
		"[ui]\nconfirm = 'ask'\nask_timeout = \"-5m\"\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse("fuzz.toml", bytes.NewReader(data))
		nlines := strings.Count(string(data), "\n") + 2
		for _, e := range unjoin(err) {
			var ke *KeyError
			if !errors.As(e, &ke) {
				t.Fatalf("problem %v (%T) is not a *KeyError", e, e)
			}
			if ke.File != "" && ke.File != "fuzz.toml" || ke.Line < 0 || ke.Line > nlines {
				t.Fatalf("problem %v points outside the document (%d lines)", e, nlines)
			}
		}
		if err != nil {
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("Parse returned no error but Validate: %v", verr)
		}
		var b bytes.Buffer
		if werr := Write(&b, c); werr != nil {
			t.Fatalf("Write: %v", werr)
		}
		c2, _, err := Parse("rewritten", &b)
		if err != nil {
			t.Fatalf("Parse(Write(c)): %v\n%s", err, b.String())
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("Parse(Write(c)) = %+v\nwant %+v", c2, c)
		}
		if live, restart := Diff(c, c2); live != nil || restart != nil {
			t.Fatalf("Diff(c, c) = %v %v", live, restart)
		}
	})
}

// BenchmarkParseShipped parses the annotated default file (what the daemon
// does at start and on every reload).
func BenchmarkParseShipped(b *testing.B) {
	data, err := os.ReadFile(shippedPath)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse("agent.toml", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
