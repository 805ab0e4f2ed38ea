package devinfo

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/omadm-agent/omadm-agent/tree"
)

// Root is where the provider is mounted.
const Root tree.URI = "./DevInfo"

// MOType is the MO identifier of ./DevInfo.
const MOType = "urn:oma:mo:oma-dm-devinfo:1.0"

// DefaultMachineIDPath is where the machine id is read when no IMEI or
// configured DevID is available.
const DefaultMachineIDPath = "/etc/machine-id"

// ErrNoDevID is returned (wrapped) when no device identifier can be formed.
var ErrNoDevID = errors.New("devinfo: no device identifier")

// IMEISource returns the modem's IMEI (decimal digits). An error means "no
// modem"; the provider then falls back to the machine id.
type IMEISource func(ctx context.Context) (string, error)

// Config holds the values of ./DevInfo. Empty strings take the defaults
// noted on each field.
type Config struct {
	// DevID is a configured device identifier URN (config [device] dev_id).
	// When set it is used as is and nothing is detected.
	DevID string
	Man   string // manufacturer; default "unknown"
	Mod   string // model; default "unknown"
	// DmV is the DM client version; default "omadm-agent <Version>".
	DmV     string
	Version string // agent version used in the DmV default; default "dev"
	Lang    string // RFC 1766 language tag; default "en-US"
	// Ext holds optional vendor leaves ./DevInfo/Ext/<name> (chr).
	Ext map[string]string
	// MachineIDPath is read for the fallback DevID; default /etc/machine-id.
	MachineIDPath string
}

// Provider serves ./DevInfo read-only. It is safe for concurrent use.
type Provider struct {
	cfg   Config
	imei  IMEISource
	fixed map[tree.URI]tree.Node
}

// New returns the ./DevInfo provider. imei may be nil (no modem).
func New(cfg Config, imei IMEISource) *Provider {
	if cfg.Man == "" {
		cfg.Man = "unknown"
	}
	if cfg.Mod == "" {
		cfg.Mod = "unknown"
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.DmV == "" {
		cfg.DmV = "omadm-agent " + cfg.Version
	}
	if cfg.Lang == "" {
		cfg.Lang = "en-US"
	}
	if cfg.MachineIDPath == "" {
		cfg.MachineIDPath = DefaultMachineIDPath
	}
	p := &Provider{cfg: cfg, imei: imei, fixed: map[tree.URI]tree.Node{}}
	leaf := func(name, v string) {
		u := Root.Child(name)
		p.fixed[u] = tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: tree.FormatChr, Type: tree.TypeText}}
	}
	leaf("Man", cfg.Man)
	leaf("Mod", cfg.Mod)
	leaf("DmV", cfg.DmV)
	leaf("Lang", cfg.Lang)
	children := []string{"DevId", "Man", "Mod", "DmV", "Lang"}
	if len(cfg.Ext) > 0 {
		ext := Root.Child("Ext")
		var names []string
		for k, v := range cfg.Ext {
			seg := tree.EscapeName(k)
			names = append(names, seg)
			u := ext.ChildSeg(seg)
			p.fixed[u] = tree.Node{URI: u, Value: []byte(v), Props: tree.Props{Format: tree.FormatChr, Type: tree.TypeText}}
		}
		sort.Strings(names)
		p.fixed[ext] = tree.Node{URI: ext, Interior: true, Children: names, Props: tree.Props{Format: tree.FormatNode}}
		children = append(children, "Ext")
	}
	p.fixed[Root] = tree.Node{URI: Root, Interior: true, Children: children, Props: tree.Props{Format: tree.FormatNode, Type: MOType}}
	return p
}

