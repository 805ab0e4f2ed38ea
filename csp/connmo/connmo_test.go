package connmo_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/connmo"
	"github.com/omadm-agent/omadm-agent/csp/internal/dbustest"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

type env struct {
	nm *nm
	tr *tree.Tree
	p  *connmo.Provider
}

func setup(t *testing.T, checkpoints bool, cfg connmo.Config) *env {
	t.Helper()
	b := dbustest.New(t)
	e := &env{nm: startNM(t, b, checkpoints, initialConns...), tr: tree.New()}
	if cfg.Timeout == 0 {
		// The stand-in is python3-dbusmock: on a loaded 2-core machine a
		// call can take longer than the 5 s production default.
		cfg.Timeout = 30 * time.Second
	}
	e.p = connmo.New(b.Connect(t), cfg)
	if err := e.tr.Mount(connmo.Root, e.p); err != nil {
		t.Fatal(err)
	}
	return e
}

func uri(parts ...string) string {
	u := connmo.Root
	for _, p := range parts {
		u = u.Child(p)
	}
	return string(u)
}

func chr(s string) tree.Value { return tree.Value{Data: []byte(s), Format: tree.FormatChr} }

var node = tree.Value{Format: tree.FormatNode}

func (e *env) get(t *testing.T, parts ...string) (string, error) {
	t.Helper()
	r, err := e.tr.Get(context.Background(), tree.LocalPrincipal, uri(parts...))
	if err != nil {
		return "", err
	}
	return string(r.Items[0].Data), nil
}

