package middleware

import (
	"context"
	"fmt"
	"time"

	"github.com/natsmux/natsmux"
)

// LimitOption configures Limit.
type LimitOption func(*limitConfig)

type limitConfig struct {
	backlog int
	wait    time.Duration
	shared  bool
	reject  error
}

// WithBacklog lets up to n requests beyond the limit wait, each for at most
// wait, for a request in progress to finish; by default none waits. A
// waiting request whose context ends first fails with the context's error
// (504 for a deadline).
func WithBacklog(n int, wait time.Duration) LimitOption {
	if n < 0 || (n > 0 && wait <= 0) {
		panic(fmt.Sprintf("middleware: WithBacklog(%d, %v): the backlog must not be negative and the wait must be positive", n, wait))
	}
	return func(c *limitConfig) { c.backlog, c.wait = n, wait }
}

// WithSharedLimit makes one limit for all the endpoints that the middleware
// wraps, such as the endpoints of a router or group it is Used on; by
// default each endpoint has a limit of its own.
func WithSharedLimit() LimitOption {
	return func(c *limitConfig) { c.shared = true }
}

// WithRejectCode sets the code of the reply to a request turned away: 429
// (natsmux.ErrTooManyRequests, the default) or 503
// (natsmux.ErrServiceUnavailable).
func WithRejectCode(code int) LimitOption {
	var reject error
	switch code {
	case 429:
		reject = natsmux.ErrTooManyRequests
	case 503:
		reject = natsmux.ErrServiceUnavailable
	default:
		panic(fmt.Sprintf("middleware: WithRejectCode(%d): the code must be 429 or 503", code))
	}
	return func(c *limitConfig) { c.reject = reject }
}

// Limit returns middleware that sheds load: at most n requests of an
// endpoint are served at once (of all the endpoints it wraps, with
// WithSharedLimit). A request beyond that waits in the backlog if there is
// room (WithBacklog) and is turned away at once otherwise, or when its wait
// ends, with a 429 error reply (WithRejectCode), rather than queueing
// without bound. Rejections are error replies, so the endpoint's stats count
// them.
//
// micro already bounds how many requests an endpoint handles at once
// (natsmux.WithMaxConcurrency) and queues the rest in the subscription; a
// limit plus backlog below that bound turns queueing into fast rejections.
// n must be at least 1.
func Limit(n int, opts ...LimitOption) natsmux.Middleware {
	if n < 1 {
		panic(fmt.Sprintf("middleware: Limit(%d): the limit must be at least 1", n))
	}
	cfg := limitConfig{reject: natsmux.ErrTooManyRequests}
	for _, opt := range opts {
		opt(&cfg)
	}
	var shared *limiter
	if cfg.shared {
		shared = newLimiter(n, cfg)
	}
	return func(next natsmux.Handler) natsmux.Handler {
		l := shared
		if l == nil {
			l = newLimiter(n, cfg)
		}
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			if err := l.acquire(ctx); err != nil {
				return nil, err
			}
			defer l.release()
			return next.ServeNATS(ctx, req)
		})
	}
}

// limiter is a semaphore with a bounded backlog of waiters.
type limiter struct {
	slots   chan struct{} // one element per request being served
	waiting chan struct{} // one element per request in the backlog; nil without backlog
	wait    time.Duration
	reject  error
}

func newLimiter(n int, cfg limitConfig) *limiter {
	l := &limiter{slots: make(chan struct{}, n), wait: cfg.wait, reject: cfg.reject}
	if cfg.backlog > 0 {
		l.waiting = make(chan struct{}, cfg.backlog)
	}
	return l
}

func (l *limiter) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case l.waiting <- struct{}{}: // never ready when waiting is nil
	default:
		return l.reject
	}
	defer func() { <-l.waiting }()
	timer := time.NewTimer(l.wait)
	defer timer.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-timer.C:
		return l.reject
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) release() {
	<-l.slots
}
