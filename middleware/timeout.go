package middleware

import (
	"context"
	"fmt"
	"time"

	"github.com/natsmux/natsmux"
)

// Timeout returns middleware that gives each request at most d. The handler
// gets a context with that deadline; if it has not returned when the
// deadline passes, the request gets a 504 natsmux.ErrTimeout reply at once
// (Request.ReplyNow) and the handler's context is cancelled. A deadline
// already on the context wins when it is earlier, such as the one micro sets
// from the caller's micro.TimeoutHeader. A context cancelled for another
// reason (the service stopping) cancels the handler's too; a handler that
// returns the context's error then gets the 503 that error maps to.
//
// The handler runs on the request's own goroutine, so Timeout costs a timer
// rather than a goroutine, and it keeps running until it returns, since Go
// cannot stop it: it should watch ctx.Done() in anything that waits. What it
// returns late is dropped; the chain around Timeout then sees the 504 that
// was sent, and logs and spans show the request's whole duration. The
// handler serves a Clone of the request, so that reply headers it sets late
// cannot race with the reply; they are kept when it returns in time. A
// panic passes through to Recover as usual.
//
// d must be positive. Timeout is meant per endpoint or group (WithMiddleware
// or With), inside the global set of Recommended.
func Timeout(d time.Duration) natsmux.Middleware {
	if d <= 0 {
		panic(fmt.Sprintf("middleware: Timeout(%v): the timeout must be positive", d))
	}
	return func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			deadline, _ := ctx.Deadline()
			// A timer of its own rather than context.AfterFunc, which costs
			// four more allocations per request.
			expire := time.AfterFunc(time.Until(deadline), func() { req.ReplyNow(nil, natsmux.ErrTimeout) })
			defer expire.Stop() // a panicking handler leaves nothing for the timer to answer
			inner := req.Clone()
			resp, err := next.ServeNATS(natsmux.WithRequest(ctx, inner), inner)
			if !expire.Stop() {
				return nil, natsmux.ErrTimeout // answered at the deadline; this result is late
			}
			req.MergeReplyHeader(inner)
			return resp, err
		})
	}
}
