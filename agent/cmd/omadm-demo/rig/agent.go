package rig

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Env returns the environment for an omadm-agent process on the private
// bus at busAddr: the caller's environment without any D-Bus or systemd
// notification variables, plus DBUS_SYSTEM_BUS_ADDRESS (and the session
// address, for [dbus] bus = "session") set to busAddr.
func Env(busAddr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DBUS_SYSTEM_BUS_ADDRESS", "DBUS_SESSION_BUS_ADDRESS", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
			"OMADM_STATE_DIR", "OMADM_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "DBUS_SYSTEM_BUS_ADDRESS="+busAddr, "DBUS_SESSION_BUS_ADDRESS="+busAddr)
}

// RunCLI runs one omadm-agent command to completion (bootstrap, session,
// status...) and returns its combined output. A non-zero exit is an error
// that includes the output.
func RunCLI(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	closeOnExec()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// Agent is a running omadm-agent daemon process.
type Agent struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced when a line arrives
	err     error         // exit status, once done
	tee     io.Writer
}

// StartAgent starts `bin args...` (normally --config F --state-dir D run)
// with env. Its stdout and stderr (the slog log) are collected line by
// line; tee, if not nil, receives a copy of every line.
func StartAgent(bin string, env []string, tee io.Writer, args ...string) (*Agent, error) {
	closeOnExec()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	// Own process group: a Ctrl-C on the terminal reaches the caller, which
	// stops the agent by PID. Pdeathsig: if the caller dies without
	// stopping it (SIGKILL), the agent still gets SIGTERM.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	pw.Close()
	a := &Agent{cmd: cmd, done: make(chan struct{}), changed: make(chan struct{}), tee: tee}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			a.add(sc.Text())
		}
		pr.Close()
	}()
	go func() {
		err := cmd.Wait()
		<-read
		a.mu.Lock()
		a.err = err
		a.mu.Unlock()
		close(a.done)
	}()
	return a, nil
}

func (a *Agent) add(line string) {
	a.mu.Lock()
	a.lines = append(a.lines, line)
	close(a.changed)
	a.changed = make(chan struct{})
	tee := a.tee
	a.mu.Unlock()
	if tee != nil {
		fmt.Fprintln(tee, line)
	}
}

// PID is the agent's process id.
func (a *Agent) PID() int { return a.cmd.Process.Pid }

// Done is closed when the process has exited and its output is read.
func (a *Agent) Done() <-chan struct{} { return a.done }

// ExitErr is the process's exit status once Done is closed.
func (a *Agent) ExitErr() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Lines returns the output lines so far.
func (a *Agent) Lines() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.lines...)
}

// Mark returns the number of lines so far, for LinesSince and WaitLine.
func (a *Agent) Mark() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.lines)
}

// LinesSince returns the lines after mark.
func (a *Agent) LinesSince(mark int) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if mark > len(a.lines) {
		return nil
	}
	return append([]string(nil), a.lines[mark:]...)
}

// ErrExited is returned by WaitLine when the agent exits first.
var ErrExited = errors.New("the agent process exited")

// WaitLine waits until a line after mark satisfies match, and returns it.
// It fails when ctx ends or the process exits first.
func (a *Agent) WaitLine(ctx context.Context, mark int, match func(string) bool) (string, error) {
	for {
		a.mu.Lock()
		for i := mark; i < len(a.lines); i++ {
			if match(a.lines[i]) {
				l := a.lines[i]
				a.mu.Unlock()
				return l, nil
			}
		}
		if mark < len(a.lines) {
			mark = len(a.lines)
		}
		ch := a.changed
		a.mu.Unlock()
		select {
		case <-ch:
		case <-a.done:
			// Lines are complete once done is closed: one last look.
			a.mu.Lock()
			n := len(a.lines)
			a.mu.Unlock()
			if mark >= n {
				return "", fmt.Errorf("%w (%v)", ErrExited, a.ExitErr())
			}
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// Contains returns a matcher for lines containing every one of subs.
func Contains(subs ...string) func(string) bool {
	return func(l string) bool {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				return false
			}
		}
		return true
	}
}

// Stop sends SIGTERM to the agent's PID, waits up to grace for it to exit,
// then sends SIGKILL. It returns the exit status unless the exit was the
// expected one after SIGTERM (0). It is idempotent.
func (a *Agent) Stop(grace time.Duration) error {
	select {
	case <-a.done:
		return a.ExitErr()
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
		return a.ExitErr()
	case <-time.After(grace):
	}
	_ = a.cmd.Process.Kill()
	<-a.done
	return fmt.Errorf("agent (pid %d) did not stop within %v after SIGTERM; killed", a.PID(), grace)
}
