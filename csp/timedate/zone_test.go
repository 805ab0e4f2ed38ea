package timedate_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omadm-agent/omadm-agent/csp/timedate"
	"github.com/omadm-agent/omadm-agent/tree"
)

// FuzzValidZone: an accepted zone is a relative path without "." or ".."
// segments that names a TZif file inside the zoneinfo directory.
func FuzzValidZone(f *testing.F) {
	for _, s := range []string{"Europe/Berlin", "UTC", "Etc/GMT+5", "America/Port-au-Prince", "../etc/passwd",
		"Europe/../UTC", "/UTC", "", "Local", "Europe", "a//b", "posix/Europe/Berlin"} {
		f.Add(s)
	}
	p := timedate.New(nil)
	f.Fuzz(func(t *testing.T, zone string) {
		err := p.ValidZone(zone)
		if err != nil {
			if !errors.Is(err, tree.ErrBadRequest) {
				t.Fatalf("ValidZone(%q): %v does not wrap ErrBadRequest", zone, err)
			}
			return
		}
		if strings.HasPrefix(zone, "/") || filepath.Clean(zone) != zone || strings.HasPrefix(zone, "..") {
			t.Fatalf("accepted the unclean path %q", zone)
		}
		b, rerr := os.ReadFile(filepath.Join(timedate.DefaultZoneinfo, zone))
		if rerr != nil || !strings.HasPrefix(string(b), "TZif") {
			t.Fatalf("accepted %q which is not a TZif file (%v)", zone, rerr)
		}
	})
}
