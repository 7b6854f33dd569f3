package client

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Timeout returns middleware that gives each call it wraps at most d: the
// earlier of the caller's deadline and d from now. The service receives
// the shorter deadline in micro.TimeoutHeader, and a call that runs out
// fails with the client's usual 504.
//
// Outside Resilience it bounds a whole call, retries included. Inside
// Resilience it bounds each attempt, which is what lets Resilience retry a
// timeout: the attempt gives up after d, and the next one still has the
// rest of the caller's deadline. It panics if d is not positive.
func Timeout(d time.Duration) Middleware {
	if d <= 0 {
		panic(fmt.Sprintf("client: Timeout(%s): the timeout must be positive", d))
	}
	return func(next Invoker) Invoker {
		return InvokerFunc(func(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next.Invoke(ctx, inv)
		})
	}
}