// TestGet: the root lists the gsm connections (not the ethernet one) by
// id, each with its leaves, values as NM holds them.
func TestGet(t *testing.T) {
	e := setup(t, true, connmo.Config{})
	got, err := e.get(t)
	if err != nil || got != "Telekom/M2M%20Private" {
		t.Fatalf("Get root: got %q (%v), want Telekom/M2M%%20Private", got, err)
	}
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"Telekom"}, "Name/UUID/Autoconnect/APN/User/Password"},
		{[]string{"M2M Private"}, "Name/UUID/Autoconnect/APN"},
		{[]string{"Telekom", "APN"}, "internet.telekom"},
		{[]string{"Telekom", "User"}, "tm"},
		{[]string{"Telekom", "Password"}, ""},
		{[]string{"Telekom", "Autoconnect"}, "true"},
		{[]string{"Telekom", "Name"}, "Telekom"},
		{[]string{"Telekom", "UUID"}, initialConns[0].uuid},
		{[]string{"M2M Private", "APN"}, "m2m.example.com"},
		{[]string{"M2M Private", "Autoconnect"}, "false"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.parts, "/"), func(t *testing.T) {
			got, err := e.get(t, tc.parts...)
			if err != nil || got != tc.want {
				t.Errorf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
	for _, missing := range [][]string{{"Wired"}, {"M2M Private", "User"}, {"M2M Private", "Password"}, {"Telekom", "PIN"}, {"Nope", "APN"}} {
		if _, err := e.get(t, missing...); tree.StatusCode(err) != tree.StatusNotFound {
			t.Errorf("Get %v: got %v, want 404", missing, err)
		}
	}
	// Servers never see the password; dumps mask it.
	if _, err := e.tr.Get(context.Background(), tree.Server("srv"), uri("Telekom", "Password")); tree.StatusCode(err) != tree.StatusNotAllowed {
		t.Errorf("server Get Password: got %v, want 405", err)
	}
	if !e.tr.IsSecret(tree.URI(uri("Telekom", "Password"))) {
		t.Errorf("Password is not secret for the tree")
	}
	r, err := e.tr.Get(context.Background(), tree.LocalPrincipal, uri()+"?list=StructData")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range r.Items {
		if strings.Contains(string(it.Data), "tm-secret") {
			t.Errorf("StructData item %s shows the password", it.URI)
		}
	}
}

// TestAddReplaceDelete: a server-style Add of a connection then its
// leaves, Replace, Delete of a leaf and of the connection, each checked
// through NM's own API.
func TestAddReplaceDelete(t *testing.T) {
	e := setup(t, true, connmo.Config{})
	ctx := context.Background()
	srv := tree.LocalPrincipal
	for _, step := range []struct {
		op, uri string
		v       tree.Value
	}{
		{"Add", uri("Vodafone DE"), node},
		{"Add", uri("Vodafone DE", "APN"), chr("web.vodafone.de")},
		{"Add", uri("Vodafone DE", "User"), chr("vf")},
		{"Add", uri("Vodafone DE", "Password"), chr("vf-pw")},
		{"Replace", uri("Vodafone DE", "Autoconnect"), tree.Value{Data: []byte("true"), Format: tree.FormatBool}},
	} {
		var err error
		if step.op == "Add" {
			err = e.tr.Add(ctx, srv, step.uri, step.v)
		} else {
			err = e.tr.Replace(ctx, srv, step.uri, step.v)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", step.op, step.uri, err)
		}
	}
	uuid, err := e.get(t, "Vodafone DE", "UUID")
	if err != nil || len(uuid) != 36 {
		t.Fatalf("UUID of the new connection: %q (%v)", uuid, err)
	}
	for prop, want := range map[string]string{"connection.id": "Vodafone DE", "connection.type": "gsm", "connection.autoconnect": "true",
		"gsm.apn": "web.vodafone.de", "gsm.username": "vf", "gsm.password": "vf-pw"} {
		setting, key, _ := strings.Cut(prop, ".")
		if got, ok := e.nm.get(t, uuid, setting, key); !ok || got != want {
			t.Errorf("NM %s: got %q (present %v), want %q", prop, got, ok, want)
		}
	}
	// Replace APN keeps the password NM does not return in GetSettings.
	if err := e.tr.Replace(ctx, srv, uri("Telekom", "APN"), chr("internet.t-d1.de")); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.nm.get(t, initialConns[0].uuid, "gsm", "apn"); got != "internet.t-d1.de" {
		t.Errorf("NM gsm.apn after Replace: got %q", got)
	}
	if got, _ := e.nm.get(t, initialConns[0].uuid, "gsm", "password"); got != "tm-secret" {
		t.Errorf("NM gsm.password after Replace APN: got %q, want tm-secret kept", got)
	}
	// Delete a leaf, then the connection.
	if err := e.tr.Delete(ctx, srv, uri("Telekom", "User")); err != nil {
		t.Fatal(err)
	}
	if got, ok := e.nm.get(t, initialConns[0].uuid, "gsm", "username"); ok {
		t.Errorf("NM gsm.username after Delete: still %q", got)
	}
	if err := e.tr.Delete(ctx, srv, uri("Vodafone DE")); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.nm.state(t)[uuid]; ok {
		t.Errorf("connection %s still in NM after Delete", uuid)
	}
	if got, _ := e.get(t); got != "Telekom/M2M%20Private" {
		t.Errorf("root after Delete: %q", got)
	}
	// Rename through ?prop=Name.
	if err := e.tr.Replace(ctx, srv, uri("M2M Private")+"?prop=Name", chr("M2M")); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.nm.get(t, initialConns[1].uuid, "connection", "id"); got != "M2M" {
		t.Errorf("NM connection.id after rename: got %q", got)
	}
}

// TestBadValues: invalid values are refused before any D-Bus write.
func TestBadValues(t *testing.T) {
	e := setup(t, true, connmo.Config{})
	before := e.nm.writes(t)
	tests := []struct {
		name, op, uri string
		v             tree.Value
		status        int
	}{
		{"apn space", "Replace", uri("Telekom", "APN"), chr("bad apn"), 400},
		{"apn too long", "Replace", uri("Telekom", "APN"), chr(strings.Repeat("a", 65)), 400},
		{"apn utf8", "Replace", uri("Telekom", "APN"), chr("intérnet"), 400},
		{"apn int format", "Replace", uri("Telekom", "APN"), tree.Value{Data: []byte("1"), Format: tree.FormatInt}, 415},
		{"autoconnect", "Replace", uri("Telekom", "Autoconnect"), tree.Value{Data: []byte("yes"), Format: tree.FormatBool}, 400},
		{"autoconnect chr", "Replace", uri("Telekom", "Autoconnect"), chr("true"), 415},
		{"user control", "Replace", uri("Telekom", "User"), chr("a\nb"), 400},
		{"password long", "Replace", uri("Telekom", "Password"), chr(strings.Repeat("p", 256)), 400},
		{"uuid read-only", "Replace", uri("Telekom", "UUID"), chr("x"), 405},
		{"name read-only", "Replace", uri("Telekom", "Name"), chr("x"), 405},
		{"unknown leaf", "Add", uri("Telekom", "PIN"), chr("1234"), 405},
		{"add apn bad", "Add", uri("M2M Private", "User"), chr("\x00"), 400},
		{"add conn with bad apn", "Add", uri("New", "APN"), chr("a b"), 400},
		{"add existing", "Add", uri("Telekom"), node, 418},
		{"add dot", "Add", uri(".."), node, 400},
		{"add conn as leaf", "Add", uri("X"), chr("x"), 415},
		{"replace missing", "Replace", uri("Nope", "APN"), chr("x"), 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.op == "Add" {
				err = e.tr.Add(context.Background(), tree.LocalPrincipal, tc.uri, tc.v)
			} else {
				err = e.tr.Replace(context.Background(), tree.LocalPrincipal, tc.uri, tc.v)
			}
			if got := tree.StatusCode(err); got != tc.status {
				t.Errorf("got %d (%v), want %d", got, err, tc.status)
			}
		})
	}
	// "add conn with bad apn" adds New first (implicit parent) and then
	// fails on the APN, as the tree's Add does outside an Atomic; drop it
	// from the count.
	if after := e.nm.writes(t); after-before != 1 {
		t.Errorf("D-Bus writes during refused commands: got %d, want 1 (the implicit parent New)", after-before)
	}
}

