package session

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
	"github.com/omadm-agent/omadm-agent/tree/store"
)

func TestPlan(t *testing.T) {
	f := newFixture(t, "https://dm.example.invalid/dm", acct{clType: "DIGEST", clName: "dev", clSecret: "devpw"})
	e, err := NewEngine(Config{Tree: f.t, Accounts: f.acc})
	if err != nil {
		t.Fatal(err)
	}
	numbered := func(id string, c *syncml.Command) *syncml.Command { c.CmdID = id; return c }
	atomic := &syncml.Command{Kind: syncml.KindAtomic, CmdID: "10", Children: []*syncml.Command{
		numbered("11", cmd("Replace", "./Vendor/B", "z")),
		numbered("12", cmd("Add", "./Vendor/A", "dup")),
	}}
	alert := &syncml.Command{Kind: syncml.KindAlert, CmdID: "20", Data: "1101", Items: []*syncml.Item{{Data: syncml.TextData("Update now?")}}}
	msg := &syncml.Message{Body: []*syncml.Command{
		{Kind: syncml.KindStatus, CmdID: "0", MsgRef: "1", CmdRef: "0", Cmd: "SyncHdr", Data: "212"}, // skipped
		numbered("1", cmd("Replace", "./Vendor/A", "new")),
		numbered("2", cmd("Add", "./Vendor/A", "x")),
		numbered("3", cmd("Replace", "./DevInfo/Man", "Evil")),
		numbered("4", cmd("Get", "./Vendor/B", "")),
		numbered("5", cmd("Exec", "./Mem/X", "")),
		numbered("6", cmd("Delete", "./Mem/X", "")),
		numbered("7", cmd("Replace", "./DMAcc/s1/AppAuth/1/AAuthSecret", "newpw")),
		numbered("8", cmd("Add", "./Vendor/New/Leaf", "v")),
		atomic, alert,
	}}
	before := store.Encode(f.t.Snapshot())
	steps, err := e.Plan(bg, testServer, msg)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		cmdID, cmd string
		depth      int
		status     int
		now, new   string
	}
	wants := []want{
		{"1", "Replace", 0, 200, "a", "new"},
		{"2", "Add", 0, 418, "a", "x"},
		{"3", "Replace", 0, 425, "Acme", "Evil"},
		{"4", "Get", 0, 200, "b", ""},
		{"5", "Exec", 0, 200, "x", ""},
		{"6", "Delete", 0, 200, "x", ""},
		{"7", "Replace", 0, 425, "(secret)", "(secret)"},
		{"8", "Add", 0, 200, "", "v"},
		{"10", "Atomic", 0, 507, "", ""},
		{"11", "Replace", 1, 200, "b", "z"},
		{"12", "Add", 1, 418, "a", "dup"},
		{"20", "Alert", 0, 200, "", ""},
	}
	if len(steps) != len(wants) {
		t.Fatalf("got %d steps, want %d: %+v", len(steps), len(wants), steps)
	}
	for i, w := range wants {
		s := steps[i]
		if s.CmdID != w.cmdID || s.Cmd != w.cmd || s.Depth != w.depth || s.Status != w.status || s.Now != w.now || s.New != w.new {
			t.Errorf("step %d: got %+v, want %+v", i, s, w)
		}
	}
	if steps[3].Note != "the server would read: b" {
		t.Errorf("Get note %q", steps[3].Note)
	}
	if steps[2].Note != "permission denied by the ACL" {
		t.Errorf("425 note %q", steps[2].Note)
	}
	if !bytes.Contains([]byte(steps[11].Note), []byte("[ui] policy")) {
		t.Errorf("UI alert note %q", steps[11].Note)
	}
	// Nothing changed: not the stored tree, not the provider.
	if !bytes.Equal(before, store.Encode(f.t.Snapshot())) {
		t.Error("the plan changed the stored tree")
	}
	if v, ok := f.get(t, "./Mem/X"); !ok || v != "x" {
		t.Errorf("provider node after the plan: %q %t", v, ok)
	}
	if len(f.mem.Execs) != 0 || f.mem.Begins != 0 {
		t.Errorf("provider Execs %d, Begins %d; want none", len(f.mem.Execs), f.mem.Begins)
	}
	// The same package for real gives the planned statuses.
	for _, c := range msg.Body[1:9] {
		s, _ := e.newSession(bg, Trigger{ServerID: testServer})
		out, _ := s.run1(bg, c, inBody)
		var got string
		for _, o := range out {
			if o.Kind == syncml.KindStatus {
				got = o.Data
				break
			}
		}
		for _, st := range steps {
			if st.CmdID == c.CmdID && got != strconv.Itoa(st.Status) {
				t.Errorf("CmdID %s: real status %s, planned %d", c.CmdID, got, st.Status)
			}
		}
	}
}

func TestPlanUnknownServer(t *testing.T) {
	f := newFixture(t, "https://dm.example.invalid/dm", acct{})
	e, err := NewEngine(Config{Tree: f.t, Accounts: f.acc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Plan(bg, "nobody", &syncml.Message{}); err == nil {
		t.Fatal("plan for an unknown server: no error")
	}
}
