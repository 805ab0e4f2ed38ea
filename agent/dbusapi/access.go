package dbusapi

import (
	"os/user"
	"slices"
	"strconv"
)

// Directory resolves users and groups (os/user reads /etc/passwd and
// /etc/group without cgo).
type Directory interface {
	// GroupIDs returns the gids (primary and supplementary) of uid.
	GroupIDs(uid uint32) ([]string, error)
	// GroupID returns the gid of group name.
	GroupID(name string) (string, error)
}

// OSDirectory is the Directory of the system (os/user).
type OSDirectory struct{}

// GroupIDs implements Directory.
func (OSDirectory) GroupIDs(uid uint32) ([]string, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return nil, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return []string{u.Gid}, nil // at least the primary group
	}
	if !slices.Contains(ids, u.Gid) {
		ids = append(ids, u.Gid)
	}
	return ids, nil
}

// GroupID implements Directory.
func (OSDirectory) GroupID(name string) (string, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return "", err
	}
	return g.Gid, nil
}

// Access decides who may call the changing methods (StartSession, Reload,
// ProcessFile): root, and members of Group (config [dbus] control_group,
// the group the shipped bus policy names). The bus policy already filters;
// this check is the second line, enforced by the agent itself, so a bus
// with a permissive policy does not open the API to everyone.
type Access struct {
	Group string
	// Dir resolves group membership; nil means OSDirectory.
	Dir Directory
}

// Allowed reports whether uid may call a changing method. Lookup failures
// deny.
func (a Access) Allowed(uid uint32) bool {
	if uid == 0 {
		return true
	}
	if a.Group == "" {
		return false
	}
	dir := a.Dir
	if dir == nil {
		dir = OSDirectory{}
	}
	gid, err := dir.GroupID(a.Group)
	if err != nil {
		return false
	}
	ids, err := dir.GroupIDs(uid)
	if err != nil {
		return false
	}
	return slices.Contains(ids, gid)
}
