package natsmux

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/natsmux/natsmux/internal/testutil"
)

// TestTimeoutContext: the handler's context has the call's deadline, its
// parent's values and cancellation, ends with the call, and a handler that
// watches Done leaves no registration with a long-lived parent behind.
func TestTimeoutContext(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), testKey{}, "v"))
	defer cancelParent()
	var kept context.Context
	h := TimeoutHandler(HandlerFunc(func(ctx context.Context, req *Request) (*Response, error) {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > time.Hour || ctx.Value(testKey{}) != "v" || RequestFromContext(ctx) != req {
			t.Errorf("deadline %v %v, value %v", d, ok, ctx.Value(testKey{}))
		}
		select {
		case <-ctx.Done():
			t.Error("done during the call")
		default:
		}
		kept = ctx
		return nil, nil
	}), time.Hour)
	if _, err := h.ServeNATS(parent, NewRequest("x", nil)); err != nil {
		t.Fatal(err)
	}
	testutil.Closed(t, kept.Done(), testutil.DefaultTimeout, "the context after the call")
	if !errors.Is(kept.Err(), context.Canceled) {
		t.Errorf("Err after the call: %v", kept.Err())
	}

	// The parent's cancellation reaches a handler that waits.
	started := make(chan struct{})
	go func() {
		<-started
		cancelParent()
	}()
	h = TimeoutHandler(HandlerFunc(func(ctx context.Context, _ *Request) (*Response, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}), time.Hour)
	if _, err := h.ServeNATS(parent, NewRequest("x", nil)); !errors.Is(err, context.Canceled) {
		t.Errorf("after the parent's cancellation: %v", err)
	}

	// Watching Done under a parent that lives on costs nothing once the
	// call is over.
	live, stop := context.WithCancel(context.Background())
	defer stop()
	watch := TimeoutHandler(HandlerFunc(func(ctx context.Context, _ *Request) (*Response, error) {
		_ = ctx.Done()
		return nil, nil
	}), time.Hour)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 20000 {
		if _, err := watch.ServeNATS(live, NewRequest("x", nil)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 1<<20 {
		t.Errorf("the heap grew by %d KiB over 20000 calls", grown>>10)
	}
}

type testKey struct{}

// deadlineOnly has a deadline that it never acts on, so that only the
// TimeoutHandler under test ends calls.
type deadlineOnly struct {
	context.Context
	deadline time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.deadline, true }

// TestDeadlineWatch: calls of one TimeoutHandler with deadlines in any
// order, some returning in time and some waiting for their context, each
// end at their own deadline, not before and not at another call's; calls
// that return in time leave the watch at once, and an expired one is out
// of it, so that the watch holds nothing once they are all done.
func TestDeadlineWatch(t *testing.T) {
	const calls = 200
	h := TimeoutHandler(HandlerFunc(func(ctx context.Context, req *Request) (*Response, error) {
		if string(req.Data) == "in time" {
			return Reply(req.Data), nil
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}), time.Hour)
	watch := &h.(*timeoutHandler).watch

	// The first call waits on a deadline an hour away, so that the timer is
	// set for it before every earlier deadline comes.
	first, cancelFirst := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() {
		_, err := h.ServeNATS(first, NewRequest("x", nil))
		firstDone <- err
	}()
	testutil.Eventually(t, testutil.DefaultTimeout, func() bool {
		watch.mu.Lock()
		defer watch.mu.Unlock()
		return len(watch.calls) == 1
	}, "the first call in the watch")

	type result struct {
		deadline, ended time.Time
		err             error
	}
	results := make(chan result, calls)
	for i := range calls {
		go func() {
			// Deadlines from 1 to 50 ms, in no order; every third call
			// returns in time.
			deadline := time.Now().Add(time.Duration(1+(i*37)%50) * time.Millisecond)
			ctx := deadlineOnly{Context: context.Background(), deadline: deadline}
			data := "wait"
			if i%3 == 0 {
				data = "in time"
			}
			_, err := h.ServeNATS(ctx, NewRequest("x", []byte(data)))
			results <- result{deadline, time.Now(), err}
		}()
	}
	for range calls {
		r := testutil.Receive(t, results, testutil.DefaultTimeout)
		switch {
		case r.err == nil:
		case !errors.Is(r.err, ErrTimeout):
			t.Errorf("call ended with %v, want ErrTimeout", r.err)
		case r.ended.Before(r.deadline):
			t.Errorf("call ended %v before its deadline", r.deadline.Sub(r.ended))
		}
	}
	cancelFirst()
	if err := testutil.Receive(t, firstDone, testutil.DefaultTimeout); !errors.Is(err, context.Canceled) {
		t.Errorf("the first call ended with %v, want its parent's cancellation", err)
	}
	watch.mu.Lock()
	defer watch.mu.Unlock()
	if n := len(watch.calls); n != 0 {
		t.Errorf("the watch holds %d calls after all returned", n)
	}
}

// TestTimeoutAllocs: a call that returns in time costs one allocation, the
// copy of the request with its context (docs/middleware.md), and no timer.
func TestTimeoutAllocs(t *testing.T) {
	h := TimeoutHandler(HandlerFunc(func(context.Context, *Request) (*Response, error) { return nil, nil }), time.Hour)
	req := NewRequest("x", nil)
	if allocs := testing.AllocsPerRun(100, func() { _, _ = h.ServeNATS(context.Background(), req) }); allocs != 1 {
		t.Errorf("%v allocations per call, want 1", allocs)
	}
}

// TestTimeoutTimerMovesOncePerTimeout: calls that come in the order of
// their deadlines leave the shared timer where the first call set it, as
// docs/middleware.md says ("about once per timeout"), and the watch holds
// none of them once they return.
func TestTimeoutTimerMovesOncePerTimeout(t *testing.T) {
	h := TimeoutHandler(HandlerFunc(func(context.Context, *Request) (*Response, error) { return nil, nil }), time.Hour).(*timeoutHandler)
	var first time.Time
	for i := range 100 {
		if _, err := h.ServeNATS(context.Background(), NewRequest("x", nil)); err != nil {
			t.Fatal(err)
		}
		h.watch.mu.Lock()
		armed, held := h.watch.armed, len(h.watch.calls)
		h.watch.mu.Unlock()
		if i == 0 {
			first = armed
		}
		if first.IsZero() || !armed.Equal(first) || held != 0 {
			t.Fatalf("after call %d: timer set for %v (the first call set %v), %d calls held", i, armed, first, held)
		}
	}
}
