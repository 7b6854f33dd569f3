package natsmux

import "context"

// The framework keeps the request on the context that handlers and
// middleware receive, under an unexported key.
type requestKey struct{}

// requestContext carries the request without a separate allocation: it is
// allocated together with the Request it points to.
type requestContext struct {
	context.Context
	req *Request
}

func (c *requestContext) Value(key any) any {
	if key == (requestKey{}) {
		return c.req
	}
	return c.Context.Value(key)
}

// WithRequest returns a context that carries req, as the framework's own
// contexts do; tests of middleware that call RequestFromContext use it.
func WithRequest(ctx context.Context, req *Request) context.Context {
	return &requestContext{Context: ctx, req: req}
}

// RequestFromContext returns the request being served, or nil outside of a
// handler.
func RequestFromContext(ctx context.Context) *Request {
	req, _ := ctx.Value(requestKey{}).(*Request)
	return req
}

// EndpointFromContext returns the endpoint serving the current request, or
// nil outside of a handler.
func EndpointFromContext(ctx context.Context) *Endpoint {
	if req := RequestFromContext(ctx); req != nil {
		return req.Endpoint
	}
	return nil
}
