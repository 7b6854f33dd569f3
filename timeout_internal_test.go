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
