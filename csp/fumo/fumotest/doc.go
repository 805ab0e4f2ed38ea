// Package fumotest runs the real RAUC service (Debian rauc + rauc-service
// 1.8) as the test peer of csp/fumo and of the end-to-end tests: a
// self-signed keyring and format=plain bundles made with openssl and
// `rauc bundle` (BuildArtifacts), and `rauc service` on a given private
// bus with bootloader=noop and two raw slots backed by 4 MiB files (RAUC).
// RAUC believes it booted the slot given to Start/Reboot
// (--override-boot-slot, instead of rauc.slot= on /proc/cmdline). With
// CustomBootloader it uses bootloader=custom instead: a shell script plays
// the bootloader (primary slot and good/bad state per slot in files) and
// logs every call RAUC makes (BootloaderCalls), so a test sees what Mark
// did through RAUC itself (GetSlotStatus "boot-status" asks the script);
// FailSetState makes the bootloader refuse to change a slot's state.
// Every process is stopped by PID. A missing peer is an error that says to
// run `make deps`.
//
// It must not import csp/fumo: that package's internal tests use it.
package fumotest
