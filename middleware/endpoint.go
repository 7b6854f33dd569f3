package middleware

import "github.com/natsmux/natsmux"

// perEndpoint returns what build makes of the endpoint that next serves: made
// once, now, when the router hands next over (natsmux.EndpointOf), or for
// each request from its Endpoint when the handler was wrapped by hand, as in
// a test that calls a middleware directly.
func perEndpoint[T any](next natsmux.Handler, build func(*natsmux.Endpoint) T) func(*natsmux.Request) T {
	if ep := natsmux.EndpointOf(next); ep != nil {
		v := build(ep)
		return func(*natsmux.Request) T { return v }
	}
	return func(req *natsmux.Request) T {
		if req.Endpoint == nil {
			return build(&natsmux.Endpoint{})
		}
		return build(req.Endpoint)
	}
}
