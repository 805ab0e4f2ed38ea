package timedate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
	"github.com/omadm-agent/omadm-agent/csp/timedate"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

// noon is 2026-03-01T12:04:05Z (CET, UTC+1 in Berlin).
var noon = time.Date(2026, 3, 1, 12, 4, 5, 0, time.UTC)

var initial = dbusmockrun.Timedate{Timezone: "Europe/Berlin", NTP: true, TimeUSec: uint64(noon.UnixMicro())}

type env struct {
	mock *dbusmockrun.Mock
	conn *dbus.Conn
	tr   *tree.Tree
	p    *timedate.Provider
}

func setup(t *testing.T, opts ...timedate.Option) *env {
	t.Helper()
	b := dbustest.New(t)
	e := &env{mock: b.Timedated(t, initial), conn: b.Connect(t), tr: tree.New()}
	e.p = timedate.New(e.conn, opts...)
	if err := e.tr.Mount(timedate.Root, e.p); err != nil {
		t.Fatal(err)
	}
	return e
}

func uri(leaf string) string { return string(timedate.Root.Child(leaf)) }

func chr(s string) tree.Value   { return tree.Value{Data: []byte(s), Format: tree.FormatChr} }
func boolv(s string) tree.Value { return tree.Value{Data: []byte(s), Format: tree.FormatBool} }

func (e *env) get(t *testing.T, leaf string) (tree.Item, error) {
	t.Helper()
	r, err := e.tr.Get(context.Background(), tree.LocalPrincipal, uri(leaf))
	if err != nil {
		return tree.Item{}, err
	}
	return r.Items[0], nil
}

func TestConformance(t *testing.T) {
	b := dbustest.New(t)
	m := b.Timedated(t, initial)
	conn := b.Connect(t)
	treetest.Run(t, treetest.Config{
		Prefix: timedate.Root,
		New: func(t *testing.T) tree.Provider {
			dbustest.SetProperty(t, m, "Timezone", initial.Timezone)
			dbustest.SetProperty(t, m, "NTP", initial.NTP)
			return timedate.New(conn)
		},
		Replace: []treetest.Case{
			{URI: timedate.Root.Child("Timezone"), Value: chr("America/New_York")},
			{URI: timedate.Root.Child("NTP"), Value: boolv("false")},
		},
		ReadOnly: []tree.URI{timedate.Root.Child("LocalTime"), timedate.Root.Child("UTC")},
	})
	if got := dbustest.Property(t, m, "Timezone"); got != initial.Timezone {
		t.Errorf("after the suite: Timezone = %v, want %s", got, initial.Timezone)
	}
	if got := dbustest.Property(t, m, "NTP"); got != initial.NTP {
		t.Errorf("after the suite: NTP = %v, want %v", got, initial.NTP)
	}
}

// TestGet: every leaf is read live from timedated, so changes made behind
// the provider's back show at once.
func TestGet(t *testing.T) {
	e := setup(t)
	summer := time.Date(2026, 7, 1, 22, 30, 0, 0, time.UTC)
	tests := []struct {
		name   string
		change map[string]any // mock properties set before the Get
		leaf   string
		want   string
		format string
	}{
		{"timezone", nil, "Timezone", "Europe/Berlin", "chr"},
		{"ntp", nil, "NTP", "true", "bool"},
		{"utc", nil, "UTC", "2026-03-01T12:04:05Z", "chr"},
		{"local CET", nil, "LocalTime", "2026-03-01T13:04:05+01:00", "chr"},
		{"timezone changed", map[string]any{"Timezone": "Asia/Tokyo"}, "Timezone", "Asia/Tokyo", "chr"},
		{"local in new zone", map[string]any{"Timezone": "Asia/Tokyo"}, "LocalTime", "2026-03-01T21:04:05+09:00", "chr"},
		{"ntp changed", map[string]any{"NTP": false}, "NTP", "false", "bool"},
		{"clock moved, CEST", map[string]any{"Timezone": "Europe/Berlin", "TimeUSec": uint64(summer.UnixMicro())},
			"LocalTime", "2026-07-02T00:30:00+02:00", "chr"},
		{"clock moved, utc", nil, "UTC", "2026-07-01T22:30:00Z", "chr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.change {
				dbustest.SetProperty(t, e.mock, k, v)
			}
			it, err := e.get(t, tc.leaf)
			if err != nil || string(it.Data) != tc.want || it.Format != tc.format {
				t.Errorf("Get %s: got %q format %s (%v), want %q format %s", tc.leaf, it.Data, it.Format, err, tc.want, tc.format)
			}
		})
	}
}

