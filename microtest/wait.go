package microtest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
)

// DefaultTimeout is how long the helpers in this package wait when a test does
// not say otherwise: long enough for a loaded CI machine, short enough that a
// hang fails fast.
const DefaultTimeout = 10 * time.Second

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
// still have to wait for the counts. DiscoverSettledStats does the same
// over the wire.
func SettledStats(tb testing.TB, svc micro.Service, total int) micro.Stats {
	tb.Helper()
	var stats micro.Stats
	testutil.Eventually(tb, DefaultTimeout, func() bool {
		stats = svc.Stats()
		return requests(stats) == total
	}, "service %s: %d requests counted", svc.Config().Name, total)
	return stats
}
