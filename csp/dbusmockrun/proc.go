package dbusmockrun

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 3 * time.Second

// proc is one child process, reaped by its own goroutine.
type proc struct {
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait result, valid after done
	once sync.Once
	serr error
}

func startProc(name string, env []string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	// Stand-ins die with the program that started them (test binary, demo
	// driver), even when it is killed with SIGKILL and cannot stop them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{cmd: cmd, out: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop kills the process by PID and reaps it; idempotent.
func (p *proc) stop() error {
	p.once.Do(func() {
		if p.exited() {
			if p.err != nil {
				p.serr = fmt.Errorf("%s had exited: %w; output:\n%s", p.cmd.Path, p.err, p.out.String())
			}
			return
		}
		pid := p.cmd.Process.Pid
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.serr = fmt.Errorf("kill %d: %w", pid, err)
		}
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			syscall.Kill(pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p.serr
}

// childEnv is the environment with DBUS_SYSTEM_BUS_ADDRESS replaced.
func childEnv(addr string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SYSTEM_BUS_ADDRESS=") {
			env = append(env, kv)
		}
	}
	return append(env, "DBUS_SYSTEM_BUS_ADDRESS="+addr)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if over := t.b.Len() - t.max; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}
