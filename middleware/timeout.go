package middleware

import (
	"fmt"
	"time"

	"github.com/natsmux/natsmux"
)

// Timeout returns middleware that gives each request at most d, with
// natsmux.TimeoutHandler: a handler still running at the deadline has its
// context cancelled, and the request gets a 504 natsmux.ErrTimeout reply at
// once; an earlier deadline on the context, such as the caller's, wins. The
// chain around Timeout sees the 504 that was sent, and logs and spans show
// the request's whole duration, since the handler keeps its goroutine until
// it returns.
//
// d must be positive. Timeout is meant per endpoint or group (WithMiddleware
// or With), inside the global set of Recommended.
func Timeout(d time.Duration) natsmux.Middleware {
	if d <= 0 {
		panic(fmt.Sprintf("middleware: Timeout(%v): the timeout must be positive", d))
	}
	return func(next natsmux.Handler) natsmux.Handler {
		return natsmux.TimeoutHandler(next, d)
	}
}
