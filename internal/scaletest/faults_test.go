package scaletest

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// faultBound is how long a service may take to stop after any fault: far
// more than it needs, far less than the shutdown timeout (a minute here), so
// that a stop that waits on a server that is gone fails the test.
const faultBound = 5 * time.Second

// faultService is a service run with natsmux.Serve, as app.Run runs it,
// with endpoints that let a fault catch it in the middle of things.
type faultService struct {
	srv       *microtest.Server
	nc        *nats.Conn
	cancel    context.CancelFunc
	served    chan error
	dones     atomic.Int32 // DoneHandler calls
	cancelled atomic.Int32 // handlers that saw their context end
	waiting   chan struct{}
	release   chan struct{} // unblocks the handlers that ignore their context
}

// quietDefaultLog discards what goes to the default logger (panics,
// shutdown notes) until the test ends.
func quietDefaultLog(t *testing.T) {
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { slog.SetDefault(prev) })
}

func startFaultService(t *testing.T, srv *microtest.Server, serveOpts ...natsmux.ServeOption) *faultService {
	t.Helper()
	f := &faultService{srv: srv, served: make(chan error, 1), waiting: make(chan struct{}, 64), release: make(chan struct{})}
	r := natsmux.NewRouter()
	r.HandleFunc("echo", echo, natsmux.WithSubject("fault.echo"))
	r.HandleFunc("wait", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		f.waiting <- struct{}{}
		<-ctx.Done()
		f.cancelled.Add(1)
		return nil, ctx.Err()
	}, natsmux.WithSubject("fault.wait"))
	r.HandleFunc("stuck", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		f.waiting <- struct{}{}
		<-f.release // ignores its context
		return nil, nil
	}, natsmux.WithSubject("fault.stuck"))
	r.HandleFunc("panic", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		panic("storm")
	}, natsmux.WithSubject("fault.panic"))
	r.HandleFunc("one", echo, natsmux.WithSubject("fault.one"), natsmux.WithMaxConcurrency(1), natsmux.WithPendingLimits(4, -1))

	nc, err := nats.Connect(srv.URL, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	f.nc = nc
	cfg := micro.Config{Name: "fault", Version: "1.0.0", DoneHandler: func(micro.Service) { f.dones.Add(1) },
		ErrorHandler: func(micro.Service, *micro.NATSError) {}}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	started := make(chan struct{})
	opts := append([]natsmux.ServeOption{natsmux.WithShutdownTimeout(time.Minute),
		natsmux.WithOnStart(func(micro.Service) { close(started) })}, serveOpts...)
	go func() { f.served <- natsmux.Serve(ctx, nc, cfg, r, opts...) }()
	select {
	case <-started:
	case err := <-f.served:
		t.Fatalf("Serve: %v", err)
	}
	return f
}

// send publishes a request whose reply nobody waits for.
func (f *faultService) send(t *testing.T, caller *nats.Conn, subject string) {
	t.Helper()
	if err := caller.PublishRequest(subject, nats.NewInbox(), nil); err != nil {
		t.Fatal(err)
	}
	if err := caller.Flush(); err != nil {
		t.Fatal(err)
	}
}

// stopped waits for Serve to return within faultBound and returns its error.
func (f *faultService) stopped(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f.served:
		return err
	case <-time.After(faultBound):
		t.Fatalf("Serve did not return within %s of the fault", faultBound)
		return nil
	}
}

