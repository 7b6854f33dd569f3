package natsmux

import "context"

// Handler serves the requests of an endpoint. It returns the reply, or an
// error that becomes an ADR-32 error reply (see Error). A nil Response with
// a nil error sends an empty reply; a request without a reply subject gets
// no reply at all.
//
// Returning the reply, rather than writing it, means that middleware sees
// and may rewrite both the reply and the real error, and that a handler is
// tested with a plain function call.
type Handler interface {
	ServeNATS(ctx context.Context, req *Request) (*Response, error)
}

// HandlerFunc lets a function serve as a Handler.
type HandlerFunc func(ctx context.Context, req *Request) (*Response, error)

// ServeNATS calls f(ctx, req).
func (f HandlerFunc) ServeNATS(ctx context.Context, req *Request) (*Response, error) {
	return f(ctx, req)
}

// Middleware wraps a Handler in another. It runs once per endpoint, when the
// endpoint is registered; the handler it returns runs once per request.
type Middleware func(next Handler) Handler

// Chain composes middlewares into one: Chain(a, b)(h) is a(b(h)), so a runs
// first on the way in and last on the way out.
func Chain(mws ...Middleware) Middleware {
	return func(h Handler) Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
}
