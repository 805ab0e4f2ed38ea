package csp

import (
	"fmt"
	"os"
	"strings"
)

// BootIDFile is where the kernel publishes the id of the running boot.
const BootIDFile = "/proc/sys/kernel/random/boot_id"

// ReadBootID returns the kernel's id of the running boot. Providers whose
// work spans a reboot (FUMO, the system object) compare it with the one
// they saved to tell that the device has rebooted.
func ReadBootID() (string, error) {
	b, err := os.ReadFile(BootIDFile)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if id == "" || len(id) > 64 {
		return "", fmt.Errorf("boot_id %q: unexpected form", id)
	}
	return id, nil
}
