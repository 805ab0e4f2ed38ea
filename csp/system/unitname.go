package system

import (
	"fmt"
	"strings"

	"github.com/omadm-agent/omadm-agent/tree"
)

// MaxUnitName is the longest unit name systemd accepts (UNIT_NAME_MAX 256
// including the terminating NUL).
const MaxUnitName = 255

// unitTypes are the unit suffixes systemd knows (systemd.unit(5)).
var unitTypes = []string{"service", "socket", "target", "device", "mount", "automount",
	"swap", "timer", "path", "slice", "scope"}

// ValidUnitName reports, wrapping tree.ErrBadRequest, why name is not the
// name of a unit that can be started or stopped, following systemd's
// unit_name_is_valid with plain and instance names allowed and templates
// refused: at most 255 bytes; "prefix.type" or "prefix@instance.type" where
// type is a known unit type, prefix is not empty, and prefix and instance
// consist of ASCII letters, digits and ":-_.\" (and "@" after the first
// one). A template ("getty@.service") cannot be started and is refused.
func ValidUnitName(name string) error {
	if name == "" {
		return fmt.Errorf("empty unit name: %w", tree.ErrBadRequest)
	}
	if len(name) > MaxUnitName {
		return fmt.Errorf("unit name longer than %d bytes: %w", MaxUnitName, tree.ErrBadRequest)
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return fmt.Errorf("unit name %q has no type suffix: %w", name, tree.ErrBadRequest)
	}
	typ := name[dot+1:]
	known := false
	for _, t := range unitTypes {
		if t == typ {
			known = true
			break
		}
	}
	if !known {
		return fmt.Errorf("unit name %q has the unknown type %q: %w", name, typ, tree.ErrBadRequest)
	}
	at := -1
	for i := 0; i < dot; i++ {
		c := name[i]
		switch {
		case c == '@':
			if at < 0 {
				at = i
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ':' || c == '-' || c == '_' || c == '.' || c == '\\':
		default:
			return fmt.Errorf("unit name %q has the invalid character %q: %w", name, c, tree.ErrBadRequest)
		}
	}
	switch {
	case at == 0:
		return fmt.Errorf("unit name %q has an empty prefix: %w", name, tree.ErrBadRequest)
	case at > 0 && at+1 == dot:
		return fmt.Errorf("unit name %q is a template, not a unit: %w", name, tree.ErrBadRequest)
	}
	return nil
}
