package scaletest

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// soakFor is how long TestSoak runs: short by default, so that it is part
// of every test run; `-args -soak=60s` for the real thing.
var soakFor = flag.Duration("soak", 3*time.Second, "how long TestSoak keeps the service under load")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// mount adds a service on nc, mounts r on it and shuts the service down at
// cleanup.
func mount(t *testing.T, nc *nats.Conn, cfg micro.Config, r *natsmux.Router, opts ...natsmux.ServeOption) micro.Service {
	t.Helper()
	svc := microtest.AddService(t, nc, cfg)
	if err := natsmux.Mount(svc, r, opts...); err != nil {
		t.Fatal(err)
	}
	return svc
}

func echo(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	return natsmux.Reply(req.Data), nil
}

// echoRouter serves echo on subject.
func echoRouter(subject string) *natsmux.Router {
	r := natsmux.NewRouter()
	r.HandleFunc("echo", echo, natsmux.WithSubject(subject))
	return r
}

// to returns a Load message function that sends every request to subject.
func to(subject string) func(requester, n int) *nats.Msg {
	return func(int, int) *nats.Msg { return &nats.Msg{Subject: subject, Data: []byte("ping")} }
}

// reconnecting are the options of a client that rides out server restarts:
// it never gives up, and it reports each reconnect on the channel.
func reconnecting(reconnected chan<- string) []nats.Option {
	return []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			select {
			case reconnected <- nc.ConnectedServerName():
			default:
			}
		}),
	}
}

// waitSucceeded waits until the run has n more successful requests than
// now.
func waitSucceeded(t *testing.T, run *Run, n int64) {
	t.Helper()
	target := run.Succeeded() + n
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return run.Succeeded() >= target },
		"%d more successful requests", n)
}

// totalRequests sums NumRequests and NumErrors over the STATS replies.
func totalRequests(stats []micro.Stats) (requests, errors int) {
	for _, s := range stats {
		for _, e := range s.Endpoints {
			requests += e.NumRequests
			errors += e.NumErrors
		}
	}
	return requests, errors
}

// settledStats asks the one instance of the named service for its STATS
// until they count at least the given number of requests (a request is
// counted just after its reply is sent), and returns its totals.
func settledStats(t *testing.T, nc *nats.Conn, name string, requests int) (served, errors int) {
	t.Helper()
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), microtest.DefaultTimeout)
		defer cancel()
		stats, err := micro.DiscoverStats(ctx, nc, micro.WithDiscoveryService(name), micro.WithDiscoveryMax(1))
		if err != nil || len(stats) != 1 {
			return false
		}
		served, errors = totalRequests(stats)
		return served >= requests
	}, "STATS of %s count %d requests", name, requests)
	return served, errors
}

// serviceErrorsTo is a service ErrorHandler that sends the errors to ch,
// dropping those that do not fit.
func serviceErrorsTo(ch chan<- *micro.NATSError) micro.ErrHandler {
	return func(_ micro.Service, err *micro.NATSError) {
		select {
		case ch <- err:
		default:
		}
	}
}
