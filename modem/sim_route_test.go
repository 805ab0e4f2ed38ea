package modem_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/modem"
	"github.com/omadm-agent/omadm-agent/smartcard"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest"
	"github.com/omadm-agent/omadm-agent/smartcard/cardtest/atsim"
	"github.com/omadm-agent/omadm-agent/smartcard/pkcs15"
	"github.com/warthog618/modem/at"
)

const simICCID = "8949020001234567890"

// sameBootstrap compares what two reads found (not how they got there).
func sameBootstrap(got, want *smartcard.Bootstrap) bool {
	return bytes.Equal(got.Document, want.Document) && got.Profile == want.Profile && got.OID == want.OID &&
		got.Label == want.Label && got.ICCID == want.ICCID
}

// TestSIMRoutes: each route alone reads the smartcard.md §7 card (UICC,
// T=0 style, 2G, and variants where the route applies) and finds what the
// APDU reader finds on the card directly (the PC/SC route's reader; the
// pcscd comparison itself is in smartcard/pcsc) and what AT+CSIM finds.
func TestSIMRoutes(t *testing.T) {
	tests := []struct {
		route string
		card  string
		t0    bool
		via   smartcard.Route
		path  string
		kinds string
	}{
		{modem.SIMRouteCSIM, "uicc.card", false, smartcard.RouteLogicalChannel, "ADF/6431", "CSIM"},
		{modem.SIMRouteCSIM, "sim2g.card", false, smartcard.Route2G, "3F007F506431", "CSIM"},
		{modem.SIMRouteCGLA, "uicc.card", false, smartcard.RouteLogicalChannel, "ADF/6431", "CCHO CGLA CCHC"},
		{modem.SIMRouteCGLA, "uicc.card", true, smartcard.RouteLogicalChannel, "ADF/6431", "CCHO CGLA CCHC"},
		{modem.SIMRouteCGLA, "adf-only.card", false, smartcard.RouteLogicalChannel, "ADF/6431", "CCHO CGLA CCHC"},
		{modem.SIMRouteCGLA, "double-oid.card", false, smartcard.RouteLogicalChannel, "ADF/6431", "CCHO CGLA CCHC"},
		{modem.SIMRouteCRSM, "uicc.card", false, smartcard.RoutePath, "3F007F506431", "CRSM"},
		{modem.SIMRouteCRSM, "uicc.card", true, smartcard.RoutePath, "3F007F506431", "CRSM"},
		{modem.SIMRouteCRSM, "sim2g.card", false, smartcard.RoutePath, "3F007F506431", "CRSM"},
		{modem.SIMRouteCRSM, "nochannels.card", false, smartcard.RoutePath, "3F007F506431", "CRSM"},
		{modem.SIMRouteCRSM, "path-range.card", false, smartcard.RoutePath, "3F007F506431", "CRSM"},
		{modem.SIMRouteCRSM, "cp-only.card", false, smartcard.RoutePath, "3F007F506432", "CRSM"},
	}
	for _, cm := range commanders(t) {
		for _, tt := range tests {
			name := cm.name + "/" + tt.route + "/" + tt.card
			if tt.t0 {
				name += "-T0"
			}
			t.Run(name, func(t *testing.T) {
				opts := cardtest.Options{T0: tt.t0}
				direct, err := smartcard.ReadBootstrap(context.Background(), loadTestCard(t, tt.card, opts))
				if err != nil {
					t.Fatal(err)
				}
				viaCSIM, _, err := modem.ReadSIMBootstrap(context.Background(), simCommander{loadSIM(t, tt.card, opts)}, modem.SIMRouteCSIM)
				if err != nil {
					t.Fatal(err)
				}
				sim := loadSIM(t, tt.card, opts)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				got, used, err := modem.ReadSIMBootstrap(ctx, cm.make(sim), tt.route)
				if err != nil {
					t.Fatalf("ReadSIMBootstrap %s: %v (commands %q)", tt.route, err, sim.Commands())
				}
				if used != tt.route || got.Route != tt.via || got.Path != tt.path {
					t.Errorf("got route %s/%s path %s, want %s/%s %s", used, got.Route, got.Path, tt.route, tt.via, tt.path)
				}
				if !sameBootstrap(got, direct) || !sameBootstrap(got, viaCSIM) || got.ICCID != simICCID {
					t.Errorf("got %d bytes %s %s ICCID %s, want %d bytes %s %s %s (as direct and via AT+CSIM)",
						len(got.Document), got.OID, got.Label, got.ICCID, len(direct.Document), direct.OID, direct.Label, simICCID)
				}
				if k := kinds(sim.Commands()); k != tt.kinds {
					t.Errorf("got AT commands %s, want %s", k, tt.kinds)
				}
				if now, _ := sim.Card().OpenChannels(); now != 0 || sim.Sessions() != 0 {
					t.Errorf("got %d channels / %d sessions left open, want 0", now, sim.Sessions())
				}
			})
		}
	}
}

