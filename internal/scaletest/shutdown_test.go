package scaletest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// TestGracefulShutdownLosesNothing stops one of three instances under load,
// by cancelling the context of its natsmux.Serve, while the other two keep
// serving: the stopped instance drains (no new requests reach it, the ones
// delivered to it are answered), so no caller sees a failure and no caller
// retries.
func TestGracefulShutdownLosesNothing(t *testing.T) {
	tests := []struct {
		name  string
		nodes int // instance i and caller i connect to node i % nodes
	}{
		{"one server", 1},
		{"three-node cluster", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := microtest.NewCluster(t, tt.nodes)
			const stopped = 1
			var started, finished [3]atomic.Int64
			var cancels [3]context.CancelFunc
			served := make([]chan error, 3)
			for i := range 3 {
				r := natsmux.NewRouter()
				r.HandleFunc("work", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
					started[i].Add(1)
					defer finished[i].Add(1)
					// A millisecond of work, so that requests are in flight
					// when the shutdown begins.
					select {
					case <-time.After(time.Millisecond):
						return natsmux.Reply(req.Data), nil
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}, natsmux.WithSubject(echoSubject))
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(cancel)
				cancels[i], served[i] = cancel, make(chan error, 1)
				nc := c.ConnectNode(t, i%tt.nodes)
				go func() { served[i] <- natsmux.Serve(ctx, nc, micro.Config{Name: "scale", Version: "1.0.0"}, r) }()
			}
			c.WaitForInterest(t, echoSubject, 3)
			var callers []*nats.Conn
			for i := range 3 {
				callers = append(callers, c.ConnectNode(t, i%tt.nodes))
			}

			run := Load{Conns: callers, Requesters: 24, Message: to(echoSubject), Timeout: 5 * time.Second}.Start()
			waitSucceeded(t, run, 1000)
			inFlight := started[stopped].Load() - finished[stopped].Load()
			cancels[stopped]()
			if err := testutil.Receive(t, served[stopped], microtest.DefaultTimeout); err != nil {
				t.Errorf("Serve of the stopped instance: %v", err)
			}
			waitSucceeded(t, run, 1000)
			tally := run.Stop()
			t.Logf("%s", tally)
			t.Logf("instances served %d, %d (stopped, %d in flight at the cancel), %d requests",
				finished[0].Load(), finished[stopped].Load(), inFlight, finished[2].Load())
			if tally.Failed > 0 || tally.Kinds[OK] != tally.Sent {
				t.Errorf("requests failed during the graceful shutdown: %s", tally)
			}
			if started[stopped].Load() != finished[stopped].Load() {
				t.Errorf("the stopped instance started %d requests and finished %d", started[stopped].Load(), finished[stopped].Load())
			}
			for i := range 3 {
				if i == stopped {
					continue
				}
				cancels[i]()
				if err := testutil.Receive(t, served[i], microtest.DefaultTimeout); err != nil {
					t.Errorf("Serve of instance %d: %v", i, err)
				}
			}
		})
	}
}