// TestLocalTimeUnknownZone: a zone timedated reports but the tzdata lacks
// gives a clear 500 for LocalTime (UTC still works).
func TestLocalTimeUnknownZone(t *testing.T) {
	e := setup(t)
	dbustest.SetProperty(t, e.mock, "Timezone", "Mars/Olympus_Mons")
	_, err := e.get(t, "LocalTime")
	if tree.StatusCode(err) != 500 || !strings.Contains(err.Error(), "Mars/Olympus_Mons") {
		t.Errorf("LocalTime: got %v, want 500 naming the zone", err)
	}
	if _, err := e.get(t, "UTC"); err != nil {
		t.Errorf("UTC: %v", err)
	}
}

// TestReplace: Replace calls the setter with interactive=false, and
// timedated then reports the new value.
func TestReplace(t *testing.T) {
	e := setup(t)
	tests := []struct {
		leaf   string
		v      tree.Value
		method string
		arg    any
		prop   string
	}{
		{"Timezone", chr("Asia/Tokyo"), "SetTimezone", "Asia/Tokyo", "Timezone"},
		{"Timezone", chr("UTC"), "SetTimezone", "UTC", "Timezone"},
		{"Timezone", chr("Etc/GMT+5"), "SetTimezone", "Etc/GMT+5", "Timezone"},
		{"Timezone", chr("America/Port-au-Prince"), "SetTimezone", "America/Port-au-Prince", "Timezone"},
		{"NTP", boolv("false"), "SetNTP", false, "NTP"},
		{"NTP", boolv("true"), "SetNTP", true, "NTP"},
	}
	for _, tc := range tests {
		t.Run(tc.leaf+"="+string(tc.v.Data), func(t *testing.T) {
			if err := e.mock.ClearCalls(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := e.tr.Replace(context.Background(), tree.LocalPrincipal, uri(tc.leaf), tc.v); err != nil {
				t.Fatalf("Replace: %v", err)
			}
			calls := dbustest.Calls(t, e.mock, tc.method)
			if len(calls) != 1 || len(calls[0].Args) != 2 || calls[0].Args[0] != tc.arg || calls[0].Args[1] != false {
				t.Errorf("%s calls: got %+v, want one with (%v, false)", tc.method, calls, tc.arg)
			}
			if got := dbustest.Property(t, e.mock, tc.prop); got != tc.arg {
				t.Errorf("mock %s: got %v, want %v", tc.prop, got, tc.arg)
			}
			if it, err := e.get(t, tc.leaf); err != nil || string(it.Data) != string(tc.v.Data) {
				t.Errorf("Get: got %q (%v), want %q", it.Data, err, tc.v.Data)
			}
		})
	}
}

// TestReplaceRefused: unknown zones and bad values are 400, wrong formats
// 415, read-only leaves 405; nothing reaches timedated.
func TestReplaceRefused(t *testing.T) {
	zi := t.TempDir()
	berlin, err := os.ReadFile("/usr/share/zoneinfo/Europe/Berlin")
	if err != nil {
		t.Fatalf("tzdata missing (run `make deps`): %v", err)
	}
	for name, data := range map[string][]byte{"Europe/Berlin": berlin, "Fake/NotTZif": []byte("hello, world")} {
		os.MkdirAll(filepath.Join(zi, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(zi, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := setup(t, timedate.WithZoneinfo(zi))
	tests := []struct {
		name, leaf string
		v          tree.Value
		want       int
	}{
		{"unknown zone", "Timezone", chr("Mars/Olympus_Mons"), 400},
		{"wrong case", "Timezone", chr("europe/berlin"), 400},
		{"empty", "Timezone", chr(""), 400},
		{"directory", "Timezone", chr("Europe"), 400},
		{"not TZif", "Timezone", chr("Fake/NotTZif"), 400},
		{"absolute", "Timezone", chr("/usr/share/zoneinfo/Europe/Berlin"), 400},
		{"dot-dot", "Timezone", chr("Europe/../Europe/Berlin"), 400},
		{"escape", "Timezone", chr("../" + filepath.Base(zi) + "/Europe/Berlin"), 400},
		{"space", "Timezone", chr("Europe/Ber lin"), 400},
		{"Local", "Timezone", chr("Local"), 400},
		{"ntp not bool", "NTP", boolv("yes"), 400},
		{"ntp as chr", "NTP", chr("true"), 415},
		{"timezone as int", "Timezone", tree.Value{Data: []byte("1"), Format: tree.FormatInt}, 415},
		{"local time", "LocalTime", chr("2026-01-01T00:00:00Z"), 405},
		{"utc", "UTC", chr("2026-01-01T00:00:00Z"), 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.tr.Replace(context.Background(), tree.LocalPrincipal, uri(tc.leaf), tc.v)
			if got := tree.StatusCode(err); got != tc.want {
				t.Errorf("Replace(%s, %q): got %d (%v), want %d", tc.leaf, tc.v.Data, got, err, tc.want)
			}
		})
	}
	for _, m := range []string{"SetTimezone", "SetNTP", "SetTime"} {
		if c := dbustest.Calls(t, e.mock, m); len(c) != 0 {
			t.Errorf("%s reached the service: %+v", m, c)
		}
	}
	// The valid zone in the private directory is accepted.
	if err := e.tr.Replace(context.Background(), tree.LocalPrincipal, uri("Timezone"), chr("Europe/Berlin")); err != nil {
		t.Errorf("Replace(Europe/Berlin) with the private zoneinfo: %v", err)
	}
}

// TestDBusError: error replies keep their D-Bus name; InvalidArgs (what
// timedated answers for an uninstalled zone) is 400, the rest 500.
func TestDBusError(t *testing.T) {
	e := setup(t)
	tests := []struct {
		method, sig, errName, msg string
		leaf                      string
		v                         tree.Value
		want                      int
	}{
		{"SetTimezone", "sb", "org.freedesktop.DBus.Error.InvalidArgs", "Invalid or not installed time zone 'Asia/Tokyo'",
			"Timezone", chr("Asia/Tokyo"), 400},
		{"SetTimezone", "sb", "org.freedesktop.DBus.Error.AccessDenied", "boom", "Timezone", chr("Asia/Tokyo"), 500},
		{"SetNTP", "bb", "org.freedesktop.timedate1.NoNTPSupport", "NTP not supported", "NTP", boolv("false"), 500},
	}
	for _, tc := range tests {
		t.Run(tc.errName, func(t *testing.T) {
			dbustest.AddMethod(t, e.mock, tc.method, tc.sig, "",
				"raise dbus.exceptions.DBusException(\""+tc.msg+"\", name='"+tc.errName+"')")
			err := e.tr.Replace(context.Background(), tree.LocalPrincipal, uri(tc.leaf), tc.v)
			if got := tree.StatusCode(err); got != tc.want {
				t.Errorf("status: got %d (%v), want %d", got, err, tc.want)
			}
			if err == nil || !strings.Contains(err.Error(), tc.errName) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not carry %s and its message", err, tc.errName)
			}
			var be *csp.BusError
			if !errors.As(err, &be) || be.Name != tc.errName || be.Service != timedate.Service {
				t.Errorf("errors.As BusError: got %+v", be)
			}
		})
	}
}

// TestServiceMissing: no timedated on the bus → an immediate 500 wrapping
// csp.ErrServiceUnavailable.
func TestServiceMissing(t *testing.T) {
	b := dbustest.New(t)
	tr := tree.New()
	if err := timedate.Mount(tr, b.Connect(t), timedate.WithTimeout(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, leaf := range []string{"Timezone", "NTP", "LocalTime", "UTC"} {
		start := time.Now()
		_, err := tr.Get(context.Background(), tree.LocalPrincipal, uri(leaf))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Get %s took %v, want an immediate error (the call timeout is 20s)", leaf, d)
		}
		if !errors.Is(err, csp.ErrServiceUnavailable) || tree.StatusCode(err) != 500 ||
			!strings.Contains(err.Error(), "org.freedesktop.DBus.Error.ServiceUnknown") {
			t.Errorf("Get %s: got %v, want ServiceUnknown → ErrServiceUnavailable, 500", leaf, err)
		}
	}
	err := tr.Replace(context.Background(), tree.LocalPrincipal, uri("Timezone"), chr("UTC"))
	if !errors.Is(err, csp.ErrServiceUnavailable) {
		t.Errorf("Replace: got %v, want ErrServiceUnavailable", err)
	}
}

// TestMountSystemBus: Mount with a nil connection uses the system bus named
// by DBUS_SYSTEM_BUS_ADDRESS.
func TestMountSystemBus(t *testing.T) {
	setup(t)
	tr := tree.New()
	if err := timedate.Mount(tr, nil); err != nil {
		t.Fatal(err)
	}
	r, err := tr.Get(context.Background(), tree.LocalPrincipal, uri("Timezone"))
	if err != nil || string(r.Items[0].Data) != initial.Timezone {
		t.Errorf("Get Timezone via the shared system bus: got %v, want %s", err, initial.Timezone)
	}
}

func TestConcurrentGet(t *testing.T) {
	e := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				for _, leaf := range []string{"Timezone", "NTP", "LocalTime", "UTC"} {
					if _, err := e.p.Get(context.Background(), timedate.Root.Child(leaf)); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
