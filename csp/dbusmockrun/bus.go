package dbusmockrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultStartTimeout bounds a Start function whose ctx has no deadline.
const DefaultStartTimeout = 15 * time.Second

// maxSockPath keeps the socket path below the 108-byte sun_path limit.
const maxSockPath = 100

// busConf is a system-type bus that lets every local client own any name
// and send and receive everything, with no activatable services (so an
// absent service is ServiceUnknown at once, never auto-started).
const busConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow send_type="signal"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
`

// Bus is a private dbus-daemon of type system.
type Bus struct {
	Addr    string // D-Bus address, e.g. "unix:path=/tmp/x/bus.sock,guid=..."
	Conf    string // path of the bus.conf written
	p       *proc
	sockDir string // a directory StartBus created for the socket, removed by Stop
}

// StartBus writes bus.conf into dir and starts
// `dbus-daemon --config-file=dir/bus.conf --nofork --print-address=1`,
// returning once the daemon has printed its address. The socket is
// dir/bus.sock, or a fresh directory under os.TempDir() when that path
// would be too long for a unix socket.
func StartBus(ctx context.Context, dir string) (*Bus, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	b := &Bus{Conf: filepath.Join(dir, "bus.conf")}
	sock := filepath.Join(dir, "bus.sock")
	if len(sock) > maxSockPath {
		d, err := os.MkdirTemp("", "dbus")
		if err != nil {
			return nil, fmt.Errorf("dbusmockrun: %w", err)
		}
		b.sockDir = d
		sock = filepath.Join(d, "bus.sock")
	}
	if err := os.WriteFile(b.Conf, fmt.Appendf(nil, busConf, sock), 0o600); err != nil {
		b.cleanDir()
		return nil, fmt.Errorf("dbusmockrun: write bus config: %w", err)
	}
	p, err := startProc("dbus-daemon", os.Environ(), "--config-file="+b.Conf, "--nofork", "--nopidfile", "--print-address=1")
	if err != nil {
		b.cleanDir()
		return nil, fmt.Errorf("dbusmockrun: %w", err)
	}
	b.p = p
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if line, _, ok := strings.Cut(p.out.String(), "\n"); ok && strings.HasPrefix(line, "unix:") {
			b.Addr = strings.TrimSpace(line)
			return b, nil
		}
		if p.exited() {
			b.Stop()
			return nil, fmt.Errorf("dbusmockrun: dbus-daemon exited: %v; output:\n%s", p.err, p.out.String())
		}
		select {
		case <-ctx.Done():
			out := p.out.String()
			b.Stop()
			return nil, fmt.Errorf("dbusmockrun: dbus-daemon printed no address: %w; output:\n%s", ctx.Err(), out)
		case <-tick.C:
		}
	}
}

// PID is the dbus-daemon's process id.
func (b *Bus) PID() int { return b.p.cmd.Process.Pid }

// Stop kills the daemon by PID, reaps it and removes the socket directory
// StartBus created, if any. It is idempotent.
func (b *Bus) Stop() error {
	var err error
	if b.p != nil {
		err = b.p.stop()
	}
	b.cleanDir()
	return err
}

func (b *Bus) cleanDir() {
	if b.sockDir != "" {
		os.RemoveAll(b.sockDir)
	}
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultStartTimeout)
}
