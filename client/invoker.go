package client

import (
	"context"

	"github.com/nats-io/nats.go"
)

// Invocation is one call on its way through the client's middleware to the
// connection: what is sent, and what the client knows about its
// destination.
type Invocation struct {
	// Subject is where the request goes.
	Subject string
	// Header holds the request's headers. The map belongs to the
	// invocation, never to the caller: middleware may set headers on it.
	Header nats.Header
	// Data is the payload; middleware must not modify it.
	Data []byte
	// Template is the subject's template, such as "orders.{id}.get": from
	// WithTemplate, else learned from INFO (Client.LearnEndpoints); empty
	// when unknown.
	Template string
	// Idempotent reports whether the request may be sent more than once:
	// the call said so (WithIdempotent), or the client's
	// WithIdempotentSubjects or INFO did. Resilience retries and hedges
	// only these.
	Idempotent bool

	// expect is what the caller's types say of the endpoint's schemas,
	// when the call is checked against them (WithSchemaValidation); nil
	// when it is not.
	expect *expectation
}

// Destination returns Template, or Subject when no template is known: the
// name under which telemetry and per-subject state file the call. Pass
// WithTemplate for subjects that carry ids, so that it stays one name per
// endpoint.
func (inv *Invocation) Destination() string {
	if inv.Template != "" {
		return inv.Template
	}
	return inv.Subject
}

// Clone returns a copy of inv with a header map of its own, for sending the
// same request again, possibly at the same time.
func (inv *Invocation) Clone() *Invocation {
	c := *inv
	c.Header = make(nats.Header, len(inv.Header)+2)
	addHeader(c.Header, inv.Header)
	return &c
}

// addHeader adds the values of src to dst, copying the value slices so that
// dst never shares memory with src.
func addHeader(dst, src nats.Header) {
	for k, v := range src {
		dst[k] = append(dst[k], v...)
	}
}

// Invoker sends an invocation and returns its reply: the connection at the
// end of the client's middleware chain, or what a middleware sees of the
// chain after it. An ADR-32 error reply comes back as a *natsmux.Error, not
// as a reply.
type Invoker interface {
	Invoke(ctx context.Context, inv *Invocation) (*nats.Msg, error)
}

// InvokerFunc lets a function serve as an Invoker.
type InvokerFunc func(ctx context.Context, inv *Invocation) (*nats.Msg, error)

// Invoke calls f(ctx, inv).
func (f InvokerFunc) Invoke(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
	return f(ctx, inv)
}

// Middleware wraps an Invoker in another, as natsmux.Middleware wraps a
// Handler on the service's side: it runs once when the client is built,
// and the Invoker it returns runs once per call (per attempt, when it is
// placed inside Resilience).
type Middleware func(next Invoker) Invoker

// Chain composes middlewares into one: Chain(a, b)(i) is a(b(i)), so a
// runs first on the way out and last on the way back.
func Chain(mws ...Middleware) Middleware {
	return func(next Invoker) Invoker {
		for i := len(mws) - 1; i >= 0; i-- {
			next = mws[i](next)
		}
		return next
	}
}
