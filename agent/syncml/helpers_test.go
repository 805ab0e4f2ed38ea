package syncml

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// corpusDir is the shared SyncML corpus.
const corpusDir = "../../testdata/syncml"

type corpusFile struct {
	name string
	data []byte
}

func loadCorpus(t testing.TB) []corpusFile {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(corpusDir, "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	local, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	names = append(names, local...)
	sort.Strings(names)
	if len(names) < 30 {
		t.Fatalf("corpus has %d files, want at least 30", len(names))
	}
	var out []corpusFile
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, corpusFile{filepath.Base(n), b})
	}
	return out
}

// normalize returns a copy of m with positions cleared and embedded trees
// canonicalised, so messages decoded from different encodings compare equal.
func normalize(t testing.TB, m *Message) *Message {
	t.Helper()
	c := *m
	c.Hdr.Pos = Position{}
	c.Body = normCmds(t, m.Body)
	return &c
}

func normCmds(t testing.TB, cmds []*Command) []*Command {
	var out []*Command
	for _, cmd := range cmds {
		c := *cmd
		c.Pos = Position{}
		c.Children = normCmds(t, cmd.Children)
		c.Items = nil
		for _, it := range cmd.Items {
			i := *it
			if it.Data != nil && it.Data.Tree != nil {
				i.Data = &Data{Tree: canonicalXML(t, it.Data.Tree)}
			}
			c.Items = append(c.Items, &i)
		}
		out = append(out, &c)
	}
	return out
}

// canonicalXML re-serialises XML with white space between elements dropped
// and CDATA turned into text.
func canonicalXML(t testing.TB, b []byte) []byte {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	w := &xmlWriter{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("canonical: %v in %q", err, b)
		}
		switch tok := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) == 0 {
				continue
			}
			w.textBytes(bytes.TrimSpace(tok))
		case xml.StartElement:
			w.start(tok.Name.Space, tok.Name.Local, tok.Attr)
		case xml.EndElement:
			w.end()
		}
	}
	return w.buf
}

func sameMessage(t testing.TB, got, want *Message) bool {
	t.Helper()
	return reflect.DeepEqual(normalize(t, got), normalize(t, want))
}
