package outbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
)

// FuzzFiles: whatever an entry file or the Exec record holds (a torn
// write, a foreign file, an old schema), Pending and Expected never panic,
// return only well-formed entries, and a bad file is reported, not lost:
// it stays where it was.
func FuzzFiles(f *testing.F) {
	f.Add([]byte(`{"v":2,"id":"0001","server":"s","type":"org.openmobilealliance.dm.firmwareupdate.download","data":"MjAw"}`),
		[]byte(`{"v":1,"execs":[{"server":"s","source":"./FUMO/1/Download","correlator":"c"}]}`))
	f.Add([]byte(`{"v":1,"id":"0001","type":"t"}`), []byte(`{}`))
	f.Add([]byte(`{"v":9,"id":"0001","type":"t","server":"s"}`), []byte(`[`))
	f.Add([]byte(""), []byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, entry, execs []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "0001"+suffix), entry, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, execFile), execs, 0o600); err != nil {
			t.Fatal(err)
		}
		o, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := o.Pending()
		for _, e := range got {
			if e.ID != "0001" || e.Alert.Type == "" || strings.ContainsAny(e.ID, "/\x00") {
				t.Fatalf("Pending returned a malformed entry %+v", e)
			}
		}
		if len(got) == 0 && err == nil {
			t.Fatalf("an unreadable entry file was neither returned nor reported")
		}
		_, _ = o.Expected(tree.Alert{Type: "t", Source: "./FUMO/1/Download", Correlator: "c"})
		if b, err := os.ReadFile(filepath.Join(dir, "0001"+suffix)); err != nil || string(b) != string(entry) {
			t.Fatalf("the entry file changed or vanished: %v", err)
		}
	})
}