// TestAtomicRollback: Replace APN, Add a connection with leaves, Delete
// one, then a failing command: NM's connections are exactly as before,
// read through NM's API. "checkpoint restores" has the stand-in's
// CheckpointRollback put every connection back itself; "checkpoint
// restores nothing" models a real NM, whose checkpoint does not restore
// profiles that are not active on a device: there the provider's journal
// alone must undo the Replace, the Add and the Delete.
func TestAtomicRollback(t *testing.T) {
	tests := []struct {
		name     string
		rollback string // replacement CheckpointRollback code; "" keeps the restoring one
	}{
		{"checkpoint restores", ""},
		{"checkpoint restores nothing", "self.checkpoints.pop(str(args[0]))\nret = dbus.Dictionary({}, signature='su')"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, true, connmo.Config{})
			if tc.rollback != "" {
				dbustest.AddMethod(t, e.nm.mock, "CheckpointRollback", "o", "a{su}", tc.rollback)
			}
			ctx := context.Background()
			before := e.nm.state(t)
			errLast := errors.New("later command failed")
			err := e.tr.Atomic(ctx, func(ctx context.Context, tx *tree.Txn) error {
				p := tree.LocalPrincipal
				if err := tx.Replace(ctx, p, uri("Telekom", "APN"), chr("changed.apn")); err != nil {
					return err
				}
				if err := tx.Replace(ctx, p, uri("Telekom", "Password"), chr("new-secret")); err != nil {
					return err
				}
				if err := tx.Add(ctx, p, uri("Added", "APN"), chr("added.apn")); err != nil {
					return err
				}
				if err := tx.Delete(ctx, p, uri("M2M Private")); err != nil {
					return err
				}
				mid := e.nm.state(t)
				if len(mid) != len(before) || mid[initialConns[0].uuid] == before[initialConns[0].uuid] {
					t.Errorf("inside the Atomic the changes should be applied: %v", mid)
				}
				return errLast
			})
			if !errors.Is(err, errLast) || tree.StatusCode(err) != tree.StatusAtomicFailed {
				t.Fatalf("Atomic: got %v, want 507 wrapping the failure", err)
			}
			after := e.nm.state(t)
			if len(after) != len(before) {
				t.Errorf("after rollback: %d connections, want %d", len(after), len(before))
			}
			for uuid, want := range before {
				if after[uuid] != want {
					t.Errorf("after rollback %s:\n got %s\nwant %s", uuid, after[uuid], want)
				}
			}
			if n := len(callsOf(t, e, "CheckpointRollback")); n != 1 {
				t.Errorf("CheckpointRollback calls: %d, want 1", n)
			}
		})
	}
}

// TestRollbackFailure: NM refusing CheckpointRollback makes the Atomic
// 516, naming the D-Bus error.
func TestRollbackFailure(t *testing.T) {
	e := setup(t, true, connmo.Config{})
	dbustest.AddMethod(t, e.nm.mock, "CheckpointRollback", "o", "a{su}",
		"raise dbus.exceptions.DBusException('boom', name='org.freedesktop.NetworkManager.Failed')")
	err := e.tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
		if err := tx.Replace(ctx, tree.LocalPrincipal, uri("Telekom", "APN"), chr("x.y")); err != nil {
			return err
		}
		return errors.New("stop")
	})
	if got := tree.StatusCode(err); got != tree.StatusAtomicRollbackErr || !strings.Contains(err.Error(), "org.freedesktop.NetworkManager.Failed") {
		t.Errorf("Atomic: got %d (%v), want 516 naming the D-Bus error", got, err)
	}
	// The journal still put the APN back.
	if got, _ := e.nm.get(t, initialConns[0].uuid, "gsm", "apn"); got != initialConns[0].apn {
		t.Errorf("NM gsm.apn: got %q, want %q restored by the journal", got, initialConns[0].apn)
	}
}

