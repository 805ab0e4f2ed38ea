package hostname_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/hostname"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

var initial = dbusmockrun.Hostnames{Static: "gw1", Pretty: "Gateway 1"}

// env is a private bus with the hostnamed stand-in, a provider on a
// connection of its own, and a tree with the provider mounted.
type env struct {
	mock *dbusmockrun.Mock
	conn *dbus.Conn
	tr   *tree.Tree
	p    *hostname.Provider
}

func setup(t *testing.T, opts ...hostname.Option) *env {
	t.Helper()
	b := dbustest.New(t)
	e := &env{mock: b.Hostnamed(t, initial), conn: b.Connect(t), tr: tree.New()}
	e.p = hostname.New(e.conn, opts...)
	if err := e.tr.Mount(hostname.Root, e.p); err != nil {
		t.Fatal(err)
	}
	return e
}

func uri(leaf string) string { return string(hostname.Root.Child(leaf)) }

func (e *env) get(t *testing.T, leaf string) (string, error) {
	t.Helper()
	r, err := e.tr.Get(context.Background(), tree.LocalPrincipal, uri(leaf))
	if err != nil {
		return "", err
	}
	return string(r.Items[0].Data), nil
}

func chr(s string) tree.Value { return tree.Value{Data: []byte(s), Format: tree.FormatChr} }

func TestConformance(t *testing.T) {
	b := dbustest.New(t)
	m := b.Hostnamed(t, initial)
	conn := b.Connect(t)
	treetest.Run(t, treetest.Config{
		Prefix: hostname.Root,
		New: func(t *testing.T) tree.Provider {
			// One stand-in for the whole suite, reset for each provider.
			dbustest.SetProperty(t, m, "StaticHostname", initial.Static)
			dbustest.SetProperty(t, m, "Hostname", initial.Static)
			dbustest.SetProperty(t, m, "PrettyHostname", initial.Pretty)
			return hostname.New(conn)
		},
		Replace: []treetest.Case{
			{URI: hostname.Root.Child("StaticHostname"), Value: chr("gw-2.example")},
			{URI: hostname.Root.Child("PrettyHostname"), Value: chr("Gateway № 2")},
		},
		ReadOnly: []tree.URI{hostname.Root.Child("Hostname")},
	})
	// The suite's rollback must have put the stand-in back as it was.
	for name, want := range map[string]string{"StaticHostname": initial.Static, "PrettyHostname": initial.Pretty} {
		if got := dbustest.Property(t, m, name); got != want {
			t.Errorf("after the suite: %s = %v, want %q", name, got, want)
		}
	}
}

// TestGetLive: Get reads hostnamed every time, so a change made behind the
// provider's back shows at once.
func TestGetLive(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name, leaf, prop, value string
	}{
		{"static", "StaticHostname", "StaticHostname", "other-name"},
		{"pretty", "PrettyHostname", "PrettyHostname", "Büro-Gateway"},
		{"transient", "Hostname", "Hostname", "dhcp-10-0-0-7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := e.get(t, tc.leaf)
			if err != nil {
				t.Fatal(err)
			}
			if before == tc.value {
				t.Fatalf("test value %q equals the initial one", tc.value)
			}
			dbustest.SetProperty(t, e.mock, tc.prop, tc.value)
			got, err := e.get(t, tc.leaf)
			if err != nil || got != tc.value {
				t.Errorf("Get %s after the change: got %q (%v), want %q", tc.leaf, got, err, tc.value)
			}
		})
	}
}

