package outbox

import (
	"bytes"
	"errors"
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
		id, err := o.Add(a)
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
	if _, err := o.Add(tree.Alert{Type: "t"}); err != nil {
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
	if _, err := o.Add(tree.Alert{}); err == nil {
		t.Error("got nil error for an alert without Type")
	}
}
