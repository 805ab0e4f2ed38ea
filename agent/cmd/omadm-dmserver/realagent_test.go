package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/agent/dmtest"
	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

const scenarioDir = "../../../testdata/scenarios"

// TestRealAgentScenarios runs the scenarios whose point is a valid client
// behaviour the built-in checks must accept against the real agent
// (agent/session), in XML and WBXML: a long answer split over many
// status-only messages without Final (atomic-517 at MaxMsgSize 1100: more
// of them than the loop guard's five) and one Status per Item
// (per-item-status). Each case also asserts that the behaviour did occur.
func TestRealAgentScenarios(t *testing.T) {
	tests := []struct {
		name         string
		file         string
		xml          bool
		minNoFinal   int // at least this many client messages without Final
		minPerCmdSts int // at least this many Statuses for one command
	}{
		{name: "atomic-517 xml", file: "atomic-517.dms", xml: true, minNoFinal: 10},
		{name: "atomic-517 wbxml", file: "atomic-517.dms", minNoFinal: 2},
		{name: "per-item-status xml", file: "per-item-status.dms", xml: true, minPerCmdSts: 3},
		{name: "per-item-status wbxml", file: "per-item-status.dms", minPerCmdSts: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sc, err := dmtest.LoadScenario(filepath.Join(scenarioDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := dmtest.NewServer(sc, serverOpts("none", devNonce))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			// The device's usual tree has a node A1, which atomic-517 adds.
			dev := newDevice(t, ctx, srv.URL(), srv.CACertPEM(), tt.xml, "none", t.TempDir(), "./Vendor/omadm/Test/A1")
			dev.runSession(t, ctx)
			select {
			case <-srv.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("scenario not finished:\n%s", srv.Report())
			}
			rep := srv.Report()
			if !rep.Passed() {
				t.Fatalf("report failed:\n%s", rep)
			}
			noFinal, perCmd := 0, map[string]int{}
			for _, x := range srv.Transcript() {
				if x.Request == nil {
					continue
				}
				if !x.Request.Final {
					noFinal++
				}
				for _, c := range x.Request.Body {
					if c.Kind == syncml.KindStatus && c.CmdRef != "0" {
						perCmd[c.MsgRef+"/"+c.CmdRef]++
					}
				}
			}
			most := 0
			for _, n := range perCmd {
				most = max(most, n)
			}
			if noFinal < tt.minNoFinal {
				t.Errorf("got %d client messages without Final, want at least %d", noFinal, tt.minNoFinal)
			}
			if most < tt.minPerCmdSts {
				t.Errorf("got at most %d Statuses for one command, want at least %d", most, tt.minPerCmdSts)
			}
		})
	}
}
