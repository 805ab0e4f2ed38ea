package cardtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/omadm-agent/omadm-agent/smartcard/pcsc"
)

// VPCDDriver is the vpcd reader driver of Debian's vsmartcard-vpcd.
const VPCDDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"

// Reader names of the two vpcd slots StartPCSCD configures.
const (
	ReaderT0 = "Virtual PCD 00 00"
	ReaderT1 = "Virtual PCD 00 01"
)

// PCSCD is a real pcscd (Debian pcsc-lite) with one vpcd reader driver and
// two fake cards plugged in: CardT0 (T=0 ATR, answers 61xx) in ReaderT0
// and CardT1 (T=1 ATR) in ReaderT1.
//
// pcscd ignores $PCSCLITE_CSOCK_NAME and always listens on
// /run/pcscd/pcscd.comm (refusing to start if another pcscd owns it), so it
// runs in a private mount namespace (unshare -m, root) with a tmpfs over
// /run/pcscd, and Socket reaches it through /proc/<pid>/root. The vpcd TCP
// ports are chosen free per start, so several instances (parallel test
// packages, a system pcscd) do not collide.
type PCSCD struct {
	Socket         string
	CardT0, CardT1 *Card

	stop func()
}

// Stop stops pcscd (by PID) and the card servers, and removes the files.
func (p *PCSCD) Stop() { p.stop() }

// StartPCSCD starts pcscd with the card file system fs in both readers and
// waits until both report a card. A missing peer is an error that says to
// run `make deps`.
func StartPCSCD(fs *FS) (p *PCSCD, err error) {
	for _, bin := range []string{"pcscd", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s not found: run `make deps` (Debian packages pcscd vsmartcard-vpcd): %w", bin, err)
		}
	}
	if _, err := os.Stat(VPCDDriver); err != nil {
		return nil, fmt.Errorf("vpcd driver missing: run `make deps` (Debian package vsmartcard-vpcd): %w", err)
	}
	dir, err := os.MkdirTemp("", "omadm-pcscd-")
	if err != nil {
		return nil, err
	}
	port, err := freePorts()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conf := filepath.Join(dir, "reader.conf.d")
	os.Mkdir(conf, 0o755)
	rc := fmt.Sprintf("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n", port, VPCDDriver, port)
	if err := os.WriteFile(filepath.Join(conf, "vpcd"), []byte(rc), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.MkdirAll("/run/pcscd", 0o755); err != nil { // the mount point
		os.RemoveAll(dir)
		return nil, err
	}
	logf, _ := os.Create(filepath.Join(dir, "pcscd.log"))
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs tmpfs /run/pcscd && exec pcscd -f -c "$1"`, "sh", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start pcscd: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{}, 2)
	p = &PCSCD{
		Socket: fmt.Sprintf("/proc/%d/root/run/pcscd/pcscd.comm", cmd.Process.Pid),
		CardT0: NewCard(fs, Options{T0: true}),
		CardT1: NewCard(fs, Options{}),
	}
	p.stop = func() {
		cancel()
		cmd.Process.Signal(syscall.SIGTERM) // by PID
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		<-served
		<-served
		logf.Close()
		os.RemoveAll(dir)
	}
	go func() {
		ServeVPCD(ctx, fmt.Sprintf("127.0.0.1:%d", port), p.CardT0, ATRT0)
		served <- struct{}{}
	}()
	go func() {
		ServeVPCD(ctx, fmt.Sprintf("127.0.0.1:%d", port+1), p.CardT1, ATRT1)
		served <- struct{}{}
	}()

	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "pcscd.log"))
			p.stop()
			return nil, fmt.Errorf("pcscd exited early: %s", log)
		default:
		}
		if last = readersReady(ctx, p.Socket); last == nil {
			return p, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "pcscd.log"))
	p.stop()
	return nil, fmt.Errorf("readers not ready after 20s: %v; pcscd log:\n%s", last, log)
}

// freePorts returns a port p such that p and p+1 are free on 127.0.0.1.
func freePorts() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p >= 65535 {
			continue
		}
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			continue
		}
		l2.Close()
		return p, nil
	}
	return 0, errors.New("no two consecutive free ports")
}

func readersReady(ctx context.Context, socket string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := pcsc.Dial(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	rs, err := c.Readers(ctx)
	if err != nil {
		return err
	}
	n := 0
	for _, r := range rs {
		if (r.Name == ReaderT0 || r.Name == ReaderT1) && r.CardPresent() {
			n++
		}
	}
	if n != 2 {
		return fmt.Errorf("%d of 2 readers with a card: %+v", n, rs)
	}
	return nil
}
