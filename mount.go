package natsmux

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// DefaultShutdownTimeout is how long Serve waits for in-flight requests
// when its context ends, unless WithShutdownTimeout says otherwise.
const DefaultShutdownTimeout = 10 * time.Second

// ServeOption configures Mount, Serve and InMemory.
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

// WithErrorHandler replaces DefaultErrorHandler, which maps the errors that
// handlers return to error replies (see ErrorHandler).
// ExposingErrorHandler is the opt-in to send the text of uncoded errors to
// callers.
func WithErrorHandler(h ErrorHandler) ServeOption {
	if h == nil {
		panic("natsmux: WithErrorHandler(nil)")
	}
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
// router later are added to svc as they are registered, until svc stops.
// Queue groups, concurrency limits and pending limits that the router leaves
// unset come from svc's configuration, so INFO shows what the router
// declared. Each endpoint's chain is built for svc, with the endpoint as it
// is there (see EndpointOf).
func Mount(svc micro.Service, r *Router, opts ...ServeOption) error {
	_, err := mountOn(svc, r, newServeConfig(opts))
	return err
}

func mountOn(svc micro.Service, r *Router, sc serveConfig) (*mount, error) {
	m := &mount{svc: svc, cfg: svc.Config(), sc: sc}
	t := r.tree
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rt := range t.routes {
		if err := m.add(rt); err != nil {
			return nil, fmt.Errorf("natsmux: mounting endpoint %q on service %s: %w", rt.name, m.cfg.Name, err)
		}
	}
	// Mounts of stopped services go here, or at the next Handle, so that
	// a tree served again and again keeps no stopped service alive.
	t.mounts = append(slices.DeleteFunc(t.mounts, func(m *mount) bool { return m.svc.Stopped() }), m)
	return m, nil
}

// unmount forgets m at once, when its service has stopped.
func (t *tree) unmount(m *mount) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mounts = slices.DeleteFunc(t.mounts, func(other *mount) bool { return other == m })
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
	m, err := mountOn(svc, r, sc)
	if err != nil {
		_ = svc.Stop()
		return err
	}
	defer r.tree.unmount(m)
	for _, fn := range sc.onStart {
		fn(svc)
	}
	select {
	case <-ctx.Done():
	case <-svc.Done():
		return fmt.Errorf("natsmux: service %s stopped before its context ended: %w", cfg.Name, nats.ErrConnectionClosed)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sc.shutdownTimeout)
	defer cancel()
	return svc.Shutdown(sctx)
}

// mount is r's tree on one service.
type mount struct {
	svc micro.Service
	cfg micro.Config
	sc  serveConfig
}

func (m *mount) add(rt *route) error {
	br := rt.bind(m.cfg, m.sc)
	st := br.ep.settings
	opts := []micro.EndpointOpt{
		micro.WithEndpointSubject(br.ep.Subject),
		micro.WithEndpointMaxConcurrency(st.MaxConcurrency),
		micro.WithEndpointQueueGroup(st.QueueGroup),
	}
	if st.NoQueueGroup {
		opts[2] = micro.WithEndpointQueueGroupDisabled()
	}
	if st.Metadata != nil {
		opts = append(opts, micro.WithEndpointMetadata(st.Metadata))
	}
	if st.PendingMsgs != 0 || st.PendingBytes != 0 {
		opts = append(opts, micro.WithEndpointPendingLimits(st.PendingMsgs, st.PendingBytes))
	}
	return m.svc.AddEndpoint(br.ep.Name, (*adapter)(br), opts...)
}

// adapter is the only code that touches micro.Request: it serves a request
// on the one request path (serve.go), inside the core's handler call, so
// that micro's stats time and count it.
type adapter boundRoute

func (a *adapter) Handle(mr micro.Request) {
	x := &exchange{mr: mr}
	x.req = Request{
		Subject:  mr.Subject(),
		Reply:    mr.Reply(),
		Header:   nats.Header(mr.Headers()),
		Data:     mr.Data(),
		Endpoint: a.ep,
		exchange: x,
	}
	x.ctx = requestContext{Context: mr.Context(), req: &x.req}
	x.serve(a.handler)
}
