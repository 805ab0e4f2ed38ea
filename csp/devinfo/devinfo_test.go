package devinfo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

const testMachineID = "4c1e8f4ab7d94b3fa2c0d6e1f2a3b4c5\n"

func machineIDFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "machine-id")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	path := machineIDFile(t, testMachineID)
	treetest.Run(t, treetest.Config{
		Prefix: Root,
		New: func(t *testing.T) tree.Provider {
			return New(Config{Man: "Acme", Mod: "GW1", Ext: map[string]string{"Serial": "S1", "a b": "x"}, MachineIDPath: path},
				func(context.Context) (string, error) { return "490154203237518", nil })
		},
		ReadOnly: []tree.URI{Root.Child("DevId"), Root.Child("Man"), Root.Child("Mod"), Root.Child("DmV"), Root.Child("Lang"), "./DevInfo/Ext/Serial"},
	})
}

func TestDevID(t *testing.T) {
	noModem := func(context.Context) (string, error) { return "", errors.New("no modem") }
	imei := func(s string) IMEISource { return func(context.Context) (string, error) { return s, nil } }
	good := machineIDFile(t, testMachineID)
	bad := machineIDFile(t, "not-hex\n")
	missing := filepath.Join(t.TempDir(), "none")
	wantUUID, err := MachineUUID(testMachineID)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		src     IMEISource
		want    string
		wantErr bool
	}{
		{name: "configured wins", cfg: Config{DevID: "MAC:0011223344AA", MachineIDPath: good}, src: imei("490154203237518"), want: "MAC:0011223344AA"},
		{name: "imei", cfg: Config{MachineIDPath: good}, src: imei("490154203237518"), want: "IMEI:490154203237518"},
		{name: "imei with spaces", cfg: Config{MachineIDPath: good}, src: imei(" 490154203237518\r\n"), want: "IMEI:490154203237518"},
		{name: "imei garbage falls back", cfg: Config{MachineIDPath: good}, src: imei("ERROR"), want: "urn:uuid:" + wantUUID},
		{name: "no modem", cfg: Config{MachineIDPath: good}, src: noModem, want: "urn:uuid:" + wantUUID},
		{name: "nil source", cfg: Config{MachineIDPath: good}, want: "urn:uuid:" + wantUUID},
		{name: "bad machine id", cfg: Config{MachineIDPath: bad}, src: noModem, wantErr: true},
		{name: "missing machine id", cfg: Config{MachineIDPath: missing}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(tc.cfg, tc.src)
			got, err := p.DevID(context.Background())
			if tc.wantErr {
				if !errors.Is(err, ErrNoDevID) {
					t.Fatalf("got %q, %v; want ErrNoDevID", got, err)
				}
				_, gerr := p.Get(context.Background(), Root.Child("DevId"))
				if tree.StatusCode(gerr) != tree.StatusCommandFailed {
					t.Errorf("Get DevId: got %v, want 500", gerr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			n, err := p.Get(context.Background(), Root.Child("DevId"))
			if err != nil || string(n.Value) != tc.want {
				t.Errorf("Get DevId: got %q, %v; want %q", n.Value, err, tc.want)
			}
		})
	}
}

func TestMachineUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, err := MachineUUID(testMachineID)
	if err != nil {
		t.Fatal(err)
	}
	if !re.MatchString(a) {
		t.Errorf("got %q, not a version-4 RFC 4122 UUID", a)
	}
	b, _ := MachineUUID("4c1e8f4ab7d94b3fa2c0d6e1f2a3b4c5")
	if a != b {
		t.Errorf("trailing newline changes the UUID: %q vs %q", a, b)
	}
	c, _ := MachineUUID("4c1e8f4ab7d94b3fa2c0d6e1f2a3b4c6")
	if c == a {
		t.Errorf("different machine ids give the same UUID %q", a)
	}
	if a == "4c1e8f4a-b7d9-4b3f-a2c0-d6e1f2a3b4c5" {
		t.Errorf("UUID discloses the machine id")
	}
	for _, in := range []string{"", "xyz", "4c1e8f4ab7d94b3fa2c0d6e1f2a3b4"} {
		if _, err := MachineUUID(in); err == nil {
			t.Errorf("MachineUUID(%q): got nil error", in)
		}
	}
}

func TestDefaultsAndTree(t *testing.T) {
	ctx := context.Background()
	tr := tree.New()
	if err := tr.Mount(Root, New(Config{Version: "1.4.0", MachineIDPath: machineIDFile(t, testMachineID)}, nil)); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ uri, want string }{
		{"./DevInfo/Man", "unknown"},
		{"./DevInfo/Mod", "unknown"},
		{"./DevInfo/DmV", "omadm-agent 1.4.0"},
		{"./DevInfo/Lang", "en-US"},
		{"./DevInfo", "DevId/Man/Mod/DmV/Lang"},
		{"./DevInfo?prop=Type", MOType},
	}
	for _, tc := range tests {
		r, err := tr.Get(ctx, tree.Server("srv1"), tc.uri)
		if err != nil {
			t.Errorf("Get %s: %v", tc.uri, err)
			continue
		}
		if got := string(r.Items[0].Data); got != tc.want {
			t.Errorf("Get %s: got %q, want %q", tc.uri, got, tc.want)
		}
	}
	if err := tr.Delete(ctx, tree.LocalPrincipal, "./DevInfo/Man"); tree.StatusCode(err) != tree.StatusNotAllowed {
		t.Errorf("Delete Man: got %v, want 405", err)
	}
	if err := tr.Add(ctx, tree.Server("srv1"), "./DevInfo/Ext/New", tree.Value{Data: []byte("x")}); tree.StatusCode(err) != tree.StatusNotAllowed {
		t.Errorf("Add Ext/New: got %v, want 405", err)
	}
}
