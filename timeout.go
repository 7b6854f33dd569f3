package natsmux

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// TimeoutHandler returns a Handler that gives each request at most d, as
// net/http's TimeoutHandler does. h gets a context with that deadline; if h
// has not returned when the deadline passes, the request gets a 504
// (ErrTimeout) reply at once and h's context is done. A deadline already on
// the context wins when it is earlier, such as the one micro sets from the
// caller's micro.TimeoutHeader.
//
// h runs on the request's own goroutine, and the requests of one
// TimeoutHandler share one timer, so the timeout costs neither a goroutine
// nor a timer per request. h keeps running until it returns, since Go
// cannot stop it, and should watch ctx.Done() in anything that waits. What
// it returns late is dropped: the handler returned by TimeoutHandler then
// returns ErrTimeout, so that the middleware around it sees the 504 that was
// sent. Reply headers that h sets are kept when it returns in time, and
// never race with the early reply. A panic in h passes through.
//
// d must be positive. middleware.Timeout is TimeoutHandler as middleware.
func TimeoutHandler(h Handler, d time.Duration) Handler {
	if d <= 0 {
		panic(fmt.Sprintf("natsmux: TimeoutHandler(%v): the timeout must be positive", d))
	}
	return &timeoutHandler{next: h, timeout: d}
}

// timeoutHandler is what TimeoutHandler returns: the handler, the timeout and
// the watch over the calls in flight.
type timeoutHandler struct {
	next    Handler
	timeout time.Duration
	watch   deadlineWatch
}

func (t *timeoutHandler) ServeNATS(ctx context.Context, req *Request) (*Response, error) {
	deadline := time.Now().Add(t.timeout)
	if parent, ok := ctx.Deadline(); ok && parent.Before(deadline) {
		deadline = parent
	}
	// next serves a child of req, so that reply headers it sets late cannot
	// race with the early reply, which reads req's.
	call := &timeoutCall{outer: req, inner: req.child(), deadline: deadline}
	call.ctx = deadlineContext{Context: ctx, call: call}
	t.watch.add(call)
	resp, err := t.next.ServeNATS(&call.ctx, &call.inner)
	if !t.watch.remove(call) {
		// The deadline has passed. Replying here too makes sure that the
		// early reply is out, and no longer reads req's headers, before the
		// middleware around us may change them.
		call.expire()
		return nil, ErrTimeout
	}
	call.finish(context.Canceled) // the handler's context ends with it, as net/http's
	req.adoptReplyHeader(&call.inner)
	return resp, err
}

// deadlineWatch expires the calls of one TimeoutHandler whose deadlines
// pass. They share one timer, set for the earliest deadline and moved only
// when an earlier one comes: the calls of a handler mostly arrive in the
// order of their deadlines, so a busy endpoint sets its timer about once
// per timeout, where a timer per call would cost each request two
// allocations and two updates of the runtime's timers.
type deadlineWatch struct {
	mu    sync.Mutex
	calls callHeap
	timer *time.Timer // runs expire; nil until the first call
	armed time.Time   // when timer fires; zero when it is not set
}

func (w *deadlineWatch) add(c *timeoutCall) {
	w.mu.Lock()
	defer w.mu.Unlock()
	heap.Push(&w.calls, c)
	if w.armed.IsZero() || c.deadline.Before(w.armed) {
		w.arm(c.deadline)
	}
}

// remove takes c out of the watch, and reports false if its deadline
// passed first.
func (w *deadlineWatch) remove(c *timeoutCall) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.index < 0 {
		return false
	}
	heap.Remove(&w.calls, c.index)
	return true
}

// arm sets the timer for at; w.mu is held.
func (w *deadlineWatch) arm(at time.Time) {
	w.armed = at
	if w.timer == nil {
		w.timer = time.AfterFunc(time.Until(at), w.expire)
	} else {
		w.timer.Reset(time.Until(at))
	}
}

// expire answers the calls whose deadline has passed and sets the timer for
// the next one.
func (w *deadlineWatch) expire() {
	w.mu.Lock()
	now := time.Now()
	var due []*timeoutCall
	for len(w.calls) > 0 && !w.calls[0].deadline.After(now) {
		due = append(due, heap.Pop(&w.calls).(*timeoutCall))
	}
	w.armed = time.Time{}
	if len(w.calls) > 0 {
		w.arm(w.calls[0].deadline)
	}
	w.mu.Unlock()
	for _, c := range due {
		c.expire()
	}
}

// callHeap orders calls by deadline, for container/heap; each call knows
// its index, so that one that returns in time leaves at once.
type callHeap []*timeoutCall

func (h callHeap) Len() int           { return len(h) }
func (h callHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h callHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *callHeap) Push(x any) {
	c := x.(*timeoutCall)
	c.index = len(*h)
	*h = append(*h, c)
}
func (h *callHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil // the call is not kept alive by the heap's array
	*h = old[:len(old)-1]
	c.index = -1
	return c
}

// timeoutCall is one call of a TimeoutHandler: the handler's request and
// context, allocated together, and its place in the deadlineWatch.
type timeoutCall struct {
	outer    *Request
	inner    Request
	ctx      deadlineContext
	deadline time.Time
	index    int // in the watch's heap; -1 once out of it

	mu         sync.Mutex
	err        error         // context.DeadlineExceeded at the deadline, Canceled after the call
	done       chan struct{} // made by the first Done, closed with err
	stopParent func() bool   // ends the watch on the parent that Done started
}

// expire answers the request 504 and ends the handler's context.
func (c *timeoutCall) expire() {
	if x := c.outer.exchange; x != nil {
		x.reply(c.outer, nil, ErrTimeout)
	}
	c.finish(context.DeadlineExceeded)
}

func (c *timeoutCall) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
		c.stopParent()
	}
}

// deadlineContext is the handler's context: its parent's values and
// cancellation, with the call's deadline. Unlike context.WithDeadline, it
// registers with its parent and makes a channel only when the handler asks
// for Done: most fast handlers never do, and the registration takes a lock
// that all of a service's requests share.
type deadlineContext struct {
	context.Context
	call *timeoutCall
}

func (c *deadlineContext) Deadline() (time.Time, bool) { return c.call.deadline, true }

func (c *deadlineContext) Done() <-chan struct{} {
	call := c.call
	call.mu.Lock()
	defer call.mu.Unlock()
	if call.done == nil {
		call.done = make(chan struct{})
		if call.err != nil {
			close(call.done)
		} else {
			call.stopParent = context.AfterFunc(c.Context, func() { call.finish(c.Context.Err()) })
		}
	}
	return call.done
}

func (c *deadlineContext) Err() error {
	c.call.mu.Lock()
	err := c.call.err
	c.call.mu.Unlock()
	if err != nil {
		return err
	}
	return c.Context.Err()
}

// Value answers for the request the handler serves, the clone, and asks the
// parent for the rest.
func (c *deadlineContext) Value(key any) any {
	if key == (requestKey{}) {
		return &c.call.inner
	}
	return c.Context.Value(key)
}
