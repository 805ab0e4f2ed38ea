package fumo

import (
	"context"
	"errors"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/outbox"
	"github.com/omadm-agent/omadm-agent/tree"
)

// TestOutboxCorrelation: the alert's Source and Correlator find the Exec
// the session recorded with outbox.Expect, across a provider restart, and
// the outbox holds the alert once.
func TestOutboxCorrelation(t *testing.T) {
	ob, err := outbox.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	report := func(ctx context.Context, a tree.Alert) error {
		id, ok := ob.Expected(a)
		if !ok {
			return errors.New("no expectation")
		}
		_, err := ob.Add(id, a)
		return err
	}
	// What agent/session does when Exec answers 202.
	if err := ob.Expect("srv-fw", "./FUMO/1/Download", ""); err != nil {
		t.Fatal(err)
	}
	if err := ob.Expect("srv-other", "./FUMO/1/Update", ""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := newFixture(t, nil, dir, "boot-1", func(c *Config) { c.Report = report })
	mustAsync(t, f.exec(t, "Download", "")) // empty PkgURL: 411
	f.wait(t)
	f2 := newFixture(t, nil, dir, "boot-2", func(c *Config) { c.Report = report })
	f2.p.Resume()
	f2.wait(t)
	es, err := ob.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 {
		t.Fatalf("pending alerts: got %d, want 1", len(es))
	}
	if e := es[0]; e.ServerID != "srv-fw" || e.Alert.Source != "./FUMO/1/Download" || string(e.Alert.Data) != "411" || e.Alert.Type != TypeDownload {
		t.Errorf("pending: got server %q alert %+v, want srv-fw, ./FUMO/1/Download, 411", e.ServerID, e.Alert)
	}
}
