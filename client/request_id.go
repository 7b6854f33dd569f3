package client

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/natsmux/natsmux"
)

// DefaultRequestIDHeader is the header RequestID sets unless told
// otherwise: the one the service's middleware.RequestID reads and echoes.
const DefaultRequestIDHeader = "X-Request-Id"

// RequestIDOption configures RequestID.
type RequestIDOption func(*requestIDConfig)

type requestIDConfig struct {
	header   string
	generate func(context.Context) string
}

// WithRequestIDHeader sets the header that carries the request id;
// DefaultRequestIDHeader by default.
func WithRequestIDHeader(name string) RequestIDOption {
	if name == "" {
		panic("client: WithRequestIDHeader: empty header name")
	}
	return func(c *requestIDConfig) { c.header = name }
}

// WithRequestIDGenerator sets the function that makes the id of a call
// from its context; by default a new nuid (22 characters, unique across
// processes). A handler that calls other services can pass on the id of
// the request it serves, as docs/client.md shows. It is called
// concurrently; an empty id is replaced by a nuid.
func WithRequestIDGenerator(generate func(context.Context) string) RequestIDOption {
	if generate == nil {
		panic("client: WithRequestIDGenerator: nil generator")
	}
	return func(c *requestIDConfig) { c.generate = generate }
}

// RequestID returns middleware that sends a request id with each call, in
// DefaultRequestIDHeader: the one the caller set (WithHeader), else one
// from the generator. Put it outside Resilience, so that every attempt of a
// call carries the same id and the service's logs show them as one call,
// and before Logger, which logs it.
func RequestID(opts ...RequestIDOption) Middleware {
	cfg := requestIDConfig{header: DefaultRequestIDHeader, generate: func(context.Context) string { return nuid.Next() }}
	for _, opt := range opts {
		opt(&cfg)
	}
	return func(next Invoker) Invoker {
		return InvokerFunc(func(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
			carrier := natsmux.HeaderCarrier(inv.Header)
			if carrier.Get(cfg.header) == "" {
				id := cfg.generate(ctx)
				if id == "" {
					id = nuid.Next()
				}
				carrier.Set(cfg.header, id)
			}
			return next.Invoke(ctx, inv)
		})
	}
}
