package fumotest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// Compatible is the RAUC compatible string of the test system and bundles.
const Compatible = "omadm-test"

// Service is RAUC's bus name.
const Service = "de.pengutronix.rauc"

// NeedPeers reports a missing peer program, with the `make deps` hint.
func NeedPeers() error {
	for _, b := range []string{"rauc", "mksquashfs", "openssl", "dbus-daemon"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s not found (Debian packages rauc rauc-service squashfs-tools openssl dbus): run `make deps`", b)
		}
	}
	if _, err := os.Stat("/usr/share/dbus-1/interfaces/de.pengutronix.rauc.Installer.xml"); err != nil {
		return errors.New("rauc-service is not installed: run `make deps`")
	}
	return nil
}

// Artifacts are the keyring and bundles the tests install.
type Artifacts struct {
	Dir       string
	Cert, Key string // keyring (self-signed CA = signer)
	Image     []byte // rootfs.img inside the bundles (1 MiB)
	Version   string // of Good, Other and Mismatch
	Good      string // signed by Cert, Compatible
	Other     string // signed by another self-signed key
	Mismatch  string // signed by Cert, compatible "other-device"
	Truncated string // Good cut in half
}

// Remove deletes the files.
func (a *Artifacts) Remove() { os.RemoveAll(a.Dir) }

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func selfSigned(dir, name string) (cert, key string, err error) {
	cert, key = filepath.Join(dir, name+".cert.pem"), filepath.Join(dir, name+".key.pem")
	err = run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-subj", "/CN="+name, "-days", "3650")
	return cert, key, err
}

// Bundle builds a format=plain bundle in dir holding image as the rootfs
// slot image, signed with cert and key.
func Bundle(dir, name, cert, key, compat, version string, image []byte) (string, error) {
	in := filepath.Join(dir, name+".in")
	if err := os.MkdirAll(in, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(in, "rootfs.img"), image, 0o600); err != nil {
		return "", err
	}
	manifest := fmt.Sprintf("[update]\ncompatible=%s\nversion=%s\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=rootfs.img\n", compat, version)
	if err := os.WriteFile(filepath.Join(in, "manifest.raucm"), []byte(manifest), 0o600); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name+".raucb")
	return out, run("rauc", "bundle", "--cert="+cert, "--key="+key, in, out)
}

// BuildArtifacts makes the keyring and bundles in a new temporary
// directory (about 1 s); Remove deletes it.
func BuildArtifacts() (*Artifacts, error) {
	if err := NeedPeers(); err != nil {
		return nil, err
	}
	d, err := os.MkdirTemp("", "fumo-test")
	if err != nil {
		return nil, err
	}
	a := &Artifacts{Dir: d, Version: "2026.11.1"}
	fail := func(err error) (*Artifacts, error) {
		os.RemoveAll(d)
		return nil, err
	}
	if a.Cert, a.Key, err = selfSigned(d, "omadm-test-ca"); err != nil {
		return fail(err)
	}
	ocert, okey, err := selfSigned(d, "stranger")
	if err != nil {
		return fail(err)
	}
	// 1 MiB of deterministic, incompressible-looking data.
	a.Image = make([]byte, 0, 1<<20)
	seed := sha256.Sum256([]byte("omadm fumo image"))
	for len(a.Image) < 1<<20 {
		seed = sha256.Sum256(seed[:])
		a.Image = append(a.Image, seed[:]...)
	}
	if a.Good, err = Bundle(d, "good", a.Cert, a.Key, Compatible, a.Version, a.Image); err != nil {
		return fail(err)
	}
	if a.Other, err = Bundle(d, "other", ocert, okey, Compatible, a.Version, a.Image); err != nil {
		return fail(err)
	}
	if a.Mismatch, err = Bundle(d, "mismatch", a.Cert, a.Key, "other-device", a.Version, a.Image); err != nil {
		return fail(err)
	}
	b, err := os.ReadFile(a.Good)
	if err != nil {
		return fail(err)
	}
	a.Truncated = filepath.Join(d, "truncated.raucb")
	if err := os.WriteFile(a.Truncated, b[:len(b)/2], 0o600); err != nil {
		return fail(err)
	}
	return a, nil
}

// RAUC is `rauc service` on a private bus: system.conf with
// bootloader=noop (or custom, see CustomBootloader), the keyring of the
// Artifacts and two raw slots (bootname A and B, slot names rootfs.0 and
// rootfs.1) backed by 4 MiB files in Dir.
type RAUC struct {
	Dir, Conf    string
	SlotA, SlotB string
	BusAddr      string
	// Backend is the custom bootloader backend script ("" with noop).
	Backend string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *bytes.Buffer
}

// Option changes what NewRAUC writes.
type Option func(*RAUC)

