package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
)

// flushTimeout bounds the flush of replies still buffered when the
// services have stopped and the connection is about to close.
const flushTimeout = 2 * time.Second

// Service is a router to run as an ADR-32 service: Config names it (name,
// version, description, metadata, queue group) and Options tune how it
// serves (error handler, shutdown timeout), as for natsmux.Serve.
type Service struct {
	Config  micro.Config
	Router  *natsmux.Router
	Options []natsmux.ServeOption
}

// Option configures Run.
type Option func(*runConfig)

type runConfig struct {
	conn       ConnOptions
	connSet    bool
	fallback   string
	devServer  DevServer
	logger     *slog.Logger
	natsOpts   []nats.Option
	prometheus string // address of the Prometheus endpoint, if any
}

// WithConn sets how Run connects. Without it, Run reads the environment
// and the natscli context (ConnOptions.Load).
func WithConn(o ConnOptions) Option {
	return func(c *runConfig) { c.conn, c.connSet = o, true }
}

// WithDefaultURL sets where Run looks for a server when the connection
// options name none, and where the development server of WithDevServer
// starts when nothing answers there (DefaultURL).
func WithDefaultURL(url string) Option {
	return func(c *runConfig) { c.fallback = url }
}

// DevServer starts a NATS server for development that listens where url,
// a nats://host:port URL, points, and returns a function that stops it.
// devserver.StartAt is one, with nats-server embedded.
type DevServer func(url string) (stop func(), err error)

// WithDevServer lets Run start a development server with start when the
// connection options name no server and nothing answers at the default
// URL; Run logs a warning, and stops the server on return. Without it, Run
// fails in that case, as a production service should. devserver.Fallback()
// is this option with an embedded nats-server.
func WithDevServer(start DevServer) Option {
	return func(c *runConfig) { c.devServer = start }
}

// WithLogger sets the logger for connection events and the services'
// start and stop (slog.Default() for Run; see Program.Main for Main).
func WithLogger(l *slog.Logger) Option {
	return func(c *runConfig) { c.logger = l }
}

// WithNATSOptions adds nats.go options, after Run's own, for anything
// ConnOptions does not cover (reconnect timing, inbox prefix, ...).
func WithNATSOptions(opts ...nats.Option) Option {
	return func(c *runConfig) { c.natsOpts = append(c.natsOpts, opts...) }
}

// Run serves the services on one NATS connection until ctx ends, then shuts
// them down gracefully (each within its shutdown timeout, see
// natsmux.WithShutdownTimeout), closes the connection and stops the
// development server, if it started one (see WithDevServer).
//
// The OTEL_* environment variables set up OpenTelemetry for the middleware's
// traces and metrics, with Go runtime metrics, and WithPrometheus serves
// metrics for scraping (docs/observability.md); the telemetry is flushed
// after the services stop. With neither, nothing is installed.
//
// The connection reconnects forever, logging each disconnection and
// reconnection. Run returns nil after a clean shutdown, and an error when a
// service cannot start, stops on its own or does not drain in time; one
// service failing stops the others.
func Run(ctx context.Context, services []Service, opts ...Option) error {
	c := newRunConfig(opts)
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if !c.connSet {
		if err := c.conn.Load(); err != nil {
			return fmt.Errorf("app: %w", err)
		}
	}
	if len(services) == 0 {
		return errors.New("app: no services to run")
	}
	for i, s := range services {
		if s.Router == nil {
			return fmt.Errorf("app: service %d (%q) has no router", i, s.Config.Name)
		}
	}
	if c.conn.Name == "" {
		c.conn.Name = serviceNames(services)
	}

	// Deferred first, so it runs last: after the services have drained and
	// the connection has closed, the telemetry is flushed.
	tel, err := startTelemetry(ctx, &c, services)
	if err != nil {
		return fmt.Errorf("app: telemetry: %w", err)
	}
	defer tel.shutdown(c.logger)

	nc, stopServer, err := ConnectOrStart(c.conn, c.fallback, c.devServer, c.logger, append(c.connHandlers(), c.natsOpts...)...)
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	defer func() {
		if nc.IsConnected() { // with the server gone there is nothing to flush to, and no need to wait
			_ = nc.FlushTimeout(flushTimeout)
		}
		nc.Close()
		if stopServer != nil {
			stopServer()
		}
	}()
	c.logger.Info("connected to NATS", "url", RedactURLs(nc.ConnectedUrl()))
	return serve(ctx, nc, services, c.logger)
}

