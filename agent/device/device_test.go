package device

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/omadm-agent/omadm-agent/agent/config"
	"github.com/omadm-agent/omadm-agent/tree"
)

func TestOpenTreePersists(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	mid := filepath.Join(t.TempDir(), "machine-id")
	if err := os.WriteFile(mid, []byte("0123456789abcdef0123456789abcdef\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{StateDir: dir, Device: config.Default().Device, Version: "9.9", MachineIDPath: mid,
		IMEI: func(context.Context) (string, error) { return "490154203237518", nil }}
	tr, err := OpenTree(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Add(ctx, tree.LocalPrincipal, "./Vendor/X", tree.Value{Data: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {filepath.Join(dir, TreeFile), 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
	tr2, err := OpenTree(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ uri, want string }{
		{"./Vendor/X", "1"},
		{"./DevInfo/DevId", "IMEI:490154203237518"},
		{"./DevInfo/DmV", "1.2"}, // config default dm_version
		{"./DevInfo/Lang", "en-US"},
		{"./DevDetail/DevTyp", "gateway"},
		{"./DevDetail/URI/MaxDepth", "32"},
	}
	for _, tc := range tests {
		r, err := tr2.Get(ctx, tree.LocalPrincipal, tc.uri)
		if err != nil {
			t.Errorf("Get %s: %v", tc.uri, err)
			continue
		}
		if got := string(r.Items[0].Data); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.uri, got, tc.want)
		}
	}
	if !tr2.IsSecret("./DMAcc/a/AppAuth/b/AAuthSecret") {
		t.Errorf("DMAcc DDF not declared")
	}
}
