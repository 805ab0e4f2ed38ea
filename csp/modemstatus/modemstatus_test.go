package modemstatus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/csp"
	"github.com/omadm-agent/omadm-agent/csp/dbusmockrun"
	"github.com/omadm-agent/omadm-agent/csp/modemstatus"
	"github.com/omadm-agent/omadm-agent/modem/mm/mmtest"
	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

// rig is the one real ModemManager (test mode, fake modem) of this binary.
var rig *mmtest.MM

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "modemstatus")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if rig, err = mmtest.Start(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, "start ModemManager:", err)
		return 1
	}
	defer rig.Stop()
	return m.Run()
}

func provider(t testing.TB) *modemstatus.Provider {
	t.Helper()
	c, err := mmtest.Dial(rig.Bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return modemstatus.New(c)
}

func TestLeaves(t *testing.T) {
	p := provider(t)
	tests := []struct {
		leaf, want, format string
	}{
		{modemstatus.LeafManufacturer, mmtest.Manufacturer, tree.FormatChr},
		{modemstatus.LeafModel, mmtest.Model, tree.FormatChr},
		{modemstatus.LeafRevision, mmtest.Revision, tree.FormatChr},
		{modemstatus.LeafIMEI, mmtest.IMEI, tree.FormatChr},
		{modemstatus.LeafState, "registered", tree.FormatChr},
		{modemstatus.LeafSignalQuality, "64", tree.FormatInt}, // +CSQ: 20 → 20*100/31
		{modemstatus.LeafAccessTechnologies, "lte", tree.FormatChr},
		{modemstatus.LeafOperatorName, mmtest.OperatorName, tree.FormatChr},
		{modemstatus.LeafOperatorCode, mmtest.OperatorCode, tree.FormatChr},
		{modemstatus.LeafICCID, mmtest.ICCID, tree.FormatChr},
		{modemstatus.LeafIMSI, mmtest.IMSI, tree.FormatChr},
	}
	// Signal quality, operator and access technologies arrive just after
	// registration, not necessarily together: wait (bounded) until every
	// leaf has its value, then check each.
	settled := func() bool {
		for _, tt := range tests {
			n, err := p.Get(context.Background(), modemstatus.Root.Child(tt.leaf))
			if err != nil || string(n.Value) != tt.want {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(10 * time.Second)
	for !settled() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, tt := range tests {
		t.Run(tt.leaf, func(t *testing.T) {
			n, err := p.Get(context.Background(), modemstatus.Root.Child(tt.leaf))
			if err != nil {
				t.Fatal(err)
			}
			if string(n.Value) != tt.want || n.Props.Format != tt.format {
				t.Errorf("got %q (%s), want %q (%s)", n.Value, n.Props.Format, tt.want, tt.format)
			}
		})
	}
}

func TestRootAndDDF(t *testing.T) {
	p := provider(t)
	n, err := p.Get(context.Background(), modemstatus.Root)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Interior || n.Props.Type != modemstatus.MOType || len(n.Children) != 11 {
		t.Errorf("got interior %v type %q children %v, want interior MO with 11 leaves", n.Interior, n.Props.Type, n.Children)
	}
	ds := p.Describe()
	if len(ds) != len(n.Children)+1 || ds[0].Path != string(modemstatus.Root) {
		t.Fatalf("got %d descriptions, want %d", len(ds), len(n.Children)+1)
	}
	for _, d := range ds[1:] {
		if !slices.Contains(n.Children, tree.URI(d.Path).Base()) {
			t.Errorf("DDF node %s is not a child of Root", d.Path)
		}
		if d.Access != tree.AccessGet {
			t.Errorf("%s: got access %v, want Get only", d.Path, d.Access)
		}
	}
	for _, u := range []tree.URI{modemstatus.Root.Child("Nope"), "./Vendor/omadm/Modem/IMEI/x"} {
		if _, err := p.Get(context.Background(), u); !errors.Is(err, tree.ErrNotFound) {
			t.Errorf("Get %s: got %v, want ErrNotFound", u, err)
		}
	}
}

func TestConformance(t *testing.T) {
	var ro []tree.URI
	n, err := provider(t).Get(context.Background(), modemstatus.Root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range n.Children {
		// treetest replaces with a chr value; the int leaf answers 415
		// first (format checked before access). TestMountedTree checks
		// its 405 with an int value.
		if c != modemstatus.LeafSignalQuality {
			ro = append(ro, modemstatus.Root.Child(c))
		}
	}
	treetest.Run(t, treetest.Config{
		Prefix:   modemstatus.Root,
		New:      func(t *testing.T) tree.Provider { return provider(t) },
		ReadOnly: ro,
	})
}

func TestMountedTree(t *testing.T) {
	tr := tree.New()
	if err := tr.Mount(modemstatus.Root, provider(t)); err != nil {
		t.Fatal(err)
	}
	r, err := tr.Get(context.Background(), tree.Server("srv"), string(modemstatus.Root.Child(modemstatus.LeafICCID)))
	if err != nil || len(r.Items) != 1 || string(r.Items[0].Data) != mmtest.ICCID {
		t.Errorf("server Get ICCID: got %+v, %v, want %s", r, err, mmtest.ICCID)
	}
	for leaf, v := range map[string]tree.Value{
		modemstatus.LeafIMEI:          {Data: []byte("1"), Format: tree.FormatChr},
		modemstatus.LeafSignalQuality: {Data: []byte("1"), Format: tree.FormatInt},
	} {
		err = tr.Replace(context.Background(), tree.Server("srv"), string(modemstatus.Root.Child(leaf)), v)
		if got := tree.StatusCode(err); got != 405 {
			t.Errorf("Replace %s: got status %d (%v), want 405", leaf, got, err)
		}
	}
}

func TestModemManagerAbsent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bus, err := dbusmockrun.StartBus(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Stop()
	c, err := mmtest.Dial(bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = modemstatus.New(c).Get(ctx, modemstatus.Root.Child(modemstatus.LeafIMEI))
	var be *csp.BusError
	if !errors.Is(err, csp.ErrServiceUnavailable) || !errors.As(err, &be) || !errors.Is(err, tree.ErrCommandFailed) {
		t.Errorf("got %v, want a *csp.BusError wrapping ErrServiceUnavailable and ErrCommandFailed", err)
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		bits uint32
		want string
	}{
		{0, "unknown"}, {1 << 14, "lte"}, {1<<5 | 1<<6, "umts,hsdpa"}, {1 << 15, "5gnr"}, {1 << 30, "0x40000000"},
	}
	for _, tt := range tests {
		if got := modemstatus.AccessTechnologies(tt.bits); got != tt.want {
			t.Errorf("AccessTechnologies(%#x): got %q, want %q", tt.bits, got, tt.want)
		}
	}
	for st, want := range map[int32]string{-1: "failed", 0: "unknown", 8: "registered", 11: "connected", 12: "unknown", -2: "unknown"} {
		if got := modemstatus.StateName(st); got != want {
			t.Errorf("StateName(%d): got %q, want %q", st, got, want)
		}
	}
}

func BenchmarkGetIMEI(b *testing.B) {
	p := provider(b)
	u := modemstatus.Root.Child(modemstatus.LeafIMEI)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Get(context.Background(), u); err != nil {
			b.Fatal(err)
		}
	}
}
