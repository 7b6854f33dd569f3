//go:build unix

package main

import (
	"os"
	"syscall"
)

// forwardedSignals are the signals micro run passes on to its program.
var forwardedSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// ownProcessGroup puts the program in a process group of its own, so that
// a Ctrl-C in the terminal reaches it once, forwarded by micro run, and
// not a second time from the terminal itself (which would skip its
// graceful shutdown).
func ownProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// exitCode is the program's exit code, or 128+N when signal N ended it, as
// shells report it.
func exitCode(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}