// CustomBootloader makes RAUC use bootloader=custom with a backend script
// (Backend, written into Dir) that plays the bootloader: it keeps the
// primary slot and each slot's state ("good" or "bad", initially good) in
// files in Dir, and appends every call, one line each ("get-state A",
// "set-state B good", "set-primary B"), to a log read by
// BootloaderCalls. With noop, RAUC ignores Mark and set-primary.
func CustomBootloader() Option {
	return func(r *RAUC) { r.Backend = filepath.Join(r.Dir, "bootloader.sh") }
}

// backendScript is the custom bootloader backend; %[1]q is Dir. A
// "set-state" fails (exit 1, message on stderr) while Dir/set-state.fail
// exists (FailSetState); the call is logged first. set-primary leaves the
// state alone, so a slot RAUC installed to stays "bad" (RAUC sets it so
// before writing) until something marks it good.
const backendScript = `#!/bin/sh
d=%[1]q
echo "$*" >>"$d/bootloader.log"
case "$1" in
get-primary) cat "$d/boot.primary" ;;
set-primary) echo "$2" >"$d/boot.primary" ;;
get-state) cat "$d/boot.state.$2" ;;
set-state)
	if [ -e "$d/set-state.fail" ]; then echo "bootloader environment not writable (test)" >&2; exit 1; fi
	echo "$3" >"$d/boot.state.$2" ;;
*) echo "unknown command $1" >&2; exit 1 ;;
esac
`

// NewRAUC writes the slots and system.conf into dir; Start runs the
// service.
func NewRAUC(dir, busAddr string, art *Artifacts, opts ...Option) (*RAUC, error) {
	r := &RAUC{Dir: dir, BusAddr: busAddr, SlotA: filepath.Join(dir, "slotA.img"), SlotB: filepath.Join(dir, "slotB.img"), Conf: filepath.Join(dir, "system.conf")}
	for _, o := range opts {
		o(r)
	}
	for _, s := range []string{r.SlotA, r.SlotB} {
		if err := os.WriteFile(s, make([]byte, 4<<20), 0o600); err != nil {
			return nil, err
		}
	}
	boot := "bootloader=noop\n"
	if r.Backend != "" {
		boot = "bootloader=custom\n"
		files := map[string]string{"boot.primary": "A\n", "boot.state.A": "good\n", "boot.state.B": "good\n", "bootloader.log": ""}
		for name, v := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(r.Backend, fmt.Appendf(nil, backendScript, dir), 0o700); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`[system]
compatible=%s
%sstatusfile=%s
bundle-formats=plain

[keyring]
path=%s

[slot.rootfs.0]
device=%s
type=raw
bootname=A

[slot.rootfs.1]
device=%s
type=raw
bootname=B
`, Compatible, boot, filepath.Join(dir, "status.raucs"), art.Cert, r.SlotA, r.SlotB)
	if r.Backend != "" {
		conf += "\n[handlers]\nbootloader-custom-backend=" + r.Backend + "\n"
	}
	if err := os.WriteFile(r.Conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return r, nil
}

// Start runs `rauc service` as if booted from slot bootSlot ("A" or "B")
// and waits until it owns its bus name.
func (r *RAUC) Start(bootSlot string) error {
	mnt := filepath.Join(r.Dir, "mnt")
	os.MkdirAll(mnt, 0o700)
	cmd := exec.Command("rauc", "--conf="+r.Conf, "--override-boot-slot="+bootSlot, "--mount="+mnt, "service")
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+r.BusAddr)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start rauc service: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.mu.Lock()
	r.cmd, r.done, r.out = cmd, done, out
	r.mu.Unlock()
	conn, err := dbus.Connect(r.BusAddr)
	if err != nil {
		r.Stop()
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var owner string
		if conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, Service).Store(&owner) == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("rauc service exited: %s", r.Output())
		default:
		}
		if time.Now().After(deadline) {
			r.Stop()
			return fmt.Errorf("rauc service did not take %s within 10s: %s", Service, r.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Running reports whether the service process runs.
func (r *RAUC) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil
}

// Output is what the service printed since its last Start.
func (r *RAUC) Output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.out == nil {
		return ""
	}
	return r.out.String()
}

// Stop stops the service by PID (SIGTERM, then SIGKILL after 5 s).
func (r *RAUC) Stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	pid := cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		<-done
	}
}

// Reboot simulates a reboot into bootSlot: RAUC restarts reporting it.
func (r *RAUC) Reboot(bootSlot string) error {
	r.Stop()
	return r.Start(bootSlot)
}

// BootloaderCalls returns the calls RAUC made to the custom bootloader
// backend so far, oldest first ("set-state B good"); nil with noop.
func (r *RAUC) BootloaderCalls() ([]string, error) {
	if r.Backend == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(r.Dir, "bootloader.log"))
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// FailSetState makes the custom backend's set-state fail (true) or work
// again (false): RAUC's Mark then returns an error.
func (r *RAUC) FailSetState(fail bool) error {
	p := filepath.Join(r.Dir, "set-state.fail")
	if !fail {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	return os.WriteFile(p, nil, 0o600)
}
