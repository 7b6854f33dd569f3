package middleware_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// blocker is a handler that blocks until its context ends, reports that,
// and then keeps running until released, as a handler that ignores its
// context for a while would.
type blocker struct {
	cancelled chan error
	release   chan struct{}
	exited    chan struct{}
}

func newBlocker() *blocker {
	return &blocker{cancelled: make(chan error, 1), release: make(chan struct{}), exited: make(chan struct{})}
}

func (b *blocker) ServeNATS(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	defer close(b.exited)
	<-ctx.Done()
	b.cancelled <- ctx.Err()
	<-b.release
	req.ReplyHeader().Set("Late", "yes") // must not race with the reply
	middleware.AddLogAttrs(ctx, slog.String("late", "yes"))
	return natsmux.Reply([]byte("too late")), nil
}

func TestTimeoutEndToEnd(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	tests := []struct {
		name    string
		timeout time.Duration
		header  nats.Header // the caller's own timeout
		want    time.Duration
	}{
		{"middleware deadline", 100 * time.Millisecond, nil, 100 * time.Millisecond},
		{"caller's shorter deadline wins", time.Minute, nats.Header{micro.TimeoutHeader: {"50ms"}}, 50 * time.Millisecond},
		{"middleware's shorter deadline wins", 50 * time.Millisecond, nats.Header{micro.TimeoutHeader: {"1m"}}, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlocker()
			var sink logSink
			r := natsmux.NewRouter()
			r.Use(middleware.RequestID(), middleware.Logger(middleware.WithLogger(slog.New(sink.handler()))), middleware.Recover())
			r.Handle("slow", b, natsmux.WithMiddleware(middleware.Timeout(tt.timeout)))
			svc := serve(t, nc, "slow", r)

			start := time.Now()
			reply := microtest.RequestMsg(t, nc, &nats.Msg{Subject: "slow", Header: tt.header})
			elapsed := time.Since(start)
			if code := codeOf(reply); code != 504 {
				t.Fatalf("code %d, want 504", code)
			}
			// "About the deadline": not before it, and well before a second.
			if elapsed < tt.want || elapsed > tt.want+time.Second {
				t.Errorf("reply after %v, want about %v", elapsed, tt.want)
			}
			if reply.Header.Get(middleware.DefaultRequestIDHeader) == "" || reply.Header.Get("Late") != "" {
				t.Errorf("reply headers %v, want the request id and nothing from the late handler", reply.Header)
			}
			if err := testutil.Receive(t, b.cancelled, microtest.DefaultTimeout); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("handler's context ended with %v", err)
			}
			close(b.release)
			testutil.Closed(t, b.exited, microtest.DefaultTimeout, "late handler")
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
				stats := svc.Stats().Endpoints[0]
				return stats.NumRequests == 1 && stats.NumErrors == 1
			}, "stats count one request, one error")
			// The log record is written when the handler returns, with the
			// code of the reply that was sent.
			if recs := sink.records(t, "nats request"); len(recs) != 1 || recs[0]["code"] != 504.0 {
				t.Errorf("log records %v", recs)
			}
		})
	}
}

func TestTimeoutInTime(t *testing.T) {
	panicked := errors.New("handler panic")
	tests := []struct {
		name      string
		handler   natsmux.HandlerFunc
		wantData  string
		wantCode  int
		wantPanic bool // a *micro.PanicError from the handler's goroutine reached Recover
	}{
		{"reply and reply headers", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			if _, ok := ctx.Deadline(); !ok || natsmux.RequestFromContext(ctx) != req {
				return nil, errors.New("no deadline or request on the context")
			}
			req.ReplyHeader().Set("Handler", "set")
			return natsmux.Reply([]byte("ok")), nil
		}, "ok", 0, false},
		{"error", failWith(natsmux.ErrConflict), "", 409, false},
		{"panic", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { panic(panicked) }, "", 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := natsmux.NewRouter()
			r.Use(middleware.RequestID(middleware.WithRequestIDGenerator(func() string { return "id" })), middleware.Recover())
			r.Handle("h", tt.handler, natsmux.WithMiddleware(middleware.Timeout(time.Minute)))
			header, resp, err := serveMemory(r, "h", nil)
			if code := natsmux.CodeOf(err); code != tt.wantCode {
				t.Fatalf("code %d (%v), want %d", code, err, tt.wantCode)
			}
			// RequestID's header, set outside Timeout, reaches error replies
			// only; the handler's, set inside, reaches its reply.
			wantID := "id"
			if tt.wantCode == 0 {
				wantID = ""
				if string(resp.Data) != tt.wantData || header.Get("Handler") != "set" {
					t.Errorf("reply %q, reply headers %v", resp.Data, header)
				}
			}
			if got := header.Get(middleware.DefaultRequestIDHeader); got != wantID {
				t.Errorf("request id header %q, want %q (all: %v)", got, wantID, header)
			}
			var perr *micro.PanicError
			if errors.As(err, &perr) != tt.wantPanic {
				t.Fatalf("error %v, want a panic: %v", err, tt.wantPanic)
			}
			if tt.wantPanic && (perr.Value != any(panicked) || !strings.Contains(string(perr.Stack), "TestTimeoutInTime")) {
				t.Errorf("panic %v with the handler's stack:\n%s", perr.Value, perr.Stack)
			}
		})
	}
}

// TestTimeoutCancelled: when the request's own context is cancelled (the
// service stops waiting for it), the handler's is too, and the handler's
// answer stands: nothing was sent early.
func TestTimeoutCancelled(t *testing.T) {
	h := middleware.Timeout(time.Minute)(natsmux.HandlerFunc(func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.ServeNATS(ctx, natsmux.NewRequest("h", nil)); !errors.Is(err, context.Canceled) || natsmux.CodeOf(err) != 503 {
		t.Errorf("error %v, want context.Canceled (503)", err)
	}
}

// TestTimeoutLatePanic: a handler that panics after its deadline reaches
// Recover like any other; the caller keeps the 504 it already got.
func TestTimeoutLatePanic(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	release := make(chan struct{})
	r := natsmux.NewRouter()
	r.Use(middleware.Recover())
	r.HandleFunc("late", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		<-ctx.Done()
		<-release
		panic("late boom")
	}, natsmux.WithMiddleware(middleware.Timeout(20*time.Millisecond)))
	svc := serve(t, nc, "late", r)
	if code := codeOf(microtest.Request(t, nc, "late", nil)); code != 504 {
		t.Fatalf("code %d, want 504", code)
	}
	close(release)
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		s := svc.Stats().Endpoints[0]
		return s.NumRequests == 1 && s.NumErrors == 1 && s.LastError == "504:timeout"
	}, "one request counted, with the 504 that was sent: %+v", svc.Stats().Endpoints[0])
}
