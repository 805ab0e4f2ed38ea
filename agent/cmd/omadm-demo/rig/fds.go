package rig

import (
	"os"
	"strconv"
	"syscall"
)

// closeOnExec marks every descriptor of this process from 3 up as
// close-on-exec, so that a child (the agent) never inherits one by accident.
//
// Go opens its own files with O_CLOEXEC, but a descriptor made with a raw
// dup(2) is inherited: modemtest.Fake keeps its pty master that way, and an
// agent process holding a copy of the master would never see the hangup of
// Fake.Unplug (the kernel hangs up the slave only when the last master
// descriptor closes). Descriptors a child is meant to get are passed
// explicitly (exec.Cmd dup2s Stdin/Stdout/Stderr/ExtraFiles in the child).
func closeOnExec() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		syscall.CloseOnExec(fd)
	}
}
