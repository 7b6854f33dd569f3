package middleware

import (
	"context"
	"runtime/debug"

	"github.com/natsmux/natsmux"
)

// Recover returns middleware that turns a panic in the handlers it wraps
// into a 500 *natsmux.Error "internal error". The error's cause is a
// *natsmux.PanicError with the panic value and the stack, for Logger to
// log; the caller sees only "internal error". The service keeps serving.
//
// A panic with natsmux.ErrAbortHandler passes through, so that the request
// is aborted as documented: no reply, no log record.
//
// Recover logs nothing itself: put Logger outside it (see Recommended).
// Recover takes no options, yet is a function like every middleware of this
// package, so that a chain reads the same throughout and an option can come
// later without breaking a caller.
//
// Without Recover, the router's last-resort recover answers a panic with
// the same 500 and logs it, but the middleware around the panic see no
// result. Recover catches panics on the request's goroutine, where Timeout
// runs handlers too.
func Recover() natsmux.Middleware {
	return recoverPanics
}

func recoverPanics(next natsmux.Handler) natsmux.Handler {
	return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (resp *natsmux.Response, err error) {
		defer func() {
			if v := recover(); v != nil {
				resp, err = nil, panicError(v)
			}
		}()
		return next.ServeNATS(ctx, req)
	})
}

// panicError returns the error reply for a recovered panic value, with the
// stack of the goroutine that panicked, or panics again with
// natsmux.ErrAbortHandler.
func panicError(v any) error {
	if v == natsmux.ErrAbortHandler { //nolint:errorlint // the sentinel is panicked, not wrapped
		panic(v)
	}
	return natsmux.Wrap(&natsmux.PanicError{Value: v, Stack: debug.Stack()}, 500, natsmux.ErrInternal.Error())
}
