package middleware

import (
	"sync"
	"sync/atomic"

	"github.com/natsmux/natsmux"
)

// perEndpoint computes a value once per endpoint and keeps it. A middleware
// wraps an endpoint's handler before the endpoint is mounted, and each mount
// gives the endpoint its own *natsmux.Endpoint, so what depends on the
// endpoint (span names, attribute sets, predicate results) is computed on the
// first request that each *Endpoint serves. An endpoint is mostly served by
// one mount, so the last value found is checked first, with one atomic load.
type perEndpoint[T any] struct {
	build func(*natsmux.Endpoint) T
	last  atomic.Pointer[endpointValue[T]]
	all   sync.Map   // *natsmux.Endpoint -> *endpointValue[T]
	mu    sync.Mutex // held while building, so that build runs once per endpoint
}

type endpointValue[T any] struct {
	endpoint *natsmux.Endpoint
	value    T
}

// unknownEndpoint stands for the endpoint of a request that has none, such as
// one passed to a handler directly rather than through a router.
var unknownEndpoint = &natsmux.Endpoint{}

func newPerEndpoint[T any](build func(*natsmux.Endpoint) T) *perEndpoint[T] {
	return &perEndpoint[T]{build: build}
}

// get returns the value for ep, building it on first use.
func (c *perEndpoint[T]) get(ep *natsmux.Endpoint) T {
	if ep == nil {
		ep = unknownEndpoint
	}
	if last := c.last.Load(); last != nil && last.endpoint == ep {
		return last.value
	}
	v, ok := c.all.Load(ep)
	if !ok {
		v = c.add(ep)
	}
	ev := v.(*endpointValue[T])
	c.last.Store(ev)
	return ev.value
}

func (c *perEndpoint[T]) add(ep *natsmux.Endpoint) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.all.Load(ep); ok {
		return v
	}
	ev := &endpointValue[T]{endpoint: ep, value: c.build(ep)}
	c.all.Store(ep, ev)
	return ev
}
