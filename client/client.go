package client

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/adr32"
	"github.com/natsmux/natsmux/micro"
)

// DefaultTimeout bounds a call whose context has no deadline, unless
// WithTimeout says otherwise.
const DefaultTimeout = 5 * time.Second

// Client calls NATS services: typed calls (Call), raw requests with
// headers (Request) and discovery (Ping, Info, Stats), each call through
// the client's middleware (WithMiddleware). It is safe for concurrent use.
type Client struct {
	nc         *nats.Conn
	timeout    time.Duration
	propagator propagation.TextMapPropagator
	codec      binding.Codec
	discovery  []micro.DiscoveryOpt
	middleware []Middleware
	idempotent []string // subject patterns, from WithIdempotentSubjects
	schemaCfg  schemaConfig

	invoker Invoker                 // the middleware around send
	learned atomic.Pointer[catalog] // endpoints, from LearnEndpoints
	schemas *schemaCache            // published schemas, for checked calls
}

// Option configures a Client.
type Option func(*Client)

// WithTimeout sets how long a call waits for its reply when its context has
// no deadline (DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithPropagator injects the trace context of each call's context into the
// request's headers, such as propagation.TraceContext{} for W3C
// traceparent, so that the service's spans join the caller's trace.
// Without it no trace headers are sent.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *Client) { c.propagator = p }
}

// WithCodec encodes Call's requests and decodes its replies with codec
// instead of binding.JSONCodec; the request names it in its Content-Type
// header, and a typed endpoint answers in it if it accepts it.
func WithCodec(codec binding.Codec) Option {
	return func(c *Client) { c.codec = codec }
}

// WithPrefix makes discovery ask under prefix instead of $SRV, for services
// configured with micro.Config.APIPrefix.
func WithPrefix(prefix string) Option {
	return func(c *Client) { c.discovery = []micro.DiscoveryOpt{micro.WithDiscoveryPrefix(prefix)} }
}

// WithMiddleware wraps every call of Call and Request in mws, the first
// outermost, after the middleware of earlier WithMiddleware options. See
// docs/client.md for the recommended order.
func WithMiddleware(mws ...Middleware) Option {
	return func(c *Client) { c.middleware = append(c.middleware, mws...) }
}

// WithIdempotentSubjects declares the calls to subjects that match one of
// patterns (NATS subjects, wildcards allowed) idempotent, whatever INFO
// says: Resilience may retry and hedge them. A call's WithIdempotent wins.
func WithIdempotentSubjects(patterns ...string) Option {
	return func(c *Client) { c.idempotent = append(c.idempotent, patterns...) }
}

// New returns a client that sends its requests over nc. It returns an
// error for a nil connection, a timeout that is not positive, a nil codec,
// a negative schema refresh interval, a nil middleware or an invalid
// idempotent subject pattern.
func New(nc *nats.Conn, opts ...Option) (*Client, error) {
	c := &Client{nc: nc, timeout: DefaultTimeout, codec: binding.JSONCodec{}, schemaCfg: schemaConfig{refresh: DefaultSchemaRefresh}}
	for _, opt := range opts {
		opt(c)
	}
	switch {
	case nc == nil:
		return nil, errors.New("client: nil connection")
	case c.timeout <= 0:
		return nil, fmt.Errorf("client: the timeout must be positive, got %s", c.timeout)
	case c.codec == nil:
		return nil, errors.New("client: nil codec")
	case c.schemaCfg.refresh < 0:
		return nil, fmt.Errorf("client: the schema refresh interval must not be negative, got %s", c.schemaCfg.refresh)
	}
	for i, mw := range c.middleware {
		if mw == nil {
			return nil, fmt.Errorf("client: middleware %d is nil", i)
		}
	}
	for _, p := range c.idempotent {
		if err := adr32.CheckSubject(p, true); err != nil {
			return nil, fmt.Errorf("client: idempotent subject %q: %w", p, err)
		}
	}
	c.schemas = newSchemaCache(c, c.schemaCfg)
	c.invoker = Chain(c.middleware...)(c.schemas.middleware(InvokerFunc(c.send)))
	return c, nil
}

