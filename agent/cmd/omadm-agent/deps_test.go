package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The dependency direction of architecture.md §3.2, checked on the real
// import graph (`go list -deps -json`; non-test imports: a package's own
// tests may use test helpers). Where §3.2 and the code disagree, the rule
// below is the one the code needs, with the reason.

const module = "github.com/omadm-agent/omadm-agent"

// stdlibOnly: these packages import the standard library and each other
// only (tree/tnds → agent/syncml/wbxml and agent/notification →
// agent/auth are such module-internal stdlib-only edges). They are the
// protocol and data-structure core that must build and fuzz anywhere.
var stdlibOnly = []string{
	"tree", "tree/...", "agent/syncml", "agent/syncml/wbxml", "agent/notification", "agent/auth", "modem/wappush",
	"smartcard", "smartcard/...", "csp/window",
}

// onlyImportedBy: an external package (or prefix) and the module packages
// that may import it. Everything under agent/cmd/ (wiring and tools) may
// import anything.
var onlyImportedBy = []struct {
	dep     string
	allowed []string
	why     string
}{
	{"github.com/godbus/dbus/v5", []string{"csp/...", "agent/dbusapi", "agent/dbusapi/...", "modem/mm", "modem/mm/..."},
		"D-Bus stays in the control API, the D-Bus-backed CSPs and their test support (csp/dbusmockrun, csp/internal/dbustest), and the ModemManager push source (modem/mm, modem/mm/mmtest)"},
	{"github.com/fsnotify/fsnotify", []string{"agent", "modem"},
		"agent (Watch: the configuration and its conf.d drop-ins) and modem (the serial device reappearing after a USB reset) need file events; §3.2's 'cmd only' predates both"},
	{"github.com/coreos/go-systemd/v22", []string{"agent/sdnotify"},
		"systemd (sd_notify, journald) is wrapped by agent/sdnotify only"},
	{"github.com/warthog618/", []string{"modem"}, "the AT/SMS stack is the modem package's business"},
	{"go.bug.st/serial", []string{"modem"}, "the serial port is the modem package's business"},
	{"github.com/creack/pty", []string{"modem/modemtest"}, "the pty fake modem is test support"},
	{"github.com/BurntSushi/toml", []string{"agent/config"}, "the configuration file format is agent/config's"},
}

// csp: the daemon core and the session engine may use csp/dmacc (the
// Account type and store) but no other CSP; agent/device wires the device
// CSPs into the tree. agent/config may use csp/window (stdlib-only, above)
// to validate [system] maintenance_windows where the other keys are.
var cspUsers = map[string][]string{
	"agent": {"csp/dmacc"}, "agent/session": {"csp/dmacc"}, "agent/bootstrap": {"csp/dmacc"},
	"agent/dbusapi": {"csp/dmacc"}, "agent/outbox": {}, "agent/config": {"csp/window"}, "agent/sdnotify": {},
}

type goPkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	CgoFiles   []string
	Error      *struct{ Err string }
}

// goList runs go list -e -deps -json on the patterns with env added.
func goList(t *testing.T, env []string, patterns ...string) []goPkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-deps", "-json=ImportPath,Standard,Imports,CgoFiles,Error"}, patterns...)...)
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []goPkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel returns p relative to the module ("" root, ok=false outside).
func rel(p string) (string, bool) {
	if p == module {
		return "", true
	}
	r, ok := strings.CutPrefix(p, module+"/")
	return r, ok
}

// matches reports whether the module-relative path r matches pattern
// ("x" exactly, "x/..." for x's subpackages and x itself is not implied).
func matches(r, pattern string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return strings.HasPrefix(r, base+"/")
	}
	return r == pattern
}

func matchesAny(r string, patterns []string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return matches(r, p) })
}

// checkEdges returns every forbidden edge in pkgs, one line each.
func checkEdges(pkgs []goPkg) []string {
	std := map[string]bool{}
	for _, p := range pkgs {
		if p.Standard {
			std[p.ImportPath] = true
		}
	}
	var bad []string
	for _, p := range pkgs {
		from, inModule := rel(p.ImportPath)
		if !inModule {
			continue
		}
		cmdPkg := matches(from, "agent/cmd/...")
		for _, imp := range p.Imports {
			to, toModule := rel(imp)
			// Nothing imports a command's packages but that command.
			if toModule && matches(to, "agent/cmd/...") {
				cmdName := strings.SplitN(to, "/", 4)[2]
				if !matches(from, "agent/cmd/"+cmdName+"/...") && from != "agent/cmd/"+cmdName {
					bad = append(bad, fmt.Sprintf("%s → %s: only %s may import agent/cmd/%s/...", from, to, "agent/cmd/"+cmdName, cmdName))
				}
			}
			if matchesAny(from, stdlibOnly) && !std[imp] && !(toModule && matchesAny(to, stdlibOnly)) {
				bad = append(bad, fmt.Sprintf("%s → %s: %s imports the standard library and stdlib-only module packages only", from, imp, from))
			}
			if cmdPkg {
				continue
			}
			for _, r := range onlyImportedBy {
				hit := imp == r.dep || strings.HasPrefix(imp, r.dep+"/") || (strings.HasSuffix(r.dep, "/") && strings.HasPrefix(imp, r.dep))
				if hit && !matchesAny(from, r.allowed) {
					bad = append(bad, fmt.Sprintf("%s → %s: only %s may import it (%s)", from, imp, strings.Join(r.allowed, ", "), r.why))
				}
			}
			if imp == "github.com/warthog618/modem/serial" {
				bad = append(bad, fmt.Sprintf("%s → %s: never import warthog618/modem/serial (go.bug.st/serial is the port)", from, imp))
			}
			if allowed, ok := cspUsers[from]; ok && toModule && matches(to, "csp/...") && !slices.Contains(allowed, to) {
				bad = append(bad, fmt.Sprintf("%s → %s: the agent core may use csp/dmacc only (device CSPs are wired by agent/device)", from, to))
			}
		}
	}
	sort.Strings(bad)
	return slices.Compact(bad)
}

