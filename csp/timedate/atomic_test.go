package timedate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/hostname"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
	"github.com/omadm-agent/omadm-agent/csp/timedate"
	"github.com/omadm-agent/omadm-agent/tree"
)

// TestAtomicAcrossProviders mounts both D-Bus providers in one tree and
// runs Atomics whose last command fails: hostname, pretty name, time zone
// and NTP must be as before on the stand-ins, read back over D-Bus.
func TestAtomicAcrossProviders(t *testing.T) {
	b := dbustest.New(t)
	hn := b.Hostnamed(t, dbusmockrun.Hostnames{Static: "gw1", Pretty: "Gateway 1"})
	td := b.Timedated(t, initial)
	conn := b.Connect(t)
	tr := tree.New()
	if err := hostname.Mount(tr, conn); err != nil {
		t.Fatal(err)
	}
	if err := timedate.Mount(tr, conn); err != nil {
		t.Fatal(err)
	}
	host := func(leaf string) string { return string(hostname.Root.Child(leaf)) }
	p := tree.LocalPrincipal

	tests := []struct {
		name string
		last func(t *testing.T) func(ctx context.Context, tx *tree.Txn) error // returns the failing last command
		want int                                                              // status of the last command
	}{
		{"invalid zone (400)", func(*testing.T) func(context.Context, *tree.Txn) error {
			return func(ctx context.Context, tx *tree.Txn) error {
				return tx.Replace(ctx, p, uri("Timezone"), chr("Mars/Olympus_Mons"))
			}
		}, 400},
		{"read-only leaf (405)", func(*testing.T) func(context.Context, *tree.Txn) error {
			return func(ctx context.Context, tx *tree.Txn) error {
				return tx.Replace(ctx, p, uri("UTC"), chr("2026-01-01T00:00:00Z"))
			}
		}, 405},
		{"D-Bus error from timedated (500)", func(t *testing.T) func(context.Context, *tree.Txn) error {
			// SetNTP fails once, then behaves again for the restore.
			dbustest.AddMethod(t, td, "SetNTP", "bb", "",
				"self.ntpfail = getattr(self, 'ntpfail', 0) + 1\n"+
					"if self.ntpfail == 1: raise dbus.exceptions.DBusException('boom', name='org.freedesktop.DBus.Error.AccessDenied')\n"+
					"self.Set('org.freedesktop.timedate1', 'NTP', args[0])")
			return func(ctx context.Context, tx *tree.Txn) error {
				return tx.Replace(ctx, p, uri("NTP"), boolv("false"))
			}
		}, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			last := tc.last(t)
			var lastErr error
			err := tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
				steps := []struct {
					u string
					v tree.Value
				}{
					{host("StaticHostname"), chr("changed-host")},
					{host("PrettyHostname"), chr("Changed")},
					{uri("Timezone"), chr("Asia/Tokyo")},
				}
				for _, s := range steps {
					if err := tx.Replace(ctx, p, s.u, s.v); err != nil {
						t.Fatalf("Replace %s: %v", s.u, err)
					}
				}
				// Applied for real before the failure.
				if got := dbustest.Property(t, hn, "StaticHostname"); got != "changed-host" {
					t.Errorf("inside the Atomic: StaticHostname = %v, want changed-host", got)
				}
				if got := dbustest.Property(t, td, "Timezone"); got != "Asia/Tokyo" {
					t.Errorf("inside the Atomic: Timezone = %v, want Asia/Tokyo", got)
				}
				lastErr = last(ctx, tx)
				return lastErr
			})
			if got := tree.StatusCode(lastErr); got != tc.want {
				t.Errorf("last command: got %d (%v), want %d", got, lastErr, tc.want)
			}
			if got := tree.StatusCode(err); got != tree.StatusAtomicFailed {
				t.Fatalf("Atomic: got %d (%v), want 507", got, err)
			}
			want := []struct {
				m    *dbusmockrun.Mock
				prop string
				val  any
			}{
				{hn, "StaticHostname", "gw1"},
				{hn, "Hostname", "gw1"},
				{hn, "PrettyHostname", "Gateway 1"},
				{td, "Timezone", initial.Timezone},
				{td, "NTP", initial.NTP},
			}
			for _, w := range want {
				if got := dbustest.Property(t, w.m, w.prop); got != w.val {
					t.Errorf("after the Atomic: %s = %v, want %v", w.prop, got, w.val)
				}
			}
			// And the tree reads the same.
			r, err := tr.Get(context.Background(), p, uri("Timezone"))
			if err != nil || string(r.Items[0].Data) != initial.Timezone {
				t.Errorf("tree Get Timezone: got %v, want %s", err, initial.Timezone)
			}
		})
	}

	t.Run("commit keeps the changes", func(t *testing.T) {
		err := tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
			if err := tx.Replace(ctx, p, host("StaticHostname"), chr("kept")); err != nil {
				return err
			}
			return tx.Replace(ctx, p, uri("Timezone"), chr("UTC"))
		})
		if err != nil {
			t.Fatalf("Atomic: %v", err)
		}
		if got := dbustest.Property(t, hn, "StaticHostname"); got != "kept" {
			t.Errorf("StaticHostname = %v, want kept", got)
		}
		if got := dbustest.Property(t, td, "Timezone"); got != "UTC" {
			t.Errorf("Timezone = %v, want UTC", got)
		}
	})
}

// TestAtomicServiceGone: when the second provider's service is missing, the
// command on it fails, so does the Atomic, and the first change is undone.
func TestAtomicServiceGone(t *testing.T) {
	b := dbustest.New(t)
	hn := b.Hostnamed(t, dbusmockrun.Hostnames{Static: "gw1"})
	conn := b.Connect(t)
	tr := tree.New()
	if err := hostname.Mount(tr, conn); err != nil {
		t.Fatal(err)
	}
	if err := timedate.Mount(tr, conn); err != nil { // no timedated on the bus
		t.Fatal(err)
	}
	err := tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
		if err := tx.Replace(ctx, tree.LocalPrincipal, string(hostname.Root.Child("StaticHostname")), chr("other")); err != nil {
			return err
		}
		return tx.Replace(ctx, tree.LocalPrincipal, uri("Timezone"), chr("UTC"))
	})
	if !errors.Is(err, csp.ErrServiceUnavailable) || tree.StatusCode(err) != tree.StatusAtomicFailed ||
		!strings.Contains(err.Error(), "ServiceUnknown") {
		t.Errorf("Atomic: got %d (%v), want 507 wrapping ErrServiceUnavailable", tree.StatusCode(err), err)
	}
	if got := dbustest.Property(t, hn, "StaticHostname"); got != "gw1" {
		t.Errorf("StaticHostname = %v, want gw1 (rolled back)", got)
	}
}