// Get implements tree.Provider.
func (p *Provider) Get(ctx context.Context, u tree.URI) (tree.Node, error) {
	if u == Root.Child("DevId") {
		id, err := p.DevID(ctx)
		if err != nil {
			return tree.Node{}, fmt.Errorf("%w: %w", err, tree.ErrCommandFailed)
		}
		return tree.Node{URI: u, Value: []byte(id), Props: tree.Props{Format: tree.FormatChr, Type: tree.TypeText}}, nil
	}
	n, ok := p.fixed[u]
	if !ok {
		return tree.Node{}, fmt.Errorf("%s: %w", u, tree.ErrNotFound)
	}
	n.Value = bytes.Clone(n.Value)
	n.Children = append([]string(nil), n.Children...)
	return n, nil
}

// DevID returns ./DevInfo/DevId: the configured DevID if set; else
// "IMEI:<imei>" when the IMEI source returns a valid IMEI (14 to 16 digits);
// else "urn:uuid:<uuid>" derived from the machine id (see MachineUUID).
func (p *Provider) DevID(ctx context.Context) (string, error) {
	if p.cfg.DevID != "" {
		return p.cfg.DevID, nil
	}
	if p.imei != nil {
		if imei, err := p.imei(ctx); err == nil {
			imei = strings.TrimSpace(imei)
			if validIMEI(imei) {
				return "IMEI:" + imei, nil
			}
		}
	}
	id, err := os.ReadFile(p.cfg.MachineIDPath)
	if err != nil {
		return "", fmt.Errorf("%w: no IMEI, no configured dev_id, and %w", ErrNoDevID, err)
	}
	uuid, err := MachineUUID(string(id))
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrNoDevID, p.cfg.MachineIDPath, err)
	}
	return "urn:uuid:" + uuid, nil
}

func validIMEI(s string) bool {
	if len(s) < 14 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appID keys the machine-id derivation, so the DevId is stable per machine
// but does not disclose the machine id itself (the method of systemd's
// sd_id128_get_machine_app_specific).
var appID = []byte{0x6f, 0x6d, 0x61, 0x64, 0x6d, 0x2d, 0x64, 0x65, 0x76, 0x69, 0x64, 0x8e, 0x21, 0x4a, 0x53, 0x07}

// MachineUUID derives a version-4 UUID (lower-case, 8-4-4-4-12) from the
// contents of /etc/machine-id (32 hex digits, trailing newline allowed):
// HMAC-SHA256 keyed with the 16 machine-id bytes over a fixed application
// id, first 16 bytes, with the version (4) and variant (RFC 4122) bits set.
func MachineUUID(machineID string) (string, error) {
	s := strings.TrimSpace(machineID)
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != 16 {
		return "", fmt.Errorf("machine id %q is not 32 hex digits", s)
	}
	m := hmac.New(sha256.New, key)
	m.Write(appID)
	b := m.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// Describe implements tree.Describer.
func (p *Provider) Describe() []tree.Desc {
	leaf := func(name, occ, desc string) tree.Desc {
		return tree.Desc{Path: string(Root) + "/" + name, Access: tree.AccessGet, Format: tree.FormatChr, Type: tree.TypeText,
			Occurrence: occ, Scope: tree.ScopePermanent, Description: desc}
	}
	return []tree.Desc{
		{Path: string(Root), Access: tree.AccessGet, Format: tree.FormatNode, Type: MOType, Occurrence: "One", Scope: tree.ScopePermanent, Description: "device information"},
		leaf("DevId", "One", "unique device identifier (IMEI:, or urn:uuid: derived from the machine id)"),
		leaf("Man", "One", "manufacturer"),
		leaf("Mod", "One", "model"),
		leaf("DmV", "One", "DM client version"),
		leaf("Lang", "One", "current language (RFC 1766)"),
		{Path: string(Root) + "/Ext", Access: tree.AccessGet, Format: tree.FormatNode, Occurrence: "ZeroOrOne", Scope: tree.ScopePermanent, Description: "vendor extensions"},
		{Path: string(Root) + "/Ext/*", Access: tree.AccessGet, Format: tree.FormatChr, Type: tree.TypeText, Occurrence: "ZeroOrMore", Scope: tree.ScopePermanent, Description: "vendor extension"},
	}
}