// TestReplace: Replace calls Set<leaf>(value, false) and the new value is
// what hostnamed then reports.
func TestReplace(t *testing.T) {
	e := setup(t)
	tests := []struct {
		leaf, value string
		also        map[string]string // other properties expected afterwards
	}{
		{"StaticHostname", "gw-2.example", map[string]string{"Hostname": "gw-2.example"}},
		{"StaticHostname", "A" + strings.Repeat("b", 61) + ".c", nil}, // 64 bytes, the maximum
		{"StaticHostname", "", nil}, // clears the static host name, as hostnamed documents
		{"PrettyHostname", "Gateway № 2 (Keller)", nil},
		{"PrettyHostname", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.leaf+"="+tc.value, func(t *testing.T) {
			if err := e.mock.ClearCalls(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := e.tr.Replace(context.Background(), tree.LocalPrincipal, uri(tc.leaf), chr(tc.value)); err != nil {
				t.Fatalf("Replace: %v", err)
			}
			calls := dbustest.Calls(t, e.mock, "Set"+tc.leaf)
			if len(calls) != 1 || len(calls[0].Args) != 2 || calls[0].Args[0] != tc.value || calls[0].Args[1] != false {
				t.Errorf("Set%s calls: got %+v, want one with (%q, false)", tc.leaf, calls, tc.value)
			}
			if got := dbustest.Property(t, e.mock, tc.leaf); got != tc.value {
				t.Errorf("mock %s: got %v, want %q", tc.leaf, got, tc.value)
			}
			if got, err := e.get(t, tc.leaf); err != nil || got != tc.value {
				t.Errorf("Get %s: got %q (%v), want %q", tc.leaf, got, err, tc.value)
			}
			for prop, want := range tc.also {
				if got := dbustest.Property(t, e.mock, prop); got != want {
					t.Errorf("mock %s: got %v, want %q", prop, got, want)
				}
			}
		})
	}
}

// TestReplaceRefused: invalid values are 400, the read-only leaf 405, a
// wrong format 415, and none of them reaches hostnamed.
func TestReplaceRefused(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name, leaf string
		v          tree.Value
		want       int
		who        tree.Principal // zero: tree.LocalPrincipal
	}{
		{"underscore", "StaticHostname", chr("gw_1"), 400, tree.Principal{}},
		{"space", "StaticHostname", chr("gw 1"), 400, tree.Principal{}},
		{"leading hyphen", "StaticHostname", chr("-gw"), 400, tree.Principal{}},
		{"trailing hyphen", "StaticHostname", chr("gw-.example"), 400, tree.Principal{}},
		{"empty label", "StaticHostname", chr("gw..example"), 400, tree.Principal{}},
		{"trailing dot", "StaticHostname", chr("gw.example."), 400, tree.Principal{}},
		{"label too long", "StaticHostname", chr(strings.Repeat("a", 64)), 400, tree.Principal{}},
		{"name too long", "StaticHostname", chr(strings.Repeat("abcdefg.", 8) + "a"), 400, tree.Principal{}},
		{"non-ASCII", "StaticHostname", chr("büro"), 400, tree.Principal{}},
		{"pretty control char", "PrettyHostname", chr("Gate\nway"), 400, tree.Principal{}},
		{"pretty not UTF-8", "PrettyHostname", tree.Value{Data: []byte{0xff, 'a'}, Format: tree.FormatChr}, 400, tree.Principal{}},
		{"transient read-only", "Hostname", chr("gw9"), 405, tree.Principal{}},
		{"wrong format", "StaticHostname", tree.Value{Data: []byte("12"), Format: tree.FormatInt}, 415, tree.Principal{}},
		{"server, read-only by the DDF", "Hostname", chr("gw9"), 405, tree.Server("srv")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			who := tc.who
			if who == (tree.Principal{}) {
				who = tree.LocalPrincipal
			}
			err := e.tr.Replace(context.Background(), who, uri(tc.leaf), tc.v)
			if got := tree.StatusCode(err); got != tc.want {
				t.Errorf("Replace(%s, %q): got status %d (%v), want %d", tc.leaf, tc.v.Data, got, err, tc.want)
			}
		})
	}
	for _, m := range []string{"SetStaticHostname", "SetPrettyHostname", "SetHostname"} {
		if c := dbustest.Calls(t, e.mock, m); len(c) != 0 {
			t.Errorf("%s reached the service: %+v", m, c)
		}
	}
	if got := dbustest.Property(t, e.mock, "StaticHostname"); got != initial.Static {
		t.Errorf("StaticHostname changed to %v", got)
	}
}

