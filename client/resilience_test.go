package client_test

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// script is a service whose answers follow the payload: "fail-N" fails
// with 503 the first N times it is served, "block-N" does not answer the
// first N times (until the test ends), "teapot" is a 418; anything else
// succeeds. It counts how often each payload was served.
type script struct {
	mu       sync.Mutex
	served   map[string]int
	released chan struct{}
}

// newScript returns a script served by an endpoint on "script.work".
func newScript(t *testing.T) (*script, *env) {
	s := &script{served: map[string]int{}, released: make(chan struct{})}
	r := natsmux.NewRouter()
	r.HandleFunc("work", s.serve, natsmux.WithSubject("script.work"))
	e := newEnv(t, r, micro.Config{Name: "script", Version: "1.0.0"})
	t.Cleanup(func() { close(s.released) }) // before the service's shutdown, which waits for handlers
	return s, e
}

func (s *script) serve(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	key := string(req.Data)
	s.mu.Lock()
	s.served[key]++
	n := s.served[key]
	s.mu.Unlock()
	switch {
	case key == "teapot":
		return nil, natsmux.Errorf(418, "short and stout")
	case strings.HasPrefix(key, "block-") && n <= times(key):
		<-s.released
		return nil, natsmux.ErrTimeout
	case strings.HasPrefix(key, "fail-") && n <= times(key):
		return nil, natsmux.ErrServiceUnavailable
	}
	return natsmux.Reply([]byte("ok")), nil
}

// times reads the N of "fail-N" and "block-N".
func times(key string) int {
	return int(key[len(key)-1] - '0')
}

func (s *script) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[key]
}

// sends counts the requests that Resilience lets through to the wire.
func sends(n *int, mu *sync.Mutex) client.Middleware {
	return func(next client.Invoker) client.Invoker {
		return client.InvokerFunc(func(ctx context.Context, inv *client.Invocation) (*nats.Msg, error) {
			mu.Lock()
			*n++
			mu.Unlock()
			return next.Invoke(ctx, inv)
		})
	}
}

// TestRetry: idempotent calls are retried on 503 and 504 within the
// caller's deadline; other calls and other errors are not.
func TestRetry(t *testing.T) {
	s, e := newScript(t)
	m := newMeter(t)
	c := e.client(t, client.WithMiddleware(
		client.Resilience(client.WithMeterProvider(m), client.WithRetry(client.RetryPolicy{MaxAttempts: 3, Backoff: 5 * time.Millisecond})),
		client.Timeout(200*time.Millisecond), // per attempt
	))

	tests := []struct {
		name       string
		key        string
		idempotent bool
		timeout    time.Duration // of the caller's context; default 5s
		code       int           // of the call's error; 0 for success
		served     int           // how often the service handled it
	}{
		{"503 twice, then a reply", "fail-2", true, 0, 0, 3},
		{"503 more often than the attempts", "fail-5", true, 0, 503, 3},
		{"not idempotent: the 503 reaches the caller", "fail-1", false, 0, 503, 1},
		{"a timeout, then a reply", "block-1", true, 0, 0, 2},
		{"the caller's deadline ends before the attempt's", "block-2", true, 150 * time.Millisecond, 504, 1},
		{"a 4xx is an answer", "teapot", true, 0, 418, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(tt.timeout, 5*time.Second))
			defer cancel()
			_, err := c.Request(ctx, "script.work", []byte(tt.key), nil, client.WithIdempotent(tt.idempotent))
			if natsmux.CodeOf(err) != tt.code {
				t.Errorf("error %v, want code %d", err, tt.code)
			}
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return s.count(tt.key) >= tt.served }, "%d executions", tt.served)
			if got := s.count(tt.key); got != tt.served {
				t.Errorf("the service handled it %d times, want %d", got, tt.served)
			}
		})
	}
	if got := m.sum(t, client.RetriesMetric); got != 2+2+1 {
		t.Errorf("%s = %d, want 5", client.RetriesMetric, got)
	}

	t.Run("a cancelled call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stop := time.AfterFunc(50*time.Millisecond, cancel)
		defer stop.Stop()
		_, err := c.Request(ctx, "script.work", []byte("block-3"), nil, client.WithIdempotent(true))
		if !errors.Is(err, context.Canceled) || s.count("block-3") > 1 || m.sum(t, client.RetriesMetric) != 5 {
			t.Errorf("error %v, served %d times, %d retries in all; want a cancellation and no retry", err, s.count("block-3"), m.sum(t, client.RetriesMetric))
		}
	})

	t.Run("no responders", func(t *testing.T) {
		var n int
		var mu sync.Mutex
		c := e.client(t, client.WithMiddleware(client.Resilience(client.WithRetry(client.RetryPolicy{MaxAttempts: 4, Backoff: time.Millisecond})), sends(&n, &mu)))
		_, err := c.Request(context.Background(), "nobody.home", nil, nil, client.WithIdempotent(true))
		if !errors.Is(err, nats.ErrNoResponders) || n != 4 {
			t.Errorf("%d sends, error %v; want 4 and no responders", n, err)
		}
	})
	t.Run("no time left for the backoff", func(t *testing.T) {
		var n int
		var mu sync.Mutex
		c := e.client(t, client.WithMiddleware(client.Resilience(client.WithRetry(client.RetryPolicy{Backoff: time.Minute})), sends(&n, &mu)))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.Request(ctx, "nobody.home", nil, nil, client.WithIdempotent(true))
		if !errors.Is(err, nats.ErrNoResponders) || n != 1 {
			t.Errorf("%d sends, error %v; want one, and its no responders", n, err)
		}
	})
}