// newRunConfig applies opts; the logger stays nil unless one sets it.
func newRunConfig(opts []Option) runConfig {
	c := runConfig{fallback: DefaultURL}
	for _, opt := range opts {
		opt(&c)
	}
	return c
}

// ConnectOrStart connects as o says. When o names no server, nothing
// listens at fallback (a nats:// URL such as DefaultURL) and start is not
// nil, it starts a development server there with start, logs a warning,
// and connects to it; the caller calls stop after closing the connection.
// stop is nil when no server was started.
func ConnectOrStart(o ConnOptions, fallback string, start DevServer, logger *slog.Logger, extra ...nats.Option) (nc *nats.Conn, stop func(), err error) {
	if o.URL != "" {
		nc, err = o.Connect(extra...)
		return nc, nil, err
	}
	o.URL = fallback
	nc, err = o.Connect(extra...)
	switch {
	case start == nil && errors.Is(err, nats.ErrNoServers):
		return nil, nil, fmt.Errorf("%w\n(no server is configured: set NATS_URL, --server or a natscli context)", err)
	case start == nil || !errors.Is(err, nats.ErrNoServers):
		return nc, nil, err
	}
	if stop, err = start(fallback); err != nil {
		return nil, nil, err
	}
	logger.Warn("no NATS server configured or running; started an embedded nats-server for development, "+
		"which stops with this process (set NATS_URL or --server to use another)", "url", RedactURLs(fallback))
	if nc, err = o.Connect(extra...); err != nil {
		stop()
		return nil, nil, err
	}
	return nc, stop, nil
}

// connHandlers makes the connection reconnect forever and log what happens
// to it. They are set before any service is added, so services chain them.
func (c *runConfig) connHandlers() []nats.Option {
	log := c.logger
	return []nats.Option{
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if !nc.IsClosed() {
				log.Warn("disconnected from NATS; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to NATS", "url", RedactURLs(nc.ConnectedUrl()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("NATS error", "subject", sub.Subject, "error", err)
				return
			}
			log.Error("NATS error", "error", err)
		}),
	}
}

// serve runs every service until ctx ends or one of them fails.
func serve(ctx context.Context, nc *nats.Conn, services []Service, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(services))
	// starting counts the services that have neither started nor failed,
	// so that "stopping services" never comes before a "service ready".
	var wg, starting sync.WaitGroup
	starting.Add(len(services))
	for i, s := range services {
		if s.Config.ErrorHandler == nil {
			// What the service has to say about itself (errors of its
			// subscriptions, a stop without a server) goes to Run's log.
			s.Config.ErrorHandler = func(_ micro.Service, err *micro.NATSError) {
				var panicked *micro.PanicError
				if errors.Unwrap(err) != nil && !errors.As(err, &panicked) {
					return // NATS's own errors: the connection's handler logs them
				}
				log.Warn("service error", "service", s.Config.Name, "subject", err.Subject, "error", err.Description)
			}
		}
		started := sync.OnceFunc(starting.Done)
		ready := natsmux.WithOnStart(func(svc micro.Service) {
			log.Info("service ready", "service", s.Config.Name, "version", s.Config.Version,
				"id", svc.Info().ID, "endpoints", describeEndpoints(s.Router))
			started()
		})
		wg.Go(func() {
			defer started()
			if err := natsmux.Serve(ctx, nc, s.Config, s.Router, append(s.Options, ready)...); err != nil {
				errs[i] = fmt.Errorf("app: service %s: %w", s.Config.Name, err)
				cancel()
			}
		})
	}
	starting.Wait()
	<-ctx.Done()
	log.Info("stopping services")
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil {
		log.Info("services stopped")
	}
	return err
}

// describeEndpoints lists a router's endpoints as "name subject" pairs, so
// that the log says what to call.
func describeEndpoints(r *natsmux.Router) string {
	var b strings.Builder
	for i, ep := range r.Endpoints() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ep.Name + " " + ep.Template)
	}
	return b.String()
}

func serviceNames(services []Service) string {
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.Config.Name
	}
	return strings.Join(names, ",")
}
