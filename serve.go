package natsmux

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/adr32"
	"github.com/natsmux/natsmux/micro"
)

// One request path. A request is served by the code below whether it came
// over NATS (a mount's adapter, mount.go) or in memory (Router.ServeNATS,
// InMemory), so that the two cannot drift:
//
//  1. exchange.serve puts the request on its context and runs the chain that
//     buildChain made for the endpoint on this mount: the middleware,
//     outermost first, around the endpoint's core, which answers unsafe
//     subject parameters 400, calls the handler and maps the error it
//     returns with the ErrorHandler, so that every middleware sees the code
//     the caller will get.
//  2. Panics have one owner per layer. middleware.Recover turns a panic into
//     a 500 inside the chain, where Logger logs it with its stack. A panic
//     that no Recover caught is recovered by exchange.run, logged there,
//     once, and answered 500. micro's dispatcher recovers only handlers
//     written against micro directly: a router's never reach it.
//  3. exchange.reply sends the one reply: the first of the chain's result
//     and an early one (TimeoutHandler's 504 at the deadline). An error is
//     answered with the code CodeOf gives it; a reply or error reply that is
//     too large for the server becomes 500 "reply too large".

// exchange is one request being served: the Request and its context,
// allocated together, and its one reply, which goes to micro (mr) or, in
// memory, into result.
type exchange struct {
	req Request
	ctx requestContext
	mr  micro.Request // nil in memory

	// mu is held while the reply is sent, so that the adapter, whose return
	// makes micro record the request's stats, waits for an early reply in
	// progress on another goroutine and the stats see its outcome.
	mu      sync.Mutex
	replied bool
	result  struct {
		resp *Response
		err  error
	}
}

// serve runs h and replies with its result, unless a reply went out before.
func (x *exchange) serve(h Handler) {
	resp, err := x.run(h)
	x.reply(&x.req, resp, err)
}

// run calls h with the last-resort recover.
func (x *exchange) run(h Handler) (resp *Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == ErrAbortHandler { //nolint:errorlint // the sentinel is panicked, not wrapped
				resp, err = nil, ErrAbortHandler
				return
			}
			perr := &PanicError{Value: v, Stack: debug.Stack()}
			slog.ErrorContext(&x.ctx, "natsmux: recovered from a panic", "subject", x.req.Subject,
				"panic", perr.Value, "stack", string(perr.Stack))
			resp, err = nil, Wrap(perr, 500, ErrInternal.Error())
		}
	}()
	return h.ServeNATS(&x.ctx, &x.req)
}

// reply answers the request, through req (the request or a clone of it,
// whose reply headers the reply carries), with the first result it is
// given, and reports whether this call answered.
func (x *exchange) reply(req *Request, resp *Response, err error) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.replied {
		return false
	}
	x.replied = true
	switch {
	case errors.Is(err, ErrAbortHandler):
		x.result.err = ErrAbortHandler
	case err != nil:
		e, code, description := replyOf(err)
		x.sendError(req, e, code, description, mergeHeaders(req.replyHeaders(true), e.Header))
	default:
		var data []byte
		var h nats.Header
		if resp != nil {
			data, h = resp.Data, resp.Header
		}
		x.send(req, data, mergeHeaders(req.replyHeaders(false), h))
	}
	return true
}

func (x *exchange) sendError(req *Request, e *Error, code int, description string, h nats.Header) {
	if x.mr == nil {
		if e.Code != code || e.Description != description || len(h) != len(e.Header) {
			sent := *e
			sent.Code, sent.Description, sent.Header = code, description, h
			e = &sent
		}
		x.result.err = e
		return
	}
	// Without a reply subject this only counts the error in the stats.
	err := x.mr.Error(strconv.Itoa(code), description, e.Data, withHeaders(h)...)
	if errors.Is(err, nats.ErrMaxPayload) {
		x.tooLarge(req)
	}
}

func (x *exchange) send(req *Request, data []byte, h nats.Header) {
	if x.mr == nil {
		x.result.resp = &Response{Data: data, Header: h}
		return
	}
	if x.req.Reply == "" {
		return
	}
	var err error
	if len(h) > 0 {
		err = x.mr.RespondMsg(&nats.Msg{Data: data, Header: h})
	} else {
		err = x.mr.Respond(data)
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		x.tooLarge(req)
	}
}

// tooLarge answers a request whose reply, sent through req, NATS refused for
// its size, so that the caller learns at once instead of timing out.
func (x *exchange) tooLarge(req *Request) {
	_ = x.mr.Error("500", "reply too large", nil, withHeaders(req.replyHeaders(true))...)
}

func withHeaders(h nats.Header) []micro.RespondOpt {
	if len(h) == 0 {
		return nil
	}
	return []micro.RespondOpt{micro.WithHeaders(micro.Headers(h))}
}

// ErrAbortHandler is a panic value that stops a request on purpose: the
// request gets no reply (its caller times out) and no log record, as with
// net/http's ErrAbortHandler. The Recover middleware lets it pass.
var ErrAbortHandler = errors.New("natsmux: abort handler")

// core is the innermost layer of an endpoint's chain: see the comment at the
// top of this file.
type core struct {
	ep      *Endpoint
	handler Handler
	errors  ErrorHandler
}