// TestSIMRouteWire pins the AT command lines of the CGLA and CRSM routes
// on the §7 card, as they reach the pty.
func TestSIMRouteWire(t *testing.T) {
	f, m := openFake(t)
	tests := []struct {
		route string
		want  []string
	}{
		{modem.SIMRouteCGLA, []string{
			`AT+CCHO="A000000063504B43532D3135"`,
			`AT+CGLA=1,16,"01A4000402503100"`, // SELECT 5031 on channel 1 (channel bits set)
			`AT+CGLA=1,10,"01B0000020"`,       // READ BINARY 32
			`AT+CGLA=1,16,"01A4000402643000"`,
			`AT+CGLA=1,10,"01B0000060"`,
			`AT+CGLA=1,16,"01A4000402643100"`,
			`AT+CGLA=1,10,"01B0000000"`, // 256 bytes
			`AT+CGLA=1,16,"01A40004023F0000"`,
			`AT+CGLA=1,16,"01A40004022FE200"`,
			`AT+CGLA=1,10,"01B000000A"`,
			`AT+CCHC=1`,
		}},
		{modem.SIMRouteCRSM, []string{
			`AT+CRSM=176,12258,0,0,10`,
			`AT+CRSM=192,12032,0,0,15`,
			`AT+CRSM=178,12032,1,4,38`,
			`AT+CRSM=192,20529,0,0,15,,"3F007F50"`,
			`AT+CRSM=176,20529,0,0,32,,"3F007F50"`,
			`AT+CRSM=192,25648,0,0,15,,"3F007F50"`,
			`AT+CRSM=176,25648,0,0,96,,"3F007F50"`,
			`AT+CRSM=192,25649,0,0,15,,"3F007F50"`,
			`AT+CRSM=176,25649,0,0,255,,"3F007F50"`,
			`AT+CRSM=176,25649,0,255,1,,"3F007F50"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			sim := loadSIM(t, "uicc.card", cardtest.Options{})
			mark := f.Mark()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, _, err := modem.ReadSIMBootstrap(ctx, &ptyCommander{f: f, m: m, sim: sim}, tt.route); err != nil {
				t.Fatal(err)
			}
			got := f.CommandsSince(mark)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestSIMAutoFallback: "auto" moves on A → B → C when a route is refused.
func TestSIMAutoFallback(t *testing.T) {
	tests := []struct {
		name  string
		card  string
		setup func(*atsim.Modem)
		route string
		via   smartcard.Route
		kinds string
	}{
		{"nothing refused", "uicc.card", nil, modem.SIMRouteCSIM, smartcard.RouteLogicalChannel, "CSIM"},
		{"CSIM refused (ERROR)", "uicc.card", func(m *atsim.Modem) { m.RefuseCSIM = atsim.Error },
			modem.SIMRouteCGLA, smartcard.RouteLogicalChannel, "CSIM CCHO CGLA CCHC"},
		{"CSIM refused (verbose CME)", "uicc.card", func(m *atsim.Modem) { m.RefuseCSIM = "+CME ERROR: operation not supported" },
			modem.SIMRouteCGLA, smartcard.RouteLogicalChannel, "CSIM CCHO CGLA CCHC"},
		{"CSIM and CCHO refused (CME 4)", "uicc.card", func(m *atsim.Modem) { m.RefuseCSIM, m.RefuseCCHO = atsim.NotSupport, atsim.NotSupport },
			modem.SIMRouteCRSM, smartcard.RoutePath, "CSIM CCHO CRSM"},
		{"CSIM refuses MANAGE CHANNEL (ERROR)", "uicc.card", func(m *atsim.Modem) { m.RefuseCSIMChannel = atsim.Error },
			modem.SIMRouteCGLA, smartcard.RouteLogicalChannel, "CSIM CCHO CGLA CCHC"},
		{"CSIM channel 6D00, DF under MF", "uicc.card", func(m *atsim.Modem) { m.CSIMChannelSW = 0x6D00 },
			modem.SIMRouteCSIM, smartcard.RouteBasicChannel, "CSIM"},
		{"CSIM channel 6D00, ADF only", "adf-only.card", func(m *atsim.Modem) { m.CSIMChannelSW = 0x6D00 },
			modem.SIMRouteCGLA, smartcard.RouteLogicalChannel, "CSIM CCHO CGLA CCHC"},
		{"2G SIM, CSIM refused", "sim2g.card", func(m *atsim.Modem) { m.RefuseCSIM = atsim.Error },
			modem.SIMRouteCRSM, smartcard.RoutePath, "CSIM CCHO CRSM"},
		{"CSIM refused, CGLA refused (CME 3)", "uicc.card", func(m *atsim.Modem) { m.RefuseCSIM, m.RefuseCGLA = atsim.Error, atsim.NotAllowed },
			modem.SIMRouteCRSM, smartcard.RoutePath, "CSIM CCHO CGLA CCHC CRSM"},
		{"CRSM without the MF in pathid", "uicc.card", func(m *atsim.Modem) {
			m.RefuseCSIM, m.RefuseCCHO, m.CRSMPaths = atsim.Error, atsim.Error, atsim.PathsNoMF
		}, modem.SIMRouteCRSM, smartcard.RoutePath, "CSIM CCHO CRSM"},
	}
	for _, cm := range commanders(t) {
		for _, tt := range tests {
			t.Run(cm.name+"/"+tt.name, func(t *testing.T) {
				sim := loadSIM(t, tt.card, cardtest.Options{})
				if tt.setup != nil {
					tt.setup(sim)
				}
				want, err := smartcard.ReadBootstrap(context.Background(), loadTestCard(t, tt.card, cardtest.Options{}))
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				got, used, err := modem.ReadSIMBootstrap(ctx, cm.make(sim), modem.SIMRouteAuto)
				if err != nil {
					t.Fatalf("got %v (commands %s)", err, kinds(sim.Commands()))
				}
				if used != tt.route || got.Route != tt.via || !sameBootstrap(got, want) {
					t.Errorf("got route %s/%s, %d bytes, want %s/%s, %d bytes", used, got.Route, len(got.Document), tt.route, tt.via, len(want.Document))
				}
				if k := kinds(sim.Commands()); k != tt.kinds {
					t.Errorf("got AT commands %s, want %s", k, tt.kinds)
				}
				if now, _ := sim.Card().OpenChannels(); now != 0 || sim.Sessions() != 0 {
					t.Errorf("got %d channels / %d sessions left open, want 0", now, sim.Sessions())
				}
			})
		}
	}
}

// TestSIMAutoNoFallback: a route that worked and found no bootstrap, broken
// card data and SIM failures end the search; only refusals move on.
func TestSIMAutoNoFallback(t *testing.T) {
	breakFiles := func(data []byte, files ...string) func(*cardtest.FS) {
		return func(fs *cardtest.FS) {
			for _, f := range files {
				fs.File(f).Data = data
			}
		}
	}
	tests := []struct {
		name   string
		card   string
		edit   func(*cardtest.FS)
		setup  func(*atsim.Modem)
		route  string
		is     []error
		not    []error
		kinds  string
		substr string
	}{
		{"no PKCS#15 (6A82)", "no-pkcs15.card", nil, nil, modem.SIMRouteCSIM,
			[]error{smartcard.ErrNoBootstrap}, []error{modem.ErrNoSIMAccess}, "CSIM", "6A82"},
		{"no PKCS#15, CSIM refused", "no-pkcs15.card", nil, func(m *atsim.Modem) { m.RefuseCSIM = atsim.Error }, modem.SIMRouteCRSM,
			[]error{smartcard.ErrNoBootstrap}, []error{modem.ErrNoSIMAccess}, "CSIM CCHO CRSM", "6A82"},
		{"2G SIM, no PKCS#15 DF (9404)", "sim2g.card", func(fs *cardtest.FS) { fs.MF.Children = fs.MF.Children[:2] }, nil, modem.SIMRouteCSIM,
			[]error{smartcard.ErrNoBootstrap}, nil, "CSIM", "9404"},
		{"ODF broken", "uicc.card", breakFiles([]byte{0xA7, 0x82, 0x01}, "3F00/7F50/5031"), nil, modem.SIMRouteCSIM,
			[]error{pkcs15.ErrTruncated}, []error{smartcard.ErrNoBootstrap}, "CSIM", "EF.ODF"},
		{"ODF broken, CSIM refused", "uicc.card", breakFiles([]byte{0xA7, 0x82, 0x01}, "3F00/7F50/5031"),
			func(m *atsim.Modem) { m.RefuseCSIM = atsim.Error }, modem.SIMRouteCGLA,
			[]error{pkcs15.ErrTruncated}, []error{smartcard.ErrNoBootstrap}, "CSIM CCHO CGLA CCHC", "EF.ODF"},
		{"documents not WBXML", "uicc.card", breakFiles([]byte("garbage"), "3F00/7F50/6431", "3F00/7F50/6432"), nil, modem.SIMRouteCSIM,
			[]error{smartcard.ErrDocument}, nil, "CSIM", "WBXML"},
		{"SIM not inserted (CME 10)", "uicc.card", nil, func(m *atsim.Modem) { m.RefuseCSIM = "+CME ERROR: 10" }, modem.SIMRouteCSIM,
			[]error{at.CMEError("10")}, []error{smartcard.ErrNoBootstrap}, "CSIM", "CME"},
		{"everything refused", "uicc.card", nil, func(m *atsim.Modem) {
			m.RefuseCSIM, m.RefuseCCHO, m.RefuseCRSM = atsim.Error, atsim.NotSupport, atsim.Error
		}, "", []error{modem.ErrNoSIMAccess, at.ErrError, at.CMEError("4")}, []error{smartcard.ErrNoBootstrap}, "CSIM CCHO CRSM", "AT+CRSM"},
	}
	for _, cm := range commanders(t) {
		for _, tt := range tests {
			t.Run(cm.name+"/"+tt.name, func(t *testing.T) {
				fs := loadFS(t, tt.card)
				if tt.edit != nil {
					tt.edit(fs)
				}
				sim := atsim.New(cardtest.NewCard(fs, cardtest.Options{}))
				if tt.setup != nil {
					tt.setup(sim)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				bs, used, err := modem.ReadSIMBootstrap(ctx, cm.make(sim), modem.SIMRouteAuto)
				if bs != nil || err == nil {
					t.Fatalf("got a bootstrap (%v), want an error", err)
				}
				for _, e := range tt.is {
					if !errors.Is(err, e) {
						t.Errorf("got %v, want it to wrap %v", err, e)
					}
				}
				for _, e := range tt.not {
					if errors.Is(err, e) {
						t.Errorf("got %v, want it not to wrap %v", err, e)
					}
				}
				if !strings.Contains(err.Error(), tt.substr) {
					t.Errorf("got %q, want it to mention %q", err, tt.substr)
				}
				if used != tt.route {
					t.Errorf("got route %q, want %q", used, tt.route)
				}
				if k := kinds(sim.Commands()); k != tt.kinds {
					t.Errorf("got AT commands %s, want %s", k, tt.kinds)
				}
				if now, _ := sim.Card().OpenChannels(); now != 0 || sim.Sessions() != 0 {
					t.Errorf("got %d channels / %d sessions left open, want 0", now, sim.Sessions())
				}
			})
		}
	}
}

// TestSIMFixedRouteNoBootstrap: each route alone on a card without PKCS#15.
// AT+CCHO cannot tell a missing application from a refusal: that route
// reports the refused channel, not "no bootstrap".
func TestSIMFixedRouteNoBootstrap(t *testing.T) {
	tests := []struct {
		route string
		is    error
		not   error
	}{
		{modem.SIMRouteCSIM, smartcard.ErrNoBootstrap, smartcard.ErrChannelRefused},
		{modem.SIMRouteCGLA, smartcard.ErrChannelRefused, smartcard.ErrNoBootstrap},
		{modem.SIMRouteCRSM, smartcard.ErrNoBootstrap, smartcard.ErrChannelRefused},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			sim := loadSIM(t, "no-pkcs15.card", cardtest.Options{})
			_, used, err := modem.ReadSIMBootstrap(context.Background(), simCommander{sim}, tt.route)
			if !errors.Is(err, tt.is) || errors.Is(err, tt.not) || used != tt.route {
				t.Errorf("got %v (route %s), want %v and not %v", err, used, tt.is, tt.not)
			}
		})
	}
	if _, _, err := modem.ReadSIMBootstrap(context.Background(), simCommander{loadSIM(t, "uicc.card", cardtest.Options{})}, "sim"); !errors.Is(err, modem.ErrSIMRoute) {
		t.Errorf("route \"sim\": got %v, want ErrSIMRoute", err)
	}
	for _, r := range append([]string{""}, modem.SIMRoutes...) {
		if !modem.ValidSIMRoute(r) {
			t.Errorf("ValidSIMRoute(%q) = false", r)
		}
	}
	if modem.ValidSIMRoute("modem") {
		t.Error(`ValidSIMRoute("modem") = true`)
	}
}

// cancelAfterCmds cancels ctx when the nth command is sent.
type cancelAfterCmds struct {
	c      modem.Commander
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfterCmds) Command(ctx context.Context, cmd string) ([]string, error) {
	if c.n--; c.n == 0 {
		c.cancel()
		return nil, ctx.Err()
	}
	return c.c.Command(ctx, cmd)
}

// TestSIMCancelClosesSession: a cancelled read through AT+CCHO still
// closes the channel (AT+CCHC on a detached deadline) and tries no other
// route.
func TestSIMCancelClosesSession(t *testing.T) {
	sim := loadSIM(t, "uicc.card", cardtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _, err := modem.ReadSIMBootstrap(ctx, &cancelAfterCmds{c: simCommander{sim}, n: 4, cancel: cancel}, modem.SIMRouteCGLA)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if sim.Sessions() != 0 || kinds(sim.Commands()) != "CCHO CGLA CCHC" {
		t.Errorf("got %d sessions, commands %s; want 0, CCHO CGLA CCHC", sim.Sessions(), kinds(sim.Commands()))
	}

	sim = loadSIM(t, "uicc.card", cardtest.Options{})
	sim.RefuseCSIM = atsim.Error
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	_, used, err := modem.ReadSIMBootstrap(ctx, &cancelAfterCmds{c: simCommander{sim}, n: 3, cancel: cancel}, modem.SIMRouteAuto)
	if !errors.Is(err, context.Canceled) || used != modem.SIMRouteCGLA || strings.Contains(kinds(sim.Commands()), "CRSM") {
		t.Errorf("auto: got %v on route %s after %s, want context.Canceled on cgla, no CRSM", err, used, kinds(sim.Commands()))
	}
}

// TestCGLAVariants: the CGLA route with modems that manage or forward the
// CLA channel bits, number sessions unlike channels, print "+CCHO:".
func TestCGLAVariants(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*atsim.Modem)
	}{
		{"modem forwards CLA verbatim", func(m *atsim.Modem) { m.CGLAVerbatim = true }},
		{"session IDs from 40 (modem manages CLA)", func(m *atsim.Modem) { m.SessionBase = 40 }},
		{"session ID = channel + 1 (modem manages CLA)", func(m *atsim.Modem) { m.SessionBase = 1 }},
		{"+CCHO: prefix", func(m *atsim.Modem) { m.CCHOPrefix = true }},
	}
	for _, cm := range commanders(t) {
		for _, tt := range tests {
			t.Run(cm.name+"/"+tt.name, func(t *testing.T) {
				sim := loadSIM(t, "uicc.card", cardtest.Options{})
				tt.setup(sim)
				bs, _, err := modem.ReadSIMBootstrap(context.Background(), cm.make(sim), modem.SIMRouteCGLA)
				if err != nil {
					t.Fatal(err)
				}
				if bs.OID != "2.23.43.7.1" || len(bs.Document) != 220 || bs.ICCID != simICCID {
					t.Errorf("got %s %d bytes ICCID %s, want 2.23.43.7.1 220 bytes %s", bs.OID, len(bs.Document), bs.ICCID, simICCID)
				}
				if sim.Sessions() != 0 {
					t.Errorf("got %d sessions open, want 0", sim.Sessions())
				}
			})
		}
	}
}

// TestCRSMPathForms: the modem accepts <pathid> with the MF, without, or
// both; CRSM finds the form once and keeps it.
func TestCRSMPathForms(t *testing.T) {
	tests := []struct {
		name  string
		form  atsim.PathForm
		extra int // commands beyond the 10 of the §7 card
	}{
		{"both", atsim.PathsBoth, 0},
		{"with the MF only", atsim.PathsWithMF, 0},
		{"without the MF only", atsim.PathsNoMF, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := loadSIM(t, "uicc.card", cardtest.Options{})
			sim.CRSMPaths = tt.form
			bs, _, err := modem.ReadSIMBootstrap(context.Background(), simCommander{sim}, modem.SIMRouteCRSM)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs.Document) != 220 {
				t.Errorf("got %d bytes, want 220", len(bs.Document))
			}
			if n := len(sim.Commands()); n != 10+tt.extra {
				t.Errorf("got %d AT commands %q, want %d", n, sim.Commands(), 10+tt.extra)
			}
		})
	}
}

// BenchmarkReadSIMBootstrap reads the §7 card by each route through the
// in-process fake (AT command formatting and parsing, the reader, the fake
// card), and through the pty and the at pipeline for AT+CRSM; AT/op is the
// number of AT commands per read.
func BenchmarkReadSIMBootstrap(b *testing.B) {
	for _, tc := range []struct{ route, card string }{
		{modem.SIMRouteCSIM, "uicc.card"}, {modem.SIMRouteCGLA, "uicc.card"},
		{modem.SIMRouteCRSM, "uicc.card"}, {modem.SIMRouteCRSM, "sim2g.card"},
	} {
		b.Run(tc.route+"/"+strings.TrimSuffix(tc.card, ".card"), func(b *testing.B) {
			sim := loadSIM(b, tc.card, cardtest.Options{})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				bs, _, err := modem.ReadSIMBootstrap(ctx, simCommander{sim}, tc.route)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(bs.Document)))
			}
			b.ReportMetric(float64(len(sim.Commands()))/float64(b.N), "AT/op")
		})
	}
	b.Run("crsm/uicc/pty", func(b *testing.B) {
		f, m := openFake(b)
		sim := loadSIM(b, "uicc.card", cardtest.Options{})
		c := &ptyCommander{f: f, m: m, sim: sim}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			bs, _, err := modem.ReadSIMBootstrap(ctx, c, modem.SIMRouteCRSM)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(bs.Document)))
		}
		b.ReportMetric(float64(len(sim.Commands()))/float64(b.N), "AT/op")
	})
}
