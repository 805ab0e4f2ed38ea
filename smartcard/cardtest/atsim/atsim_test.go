package atsim_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest/atsim"
)

func load(t testing.TB, name string, opts cardtest.Options) *cardtest.Card {
	t.Helper()
	fs, err := cardtest.Load(filepath.Join("..", "..", "..", "testdata", "smartcard", name))
	if err != nil {
		t.Fatal(err)
	}
	return cardtest.NewCard(fs, opts)
}

const (
	dirRec1 = "611C4F0CA000000063504B43532D31355006504B4353313551043F007F50" // head of the §3.1 EF.DIR record
	odf     = "A706300404026430FFFF"                                         // head of EF.ODF
	fcpODF  = "62"                                                           // a UICC FCP
)

// TestDialogue runs scripted command lines (smartcard.md §5.1, §6) and
// compares the modem's answer lines.
func TestDialogue(t *testing.T) {
	type step struct {
		cmd  string
		want []string // a line ending in "…" is a prefix
	}
	tests := []struct {
		name  string
		card  string
		setup func(m *atsim.Modem)
		steps []step
	}{
		{"CSIM, Nordic trace", "uicc.card", nil, []step{
			{`AT+CSIM=10,"0070000001"`, []string{`+CSIM: 6,"019000"`, "OK"}},
			{`AT+CSIM=36,"01A404040CA000000063504B43532D313500"`, []string{`+CSIM: …`, "OK"}},
			{`AT+CSIM=14,"01A4000C025031"`, []string{`+CSIM: 4,"9000"`, "OK"}},
			{`AT+CSIM=10,"01B0000020"`, []string{`+CSIM: 68,"A706300404026430FFFF…`, "OK"}},
			{`AT+CSIM=8,"01708001"`, []string{`+CSIM: 4,"9000"`, "OK"}},
			{`AT+CSIM=9,"01708001"`, []string{"+CME ERROR: 50"}},
			{`AT+CSIM=8,01708001`, []string{"+CME ERROR: 50"}},
			{`AT+CSIM=?`, []string{"OK"}},
		}},
		{"CCHO/CGLA/CCHC", "uicc.card", nil, []step{
			{`AT+CCHO="A000000063504B43532D3135"`, []string{"1", "OK"}},
			{`AT+CGLA=1,14,"00A4000C025031"`, []string{`+CGLA: 4,"9000"`, "OK"}}, // CLA 00: the modem sets channel 1
			{`AT+CGLA=1,16,"00A4000402503100"`, []string{`+CGLA: …`, "OK"}},
			{`AT+CGLA=1,10,"00B0000020"`, []string{`+CGLA: 68,"` + odf + "…", "OK"}},
			{`AT+CGLA=2,10,"00B0000020"`, []string{"+CME ERROR: 50"}},
			{`AT+CCHC=1`, []string{"OK"}},
			{`AT+CCHC=1`, []string{"+CME ERROR: 50"}},
			{`AT+CCHO="A0000000871002"`, []string{"+CME ERROR: 100"}}, // no such application
			{`AT+CCHO=A000000063504B43532D3135`, []string{"+CME ERROR: 50"}},
		}},
		{"CCHO vendor prefix, session base", "uicc.card", func(m *atsim.Modem) { m.CCHOPrefix, m.SessionBase = true, 40 }, []step{
			{`AT+CCHO="A000000063504B43532D3135"`, []string{"+CCHO: 41", "OK"}},
			{`AT+CGLA=41,10,"00B0000008"`, []string{`+CGLA: 4,"6986"`, "OK"}}, // no EF selected yet
			{`AT+CCHC=41`, []string{"OK"}},
		}},
		{"CGLA verbatim CLA", "uicc.card", func(m *atsim.Modem) { m.CGLAVerbatim = true }, []step{
			{`AT+CCHO="A000000063504B43532D3135"`, []string{"1", "OK"}},
			{`AT+CGLA=1,14,"00A4000C025031"`, []string{`+CGLA: 4,"6A82"`, "OK"}}, // went to the basic channel (MF)
			{`AT+CGLA=1,14,"01A4000C025031"`, []string{`+CGLA: 4,"9000"`, "OK"}},
		}},
		{"CRSM recipe of smartcard.md §6", "uicc.card", nil, []step{
			{`AT+CRSM=176,12258,0,0,10`, []string{`+CRSM: 144,0,"989420001032547698F0"`, "OK"}},
			{`AT+CRSM=192,12032`, []string{`+CRSM: 144,0,"62…`, "OK"}},
			{`AT+CRSM=178,12032,1,4,38`, []string{`+CRSM: 144,0,"` + dirRec1 + "…", "OK"}},
			{`AT+CRSM=176,20529,0,0,32,,"3F007F50"`, []string{`+CRSM: 144,0,"` + odf + "…", "OK"}},
			{`AT+CRSM=176,20529,0,0,32,,"7F50"`, []string{`+CRSM: 144,0,"` + odf + "…", "OK"}},
			{`AT+CRSM=192,20529,0,0,15,,"7F50"`, []string{`+CRSM: 144,0,"` + fcpODF + "…", "OK"}},
			{`AT+CRSM=176,25649,0,255,1,,"3F007F50"`, []string{`+CRSM: 144,0,"FF"`, "OK"}},
			{`AT+CRSM=176,25649,1,0,1,,"3F007F50"`, []string{`+CRSM: 107,0`, "OK"}},   // beyond the end
			{`AT+CRSM=176,20529,0,0,64,,"3F007F50"`, []string{`+CRSM: 108,32`, "OK"}}, // wrong length
			{`AT+CRSM=176,25650,0,0,1,,"3F007F51"`, []string{`+CRSM: 106,130`, "OK"}}, // no such DF
			{`AT+CRSM=176,20529,0,0`, []string{"+CME ERROR: 50"}},
			{`AT+CRSM=214,20529,0,0,1,"00","7F50"`, []string{"+CME ERROR: 4"}},
			{`AT+CRSM=242`, []string{`+CRSM: 109,0`, "OK"}},
		}},
		{"CRSM on a 2G SIM", "sim2g.card", nil, []step{
			{`AT+CRSM=192,12032`, []string{`+CRSM: 144,0,"0000004C2F00040000000001020126"`, "OK"}}, // GSM 11.11 EF header
			{`AT+CRSM=178,12032,1,4,38`, []string{`+CRSM: 144,0,"` + dirRec1 + "…", "OK"}},
			{`AT+CRSM=176,20529,0,0,32,,"3F007F50"`, []string{`+CRSM: 144,0,"` + odf + "…", "OK"}},
			{`AT+CRSM=176,25649,1,0,1,,"3F007F50"`, []string{`+CRSM: 148,2`, "OK"}},
			{`AT+CRSM=176,20529,0,0,1,,"3F007F51"`, []string{`+CRSM: 148,4`, "OK"}},
			{`AT+CCHO="A000000063504B43532D3135"`, []string{"+CME ERROR: 100"}},
		}},
		{"CRSM path forms", "uicc.card", func(m *atsim.Modem) { m.CRSMPaths = atsim.PathsNoMF }, []step{
			{`AT+CRSM=176,20529,0,0,8,,"3F007F50"`, []string{"+CME ERROR: 50"}},
			{`AT+CRSM=176,20529,0,0,8,,"7F50"`, []string{`+CRSM: 144,0,"A706300404026430"`, "OK"}},
		}},
		{"refusals", "uicc.card", func(m *atsim.Modem) {
			m.RefuseCSIMChannel, m.RefuseCRSM, m.RefuseCCHO = atsim.Error, atsim.NotSupport, atsim.NotAllowed
		}, []step{
			{`AT+CSIM=10,"0070000001"`, []string{"ERROR"}},
			{`AT+CSIM=14,"00A4000C023F00"`, []string{`+CSIM: 4,"9000"`, "OK"}},
			{`AT+CRSM=176,12258,0,0,10`, []string{"+CME ERROR: 4"}},
			{`AT+CCHO="A000000063504B43532D3135"`, []string{"+CME ERROR: 3"}},
			{`AT+CCHO=?`, []string{"+CME ERROR: 3"}},
			{`AT+CPIN?`, []string{"ERROR"}},
		}},
		{"CSIM channel status word", "uicc.card", func(m *atsim.Modem) { m.CSIMChannelSW = 0x6D00 }, []step{
			{`AT+CSIM=10,"0070000001"`, []string{`+CSIM: 4,"6D00"`, "OK"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := atsim.New(load(t, tt.card, cardtest.Options{}))
			if tt.setup != nil {
				tt.setup(m)
			}
			for _, s := range tt.steps {
				got := m.Answer(s.cmd)
				if !match(got, s.want) {
					t.Errorf("%s: got %q, want %q", s.cmd, got, s.want)
				}
			}
			if len(m.Commands()) != len(tt.steps) {
				t.Errorf("got %d commands logged, want %d", len(m.Commands()), len(tt.steps))
			}
		})
	}
}

func match(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if p, ok := strings.CutSuffix(want[i], "…"); ok {
			if !strings.HasPrefix(got[i], p) {
				return false
			}
		} else if got[i] != want[i] {
			return false
		}
	}
	return true
}

// FuzzAnswer: any line gets a well-formed answer (final result code last)
// and never a panic; sessions opened by a fuzzed CCHO stay consistent.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{
		`AT+CSIM=10,"0070000001"`, `AT+CCHO="A000000063504B43532D3135"`, `AT+CGLA=1,10,"00B0000020"`,
		`AT+CCHC=1`, `AT+CRSM=176,20529,0,0,32,,"3F007F50"`, `AT+CRSM=192,12032`, `AT+CRSM=178,12032,1,4,38`,
		`AT+CRSM=176,1,2,3,4,"",""`, `AT+CSIM="`, `at+crsm=242`,
	} {
		f.Add(s)
	}
	fs, err := cardtest.Load(filepath.Join("..", "..", "..", "testdata", "smartcard", "uicc.card"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m := atsim.New(cardtest.NewCard(fs, cardtest.Options{}))
		m.Answer(`AT+CCHO="A000000063504B43532D3135"`)
		got := m.Answer(line)
		if len(got) == 0 {
			t.Fatal("no answer")
		}
		final := got[len(got)-1]
		if !slices.Contains([]string{"OK", "ERROR"}, final) && !strings.HasPrefix(final, "+CME ERROR: ") {
			t.Fatalf("final line %q", final)
		}
		if n := m.Sessions(); n > 3 {
			t.Fatalf("%d sessions on a card with 3 channels", n)
		}
	})
}
