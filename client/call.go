package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/binding"
)

// CallOption configures one call of Call or Client.Request.
type CallOption func(*callConfig)

type callConfig struct {
	header      nats.Header
	template    string
	idempotent  *bool
	replyHeader *nats.Header
	validate    *bool
}

func newCallConfig(opts []CallOption) callConfig {
	var cfg callConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	return cfg
}

// WithHeader adds a header to the request; given twice for one key, it
// sends both values. Call sets Content-Type itself, from the client's
// codec.
func WithHeader(key, value string) CallOption {
	return func(c *callConfig) {
		if c.header == nil {
			c.header = nats.Header{}
		}
		c.header.Add(key, value)
	}
}

// WithHeaders adds every header of h to the request. h is copied when the
// call starts and never modified.
func WithHeaders(h nats.Header) CallOption {
	return func(c *callConfig) {
		if c.header == nil {
			c.header = make(nats.Header, len(h))
		}
		addHeader(c.header, h)
	}
}

// WithTemplate names the subject's template, such as "orders.{id}.get" for
// a call to "orders.42.get", so that spans, metrics and the per-subject
// state of Resilience (circuit breaker, latency) count the call under the
// endpoint, not under one subject per id. Without it the client uses the
// template it learned from INFO, if any, else the subject.
func WithTemplate(template string) CallOption {
	return func(c *callConfig) { c.template = template }
}

// WithIdempotent says whether this call may be sent more than once,
// whatever the client learned or was told about its subject: true lets
// Resilience retry and hedge it, false forbids it.
func WithIdempotent(idempotent bool) CallOption {
	return func(c *callConfig) { c.idempotent = &idempotent }
}

// WithReplyHeader stores the headers of a successful reply in *dst, for
// callers of Call that want them (an error reply's headers are in its
// *natsmux.Error).
func WithReplyHeader(dst *nats.Header) CallOption {
	return func(c *callConfig) { c.replyHeader = dst }
}

// Call sends in to subject, encoded with the client's codec, and decodes
// the reply into a new Out: the caller's side of binding.JSON, with the
// same types. Options add headers (WithHeader) and tell the client about
// the call (WithTemplate, WithIdempotent). A nil in sends an empty payload,
// which a typed endpoint reads as In's zero value; an empty reply gives
// Out's zero value. Errors are those of Client.Request (a *natsmux.Error
// for error replies, with field errors readable by binding.FieldErrors), or
// an error for a request that does not encode or a reply that does not
// decode.
func Call[In, Out any](ctx context.Context, c *Client, subject string, in *In, opts ...CallOption) (*Out, error) {
	var data []byte
	if in != nil {
		var err error
		if data, err = c.codec.Marshal(in); err != nil {
			return nil, fmt.Errorf("client: encoding the request to %q: %w", subject, err)
		}
	}
	cfg := newCallConfig(opts)
	ct := c.codec.ContentType()
	h := make(nats.Header, len(cfg.header)+3)
	addHeader(h, cfg.header)
	h.Set(binding.ContentTypeHeader, ct)
	inv := c.invocation(subject, data, h, &cfg)
	if inv.expect != nil {
		inv.expect = expectationFor[In, Out]()
	}
	reply, err := c.invoke(ctx, inv, &cfg)
	if err != nil {
		return nil, err
	}
	out := new(Out)
	if len(reply.Data) == 0 {
		return out, nil
	}
	if got := binding.ContentTypeOf(reply.Header); got != "" && !strings.EqualFold(got, ct) {
		return nil, fmt.Errorf("client: the reply from %q is %s, not %s", subject, got, ct)
	}
	if err := c.codec.Unmarshal(reply.Data, out); err != nil {
		return nil, fmt.Errorf("client: decoding the reply from %q: %w", subject, err)
	}
	return out, nil
}
