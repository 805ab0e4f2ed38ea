package devdetail

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Root is where the provider is mounted.
const Root tree.URI = "./DevDetail"

// MOType is the MO identifier of ./DevDetail.
const MOType = "urn:oma:mo:oma-dm-devdetail:1.0"

// DefaultOSReleasePath is the os-release file read for FwV and SwV.
const DefaultOSReleasePath = "/etc/os-release"

// Config holds the values of ./DevDetail. Empty strings are detected (see
// the package doc).
type Config struct {
	DevTyp string // default "gateway"
	OEM    string // default "" (no detection)
	FwV    string // default os-release IMAGE_VERSION, VERSION_ID, else the kernel release
	SwV    string // default os-release PRETTY_NAME, "NAME VERSION_ID", else "Linux <release>"
	HwV    string // default the uname machine (e.g. "armv7l")
	// Limits are published in URI/MaxDepth, MaxTotLen, MaxSegLen; pass
	// Tree.Limits() of the tree the provider is mounted on.
	Limits tree.Limits
	// LrgObj is the LrgObj value; nil means true (the agent supports large
	// objects).
	LrgObj *bool
	// OSReleasePath defaults to /etc/os-release.
	OSReleasePath string
	// Uname replaces unix.Uname (tests).
	Uname func(*unix.Utsname) error
}

// Provider serves ./DevDetail read-only. It holds only values computed by
// New and is safe for concurrent use.
type Provider struct {
	nodes map[tree.URI]tree.Node
}

// New detects the missing values and returns the provider. Unreadable
// sources leave the corresponding value empty; New never fails.
func New(cfg Config) *Provider {
	if cfg.DevTyp == "" {
		cfg.DevTyp = "gateway"
	}
	if cfg.OSReleasePath == "" {
		cfg.OSReleasePath = DefaultOSReleasePath
	}
	if cfg.Uname == nil {
		cfg.Uname = unix.Uname
	}
	osr := ReadOSRelease(cfg.OSReleasePath)
	var uts unix.Utsname
	var release, machine string
	if cfg.Uname(&uts) == nil {
		release = cstr(uts.Release[:])
		machine = cstr(uts.Machine[:])
	}
	if cfg.FwV == "" {
		cfg.FwV = first(osr["IMAGE_VERSION"], osr["VERSION_ID"], release)
	}
	if cfg.SwV == "" {
		nv := strings.TrimSpace(osr["NAME"] + " " + osr["VERSION_ID"])
		lin := ""
		if release != "" {
			lin = "Linux " + release
		}
		cfg.SwV = first(osr["PRETTY_NAME"], nv, lin)
	}
	if cfg.HwV == "" {
		cfg.HwV = machine
	}
	lrg := true
	if cfg.LrgObj != nil {
		lrg = *cfg.LrgObj
	}
	p := &Provider{nodes: map[tree.URI]tree.Node{}}
	leaf := func(u tree.URI, v, format string) {
		p.nodes[u] = tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: format, Type: tree.TypeText}}
	}
	dir := func(u tree.URI, typ string, children ...string) {
		p.nodes[u] = tree.Node{URI: u, Interior: true, Children: children, Props: tree.Props{Format: tree.FormatNode, Type: typ}}
	}
	dir(Root, MOType, "URI", "DevTyp", "OEM", "FwV", "SwV", "HwV", "LrgObj")
	uri := Root.Child("URI")
	dir(uri, "", "MaxDepth", "MaxTotLen", "MaxSegLen")
	leaf(uri.Child("MaxDepth"), strconv.Itoa(cfg.Limits.MaxDepth), tree.FormatChr)
	leaf(uri.Child("MaxTotLen"), strconv.Itoa(cfg.Limits.MaxTotLen), tree.FormatChr)
	leaf(uri.Child("MaxSegLen"), strconv.Itoa(cfg.Limits.MaxSegLen), tree.FormatChr)
	leaf(Root.Child("DevTyp"), cfg.DevTyp, tree.FormatChr)
	leaf(Root.Child("OEM"), cfg.OEM, tree.FormatChr)
	leaf(Root.Child("FwV"), cfg.FwV, tree.FormatChr)
	leaf(Root.Child("SwV"), cfg.SwV, tree.FormatChr)
	leaf(Root.Child("HwV"), cfg.HwV, tree.FormatChr)
	leaf(Root.Child("LrgObj"), strconv.FormatBool(lrg), tree.FormatBool)
	return p
}

// Get implements tree.Provider.
func (p *Provider) Get(_ context.Context, u tree.URI) (tree.Node, error) {
	n, ok := p.nodes[u]
	if !ok {
		return tree.Node{}, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
	}
	n.Value = bytes.Clone(n.Value)
	n.Children = append([]string(nil), n.Children...)
	return n, nil
}

// Describe implements tree.Describer.
func (p *Provider) Describe() []tree.Desc {
	d := func(name, format, desc string) tree.Desc {
		path, typ := string(Root), MOType
		if name != "" {
			path += "/" + name
			typ = tree.TypeText
			if format == tree.FormatNode {
				typ = ""
			}
		}
		return tree.Desc{Path: path, Access: tree.AccessGet, Format: format, Type: typ, Occurrence: "One", Scope: tree.ScopePermanent, Description: desc}
	}
	return []tree.Desc{
		d("", tree.FormatNode, "device details"),
		d("URI", tree.FormatNode, "URI limits"),
		d("URI/MaxDepth", tree.FormatChr, "maximum URI depth, 0 = unlimited"),
		d("URI/MaxTotLen", tree.FormatChr, "maximum URI length, 0 = unlimited"),
		d("URI/MaxSegLen", tree.FormatChr, "maximum URI segment length, 0 = unlimited"),
		d("DevTyp", tree.FormatChr, "device type"),
		d("OEM", tree.FormatChr, "original equipment manufacturer"),
		d("FwV", tree.FormatChr, "firmware version"),
		d("SwV", tree.FormatChr, "software version"),
		d("HwV", tree.FormatChr, "hardware version"),
		d("LrgObj", tree.FormatBool, "large object support"),
	}
}

// ReadOSRelease parses an os-release file (KEY=value lines, values optionally
// quoted with " or ' and backslash escapes in double quotes). A missing or
// unreadable file gives an empty map.
func ReadOSRelease(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		out[k] = unquote(v)
	}
	return out
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