func callsOf(t *testing.T, e *env, method string) [][]any {
	t.Helper()
	var out [][]any
	for _, c := range dbustest.Calls(t, e.nm.mock, method) {
		out = append(out, c.Args)
	}
	return out
}

// TestAtomicCommit: a successful Atomic keeps the change and destroys
// the checkpoint it created (with the documented flags and timeout).
func TestAtomicCommit(t *testing.T) {
	e := setup(t, true, connmo.Config{RollbackTimeout: 90 * time.Second})
	err := e.tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
		return tx.Replace(ctx, tree.LocalPrincipal, uri("M2M Private", "APN"), chr("m2m.new"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.nm.get(t, initialConns[1].uuid, "gsm", "apn"); got != "m2m.new" {
		t.Errorf("NM gsm.apn after commit: %q", got)
	}
	create := callsOf(t, e, "CheckpointCreate")
	destroy := callsOf(t, e, "CheckpointDestroy")
	if len(create) != 1 || len(destroy) != 1 || len(callsOf(t, e, "CheckpointRollback")) != 0 {
		t.Fatalf("checkpoint calls: create %v destroy %v", create, destroy)
	}
	if create[0][1] != uint32(90) || create[0][2] != uint32(connmo.CheckpointDeleteNewConnections|connmo.CheckpointDisconnectNewDevices) {
		t.Errorf("CheckpointCreate args: %v, want ([], 90, 6)", create[0])
	}
	if destroy[0][0] != dbus.ObjectPath("/org/freedesktop/NetworkManager/Checkpoint/1") {
		t.Errorf("CheckpointDestroy arg: %v", destroy[0])
	}
}

// TestCheckpointRefused: an NM without the checkpoint API (the plain
// template: UnknownMethod) or refusing it makes the Atomic fail before
// anything is applied.
func TestCheckpointRefused(t *testing.T) {
	tests := []struct {
		name, code, errName string
	}{
		{"old NM", "", "org.freedesktop.DBus.Error.UnknownMethod"},
		{"denied", "raise dbus.exceptions.DBusException('not authorized', name='org.freedesktop.NetworkManager.PermissionDenied')",
			"org.freedesktop.NetworkManager.PermissionDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, tc.code != "", connmo.Config{})
			if tc.code != "" {
				dbustest.AddMethod(t, e.nm.mock, "CheckpointCreate", "aouu", "o", tc.code)
			}
			before := e.nm.state(t)
			writes := e.nm.writes(t)
			err := e.tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
				return tx.Replace(ctx, tree.LocalPrincipal, uri("Telekom", "APN"), chr("x.y"))
			})
			if err == nil || tree.StatusCode(err) != 507 || !strings.Contains(err.Error(), tc.errName) {
				t.Fatalf("Atomic: got %v (status %d), want a failure naming %s", err, tree.StatusCode(err), tc.errName)
			}
			if w := e.nm.writes(t); w != writes {
				t.Errorf("D-Bus writes: %d, want none", w-writes)
			}
			after := e.nm.state(t)
			for uuid, want := range before {
				if after[uuid] != want {
					t.Errorf("%s changed: %s", uuid, after[uuid])
				}
			}
		})
	}
}

// TestNoNetworkManager: without NM on the bus every operation fails at
// once with a clear error (500), even with a long call timeout.
func TestNoNetworkManager(t *testing.T) {
	b := dbustest.New(t)
	tr := tree.New()
	if err := connmo.Mount(tr, b.Connect(t), connmo.Config{Timeout: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"Get": func() error { _, err := tr.Get(context.Background(), tree.LocalPrincipal, uri()); return err },
		"Add": func() error { return tr.Add(context.Background(), tree.LocalPrincipal, uri("X"), node) },
		"Atomic": func() error {
			return tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
				return tx.Replace(ctx, tree.LocalPrincipal, uri("X", "APN"), chr("a"))
			})
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := op()
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v, want an immediate error", d)
			}
			if !errors.Is(err, csp.ErrServiceUnavailable) || !strings.Contains(err.Error(), "org.freedesktop.DBus.Error.ServiceUnknown") {
				t.Errorf("got %v, want ErrServiceUnavailable naming ServiceUnknown", err)
			}
		})
	}
}