// Conn returns the connection the client sends over.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Request sends data with header to subject and returns the reply; the
// options add headers and tell the client about the call, as for Call.
// The caller's header is not modified. Like Call, it
//   - waits until ctx is done, or for the client's timeout if ctx has no
//     deadline, and sends the time left in micro.TimeoutHeader, so that the
//     service's request context ends when the caller stops waiting;
//   - injects ctx's trace context when the client has a propagator;
//   - returns an ADR-32 error reply as a *natsmux.Error with the reply's
//     code, description, payload and headers;
//   - reports no service listening on subject with a 503 *natsmux.Error
//     that names the subject and matches nats.ErrNoResponders;
//   - reports no reply in time with a 504 *natsmux.Error that matches both
//     context.DeadlineExceeded and nats.ErrTimeout, and a cancelled ctx
//     with an error that matches context.Canceled.
//
// A service that gives up at the deadline it was sent may answer 504 just
// before the caller's own timer fires; errors.Is(err, natsmux.ErrTimeout)
// and natsmux.CodeOf(err) == 504 hold for both.
func (c *Client) Request(ctx context.Context, subject string, data []byte, header nats.Header, opts ...CallOption) (*nats.Msg, error) {
	cfg := newCallConfig(opts)
	h := make(nats.Header, len(header)+len(cfg.header)+2)
	addHeader(h, header)
	addHeader(h, cfg.header)
	return c.invoke(ctx, c.invocation(subject, data, h, &cfg), &cfg)
}

// invocation describes a call: what is sent, and what the call's options,
// the client's configuration and INFO say about its subject.
func (c *Client) invocation(subject string, data []byte, h nats.Header, cfg *callConfig) *Invocation {
	inv := &Invocation{Subject: subject, Header: h, Data: data, Template: cfg.template}
	learned := lookupLearned(c.learned.Load(), subject)
	if inv.Template == "" {
		inv.Template = learned.template
	}
	switch {
	case cfg.idempotent != nil:
		inv.Idempotent = *cfg.idempotent
	case matchesAny(c.idempotent, subject):
		inv.Idempotent = true
	default:
		inv.Idempotent = learned.idempotent
	}
	if c.schemas.checks(cfg) {
		inv.expect = untyped // Call puts its types in
	}
	return inv
}

// invoke runs inv through the middleware, under the client's timeout when
// ctx has no deadline, so that every middleware sees the deadline.
func (c *Client) invoke(ctx context.Context, inv *Invocation, cfg *callConfig) (*nats.Msg, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	reply, err := c.invoker.Invoke(ctx, inv)
	if err == nil && cfg.replyHeader != nil {
		*cfg.replyHeader = reply.Header
	}
	return reply, err
}

func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// errTimeout is the cause of every timeout: callers test for either
// sentinel, depending on whether they think in contexts or in nats.go.
var errTimeout = fmt.Errorf("%w (%w)", nats.ErrTimeout, context.DeadlineExceeded)

// send is the end of the chain: it sends the request over the connection
// and turns what comes back into a reply or an error.
func (c *Client) send(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
	ctx, cancel := c.withDeadline(ctx) // middleware may have dropped the deadline
	defer cancel()
	deadline, _ := ctx.Deadline()
	left := time.Until(deadline)
	if left <= 0 {
		return nil, natsmux.Wrap(errTimeout, 504, fmt.Sprintf("request to %q: the deadline passed before sending", inv.Subject))
	}
	inv.Header.Set(micro.TimeoutHeader, left.String())
	if c.propagator != nil {
		c.propagator.Inject(ctx, natsmux.HeaderCarrier(inv.Header))
	}
	reply, err := c.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: inv.Subject, Data: inv.Data, Header: inv.Header})
	switch {
	case err == nil:
		if err := ResponseError(reply); err != nil {
			return nil, err
		}
		return reply, nil
	case errors.Is(err, nats.ErrNoResponders):
		return nil, natsmux.Wrap(err, 503, fmt.Sprintf("no service is listening on %q", inv.Subject))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, natsmux.Wrap(errTimeout, 504, fmt.Sprintf("request to %q: no reply within %s", inv.Subject, left.Round(time.Millisecond)))
	default:
		return nil, fmt.Errorf("client: request to %q: %w", inv.Subject, err)
	}
}

// ResponseError returns the ADR-32 error that msg carries as a
// *natsmux.Error, with the reply's payload as Data and its other headers as
// Header (without micro.ErrorHeader and micro.ErrorCodeHeader, which are
// the error's Description and Code; nil when no other header is left), or
// nil when msg is not an error reply. It reads the reply with
// micro.ResponseError, so a malformed code becomes 500.
func ResponseError(msg *nats.Msg) error {
	err := micro.ResponseError(msg)
	if err == nil {
		return nil // checked first: the target of errors.As escapes
	}
	var se *micro.ServiceError
	if !errors.As(err, &se) {
		return nil
	}
	return &natsmux.Error{Code: se.Code, Description: se.Description, Data: se.Data, Header: applicationHeaders(msg.Header)}
}

// applicationHeaders returns a copy of h without the ADR-32 error headers,
// or nil when nothing else is left.
func applicationHeaders(h nats.Header) nats.Header {
	var out nats.Header
	for k, v := range h {
		if k == micro.ErrorHeader || k == micro.ErrorCodeHeader {
			continue
		}
		if out == nil {
			out = make(nats.Header, len(h))
		}
		out[k] = v
	}
	return out
}
