package micro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/adr32"
)

type (
	// Handler handles the requests of an endpoint.
	Handler interface {
		Handle(Request)
	}

	// HandlerFunc lets a plain function serve as a Handler.
	HandlerFunc func(Request)

	// Request is one message received by an endpoint, with the means to answer
	// it. A request has at most one reply; a handler may also hand the request
	// to another goroutine and answer it after returning, but such late replies
	// are not reflected in the endpoint's stats.
	Request interface {
		// Respond sends data as the reply. WithHeaders adds headers.
		Respond([]byte, ...RespondOpt) error

		// RespondJSON sends the JSON encoding of v as the reply.
		RespondJSON(any, ...RespondOpt) error

		// RespondMsg sends msg's data and headers as the reply (its subject
		// is set to the reply subject): one allocation fewer than Respond
		// with WithHeaders. An extension of natsmux.
		RespondMsg(msg *nats.Msg) error

		// Error sends an ADR-32 error reply: the Nats-Service-Error and
		// Nats-Service-Error-Code headers, with data as payload. Code and
		// description must not be empty; code should be a number.
		Error(code, description string, data []byte, opts ...RespondOpt) error

		// Data returns the request's payload.
		Data() []byte

		// Headers returns the request's headers.
		Headers() Headers

		// Subject returns the subject the request was sent to.
		Subject() string

		// Reply returns the subject the reply goes to; empty when the sender
		// expects no reply.
		Reply() string

		// Context returns the request's context. It is done when the caller's
		// timeout (TimeoutHeader, at most MaxCallerTimeout) passes, when the
		// service's connection closes, when Shutdown stops waiting for
		// in-flight requests, and, as in net/http, when the handler returns:
		// a handler that answers later from another goroutine gives that
		// goroutine a context of its own.
		Context() context.Context
	}

	// Headers are the headers of a request. Keys are case-sensitive, as in NATS.
	Headers nats.Header

	// RespondOpt adjusts a reply before it is sent.
	RespondOpt func(*nats.Msg)
)

// Handle calls fn(req).
func (fn HandlerFunc) Handle(req Request) {
	fn(req)
}

// ContextHandler adapts a handler that takes a context. The handler receives
// ctx itself; use Request.Context for the per-request context.
func ContextHandler(ctx context.Context, handler func(context.Context, Request)) Handler {
	return HandlerFunc(func(req Request) {
		handler(ctx, req)
	})
}

// WithHeaders adds headers to a reply, replacing values of the same keys.
func WithHeaders(headers Headers) RespondOpt {
	return func(m *nats.Msg) {
		if m.Header == nil {
			m.Header = nats.Header(headers)
			return
		}
		for k, v := range headers {
			m.Header[k] = v
		}
	}
}

// Get returns the first value of key (case-sensitive).
func (h Headers) Get(key string) string {
	return nats.Header(h).Get(key)
}

// Values returns all values of key (case-sensitive).
func (h Headers) Values(key string) []string {
	return nats.Header(h).Values(key)
}

// request is the Request given to handlers.
type request struct {
	msg    *nats.Msg
	conn   *nats.Conn
	ctx    context.Context
	cancel context.CancelFunc // ends a deadline context, and frees its timer, when the handler returns

	replied atomic.Bool
	// failure is what the endpoint's stats record for this request: the text
	// of a failed reply or "code:description" of an error reply.
	failure atomic.Pointer[string]
}

func newRequest(msg *nats.Msg, conn *nats.Conn, base context.Context, start time.Time) *request {
	r := &request{msg: msg, conn: conn, ctx: base}
	if timeout, ok := callerTimeout(msg.Header); ok {
		r.ctx, r.cancel = context.WithDeadline(base, start.Add(timeout))
	}
	return r
}

// release ends the request's own context once its handler has returned.
func (r *request) release() {
	if r.cancel != nil {
		r.cancel()
	}
}

// MaxCallerTimeout is the longest deadline a caller's TimeoutHeader can give
// a request; a longer timeout is cut to it, so that no request holds its
// context and timer for longer.
const MaxCallerTimeout = adr32.MaxCallerTimeout

// callerTimeout reads TimeoutHeader (see adr32.CallerTimeout).
func callerTimeout(h nats.Header) (time.Duration, bool) {
	v, ok := headerValue(h, TimeoutHeader)
	if !ok {
		return 0, false
	}
	return adr32.CallerTimeout(v)
}

func (r *request) Respond(data []byte, opts ...RespondOpt) error {
	if len(opts) == 0 {
		return r.respond(nil, data)
	}
	m := &nats.Msg{Data: data}
	for _, opt := range opts {
		opt(m)
	}
	return r.respond(m, nil)
}

func (r *request) RespondMsg(m *nats.Msg) error {
	return r.respond(m, nil)
}

// respond publishes m, or data when m is nil, as the reply, and records a
// failure for the stats.
func (r *request) respond(m *nats.Msg, data []byte) error {
	var err error
	if m == nil {
		err = r.publish(data)
	} else {
		err = r.publishMsg(m)
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrRespond, err)
		r.fail(err.Error())
	}
	return err
}

func (r *request) RespondJSON(v any, opts ...RespondOpt) error {
	data, err := json.Marshal(v)
	if err != nil {
		return ErrMarshalResponse
	}
	return r.Respond(data, opts...)
}

func (r *request) Error(code, description string, data []byte, opts ...RespondOpt) error {
	if code == "" {
		return fmt.Errorf("%w: error code", ErrArgRequired)
	}
	if description == "" {
		return fmt.Errorf("%w: description", ErrArgRequired)
	}
	m := &nats.Msg{Header: nats.Header{
		ErrorHeader:     {description},
		ErrorCodeHeader: {code},
	}}
	for _, opt := range opts {
		opt(m)
	}
	m.Data = data
	err := r.publishMsg(m)
	switch {
	case errors.Is(err, nats.ErrMsgNoReply):
		// The handler failed with nobody to tell: the stats say how it
		// failed rather than that there was no one to tell (nats.go's micro
		// records the latter).
		r.fail(code + ":" + description)
	case err != nil:
		r.fail(err.Error())
	default:
		r.fail(code + ":" + description)
	}
	return err
}

func (r *request) publish(data []byte) error {
	if r.msg.Reply == "" {
		return nats.ErrMsgNoReply
	}
	err := r.conn.Publish(r.msg.Reply, data)
	r.answered(err)
	return err
}

func (r *request) publishMsg(m *nats.Msg) error {
	if r.msg.Reply == "" {
		return nats.ErrMsgNoReply
	}
	m.Subject = r.msg.Reply
	err := r.conn.PublishMsg(m)
	r.answered(err)
	return err
}

func (r *request) answered(err error) {
	if err == nil {
		r.replied.Store(true)
	}
}

func (r *request) fail(text string) {
	r.failure.Store(&text)
}

func (r *request) Data() []byte             { return r.msg.Data }
func (r *request) Headers() Headers         { return Headers(r.msg.Header) }
func (r *request) Subject() string          { return r.msg.Subject }
func (r *request) Reply() string            { return r.msg.Reply }
func (r *request) Context() context.Context { return r.ctx }
