package devdetail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

func fakeUname(release, machine string) func(*unix.Utsname) error {
	return func(u *unix.Utsname) error {
		copy(u.Release[:], release)
		copy(u.Machine[:], machine)
		return nil
	}
}

func failUname(*unix.Utsname) error { return errors.New("no uname") }

func osRelease(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "os-release")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const debian = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
# comment
ID=debian
`

func TestConformance(t *testing.T) {
	path := osRelease(t, debian)
	treetest.Run(t, treetest.Config{
		Prefix: Root,
		New: func(t *testing.T) tree.Provider {
			return New(Config{Limits: tree.DefaultLimits, OSReleasePath: path, Uname: fakeUname("6.1.0-18-arm64", "aarch64")})
		},
		ReadOnly: []tree.URI{"./DevDetail/URI/MaxDepth", "./DevDetail/DevTyp", "./DevDetail/FwV"},
		// ./DevDetail/LrgObj is left out: the suite replaces with a chr value and the
		// tree checks the declared format (415) before the missing Replacer (405);
		// TestMountedFormats checks a bool Replace gets 405.
	})
}

func TestValues(t *testing.T) {
	no := false
	deb := osRelease(t, debian)
	yocto := osRelease(t, "NAME=Poky\nVERSION_ID=4.0\nIMAGE_VERSION='2024.05-r3'\n")
	bare := osRelease(t, "NAME=\"Some \\\"OS\\\"\"\nVERSION_ID=7\n")
	missing := filepath.Join(t.TempDir(), "none")
	tests := []struct {
		name string
		cfg  Config
		want map[string]string
	}{
		{
			name: "debian detected",
			cfg:  Config{Limits: tree.Limits{MaxDepth: 32, MaxTotLen: 1024, MaxSegLen: 127}, OSReleasePath: deb, Uname: fakeUname("6.1.0", "armv7l")},
			want: map[string]string{"URI/MaxDepth": "32", "URI/MaxTotLen": "1024", "URI/MaxSegLen": "127", "DevTyp": "gateway", "OEM": "",
				"FwV": "12", "SwV": "Debian GNU/Linux 12 (bookworm)", "HwV": "armv7l", "LrgObj": "true"},
		},
		{
			name: "config wins",
			cfg: Config{DevTyp: "router", OEM: "Acme", FwV: "fw9", SwV: "sw9", HwV: "rev B", LrgObj: &no,
				OSReleasePath: deb, Uname: fakeUname("6.1.0", "armv7l")},
			want: map[string]string{"URI/MaxDepth": "0", "DevTyp": "router", "OEM": "Acme", "FwV": "fw9", "SwV": "sw9", "HwV": "rev B", "LrgObj": "false"},
		},
		{
			name: "image version",
			cfg:  Config{OSReleasePath: yocto, Uname: fakeUname("5.15", "aarch64")},
			want: map[string]string{"FwV": "2024.05-r3", "SwV": "Poky 4.0"},
		},
		{
			name: "quoted escapes",
			cfg:  Config{OSReleasePath: bare, Uname: failUname},
			want: map[string]string{"FwV": "7", "SwV": `Some "OS" 7`, "HwV": ""},
		},
		{
			name: "no os-release",
			cfg:  Config{OSReleasePath: missing, Uname: fakeUname("6.6.1", "mips")},
			want: map[string]string{"FwV": "6.6.1", "SwV": "Linux 6.6.1", "HwV": "mips"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(tc.cfg)
			for name, want := range tc.want {
				n, err := p.Get(context.Background(), Root+"/"+tree.URI(name))
				if err != nil {
					t.Errorf("Get %s: %v", name, err)
					continue
				}
				if string(n.Value) != want {
					t.Errorf("%s: got %q, want %q", name, n.Value, want)
				}
			}
		})
	}
}

func TestMountedFormats(t *testing.T) {
	ctx := context.Background()
	tr := tree.New()
	if err := tr.Mount(Root, New(Config{Limits: tr.Limits(), Uname: failUname, OSReleasePath: filepath.Join(t.TempDir(), "x")})); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ uri, want string }{
		{"./DevDetail/LrgObj?prop=Format", "bool"},
		{"./DevDetail/URI?prop=Format", "node"},
		{"./DevDetail?prop=Type", MOType},
		{"./DevDetail/URI/MaxSegLen", "127"},
		{"./DevDetail", "URI/DevTyp/OEM/FwV/SwV/HwV/LrgObj"},
	}
	for _, tc := range tests {
		r, err := tr.Get(ctx, tree.Server("srv"), tc.uri)
		if err != nil {
			t.Errorf("Get %s: %v", tc.uri, err)
			continue
		}
		if got := string(r.Items[0].Data); got != tc.want {
			t.Errorf("Get %s: got %q, want %q", tc.uri, got, tc.want)
		}
	}
	if err := tr.Replace(ctx, tree.LocalPrincipal, "./DevDetail/LrgObj", tree.Value{Data: []byte("false"), Format: tree.FormatBool}); tree.StatusCode(err) != tree.StatusNotAllowed {
		t.Errorf("Replace LrgObj: got %v, want 405", err)
	}
	if err := tr.Replace(ctx, tree.Server("srv"), "./DevDetail/DevTyp", tree.Value{Data: []byte("x")}); tree.StatusCode(err) != tree.StatusNotAllowed {
		t.Errorf("server Replace DevTyp: got %v, want 405", err)
	}
}
