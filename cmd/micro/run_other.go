//go:build !unix

package main

import (
	"os"
	"syscall"
)

// forwardedSignals are the signals micro run passes on to its program.
var forwardedSignals = []os.Signal{os.Interrupt}

// ownProcessGroup leaves the program in micro's process group.
func ownProcessGroup() *syscall.SysProcAttr { return nil }

// exitCode is the program's exit code.
func exitCode(state *os.ProcessState) int { return state.ExitCode() }
