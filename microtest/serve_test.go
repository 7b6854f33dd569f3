package microtest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// TestServeIsLiveAtOnce: a request sent as soon as Serve returns is
// answered, every time; after the test, the service is gone.
func TestServeIsLiveAtOnce(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			svc := microtest.Serve(t, nc, echoService())
			if reply := microtest.Request(t, nc, "echo", []byte("hi")); string(reply.Data) != "hi" {
				t.Errorf("reply %q", reply.Data)
			}
			if svc.Info().Name != "echo" {
				t.Errorf("returned service %+v", svc.Info())
			}
		})
		if _, err := nc.Request("echo", nil, microtest.DefaultTimeout); !errors.Is(err, nats.ErrNoResponders) {
			t.Fatalf("after the subtest: %v, want no responders", err)
		}
	}
}

// recordingTB records failures and cleanups instead of acting on them, so
// that Serve's failure paths and its cleanup can be checked.
type recordingTB struct {
	testing.TB
	failures []string
	cleanups []func()
}

func (r *recordingTB) Helper()           {}
func (r *recordingTB) Cleanup(fn func()) { r.cleanups = append(r.cleanups, fn) }
func (r *recordingTB) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(errFatal)
}

// run calls fn, then the cleanups it registered, last first.
func (r *recordingTB) run(fn func()) {
	defer func() {
		for _, c := range slices.Backward(r.cleanups) {
			c()
		}
	}()
	(&fakeTB{TB: r}).run(fn)
}

func TestServeFailures(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	stuck := natsmux.NewRouter()
	stuck.HandleFunc("stuck", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		close(started)
		<-release
		return nil, nil
	})
	tests := []struct {
		name    string
		service app.Service
		then    func(t *testing.T) // while the service runs
		want    string
	}{
		{"invalid config", app.Service{Config: micro.Config{Name: "bad name", Version: "1.0.0"}, Router: natsmux.NewRouter()}, nil,
			"microtest: starting service bad name:"},
		{"no router", app.Service{Config: micro.Config{Name: "bare", Version: "1.0.0"}}, nil, "microtest: service bare has no router"},
		{"does not drain", app.Service{Config: micro.Config{Name: "stuck", Version: "1.0.0"}, Router: stuck,
			Options: []natsmux.ServeOption{natsmux.WithShutdownTimeout(time.Millisecond)}},
			func(t *testing.T) {
				if err := nc.PublishRequest("stuck", "nobody", nil); err != nil {
					t.Fatal(err)
				}
				testutil.Closed(t, started, microtest.DefaultTimeout, "the stuck handler")
			},
			"microtest: stopping at cleanup: shutting down service stuck: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recordingTB{TB: t}
			r.run(func() {
				microtest.Serve(r, nc, tt.service)
				if tt.then != nil {
					tt.then(t)
				}
			})
			if len(r.failures) != 1 || !strings.Contains(r.failures[0], tt.want) {
				t.Errorf("failures %q, want one with %q", r.failures, tt.want)
			}
		})
	}
}

// TestDiscoverSettledStats: the counts of all instances, over the wire.
func TestDiscoverSettledStats(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	a := microtest.Serve(t, srv.Connect(t), echoService())
	b := microtest.Serve(t, srv.Connect(t), echoService())
	for range 5 {
		microtest.Request(t, nc, "echo", nil)
	}
	stats := microtest.DiscoverSettledStats(t, nc, "echo", 5, micro.WithDiscoveryMax(2))
	ids := []string{a.Info().ID, b.Info().ID}
	slices.Sort(ids)
	if len(stats) != 2 || stats[0].ID != ids[0] || stats[1].ID != ids[1] {
		t.Fatalf("stats of %d instances, want %v sorted", len(stats), ids)
	}
	if n := stats[0].Endpoints[0].NumRequests + stats[1].Endpoints[0].NumRequests; n != 5 {
		t.Errorf("%d requests counted", n)
	}

	ft := &fakeTB{TB: t}
	ft.run(func() { microtest.DiscoverSettledStats(ft, nc, "echo", 4) })
	if want := "microtest: service echo counted 5 requests over the wire, more than 4"; ft.failure != want {
		t.Errorf("failure %q, want %q", ft.failure, want)
	}
}
