package middleware_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// gate is a handler that blocks until released and counts who entered.
type gate struct {
	entered atomic.Int32
	release chan struct{}
}

func (g *gate) ServeNATS(context.Context, *natsmux.Request) (*natsmux.Response, error) {
	g.entered.Add(1)
	<-g.release
	return natsmux.Reply([]byte("done")), nil
}

// TestLimitEndToEnd: with the handler blocked, the requests beyond the limit
// and the backlog are turned away at once; once it is released, the others
// complete, and the stats count every request and rejection.
func TestLimitEndToEnd(t *testing.T) {
	const limit, backlog, requests = 2, 1, 6
	tests := []struct {
		name     string
		opts     []middleware.LimitOption
		wantCode int
	}{
		{"429 by default", []middleware.LimitOption{middleware.WithBacklog(backlog, time.Minute)}, 429},
		{"503 on request", []middleware.LimitOption{middleware.WithBacklog(backlog, time.Minute), middleware.WithRejectCode(503)}, 503},
	}
	srv := microtest.NewServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := srv.Connect(t)
			g := &gate{release: make(chan struct{})}
			r := natsmux.NewRouter()
			r.Handle("busy", g, natsmux.WithMiddleware(middleware.Limit(limit, tt.opts...)))
			svc := serve(t, nc, "busy", r)

			replies := make(chan *nats.Msg, requests)
			inbox := nats.NewInbox()
			sub, err := nc.ChanSubscribe(inbox+".*", replies)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			start := time.Now()
			for i := range requests {
				if err := nc.PublishRequest("busy", inbox+"."+strconv.Itoa(i), nil); err != nil {
					t.Fatal(err)
				}
			}
			for range requests - limit - backlog {
				if reply := testutil.Receive(t, replies, microtest.DefaultTimeout); codeOf(reply) != tt.wantCode {
					t.Fatalf("reply %q %v, want a rejection %d", reply.Data, reply.Header, tt.wantCode)
				}
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("rejections took %v", elapsed)
			}
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return g.entered.Load() == limit }, "%d requests in the handler", limit)

			close(g.release)
			for range limit + backlog {
				if reply := testutil.Receive(t, replies, microtest.DefaultTimeout); codeOf(reply) != 0 || string(reply.Data) != "done" {
					t.Errorf("reply %q %v after the release", reply.Data, reply.Header)
				}
			}
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
				stats := svc.Stats().Endpoints[0]
				return stats.NumRequests == requests && stats.NumErrors == requests-limit-backlog
			}, "stats count %d requests, %d errors", requests, requests-limit-backlog)
			if n := g.entered.Load(); n != limit+backlog {
				t.Errorf("%d requests reached the handler, want %d", n, limit+backlog)
			}
		})
	}
}

func TestLimitScopesAndBacklog(t *testing.T) {
	tests := []struct {
		name     string
		opts     []middleware.LimitOption
		wantCode int // of a request to the second endpoint while the first is busy
	}{
		{"per endpoint", nil, 0},
		{"shared", []middleware.LimitOption{middleware.WithSharedLimit()}, 429},
		{"backlog wait ends", []middleware.LimitOption{middleware.WithSharedLimit(), middleware.WithBacklog(1, time.Millisecond)}, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &gate{release: make(chan struct{})}
			r := natsmux.NewRouter()
			r.Use(middleware.Limit(1, tt.opts...))
			r.Handle("busy", g)
			r.HandleFunc("other", echo)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _, _ = serveMemory(r, "busy", nil)
			}()
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return g.entered.Load() == 1 }, "busy")
			_, _, err := serveMemory(r, "other", nil)
			if code := natsmux.CodeOf(err); code != tt.wantCode {
				t.Errorf("code %d (%v), want %d", code, err, tt.wantCode)
			}
			close(g.release)
			testutil.Closed(t, done, microtest.DefaultTimeout, "busy request")
		})
	}
}

// TestLimitBacklogDeadline: a request waiting in the backlog gives up when
// its own context ends.
func TestLimitBacklogDeadline(t *testing.T) {
	g := &gate{release: make(chan struct{})}
	h := middleware.Limit(1, middleware.WithBacklog(1, time.Minute))(g)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.ServeNATS(context.Background(), natsmux.NewRequest("busy", nil))
	}()
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return g.entered.Load() == 1 }, "busy")
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := h.ServeNATS(ctx, natsmux.NewRequest("busy", nil)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the context's deadline", err)
	}
	close(g.release)
	testutil.Closed(t, done, microtest.DefaultTimeout, "busy request")
}