// TestHedging: a copy of a call that has no reply after the delay is sent;
// the first reply wins and the other is abandoned and counted. Calls that
// are not idempotent are never copied.
func TestHedging(t *testing.T) {
	s, e := newScript(t)
	m := newMeter(t)
	c := e.client(t, client.WithMiddleware(client.Resilience(client.WithMeterProvider(m),
		client.WithHedging(client.HedgePolicy{Delay: 20 * time.Millisecond}))))

	reply, err := c.Request(context.Background(), "script.work", []byte("block-1"), nil, client.WithIdempotent(true))
	if err != nil || string(reply.Data) != "ok" {
		t.Fatalf("hedged call: %v, %v", reply, err)
	}
	if s.count("block-1") != 2 || m.sum(t, client.HedgesMetric) != 1 || m.sum(t, client.AbandonedMetric) != 1 {
		t.Errorf("served %d times, %d hedges, %d abandoned; want 2, 1, 1",
			s.count("block-1"), m.sum(t, client.HedgesMetric), m.sum(t, client.AbandonedMetric))
	}

	// A fast call is not hedged.
	if _, err := c.Request(context.Background(), "script.work", []byte("fast"), nil, client.WithIdempotent(true)); err != nil {
		t.Fatal(err)
	}
	if s.count("fast") != 1 || m.sum(t, client.HedgesMetric) != 1 {
		t.Errorf("a fast call was served %d times, hedges %d", s.count("fast"), m.sum(t, client.HedgesMetric))
	}

	// Copies stop at MaxHedges (1): the hedge of a call whose copies both
	// stall is not hedged again.
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	_, err = c.Request(short, "script.work", []byte("block-2"), nil, client.WithIdempotent(true))
	if natsmux.CodeOf(err) != 504 || s.count("block-2") != 2 || m.sum(t, client.HedgesMetric) != 2 {
		t.Errorf("error %v, served %d times, %d hedges in all; want a 504 after 2 copies", err, s.count("block-2"), m.sum(t, client.HedgesMetric))
	}

	// Not idempotent: one copy, which times out.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	s.mu.Lock()
	s.served["block-1"] = 0
	s.mu.Unlock()
	_, err = c.Request(ctx, "script.work", []byte("block-1"), nil)
	if natsmux.CodeOf(err) != 504 || s.count("block-1") != 1 || m.sum(t, client.HedgesMetric) != 2 {
		t.Errorf("error %v, served %d times, %d hedges; want a 504, once, no new hedge", err, s.count("block-1"), m.sum(t, client.HedgesMetric))
	}
}

