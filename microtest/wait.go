package microtest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// DefaultTimeout is how long the helpers in this package wait when a test does
// not say otherwise: long enough for a loaded CI machine, short enough that a
// hang fails fast.
const DefaultTimeout = 10 * time.Second

// Eventually polls cond until it reports true, failing the test when timeout
// passes first. The poll interval starts small and grows, so a condition that
// becomes true quickly is seen quickly without spinning.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for wait := 100 * time.Microsecond; !cond(); wait = min(2*wait, 20*time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("microtest: condition not met within %s: %s", timeout, fmt.Sprintf(format, args...))
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
			tb.Fatalf("microtest: channel closed while waiting for a %T", v)
		}
		return v
	case <-timer.C:
		var zero T
		tb.Fatalf("microtest: no %T received within %s", zero, timeout)
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
		tb.Fatalf("microtest: %s not done within %s", what, timeout)
	}
}

// Request sends a request with the given payload and returns the reply,
// failing the test on a transport error such as a timeout or no responders.
// The reply may still be an ADR-32 error reply; check its headers.
func Request(tb testing.TB, nc *nats.Conn, subject string, data []byte) *nats.Msg {
	tb.Helper()
	return RequestMsg(tb, nc, &nats.Msg{Subject: subject, Data: data})
}

// RequestMsg is Request with headers: it sends msg and returns the reply.
func RequestMsg(tb testing.TB, nc *nats.Conn, msg *nats.Msg) *nats.Msg {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	reply, err := nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		tb.Fatalf("microtest: request to %q: %v", msg.Subject, err)
	}
	return reply
}

// SettledStats waits until svc has counted total requests over all its
// endpoints and returns its stats. Stats are recorded when a handler
// returns, after its reply went out, so a test that has its replies may
// still have to wait for the counts.
func SettledStats(tb testing.TB, svc micro.Service, total int) micro.Stats {
	tb.Helper()
	var stats micro.Stats
	Eventually(tb, DefaultTimeout, func() bool {
		stats = svc.Stats()
		n := 0
		for _, e := range stats.Endpoints {
			n += e.NumRequests
		}
		return n == total
	}, "service %s: %d requests counted", svc.Config().Name, total)
	return stats
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
