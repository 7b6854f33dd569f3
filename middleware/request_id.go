package middleware

import (
	"context"

	"github.com/nats-io/nuid"

	"github.com/natsmux/natsmux"
)

// DefaultRequestIDHeader is the header RequestID reads and echoes unless
// told otherwise. It is the name HTTP services and gateways already use, so
// an id crosses an HTTP-to-NATS bridge unchanged, and it stays out of the
// "Nats-" namespace that NATS reserves for its own headers.
const DefaultRequestIDHeader = "X-Request-Id"

// MaxRequestIDLength is the longest incoming request id that RequestID
// accepts; a longer one is replaced by a new id.
const MaxRequestIDLength = 128

// RequestIDOption configures RequestID.
type RequestIDOption func(*requestIDConfig)

type requestIDConfig struct {
	header     string
	generate   func() string
	everyReply bool
}

// WithRequestIDHeader sets the header that carries the request id, in
// requests and replies; DefaultRequestIDHeader by default. The incoming
// header is found whatever its case.
func WithRequestIDHeader(name string) RequestIDOption {
	if name == "" {
		panic("middleware: WithRequestIDHeader: empty header name")
	}
	return func(c *requestIDConfig) { c.header = name }
}

// WithRequestIDGenerator sets the function that makes ids for requests
// without one; by default nuid.Next, 22 characters, unique across processes
// and cheap. It is called concurrently.
func WithRequestIDGenerator(generate func() string) RequestIDOption {
	if generate == nil {
		panic("middleware: WithRequestIDGenerator: nil generator")
	}
	return func(c *requestIDConfig) { c.generate = generate }
}

// WithRequestIDOnEveryReply puts the id in the header of successful replies
// too; by default only error replies carry it. A header on a reply that has
// none otherwise costs the service and every caller (nats.go encodes and
// parses it): on a 128-byte echo with the recommended chain, 9 of its 20
// allocations per request beyond a raw responder's, and about a tenth of
// its throughput (docs/benchmarks.md). A caller that needs the id of a
// successful request can send its own.
func WithRequestIDOnEveryReply() RequestIDOption {
	return func(c *requestIDConfig) { c.everyReply = true }
}

// RequestID returns middleware that gives each request an id: the one in
// the request's id header (DefaultRequestIDHeader) when it is a valid id
// (1 to MaxRequestIDLength printable ASCII characters, no spaces), else a
// new one. The id is on the context (RequestIDFromContext), for Logger and
// handlers, and in the header of every error reply (Request.SetErrorReplyHeader),
// where a caller needs it to find the service's logs of a failure: the
// handler's errors, panics that Recover answers and a Timeout's 504 alike.
// WithRequestIDOnEveryReply puts it on successful replies too.
func RequestID(opts ...RequestIDOption) natsmux.Middleware {
	cfg := requestIDConfig{header: DefaultRequestIDHeader, generate: nuid.Next}
	for _, opt := range opts {
		opt(&cfg)
	}
	return func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			id := req.GetHeader(cfg.header)
			if !validRequestID(id) {
				id = cfg.generate()
			}
			c := &requestIDContext{Context: ctx, value: [1]string{id}}
			// The reply header's value is the context's array: one
			// allocation for both.
			if cfg.everyReply {
				req.ReplyHeader()[cfg.header] = c.value[:]
			} else {
				req.SetErrorReplyHeader(cfg.header, c.value[:]...)
			}
			return next.ServeNATS(c, req)
		})
	}
}

// validRequestID keeps ids that are safe to echo and to log as they are.
func validRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLength {
		return false
	}
	for i := range len(id) {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

type requestIDKey struct{}

// requestIDContext carries the id without boxing it into an interface.
type requestIDContext struct {
	context.Context
	value [1]string // the id
}

func (c *requestIDContext) Value(key any) any {
	if key == (requestIDKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// RequestIDFromContext returns the id that RequestID gave the request, or
// "" outside of RequestID.
func RequestIDFromContext(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*requestIDContext); ok {
		return c.value[0]
	}
	return ""
}