// TestHungNetworkManager: a call that gets no reply ends after the
// configured timeout.
func TestHungNetworkManager(t *testing.T) {
	e := setup(t, true, connmo.Config{Timeout: 300 * time.Millisecond})
	dbustest.AddMethod(t, e.nm.mock, "CheckpointCreate", "aouu", "o", "time.sleep(3)")
	start := time.Now()
	err := e.tr.Atomic(context.Background(), func(ctx context.Context, tx *tree.Txn) error {
		return tx.Replace(ctx, tree.LocalPrincipal, uri("Telekom", "APN"), chr("a"))
	})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v, want about 300ms", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
}

func TestConformance(t *testing.T) {
	b := dbustest.New(t)
	conn := b.Connect(t)
	var n *nm
	treetest.Run(t, treetest.Config{
		Prefix: connmo.Root,
		New: func(t *testing.T) tree.Provider {
			if n != nil {
				n.mock.Stop()
			}
			n = startNM(t, b, true, initialConns...)
			return connmo.New(conn, connmo.Config{})
		},
		Replace: []treetest.Case{
			{URI: tree.URI(uri("Telekom", "APN")), Value: chr("apn.two")},
			{URI: tree.URI(uri("M2M Private", "Autoconnect")), Value: tree.Value{Data: []byte("true"), Format: tree.FormatBool}},
		},
		Add: []treetest.Case{
			{URI: tree.URI(uri("Fresh")), Value: node},
			{URI: tree.URI(uri("M2M Private", "User")), Value: chr("someone")},
		},
		ReadOnly: []tree.URI{tree.URI(uri("Telekom", "UUID")), tree.URI(uri("Telekom", "Name"))},
	})
}

func TestDescribe(t *testing.T) {
	tr := tree.New()
	if err := tr.Mount(connmo.Root, connmo.New(nil, connmo.Config{})); err != nil {
		t.Fatal(err)
	}
	d := connmo.New(nil, connmo.Config{}).Describe()
	var paths []string
	for _, x := range d {
		paths = append(paths, x.Path)
		if x.Path == uri()+"/*/Password" && (!x.Secret || x.Access&tree.AccessGet != 0) {
			t.Errorf("Password desc: %+v, want Secret without Get", x)
		}
	}
	want := []string{uri(), uri() + "/*", uri() + "/*/APN", uri() + "/*/User", uri() + "/*/Password",
		uri() + "/*/Autoconnect", uri() + "/*/Name", uri() + "/*/UUID"}
	if !slices.Equal(paths, want) {
		t.Errorf("Describe paths: got %v, want %v", paths, want)
	}
}

// TestServerAdd: a DM server (subject to the DDF and the default root ACL
// Add=*&Get=*) adds a connection and its APN, reads it back, and cannot
// read the password.
func TestServerAdd(t *testing.T) {
	e := setup(t, true, connmo.Config{})
	ctx := context.Background()
	srv := tree.Server("dm.example.com")
	if err := e.tr.Add(ctx, srv, uri("Srv", "APN"), chr("srv.apn")); err != nil {
		t.Fatalf("server Add: %v", err)
	}
	if err := e.tr.Add(ctx, srv, uri("Srv", "Password"), chr("pw")); err != nil {
		t.Fatalf("server Add Password: %v", err)
	}
	r, err := e.tr.Get(ctx, srv, uri("Srv", "APN"))
	if err != nil || string(r.Items[0].Data) != "srv.apn" {
		t.Fatalf("server Get APN: %v %v", r, err)
	}
	if _, err := e.tr.Get(ctx, srv, uri("Srv", "Password")); tree.StatusCode(err) != tree.StatusNotAllowed {
		t.Errorf("server Get Password: got %v, want 405", err)
	}
	if err := e.tr.Add(ctx, srv, uri("Srv", "UUID"), chr("x")); tree.StatusCode(err) != tree.StatusAlreadyExists {
		t.Errorf("server Add UUID: got %v, want 418", err)
	}
}

// TestCommitAfterCancel: Commit destroys the checkpoint even when the
// session ctx is already cancelled (otherwise NM would undo the committed
// change when the rollback timeout expires).
func TestCommitAfterCancel(t *testing.T) {
	e := setup(t, true, connmo.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	tx, err := e.tr.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Replace(tx.Context(ctx), tree.LocalPrincipal, uri("Telekom", "APN"), chr("after.cancel")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("Commit with a cancelled ctx: %v", err)
	}
	if n := len(callsOf(t, e, "CheckpointDestroy")); n != 1 {
		t.Errorf("CheckpointDestroy calls: %d, want 1", n)
	}
	if got, _ := e.nm.get(t, initialConns[0].uuid, "gsm", "apn"); got != "after.cancel" {
		t.Errorf("NM gsm.apn: %q", got)
	}
}
