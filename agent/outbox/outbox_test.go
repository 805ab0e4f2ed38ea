package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
)

func TestAddPendingAckSurvivesReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	alerts := []tree.Alert{
		{Type: "org.openmobilealliance.dm.firmwareupdate.download", Format: "int", Mark: "critical", Source: "./FUMO/x/Download", Correlator: "c1", Data: []byte("200")},
		{Type: "urn:x:event", Data: []byte{0, 1, 2, 0xff}, Format: "bin"},
		{Type: "urn:x:third"},
	}
	var ids []string
	for _, a := range alerts {
		id, err := o.Add("srv", a)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// A restart: a new Outbox on the same directory sees everything, in order.
	o2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := o2.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d pending, want 3", len(got))
	}
	for i, e := range got {
		if e.ID != ids[i] {
			t.Errorf("entry %d: got id %s, want %s", i, e.ID, ids[i])
		}
		a := alerts[i]
		if e.Alert.Type != a.Type || e.Alert.Format != a.Format || e.Alert.Mark != a.Mark || e.Alert.Source != a.Source ||
			e.Alert.Correlator != a.Correlator || !bytes.Equal(e.Alert.Data, a.Data) {
			t.Errorf("entry %d: got %+v, want %+v", i, e.Alert, a)
		}
		fi, err := os.Stat(filepath.Join(dir, e.ID+suffix))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("entry %d: mode %v, want 0600", i, fi.Mode().Perm())
		}
	}
	if err := o2.Ack(ids[1]); err != nil {
		t.Fatal(err)
	}
	got, _ = o.Pending()
	if len(got) != 2 || got[0].ID != ids[0] || got[1].ID != ids[2] {
		t.Fatalf("after ack: got %v, want ids %s %s", got, ids[0], ids[2])
	}
	if err := o.Ack(ids[1]); !errors.Is(err, ErrUnknownID) {
		t.Errorf("second ack: got %v, want ErrUnknownID", err)
	}
	if err := o.Ack("../x"); !errors.Is(err, ErrUnknownID) {
		t.Errorf("path ack: got %v, want ErrUnknownID", err)
	}
}

func TestPendingSkipsBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	o, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Add("srv", tree.Alert{Type: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken"+suffix), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := o.Pending()
	if len(got) != 1 || err == nil {
		t.Fatalf("got %d entries, err %v; want 1 and an error", len(got), err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "broken"+suffix)); serr != nil {
		t.Errorf("broken file was removed: %v", serr)
	}
}

func TestAddRejectsEmptyType(t *testing.T) {
	o, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Add("srv", tree.Alert{}); err == nil {
		t.Error("got nil error for an alert without Type")
	}
}

func TestSchemaV1FilesReadAndAssign(t *testing.T) {
	dir := t.TempDir()
	// A file as schema version 1 wrote it: no "server".
	v1 := `{"v":1,"id":"0000000000000001-00000001-aabbccdd","added":"2025-01-02T03:04:05Z","type":"urn:x:old","format":"int","source":"./FUMO/x/Update","correlator":"c9","data":"MjAw"}`
	id := "0000000000000001-00000001-aabbccdd"
	if err := os.WriteFile(filepath.Join(dir, id+suffix), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	newID, err := o.Add("srvB", tree.Alert{Type: "urn:x:new"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := o.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != id || got[0].ServerID != "" || got[0].Alert.Type != "urn:x:old" ||
		string(got[0].Alert.Data) != "200" || got[0].Alert.Correlator != "c9" {
		t.Fatalf("got %+v, want the v1 entry first, unattributed, with its fields", got)
	}
	if got[1].ID != newID || got[1].ServerID != "srvB" {
		t.Fatalf("got %+v, want the new entry for srvB", got[1])
	}
	if p, _ := o.PendingFor("srvA"); len(p) != 0 {
		t.Errorf("PendingFor(srvA) before Assign: got %d, want 0", len(p))
	}
	// Attribute the old entry to two servers: one copy each.
	if err := o.Assign(id, "srvA", "srvB"); err != nil {
		t.Fatal(err)
	}
	if err := o.Assign(id, "srvC"); !errors.Is(err, ErrAssigned) {
		t.Errorf("second Assign: got %v, want ErrAssigned", err)
	}
	a, _ := o.PendingFor("srvA")
	b, _ := o.PendingFor("srvB")
	if len(a) != 1 || a[0].ID != id || a[0].Alert.Type != "urn:x:old" {
		t.Errorf("srvA: got %+v, want the old alert under its id", a)
	}
	if len(b) != 2 || b[0].ID != id+"-1" || b[0].Alert.Type != "urn:x:old" || b[1].ID != newID {
		t.Errorf("srvB: got %+v, want the copy %s-1 then %s (in order)", b, id, newID)
	}
	// Acknowledging srvA's copy leaves srvB's.
	if err := o.Ack(id); err != nil {
		t.Fatal(err)
	}
	if b, _ := o.PendingFor("srvB"); len(b) != 2 {
		t.Errorf("srvB after srvA's ack: got %d, want 2", len(b))
	}
	raw, _ := os.ReadFile(filepath.Join(dir, id+"-1"+suffix))
	if !bytes.Contains(raw, []byte(`"v":2`)) || !bytes.Contains(raw, []byte(`"server":"srvB"`)) {
		t.Errorf("rewritten file: got %s, want schema 2 with server srvB", raw)
	}
}

func TestUnknownSchemaLeftAlone(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"future": `{"v":3,"id":"future","server":"s","type":"t"}`,
		"v2nosv": `{"v":2,"id":"v2nosv","type":"t"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name+suffix), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	o, _ := Open(dir)
	got, err := o.Pending()
	if len(got) != 0 || err == nil {
		t.Fatalf("got %d entries, err %v; want none and an error", len(got), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "future"+suffix)); err != nil {
		t.Errorf("unknown version file removed: %v", err)
	}
}

func TestAddNeedsServer(t *testing.T) {
	o, _ := Open(t.TempDir())
	if _, err := o.Add("", tree.Alert{Type: "t"}); err == nil {
		t.Error("got nil error for an alert without ServerID")
	}
}

func TestExpectations(t *testing.T) {
	dir := t.TempDir()
	o, _ := Open(dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(o.Expect("srvA", "./FUMO/a/Update", "corr-1"))
	must(o.Expect("srvB", "./FUMO/b/Update", ""))
	must(o.Expect("srvB", "./FUMO/a/Update", "corr-2"))
	o2, _ := Open(dir) // a reboot
	tests := []struct {
		name string
		a    tree.Alert
		want string
		ok   bool
	}{
		{"correlator wins over a later Exec of the node", tree.Alert{Source: "./FUMO/a/Update", Correlator: "corr-1"}, "srvA", true},
		{"correlator without source", tree.Alert{Correlator: "corr-2"}, "srvB", true},
		{"source only: latest Exec", tree.Alert{Source: "./FUMO/a/Update"}, "srvB", true},
		{"unknown correlator falls back to source", tree.Alert{Source: "./FUMO/b/Update", Correlator: "zzz"}, "srvB", true},
		{"nothing matches", tree.Alert{Source: "./FUMO/c/Update"}, "", false},
		{"empty alert", tree.Alert{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := o2.Expected(tt.a)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q %v, want %q %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if p, err := o2.Pending(); len(p) != 0 || err != nil {
		t.Errorf("Pending sees the exec records: %v %v", p, err)
	}
	for i := range MaxExpectations + 5 {
		must(o.Expect("srvC", tree.URI(fmt.Sprintf("./X/%d", i)), ""))
	}
	if _, ok := o.Expected(tree.Alert{Source: "./FUMO/a/Update"}); ok {
		t.Error("oldest record kept past MaxExpectations")
	}
	if s, ok := o.Expected(tree.Alert{Source: tree.URI(fmt.Sprintf("./X/%d", MaxExpectations+4))}); !ok || s != "srvC" {
		t.Errorf("newest record: got %q %v", s, ok)
	}
	if err := o.Expect("", "./X", ""); err == nil {
		t.Error("Expect without server: got nil error")
	}
}