func (c *core) ServeNATS(ctx context.Context, req *Request) (*Response, error) {
	if len(c.ep.params) > 0 {
		if err := checkParams(req.Subject, c.ep.params); err != nil {
			return nil, err
		}
	}
	resp, err := c.handler.ServeNATS(ctx, req)
	if err == nil || errors.Is(err, ErrAbortHandler) {
		return resp, err
	}
	if e := c.errors(ctx, req, err); e != nil {
		return nil, e
	}
	return nil, ErrInternal
}

func (c *core) endpoint() *Endpoint { return c.ep }

// checkParams refuses parameter tokens that a handler should never have to
// guard against: the wildcards '*' and '>', which NATS lets a publisher put
// in a subject, control characters and invalid UTF-8.
func checkParams(subject string, params []param) error {
	for _, p := range params {
		v := token(subject, p.token)
		if v == "*" || v == ">" {
			return Errorf(400, "invalid subject parameter {%s}: a wildcard", p.name)
		}
		if !utf8.ValidString(v) {
			return Errorf(400, "invalid subject parameter {%s}: not valid UTF-8", p.name)
		}
		for _, r := range v {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return Errorf(400, "invalid subject parameter {%s}: control character %U", p.name, r)
			}
		}
	}
	return nil
}

// EndpointOf returns the endpoint whose chain the router is building when it
// calls a Middleware with next, so that middleware can prepare what it needs
// per endpoint (a span name, attribute sets, a limiter) once, when it wraps
// next, instead of per request:
//
//	func(next natsmux.Handler) natsmux.Handler {
//		name := "process " + natsmux.EndpointOf(next).Template
//		...
//	}
//
// The router builds an endpoint's chain once for each service it is mounted
// on, and once for in-memory use, each time with the endpoint as it is
// there (its service name, inherited queue group and limits). EndpointOf
// returns nil for a handler that the router did not hand over, such as one a
// test wraps by hand.
func EndpointOf(next Handler) *Endpoint {
	if b, ok := next.(endpointBound); ok {
		return b.endpoint()
	}
	return nil
}

type endpointBound interface {
	endpoint() *Endpoint
}

// bound tells EndpointOf which endpoint a middleware's handler serves, for
// the middleware around it.
type bound struct {
	Handler
	ep *Endpoint
}

func (b bound) endpoint() *Endpoint { return b.ep }

// buildChain wraps h, the endpoint's handler, in its core and then in mws,
// the first outermost.
func buildChain(ep *Endpoint, mws []Middleware, h Handler, eh ErrorHandler) Handler {
	chain := Handler(&core{ep: ep, handler: h, errors: eh})
	for i := len(mws) - 1; i >= 0; i-- {
		chain = mws[i](chain)
		if chain == nil {
			panic(fmt.Sprintf("natsmux: endpoint %q: middleware %d of %d returned a nil handler", ep.Name, i+1, len(mws)))
		}
		if _, ok := chain.(endpointBound); !ok && i > 0 {
			chain = bound{chain, ep}
		}
	}
	return chain
}

// InMemory returns a Handler that serves the endpoints of r's tree in
// memory, exactly as Mount with opts serves them over NATS: the same chains,
// error handler, reply headers and timeouts (the caller's
// micro.TimeoutHeader included), without a NATS server. It returns what the
// caller would receive: the reply with its headers, or an *Error with the
// code, description, payload and headers of the error reply, or
// ErrAbortHandler for a request that gets no reply. A subject that no
// endpoint serves is a 404 (on the wire, the caller gets no responders).
// Endpoints registered later are served too. Router.ServeNATS is InMemory
// without options.
func InMemory(r *Router, opts ...ServeOption) Handler {
	return &local{tree: r.tree, sc: newServeConfig(opts), chains: map[*route]*boundRoute{}}
}

// local is an in-memory mount: chains are built when an endpoint first
// serves, so that a local mount needs no registration with the tree and
// is collected with its last reference.
type local struct {
	tree   *tree
	sc     serveConfig
	mu     sync.Mutex
	chains map[*route]*boundRoute // bounded by the tree's routes
}

// boundRoute is a route on one mount: its endpoint as it is there, and its
// chain.
type boundRoute struct {
	ep      *Endpoint
	handler Handler
}

func (l *local) ServeNATS(ctx context.Context, req *Request) (*Response, error) {
	rt := l.tree.match(req.Subject)
	if rt == nil {
		return nil, Errorf(404, "no endpoint for subject %q", req.Subject)
	}
	br := l.bind(rt)
	if v, ok := req.Header[adr32.TimeoutHeader]; ok && len(v) > 0 {
		if timeout, ok := adr32.CallerTimeout(v[0]); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
	}
	x := &exchange{}
	x.req = Request{Subject: req.Subject, Reply: req.Reply, Header: req.Header, Data: req.Data, Endpoint: br.ep, exchange: x}
	x.ctx = requestContext{Context: ctx, req: &x.req}
	x.serve(br.handler)
	return x.result.resp, x.result.err
}

func (l *local) bind(rt *route) *boundRoute {
	l.mu.Lock()
	defer l.mu.Unlock()
	br, ok := l.chains[rt]
	if !ok {
		br = rt.bind(micro.Config{}, l.sc)
		l.chains[rt] = br
	}
	return br
}
