package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// shortAddr drops the guid from a D-Bus address.
func shortAddr(a string) string {
	if i := strings.Index(a, ",guid="); i >= 0 {
		return a[:i]
	}
	return a
}

// deadline is ctx's deadline, or a minute from now.
func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Minute)
}

// prefixWriter writes each line with a prefix (lines arrive whole).
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+l); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// isSignalExit reports whether err is the exit of a process killed by a
// signal (expected when cleaning up after a failure).
func isSignalExit(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return true
		}
	}
	return false
}

var exchangeNum = regexp.MustCompile(`^\[(\d+)\]`)

// renumber shifts the "[n]" exchange numbers of a transcript by off.
func renumber(text string, off int) string {
	if off == 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if m := exchangeNum.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			lines[i] = fmt.Sprintf("[%d]", n+off) + l[len(m[0]):]
		}
	}
	return strings.Join(lines, "\n")
}