// TestDBusError: an error reply from hostnamed is 500 (InvalidArgs: 400)
// and keeps the D-Bus error name in the error.
func TestDBusError(t *testing.T) {
	e := setup(t)
	tests := []struct {
		errName string
		want    int
	}{
		{"org.freedesktop.DBus.Error.AccessDenied", 500},
		{"org.freedesktop.PolicyKit1.Error.NotAuthorized", 500},
		{"org.freedesktop.DBus.Error.InvalidArgs", 400},
	}
	for _, tc := range tests {
		t.Run(tc.errName, func(t *testing.T) {
			dbustest.AddMethod(t, e.mock, "SetStaticHostname", "sb", "",
				"raise dbus.exceptions.DBusException('boom', name='"+tc.errName+"')")
			err := e.tr.Replace(context.Background(), tree.LocalPrincipal, uri("StaticHostname"), chr("gw7"))
			if got := tree.StatusCode(err); got != tc.want {
				t.Errorf("status: got %d (%v), want %d", got, err, tc.want)
			}
			if err == nil || !strings.Contains(err.Error(), tc.errName) || !strings.Contains(err.Error(), "boom") {
				t.Errorf("error %q does not name %s and its message", err, tc.errName)
			}
			var be *csp.BusError
			if !errors.As(err, &be) || be.Name != tc.errName || be.Member != "SetStaticHostname" {
				t.Errorf("errors.As BusError: got %+v, want Name %s Member SetStaticHostname", be, tc.errName)
			}
			if errors.Is(err, csp.ErrServiceUnavailable) {
				t.Errorf("%v: a refusal must not read as service unavailable", err)
			}
		})
	}
}

