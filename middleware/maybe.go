package middleware

import (
	"context"

	"github.com/natsmux/natsmux"
)

// Maybe returns middleware that applies mw to the requests for which match
// returns true and passes the others straight to the handler. match runs on
// every request; to choose by endpoint, MaybeEndpoint costs less.
func Maybe(mw natsmux.Middleware, match func(*natsmux.Request) bool) natsmux.Middleware {
	if mw == nil || match == nil {
		panic("middleware: Maybe: nil middleware or predicate")
	}
	return func(next natsmux.Handler) natsmux.Handler {
		wrapped := mw(next)
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			if match(req) {
				return wrapped.ServeNATS(ctx, req)
			}
			return next.ServeNATS(ctx, req)
		})
	}
}

// MaybeEndpoint returns middleware that applies mw to the endpoints for
// which match returns true, such as those with some metadata, and leaves the
// others alone. match runs once per endpoint, when the router builds the
// endpoint's chain (natsmux.EndpointOf), so that requests pay nothing for
// the choice; for a handler wrapped by hand, it runs on every request.
func MaybeEndpoint(mw natsmux.Middleware, match func(*natsmux.Endpoint) bool) natsmux.Middleware {
	if mw == nil || match == nil {
		panic("middleware: MaybeEndpoint: nil middleware or predicate")
	}
	return func(next natsmux.Handler) natsmux.Handler {
		wrapped := mw(next)
		choose := perEndpoint(next, func(ep *natsmux.Endpoint) natsmux.Handler {
			if match(ep) {
				return wrapped
			}
			return next
		})
		if natsmux.EndpointOf(next) != nil {
			return choose(nil)
		}
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return choose(req).ServeNATS(ctx, req)
		})
	}
}