// TestBudget: however many calls fail, retries and hedges stay within the
// budget: burst + ratio × calls.
func TestBudget(t *testing.T) {
	e := newEnv(t, natsmux.NewRouter(), micro.Config{Name: "none", Version: "1.0.0"})
	m := newMeter(t)
	var n int
	var mu sync.Mutex
	const calls, burst, ratio = 300, 5, 0.1
	budget := client.NewBudget(ratio, burst)
	c := e.client(t, client.WithMiddleware(client.Resilience(client.WithMeterProvider(m), client.WithBudget(budget),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 5, Backoff: 50 * time.Microsecond})), sends(&n, &mu)))
	for range calls {
		if _, err := c.Request(context.Background(), "nobody.home", nil, nil, client.WithIdempotent(true)); natsmux.CodeOf(err) != 503 {
			t.Fatalf("got %v, want a 503", err)
		}
	}
	extra := n - calls
	t.Logf("%d calls that always fail, up to 4 retries each: %d retries sent, %d denied", calls, extra, m.sum(t, client.BudgetDeniedMetric))
	if bound := burst + ratio*calls; float64(extra) > bound || extra < int(ratio*calls) {
		t.Errorf("%d extra requests for %d calls, want at most %g", extra, calls, bound)
	}
	if int64(extra) != m.sum(t, client.RetriesMetric) || m.sum(t, client.BudgetDeniedMetric) == 0 {
		t.Errorf("metrics: %d retries, %d denied", m.sum(t, client.RetriesMetric), m.sum(t, client.BudgetDeniedMetric))
	}
	if budget.Available() != 0 {
		t.Errorf("%d extra requests still available", budget.Available())
	}
}

// TestBreaker: after repeated failures a destination's breaker fails calls
// at once without sending them; once the service is back, a probe closes
// it.
func TestBreaker(t *testing.T) {
	srv := microtest.NewServer(t)
	m := newMeter(t)
	var n int
	var mu sync.Mutex
	c, err := client.New(srv.Connect(t), client.WithMiddleware(client.Resilience(client.WithMeterProvider(m),
		client.WithBreaker(client.BreakerPolicy{Failures: 3, OpenFor: 50 * time.Millisecond})), sends(&n, &mu)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := c.Request(ctx, "orders.get", nil, nil); natsmux.CodeOf(err) != 503 || errors.Is(err, client.ErrCircuitOpen) {
			t.Fatalf("got %v, want no responders", err)
		}
	}
	// Not sent, and not retried, even when it could be.
	_, err = c.Request(ctx, "orders.get", nil, nil, client.WithIdempotent(true))
	if !errors.Is(err, client.ErrCircuitOpen) || !errors.Is(err, natsmux.ErrServiceUnavailable) || n != 3 {
		t.Fatalf("%d sends, error %v; want 3 and an open circuit", n, err)
	}
	if want := `503 circuit open for "orders.get": its calls keep failing: client: circuit open`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := c.Request(ctx, "orders.other", nil, nil); errors.Is(err, client.ErrCircuitOpen) {
		t.Error("another destination's breaker opened too")
	}
	if open := m.sum(t, client.OpenBreakersMetric); open != 1 || m.sum(t, client.BreakerOpenedMetric) != 1 || m.sum(t, client.BreakerRejectedMetric) != 1 {
		t.Errorf("metrics: %d open, %d opened, %d rejected", open, m.sum(t, client.BreakerOpenedMetric), m.sum(t, client.BreakerRejectedMetric))
	}

	r := natsmux.NewRouter()
	r.HandleFunc("get", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil }, natsmux.WithSubject("orders.get"))
	if err := natsmux.Mount(microtest.AddService(t, srv.Connect(t), micro.Config{Name: "orders", Version: "1.0.0"}), r); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		_, err := c.Request(ctx, "orders.get", nil, nil)
		return err == nil
	}, "a probe gets through once the service is back")
	if _, err := c.Request(ctx, "orders.get", nil, nil); err != nil {
		t.Errorf("after a successful probe: %v", err)
	}
	if open := m.sum(t, client.OpenBreakersMetric); open != 0 {
		t.Errorf("%d breakers open after the probe", open)
	}
}