// TestServiceMissing: with no hostnamed on the bus, Get and Replace fail at
// once (no activation wait) with csp.ErrServiceUnavailable → 500.
func TestServiceMissing(t *testing.T) {
	b := dbustest.New(t)
	tr := tree.New()
	if err := hostname.Mount(tr, b.Connect(t), hostname.WithTimeout(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	ops := []struct {
		name string
		do   func() error
	}{
		{"Get", func() error {
			_, err := tr.Get(context.Background(), tree.LocalPrincipal, uri("Hostname"))
			return err
		}},
		{"Replace", func() error {
			return tr.Replace(context.Background(), tree.LocalPrincipal, uri("PrettyHostname"), chr("x"))
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			start := time.Now()
			err := op.do()
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v, want an immediate error (the call timeout is 20s)", d)
			}
			if !errors.Is(err, csp.ErrServiceUnavailable) || tree.StatusCode(err) != 500 {
				t.Fatalf("got %v (status %d), want ErrServiceUnavailable, 500", err, tree.StatusCode(err))
			}
			if !strings.Contains(err.Error(), "org.freedesktop.DBus.Error.ServiceUnknown") ||
				!strings.Contains(err.Error(), hostname.Service) {
				t.Errorf("error %q should name the service and ServiceUnknown", err)
			}
		})
	}
}

// TestNoConn: a provider without a connection fails cleanly.
func TestNoConn(t *testing.T) {
	_, err := hostname.New(nil).Get(context.Background(), hostname.Root.Child("Hostname"))
	if !errors.Is(err, csp.ErrServiceUnavailable) || tree.StatusCode(err) != 500 {
		t.Errorf("got %v, want ErrServiceUnavailable, 500", err)
	}
}

// TestHungService: a service that does not answer gives a timeout error
// after the configured timeout, not a hang.
func TestHungService(t *testing.T) {
	e := setup(t, hostname.WithTimeout(300*time.Millisecond))
	dbustest.AddMethod(t, e.mock, "SetPrettyHostname", "sb", "", "time.sleep(3)")
	start := time.Now()
	err := e.tr.Replace(context.Background(), tree.LocalPrincipal, uri("PrettyHostname"), chr("slow"))
	d := time.Since(start)
	if d < 250*time.Millisecond || d > 2*time.Second {
		t.Errorf("took %v, want about the 300ms timeout", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) || tree.StatusCode(err) != 500 {
		t.Errorf("got %v (status %d), want DeadlineExceeded, 500", err, tree.StatusCode(err))
	}
}

// TestConcurrentGet: Get is safe for concurrent use (run with -race).
func TestConcurrentGet(t *testing.T) {
	e := setup(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8*3*10)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				for _, leaf := range []string{"StaticHostname", "PrettyHostname", "Hostname"} {
					n, err := e.p.Get(context.Background(), hostname.Root.Child(leaf))
					if err == nil && len(n.Value) == 0 {
						err = errors.New(leaf + ": empty value")
					}
					if err != nil {
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

// TestAtomicRollback: an Atomic whose last command fails sets both names
// back on hostnamed, most recent change first.
func TestAtomicRollback(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	errLast := errors.New("last command failed")
	err := e.tr.Atomic(ctx, func(ctx context.Context, tx *tree.Txn) error {
		if err := tx.Replace(ctx, tree.LocalPrincipal, uri("StaticHostname"), chr("new-name")); err != nil {
			return err
		}
		if err := tx.Replace(ctx, tree.LocalPrincipal, uri("PrettyHostname"), chr("New Name")); err != nil {
			return err
		}
		if got := dbustest.Property(t, e.mock, "StaticHostname"); got != "new-name" {
			t.Errorf("inside the Atomic: StaticHostname = %v, want new-name (applied)", got)
		}
		return errLast
	})
	if !errors.Is(err, errLast) || tree.StatusCode(err) != tree.StatusAtomicFailed {
		t.Fatalf("Atomic: got %v, want 507 wrapping the failure", err)
	}
	for prop, want := range map[string]string{"StaticHostname": "gw1", "Hostname": "gw1", "PrettyHostname": "Gateway 1"} {
		if got := dbustest.Property(t, e.mock, prop); got != want {
			t.Errorf("after rollback: %s = %v, want %q", prop, got, want)
		}
	}
	static := dbustest.Calls(t, e.mock, "SetStaticHostname")
	if len(static) != 2 || static[1].Args[0] != "gw1" {
		t.Errorf("SetStaticHostname calls: got %+v, want new-name then gw1", static)
	}
}

// TestRollbackUnchanged: a rollback touches only what the transaction
// changed.
func TestRollbackUnchanged(t *testing.T) {
	e := setup(t)
	err := e.tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
		if err := tx.Replace(ctx, tree.LocalPrincipal, uri("PrettyHostname"), chr("P")); err != nil {
			return err
		}
		return errors.New("stop")
	})
	if tree.StatusCode(err) != tree.StatusAtomicFailed {
		t.Fatalf("Atomic: got %v, want 507", err)
	}
	if c := dbustest.Calls(t, e.mock, "SetStaticHostname"); len(c) != 0 {
		t.Errorf("SetStaticHostname was called: %+v", c)
	}
	if c := dbustest.Calls(t, e.mock, "SetPrettyHostname"); len(c) != 2 {
		t.Errorf("SetPrettyHostname calls: got %+v, want set then restore", c)
	}
}

// TestRollbackFailure: a restore refused by hostnamed makes the Atomic 516.
func TestRollbackFailure(t *testing.T) {
	e := setup(t)
	// The first call succeeds, every later one (the restore) is refused.
	dbustest.AddMethod(t, e.mock, "SetStaticHostname", "sb", "",
		"self.n = getattr(self, 'n', 0) + 1\n"+
			"if self.n > 1: raise dbus.exceptions.DBusException('read-only fs', name='org.freedesktop.DBus.Error.Failed')")
	err := e.tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
		if err := tx.Replace(ctx, tree.LocalPrincipal, uri("StaticHostname"), chr("x")); err != nil {
			return err
		}
		return errors.New("stop")
	})
	if got := tree.StatusCode(err); got != tree.StatusAtomicRollbackErr || !strings.Contains(err.Error(), "org.freedesktop.DBus.Error.Failed") {
		t.Errorf("Atomic: got %d (%v), want 516 naming the D-Bus error", got, err)
	}
}

func TestDescribe(t *testing.T) {
	tr := tree.New()
	if err := tr.Mount(hostname.Root, hostname.New(nil)); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		access tree.AccessType
		format string
	}{
		"./Vendor/omadm/Hostname":                {tree.AccessGet, tree.FormatNode},
		"./Vendor/omadm/Hostname/StaticHostname": {tree.AccessGet | tree.AccessReplace, tree.FormatChr},
		"./Vendor/omadm/Hostname/PrettyHostname": {tree.AccessGet | tree.AccessReplace, tree.FormatChr},
		"./Vendor/omadm/Hostname/Hostname":       {tree.AccessGet, tree.FormatChr},
	}
	got := 0
	for _, d := range tr.Descriptions() {
		w, ok := want[d.Path]
		if !ok {
			continue
		}
		got++
		if d.Access != w.access || d.Format != w.format {
			t.Errorf("%s: got access %v format %s, want %v %s", d.Path, d.Access, d.Format, w.access, w.format)
		}
		if d.Path == string(hostname.Root) && d.Type != hostname.MOType {
			t.Errorf("root Type: got %q, want %q", d.Type, hostname.MOType)
		}
	}
	if got != len(want) {
		t.Errorf("got %d of the %d descriptions", got, len(want))
	}
}
