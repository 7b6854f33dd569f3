package microtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
)

// Serve runs s, the app.Service a program's main hands to app.Main, on nc
// for the rest of the test, and returns the running service once every
// endpoint of its router is live: a request sent after Serve returns finds
// its responder. It fails the test if the service cannot start.
//
// The test's cleanup shuts the service down gracefully, as app.Run does
// when the program is interrupted (within the service's shutdown timeout,
// natsmux.WithShutdownTimeout), and fails the test if the service stopped
// on its own or did not drain in time.
func Serve(tb testing.TB, nc *nats.Conn, s app.Service) micro.Service {
	tb.Helper()
	if s.Router == nil {
		tb.Fatalf("microtest: service %s has no router", s.Config.Name)
	}
	started := make(chan micro.Service, 1)
	opts := append(slices.Clip(s.Options), natsmux.WithOnStart(func(svc micro.Service) { started <- svc }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- natsmux.Serve(ctx, nc, s.Config, s.Router, opts...) }()

	select {
	case svc := <-started:
		tb.Cleanup(func() {
			cancel()
			if err := testutil.Receive(tb, done, DefaultTimeout); err != nil {
				tb.Errorf("microtest: stopping at cleanup: %v", err)
			}
		})
		return svc
	case err := <-done:
		cancel()
		tb.Fatalf("microtest: starting service %s: %v", s.Config.Name, err)
	}
	return nil
}

// DiscoverSettledStats waits until the instances of the service called
// name, asked over nc with an ADR-32 STATS request, have counted total
// requests between them, over all their endpoints, and returns their stats,
// sorted by instance id. It is SettledStats for a service that runs
// elsewhere, in another process or behind another connection; it fails the
// test after DefaultTimeout.
//
// Each poll collects replies until none has come for the discovery's quiet
// interval (micro.DefaultDiscoveryQuiet); opts, such as
// micro.WithDiscoveryMax(n) for n instances, can end it sooner.
func DiscoverSettledStats(tb testing.TB, nc *nats.Conn, name string, total int, opts ...micro.DiscoveryOpt) []micro.Stats {
	tb.Helper()
	opts = append(slices.Clip(opts), micro.WithDiscoveryService(name))
	var (
		stats   []micro.Stats
		counted int
		lastErr error
	)
	testutil.Eventually(tb, DefaultTimeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		stats, lastErr = micro.DiscoverStats(ctx, nc, opts...)
		counted = 0
		for _, s := range stats {
			counted += requests(s)
		}
		if counted > total { // counts only grow: waiting cannot help
			tb.Fatalf("microtest: service %s counted %d requests over the wire, more than %d", name, counted, total)
		}
		return lastErr == nil && counted == total
	}, "service %s: %d requests counted over the wire (last poll: %s)", name, total, stringer(func() string {
		if lastErr != nil {
			return lastErr.Error()
		}
		return fmt.Sprintf("%d instances, %d requests", len(stats), counted)
	}))
	slices.SortFunc(stats, func(a, b micro.Stats) int { return strings.Compare(a.ID, b.ID) })
	return stats
}

// requests is the number of requests s counts over all its endpoints.
func requests(s micro.Stats) int {
	n := 0
	for _, e := range s.Endpoints {
		n += e.NumRequests
	}
	return n
}
