package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the file in the state directory that the daemon holds for
// its whole life and a standalone session (or notify) for the session:
// one engine per state directory (and so per server) at a time, whatever
// the D-Bus situation.
const lockFile = "agent.lock"

// errStateBusy is wrapped when the state directory is locked.
var errStateBusy = errors.New("state directory in use")

// lockStateDir takes the exclusive lock of dir (created 0700), without
// waiting. what says who holds it ("daemon", "session"), for the message
// another process gets. The lock goes with the process (flock), so a crash
// never leaves it behind.
func lockStateDir(dir, what string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 128)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := strings.TrimSpace(string(b[:n]))
			if holder == "" {
				holder = "another process"
			}
			return nil, fmt.Errorf("%w: %s holds %s", errStateBusy, holder, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte("omadm-agent "+what+" (pid "+strconv.Itoa(os.Getpid())+")\n"), 0)
	return func() { f.Close() }, nil
}
