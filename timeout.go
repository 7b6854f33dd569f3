package natsmux

import (
	"context"
	"fmt"
	"time"
)

// TimeoutHandler returns a Handler that gives each request at most d, as
// net/http's TimeoutHandler does. h gets a context with that deadline; if h
// has not returned when the deadline passes, the request gets a 504
// (ErrTimeout) reply at once and h's context is cancelled. A deadline
// already on the context wins when it is earlier, such as the one micro sets
// from the caller's micro.TimeoutHeader.
//
// h runs on the request's own goroutine, so the timeout costs a timer, not
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
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		deadline, _ := ctx.Deadline()
		x := req.exchange
		// A timer of its own rather than context.AfterFunc, which costs
		// four more allocations per request.
		expire := time.AfterFunc(time.Until(deadline), func() {
			if x != nil {
				x.reply(req, nil, ErrTimeout)
			}
		})
		defer expire.Stop() // a panicking handler leaves nothing for the timer to answer
		// h serves a clone, so that reply headers it sets late cannot race
		// with the early reply, which reads req's.
		inner := req.clone()
		resp, err := h.ServeNATS(WithRequest(ctx, inner), inner)
		if !expire.Stop() {
			// The timer has fired. Replying here too makes sure that the
			// early reply is out, and no longer reads req's headers, before
			// the middleware around us may change them.
			if x != nil {
				x.reply(req, nil, ErrTimeout)
			}
			return nil, ErrTimeout
		}
		req.adoptReplyHeader(inner)
		return resp, err
	})
}
