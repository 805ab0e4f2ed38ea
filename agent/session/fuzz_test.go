package session

import (
	"fmt"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/syncml"
)

// FuzzUIAlert: the UI alert parameter parser never panics and never
// returns negative durations; the headless default answer is always a
// valid status.
func FuzzUIAlert(f *testing.F) {
	for _, s := range []string{"MINDT=5&MAXDT=30&DR=1-3&MAXLEN=20&IT=A&ET=P", "DR=%zz", "MAXDT=-1", "", "&&==&"} {
		f.Add(s, "text", 1104)
	}
	f.Fuzz(func(t *testing.T, params, text string, code int) {
		c := &syncml.Command{Kind: "Alert", Items: []*syncml.Item{{Data: syncml.TextData(params)}, {Data: syncml.TextData(text)}}}
		req := parseUIAlert("s", syncml.AlertCode(code), c)
		if req.MinDT < 0 || req.MaxDT < 0 {
			t.Fatalf("negative durations %v %v", req.MinDT, req.MaxDT)
		}
		resp, err := Headless{}.Ask(bg, req)
		if err != nil || (resp.Status != 200 && resp.Status != 406) {
			t.Fatalf("got %v %v", resp, err)
		}
	})
}

// FuzzRedactHMAC: whatever the user name and mac, the mac value never
// survives redaction and the header keeps its shape.
func FuzzRedactHMAC(f *testing.F) {
	f.Add("dev", "wSbU2WfuxYLE5lR8ZWfpew==")
	f.Add("a b", "x")
	f.Fuzz(func(t *testing.T, user, mac string) {
		if strings.ContainsAny(user, "\"\n\r") || strings.ContainsAny(mac, ", \t\"\n\r\v\f") || mac == "" {
			return
		}
		got := redactHMAC(fmt.Sprintf("algorithm=MD5, username=%q, mac=%s", user, mac))
		if !strings.HasSuffix(got, "mac="+Redacted) {
			t.Fatalf("mac survived: %q", got)
		}
	})
}
