package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
)

// DefaultTimeout bounds a call whose context has no deadline, unless
// WithTimeout says otherwise.
const DefaultTimeout = 5 * time.Second

// Client calls NATS services: typed calls (Call), raw requests with
// headers (Request) and discovery (Ping, Info, Stats). It is safe for
// concurrent use.
type Client struct {
	nc         *nats.Conn
	timeout    time.Duration
	propagator propagation.TextMapPropagator
	codec      binding.Codec
	discovery  []micro.DiscoveryOpt
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

// New returns a client that sends its requests over nc. It returns an
// error for a nil connection, a timeout that is not positive or a nil
// codec.
func New(nc *nats.Conn, opts ...Option) (*Client, error) {
	c := &Client{nc: nc, timeout: DefaultTimeout, codec: binding.JSONCodec{}}
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
	}
	return c, nil
}

// Conn returns the connection the client sends over.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Request sends data with header to subject and returns the reply. The
// caller's header is not modified. Like Call, it
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
func (c *Client) Request(ctx context.Context, subject string, data []byte, header nats.Header) (*nats.Msg, error) {
	h := make(nats.Header, len(header)+2)
	maps.Copy(h, header)
	return c.request(ctx, subject, data, h)
}

// errTimeout is the cause of every timeout: callers test for either
// sentinel, depending on whether they think in contexts or in nats.go.
var errTimeout = fmt.Errorf("%w (%w)", nats.ErrTimeout, context.DeadlineExceeded)

// request is Request with a header that it may modify.
func (c *Client) request(ctx context.Context, subject string, data []byte, h nats.Header) (*nats.Msg, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	left := time.Until(deadline)
	if left <= 0 {
		return nil, natsmux.Wrap(errTimeout, 504, fmt.Sprintf("request to %q: the deadline passed before sending", subject))
	}
	h.Set(micro.TimeoutHeader, left.String())
	if c.propagator != nil {
		c.propagator.Inject(ctx, natsmux.HeaderCarrier(h))
	}
	reply, err := c.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: subject, Data: data, Header: h})
	switch {
	case err == nil:
		if err := ResponseError(reply); err != nil {
			return nil, err
		}
		return reply, nil
	case errors.Is(err, nats.ErrNoResponders):
		return nil, natsmux.Wrap(err, 503, fmt.Sprintf("no service is listening on %q", subject))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, natsmux.Wrap(errTimeout, 504, fmt.Sprintf("request to %q: no reply within %s", subject, left.Round(time.Millisecond)))
	default:
		return nil, fmt.Errorf("client: request to %q: %w", subject, err)
	}
}

// ResponseError returns the ADR-32 error that msg carries as a
// *natsmux.Error, with the reply's payload as Data and its headers as
// Header, or nil when msg is not an error reply. It reads the reply with
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
	return &natsmux.Error{Code: se.Code, Description: se.Description, Data: se.Data, Header: msg.Header}
}
