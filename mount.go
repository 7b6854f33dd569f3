package natsmux

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// DefaultShutdownTimeout is how long Serve waits for in-flight requests
// when its context ends, unless WithShutdownTimeout says otherwise.
const DefaultShutdownTimeout = 10 * time.Second

// ServeOption configures Mount and Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	errorHandler    ErrorHandler
	shutdownTimeout time.Duration
	onStart         []func(micro.Service)
}

func newServeConfig(opts []ServeOption) serveConfig {
	sc := serveConfig{errorHandler: DefaultErrorHandler, shutdownTimeout: DefaultShutdownTimeout}
	for _, opt := range opts {
		opt(&sc)
	}
	return sc
}

// WithErrorHandler replaces DefaultErrorHandler, which turns handler errors
// into error replies. ExposingErrorHandler is the opt-in to send the text of
// uncoded errors to callers.
func WithErrorHandler(h ErrorHandler) ServeOption {
	return func(sc *serveConfig) { sc.errorHandler = h }
}

// WithShutdownTimeout sets how long Serve waits for in-flight requests once
// its context ends (DefaultShutdownTimeout); then their contexts are
// cancelled.
func WithShutdownTimeout(d time.Duration) ServeOption {
	return func(sc *serveConfig) { sc.shutdownTimeout = d }
}

// WithOnStart has Serve call fn with the service once every endpoint of the
// router is live, for a log line with the instance id or for a test that
// waits for readiness instead of polling. Several are called in order.
func WithOnStart(fn func(micro.Service)) ServeOption {
	return func(sc *serveConfig) { sc.onStart = append(sc.onStart, fn) }
}

// Mount adds the endpoints of r's tree to svc. Endpoints registered on the
// router later are added to svc as they are registered. Queue groups,
// concurrency limits and pending limits that the router leaves unset come
// from svc's configuration, so INFO shows what the router declared.
func Mount(svc micro.Service, r *Router, opts ...ServeOption) error {
	sc := newServeConfig(opts)
	m := &mount{svc: svc, cfg: svc.Config(), errorHandler: sc.errorHandler}
	r.tree.mu.Lock()
	defer r.tree.mu.Unlock()
	for _, rt := range r.tree.routes {
		if err := m.add(rt); err != nil {
			return fmt.Errorf("natsmux: mounting endpoint %q on service %s: %w", rt.name, m.cfg.Name, err)
		}
	}
	r.tree.mounts = append(r.tree.mounts, m)
	return nil
}

// Serve adds a service with cfg on nc, mounts r on it and serves until ctx
// ends; then it shuts the service down gracefully, as http.Server.Shutdown
// does: no new requests, in-flight ones finish within the shutdown timeout.
// It returns nil after a clean shutdown, and an error if the service could
// not start, stopped on its own (its connection closed) or did not drain in
// time.
func Serve(ctx context.Context, nc *nats.Conn, cfg micro.Config, r *Router, opts ...ServeOption) error {
	sc := newServeConfig(opts)
	svc, err := micro.AddService(nc, cfg)
	if err != nil {
		return err
	}
	if err := Mount(svc, r, opts...); err != nil {
		_ = svc.Stop()
		return err
	}
	for _, fn := range sc.onStart {
		fn(svc)
	}
	select {
	case <-ctx.Done():
	case <-svc.Done():
		return fmt.Errorf("natsmux: service %s stopped before its context ended (connection closed)", cfg.Name)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sc.shutdownTimeout)
	defer cancel()
	return svc.Shutdown(sctx)
}

// mount is r's tree on one service.
type mount struct {
	svc          micro.Service
	cfg          micro.Config
	errorHandler ErrorHandler
}

func (m *mount) add(rt *route) error {
	ep := rt.describe(rt.endpoint.Subject, rt.endpoint.params, m.cfg)
	opts := []micro.EndpointOpt{
		micro.WithEndpointSubject(ep.Subject),
		micro.WithEndpointMaxConcurrency(ep.MaxConcurrency),
		micro.WithEndpointQueueGroup(ep.QueueGroup),
	}
	if ep.QueueGroupDisabled {
		opts[2] = micro.WithEndpointQueueGroupDisabled()
	}
	if ep.Metadata != nil {
		opts = append(opts, micro.WithEndpointMetadata(ep.Metadata))
	}
	if ep.pendingMsgs != 0 || ep.pendingBytes != 0 {
		opts = append(opts, micro.WithEndpointPendingLimits(ep.pendingMsgs, ep.pendingBytes))
	}
	return m.svc.AddEndpoint(ep.Name, &adapter{endpoint: ep, handler: rt.handler, errorHandler: m.errorHandler}, opts...)
}

