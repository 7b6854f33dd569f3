// Package testutil holds the project's own test helpers that wait for things
// instead of sleeping. They are not part of microtest's public surface: a
// user's tests wait on what microtest and the services offer (Serve,
// SettledStats, Done channels).
package testutil

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout is how long a test waits when it does not say otherwise:
// long enough for a loaded CI machine, short enough that a hang fails fast.
const DefaultTimeout = 10 * time.Second

// Eventually polls cond until it reports true, failing the test when timeout
// passes first. The poll interval starts small and grows, so a condition that
// becomes true quickly is seen quickly without spinning.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for wait := 100 * time.Microsecond; !cond(); wait = min(2*wait, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %s: %s", timeout, fmt.Sprintf(format, args...))
		}
		time.Sleep(wait)
	}
}

// Receive waits for a value from ch, failing the test if none arrives within
// timeout or ch is closed.
func Receive[T any](tb testing.TB, ch <-chan T, timeout time.Duration) T {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case v, ok := <-ch:
		if !ok {
			tb.Fatalf("channel closed while waiting for a %T", v)
		}
		return v
	case <-timer.C:
		var zero T
		tb.Fatalf("no %T received within %s", zero, timeout)
		return zero
	}
}

// Closed waits until ch is closed (or yields a value), failing the test after
// timeout. It suits done channels such as a service's Done().
func Closed[T any](tb testing.TB, ch <-chan T, timeout time.Duration, what string) {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		tb.Fatalf("%s not done within %s", what, timeout)
	}
}

// Buffer is a bytes.Buffer safe for concurrent use: a logger or a command
// writes to it from its goroutines while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// FreePort returns a loopback port that nothing listened on a moment ago,
// for a server a test expects a program to start there, or not to.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