// TestDependencyDirection fails on any forbidden import edge in the module.
func TestDependencyDirection(t *testing.T) {
	pkgs := goList(t, nil, "./...")
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; want the whole module", len(pkgs))
	}
	var checked int
	for _, p := range pkgs {
		if r, ok := rel(p.ImportPath); ok && matchesAny(r, stdlibOnly) {
			checked++
		}
	}
	if checked < 8 {
		t.Fatalf("only %d stdlib-only packages found; the package list is wrong", checked)
	}
	for _, e := range checkEdges(pkgs) {
		t.Error(e)
	}
}

// TestDependencyRulesCatchEdges proves that each rule fires on an added
// edge (the graph is the real one plus one fake import).
func TestDependencyRulesCatchEdges(t *testing.T) {
	pkgs := goList(t, nil, "./...")
	base := checkEdges(pkgs) // empty unless TestDependencyDirection fails
	tests := []struct {
		name, from, to, want string
	}{
		{"tree → godbus", "tree", "github.com/godbus/dbus/v5", "standard library"},
		{"syncml → agent/config", "agent/syncml", module + "/agent/config", "standard library"},
		{"wappush → modem", "modem/wappush", module + "/modem", "standard library"},
		{"session → godbus", "agent/session", "github.com/godbus/dbus/v5", "only csp/..."},
		{"outbox → fsnotify", "agent/outbox", "github.com/fsnotify/fsnotify", "only agent, modem"},
		{"agent → go-systemd", "agent", "github.com/coreos/go-systemd/v22/daemon", "only agent/sdnotify"},
		{"csp → warthog618", "csp/dmacc", "github.com/warthog618/sms", "only modem"},
		{"modem → modem/serial", "modem", "github.com/warthog618/modem/serial", "never import"},
		{"session → csp/hostname", "agent/session", module + "/csp/hostname", "csp/dmacc only"},
		{"agent → cmd", "agent", module + "/agent/cmd/omadm-demo/rig", "only agent/cmd/omadm-demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := slices.Clone(pkgs)
			found := false
			for i := range mod {
				if mod[i].ImportPath == module+"/"+tt.from {
					mod[i].Imports = append(slices.Clone(mod[i].Imports), tt.to)
					found = true
				}
			}
			if !found {
				t.Fatalf("package %s not in the graph", tt.from)
			}
			var bad []string
			for _, b := range checkEdges(mod) {
				if !slices.Contains(base, b) {
					bad = append(bad, b)
				}
			}
			if !slices.ContainsFunc(bad, func(b string) bool { return strings.Contains(b, tt.want) }) {
				t.Errorf("got %q, want a violation mentioning %q", bad, tt.want)
			}
		})
	}
}

// TestNoCgo: no package of the binary has cgo files (CgoFiles with cgo
// enabled, so a file importing "C" is seen), except the standard library's
// optional cgo variants (net, os/user, runtime/cgo), which CGO_ENABLED=0
// builds (every release build: architecture.md §3.8) replace by pure Go;
// and with CGO_ENABLED=0 runtime/cgo is not linked at all.
func TestNoCgo(t *testing.T) {
	var bad []string
	for _, p := range goList(t, []string{"CGO_ENABLED=1"}, "./agent/cmd/omadm-agent") {
		if len(p.CgoFiles) > 0 && !p.Standard {
			bad = append(bad, fmt.Sprintf("%s: cgo files %v", p.ImportPath, p.CgoFiles))
		}
	}
	for _, p := range goList(t, []string{"CGO_ENABLED=0"}, "./agent/cmd/omadm-agent") {
		if p.ImportPath == "runtime/cgo" || len(p.CgoFiles) > 0 {
			bad = append(bad, fmt.Sprintf("%s uses cgo with CGO_ENABLED=0", p.ImportPath))
		}
		if p.Error != nil {
			bad = append(bad, fmt.Sprintf("%s does not build with CGO_ENABLED=0: %s", p.ImportPath, p.Error.Err))
		}
	}
	for _, b := range bad {
		t.Error(b)
	}
}