// adapter is the only code that touches micro.Request: it runs an
// endpoint's chain inside the core's handler call, so that the core's stats
// time and count it, and turns the result into the reply.
type adapter struct {
	endpoint     *Endpoint
	handler      Handler
	errorHandler ErrorHandler
}

// inbound allocates a request and its context together, and sends the
// request's one reply.
type inbound struct {
	req     Request
	ctx     requestContext
	mr      micro.Request
	adapter *adapter
	// mu is held while a reply is sent, so that Handle, whose return makes
	// micro record the request's stats, waits for a ReplyNow in progress on
	// another goroutine and the stats see its outcome.
	mu      sync.Mutex
	replied bool
}

func (a *adapter) Handle(mr micro.Request) {
	in := &inbound{req: Request{
		Subject:  mr.Subject(),
		Reply:    mr.Reply(),
		Header:   nats.Header(mr.Headers()),
		Data:     mr.Data(),
		Endpoint: a.endpoint,
	}, mr: mr, adapter: a}
	in.req.replier = in
	in.ctx = requestContext{Context: mr.Context(), req: &in.req}
	resp, err := serve(&in.ctx, &in.req, a.handler)
	in.reply(&in.req, resp, err)
}

// reply answers the request with the first result it is given: what the
// chain returns, or what ReplyNow sent earlier.
func (in *inbound) reply(req *Request, resp *Response, err error) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.replied {
		return false
	}
	in.replied = true
	if errors.Is(err, ErrAbortHandler) {
		return true
	}
	mr := in.mr
	if err != nil {
		e := in.adapter.errorHandler(&in.ctx, req, err)
		code, desc := errorReply(e)
		var data []byte
		var h nats.Header
		if e != nil {
			data, h = e.Data, e.Header
		}
		// Without a reply subject this only counts the error in the stats.
		_ = mr.Error(strconv.Itoa(code), desc, data, withHeaders(mergeHeaders(req.replyHeaders(), h))...)
		return true
	}
	if req.Reply == "" {
		return true
	}
	var data []byte
	var h nats.Header
	if resp != nil {
		data, h = resp.Data, resp.Header
	}
	if h = mergeHeaders(req.replyHeaders(), h); len(h) > 0 {
		err = mr.RespondMsg(&nats.Msg{Data: data, Header: h})
	} else {
		err = mr.Respond(data)
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		// NATS refused the reply; tell the caller instead of letting it time out.
		_ = mr.Error("500", "reply too large", nil, withHeaders(req.replyHeaders())...)
	}
	return true
}

// memoryReply keeps the first reply of a request served in memory.
type memoryReply struct {
	mu   sync.Mutex
	done bool
	resp *Response
	err  error
}

func (m *memoryReply) reply(_ *Request, resp *Response, err error) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return false
	}
	m.done, m.resp, m.err = true, resp, err
	return true
}

// ErrAbortHandler is a panic value that stops a request on purpose: the
// request gets no reply (its caller times out) and no log record, as with
// net/http's ErrAbortHandler. The Recover middleware lets it pass.
var ErrAbortHandler = errors.New("natsmux: abort handler")

// serve runs h with the last-resort recover: a panic that no middleware
// caught is logged with its stack and becomes a *micro.PanicError, which
// error handlers answer with 500; ErrAbortHandler is returned as it is.
func serve(ctx context.Context, req *Request, h Handler) (resp *Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == ErrAbortHandler { //nolint:errorlint // the sentinel is panicked, not wrapped
				resp, err = nil, ErrAbortHandler
				return
			}
			perr := &micro.PanicError{Value: v, Stack: debug.Stack()}
			slog.ErrorContext(ctx, "natsmux: recovered from a panic", "subject", req.Subject,
				"panic", perr.Value, "stack", string(perr.Stack))
			resp, err = nil, perr
		}
	}()
	return h.ServeNATS(ctx, req)
}

// errorReply returns the code and description of an error reply. The
// protocol needs both: a missing description becomes the code's standard
// text, a code outside 100-999 becomes 500.
func errorReply(e *Error) (int, string) {
	if e == nil {
		return 500, ErrInternal.Error()
	}
	code, desc := e.Code, e.Description
	if code < 100 || code > 999 {
		code = 500
	}
	if desc == "" {
		desc = "error " + strconv.Itoa(code)
	}
	return code, desc
}

func withHeaders(h nats.Header) []micro.RespondOpt {
	if len(h) == 0 {
		return nil
	}
	return []micro.RespondOpt{micro.WithHeaders(micro.Headers(h))}
}