// TestFaults puts a running service through each way it can lose its
// footing and checks that, within a bound, Serve returns and says why, the
// service's DoneHandler runs once, handler contexts end where no reply can
// go out, and goroutines and heap come back to where they were.
func TestFaults(t *testing.T) {
	tests := []struct {
		name string
		// fault does something to the running service and returns the
		// error Serve should return, or "" for a clean stop; it stops the
		// service itself when the fault does not.
		fault         func(t *testing.T, f *faultService, caller *nats.Conn) string
		wantCancelled int32
	}{
		{"connection closed", func(t *testing.T, f *faultService, caller *nats.Conn) string {
			f.send(t, caller, "fault.wait")
			testutil.Receive(t, f.waiting, microtest.DefaultTimeout)
			f.nc.Close()
			return "connection closed"
		}, 1},
		{"server killed", func(t *testing.T, f *faultService, caller *nats.Conn) string {
			f.send(t, caller, "fault.wait")
			testutil.Receive(t, f.waiting, microtest.DefaultTimeout)
			f.srv.Shutdown()
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return !f.nc.IsConnected() }, "the service notices")
			f.cancel() // as SIGINT does: the server is gone, nothing to drain
			return ""
		}, 1},
		{"server restarted", func(t *testing.T, f *faultService, _ *nats.Conn) string {
			f.srv.Restart()
			caller, err := nats.Connect(f.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer caller.Close()
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
				reply, err := caller.Request("fault.echo", []byte("back"), 200*time.Millisecond)
				return err == nil && string(reply.Data) == "back"
			}, "the service serves again after the restart")
			f.cancel()
			return ""
		}, 0},
		{"slow consumer", func(t *testing.T, f *faultService, caller *nats.Conn) string {
			for range 200 {
				f.send(t, caller, "fault.one")
			}
			if reply := microtest.Request(t, caller, "fault.echo", []byte("still")); string(reply.Data) != "still" {
				t.Errorf("echo after a slow consumer: %q", reply.Data)
			}
			f.cancel()
			return ""
		}, 0},
		{"drain timeout", func(t *testing.T, f *faultService, caller *nats.Conn) string {
			// The handler ignores its context: Serve gives up at the
			// shutdown timeout and says so; the handler is let go after.
			f.send(t, caller, "fault.stuck")
			testutil.Receive(t, f.waiting, microtest.DefaultTimeout)
			f.cancel()
			return "context deadline exceeded"
		}, 0},
		{"handler blocked on its context", func(t *testing.T, f *faultService, caller *nats.Conn) string {
			f.send(t, caller, "fault.wait")
			testutil.Receive(t, f.waiting, microtest.DefaultTimeout)
			f.cancel()
			return "context deadline exceeded"
		}, 1},
		{"panic storm", func(t *testing.T, f *faultService, caller *nats.Conn) string {
			for range 500 {
				f.send(t, caller, "fault.panic")
			}
			reply := microtest.Request(t, caller, "fault.panic", nil)
			if reply.Header.Get(micro.ErrorCodeHeader) != "500" {
				t.Errorf("a panic answered %v", reply.Header)
			}
			if reply := microtest.Request(t, caller, "fault.echo", []byte("alive")); string(reply.Data) != "alive" {
				t.Errorf("echo after a panic storm: %q", reply.Data)
			}
			f.cancel()
			return ""
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			quietDefaultLog(t)
			baseline := goleak.IgnoreCurrent()
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)

			srv := microtest.NewServer(t)
			opts := []natsmux.ServeOption{}
			if tt.name == "drain timeout" || tt.name == "handler blocked on its context" {
				opts = append(opts, natsmux.WithShutdownTimeout(100*time.Millisecond))
			}
			f := startFaultService(t, srv, opts...)
			caller, err := nats.Connect(srv.URL, nats.NoReconnect())
			if err != nil {
				t.Fatal(err)
			}
			want := tt.fault(t, f, caller)
			err = f.stopped(t)
			switch {
			case want == "" && err != nil:
				t.Errorf("Serve: %v, want a clean stop", err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Errorf("Serve: %v, want an error saying %q", err, want)
			}
			if tt.name == "handler blocked on its context" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Serve: %v, want the shutdown deadline", err)
			}
			close(f.release)
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return f.dones.Load() == 1 }, "DoneHandler runs")
			if got := f.cancelled.Load(); got != tt.wantCancelled {
				t.Errorf("%d handler contexts cancelled, want %d", got, tt.wantCancelled)
			}

			caller.Close()
			f.nc.Close()
			srv.Shutdown()
			if n := f.dones.Load(); n != 1 {
				t.Errorf("DoneHandler ran %d times", n)
			}
			goleak.VerifyNone(t, baseline)
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
				t.Errorf("the heap grew by %d KiB", grown>>10)
			}
		})
	}
}
