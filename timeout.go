package natsmux

import (
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
// h runs on the request's own goroutine, so the timeout costs one timer, not
// a goroutine; it keeps running until it returns, since Go cannot stop it,
// and should watch ctx.Done() in anything that waits. What it returns late
// is dropped: the handler returned by TimeoutHandler then returns ErrTimeout,
// so that the middleware around it sees the 504 that was sent. Reply headers
// that h sets are kept when it returns in time, and never race with the
// early reply. A panic in h passes through.
//
// d must be positive. middleware.Timeout is TimeoutHandler as middleware.
func TimeoutHandler(h Handler, d time.Duration) Handler {
	if d <= 0 {
		panic(fmt.Sprintf("natsmux: TimeoutHandler(%v): the timeout must be positive", d))
	}
	return HandlerFunc(func(ctx context.Context, req *Request) (*Response, error) {
		deadline := time.Now().Add(d)
		if parent, ok := ctx.Deadline(); ok && parent.Before(deadline) {
			deadline = parent
		}
		// h serves a child of req, so that reply headers it sets late cannot
		// race with the early reply, which reads req's.
		call := &timeoutCall{outer: req, inner: req.child()}
		call.ctx = deadlineContext{Context: ctx, deadline: deadline, call: call}
		call.timer = time.AfterFunc(time.Until(deadline), call.expire)
		resp, err := h.ServeNATS(&call.ctx, &call.inner)
		if !call.timer.Stop() {
			// The timer has fired. Replying here too makes sure that the
			// early reply is out, and no longer reads req's headers, before
			// the middleware around us may change them.
			call.expire()
			return nil, ErrTimeout
		}
		call.finish(context.Canceled) // the handler's context ends with it, as net/http's
		req.adoptReplyHeader(&call.inner)
		return resp, err
	})
}

// timeoutCall is one call of a TimeoutHandler: the handler's request and
// context, allocated together, and the timer that answers 504.
type timeoutCall struct {
	outer *Request
	inner Request
	ctx   deadlineContext
	timer *time.Timer

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
	deadline time.Time
	call     *timeoutCall
}

func (c *deadlineContext) Deadline() (time.Time, bool) { return c.deadline, true }

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
