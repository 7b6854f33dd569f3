package micro

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/natsmux/natsmux/internal/adr32"
)

type (
	// Service is a running service instance.
	Service interface {
		// AddEndpoint registers an endpoint; it answers requests as soon as
		// AddEndpoint returns. Its subject is its name unless
		// WithEndpointSubject sets another.
		AddEndpoint(string, Handler, ...EndpointOpt) error

		// AddGroup returns a group whose endpoints share a subject prefix
		// and, optionally, a queue group and a concurrency limit.
		AddGroup(string, ...GroupOpt) Group

		// Info returns what an INFO request returns.
		Info() Info

		// Stats returns what a STATS request returns.
		Stats() Stats

		// Reset zeroes the stats of every endpoint and restarts the clock of
		// the "started" field.
		Reset()

		// Stop drains the service's subscriptions and returns without waiting
		// for in-flight handlers, as nats.go's micro does. Prefer Shutdown.
		Stop() error

		// Stopped reports whether the service has been stopped.
		Stopped() bool

		// Shutdown stops the service gracefully: it drains every subscription,
		// so that requests already delivered are still handled, and waits for
		// in-flight handlers until ctx ends. Then it cancels the contexts of
		// the handlers still running and returns ctx's error.
		Shutdown(ctx context.Context) error

		// Done is closed once the service has stopped, every handler has
		// returned and DoneHandler has run.
		Done() <-chan struct{}

		// Config returns the configuration the service was created with.
		// Groups and routers mounted on the service inherit its queue group
		// and concurrency settings from it.
		Config() Config
	}

	// Group registers endpoints under a common subject prefix.
	Group interface {
		// AddGroup returns a subgroup whose prefix extends this group's.
		AddGroup(string, ...GroupOpt) Group

		// AddEndpoint registers an endpoint whose subject is prefixed with the
		// group's prefix.
		AddEndpoint(string, Handler, ...EndpointOpt) error
	}
)

type service struct {
	cfg    Config
	nc     *nats.Conn
	id     string
	prefix string
	ping   []byte // the PING reply never changes
	// replyAllowed reports whether a request's reply subject may be served;
	// nil when Config.ReplyPrefixes allows every one.
	replyAllowed func(reply string) bool

	addMu     sync.Mutex // held while an endpoint is added
	mu        sync.Mutex // guards the fields below; never taken per request
	endpoints []*Endpoint
	verbSubs  []*nats.Subscription
	started   time.Time
	stopped   bool

	// handlerCtx is the parent of every Request.Context.
	handlerCtx     context.Context
	cancelHandlers context.CancelFunc

	running   sync.WaitGroup // leaders, workers and discovery subscriptions
	watchdog  *watchdog
	drained   chan struct{} // closed when running reaches zero after stop
	done      chan struct{} // closed after drained and DoneHandler
	callbacks callbackQueue
}

// AddService creates a service on nc and starts answering discovery requests
// (PING, INFO, STATS) for it. Endpoints are added with AddEndpoint or through
// groups. Several services may share one connection; each stops when the
// connection closes. Set the connection's closed and error handlers before
// adding a service: the service chains them, and handlers set afterwards
// replace the service's.
func AddService(nc *nats.Conn, config Config) (Service, error) {
	if err := config.validate(); err != nil {
		return nil, err
	}
	config.Metadata = maps.Clone(config.Metadata)
	config.ReplyPrefixes = slices.Clone(config.ReplyPrefixes)
	if config.Metadata == nil {
		config.Metadata = map[string]string{}
	}
	s := &service{
		cfg:     config,
		nc:      nc,
		id:      nuid.Next(),
		prefix:  config.APIPrefix,
		drained: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.prefix == "" {
		s.prefix = APIPrefix
	}
	s.replyAllowed = replyFilter(config.ReplyPrefixes)
	s.handlerCtx, s.cancelHandlers = context.WithCancel(context.Background())
	s.watchdog = newWatchdog()
	s.callbacks.start(config.Name, s.done)
	s.ping, _ = json.Marshal(Ping{ServiceIdentity: s.identity(), Type: PingResponseType})
	register(s)

	if config.Endpoint != nil {
		if err := s.addDefaultEndpoint(config.Endpoint); err != nil {
			s.abort()
			return nil, err
		}
	}
	if err := s.subscribeDiscovery(); err != nil {
		s.abort()
		return nil, err
	}
	s.mu.Lock()
	s.started = time.Now().UTC()
	s.mu.Unlock()
	return s, nil
}

// addDefaultEndpoint adds Config.Endpoint under the name "default". Unlike
// nats.go's micro, it honours Endpoint.QueueGroupDisabled.
func (s *service) addDefaultEndpoint(ec *EndpointConfig) error {
	own := adr32.Settings{
		QueueGroup:     ec.QueueGroup,
		NoQueueGroup:   ec.QueueGroupDisabled,
		MaxConcurrency: ec.MaxConcurrency,
		Metadata:       maps.Clone(ec.Metadata),
	}
	return s.addEndpoint("default", ec.Subject, ec.Handler, own.Inherit(s.cfg.settings()).Resolve())
}

// abort undoes a failed AddService. The service never ran, so its
// DoneHandler is not called.
func (s *service) abort() {
	s.cfg.DoneHandler = nil
	_ = s.stop()
	<-s.done
}

func (s *service) AddEndpoint(name string, handler Handler, opts ...EndpointOpt) error {
	o, err := collectEndpointOpts(opts)
	if err != nil {
		return err
	}
	return s.addEndpoint(name, cmp.Or(o.subject, name), handler, o.settings.Inherit(s.cfg.settings()).Resolve())
}

// addEndpoint validates a resolved endpoint, subscribes it and starts its
// dispatcher. It flushes so that the endpoint answers once it returns.
func (s *service) addEndpoint(name, subject string, handler Handler, st adr32.Settings) error {
	if !adr32.ValidName(name) {
		return validationError("invalid endpoint name %q: %s", name, adr32.NameRule)
	}
	if err := adr32.CheckSubject(subject, true); err != nil {
		return validationError("invalid endpoint subject: %v", err)
	}
	if err := adr32.CheckDiscoveryOverlap(subject, s.prefix); err != nil {
		return validationError("invalid endpoint subject: %v", err)
	}
	if !st.NoQueueGroup {
		if err := adr32.CheckQueueGroup(st.QueueGroup); err != nil {
			return validationError("invalid queue group: %v", err)
		}
	}
	if handler == nil {
		return validationError("endpoint %q has no handler", name)
	}
	s.addMu.Lock() // one endpoint at a time, so that the checks below see every other
	defer s.addMu.Unlock()
	if err := s.conflict(name, subject, st); err != nil {
		return err
	}

	sub, err := s.nc.QueueSubscribeSync(subject, st.QueueGroup)
	if err != nil {
		return fmt.Errorf("subscribing endpoint %q to %q: %w", name, subject, err)
	}
	if st.PendingMsgs != 0 || st.PendingBytes != 0 {
		if err := sub.SetPendingLimits(st.PendingMsgs, st.PendingBytes); err != nil {
			_ = sub.Unsubscribe()
			return fmt.Errorf("endpoint %q pending limits: %w", name, err)
		}
	}
	if s.nc.IsConnected() {
		if err := s.nc.Flush(); err != nil {
			_ = sub.Unsubscribe()
			return fmt.Errorf("confirming subscription of endpoint %q: %w", name, err)
		}
	}
	ep := &Endpoint{
		EndpointConfig: EndpointConfig{
			Subject:            subject,
			Handler:            handler,
			Metadata:           st.Metadata,
			QueueGroup:         st.QueueGroup,
			QueueGroupDisabled: st.NoQueueGroup,
			MaxConcurrency:     st.MaxConcurrency,
		},
		Name:  name,
		sub:   sub,
		stats: endpointStats{load: newLoadRecorder(&s.cfg)},
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		_ = sub.Unsubscribe()
		return fmt.Errorf("adding endpoint %q: %w", name, ErrServiceStopped)
	}
	s.endpoints = append(s.endpoints, ep)
	d := newDispatcher(s, ep, sub, st.MaxConcurrency)
	s.watchdog.watch(d)
	d.reserve()
	d.launch()
	return nil
}

// conflict reports why an endpoint cannot join the service: it has stopped,
// or its subject overlaps that of another endpoint in the same queue group,
// so that NATS would hand a message to a subject both match to either at
// random. (nats.go's micro accepts that. Endpoints in different queue
// groups, or in none, may overlap: each gets every message, a fan-out that
// the ADR-32 compatibility suite uses.)
func (s *service) conflict(name, subject string, st adr32.Settings) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return fmt.Errorf("adding endpoint %q: %w", name, ErrServiceStopped)
	}
	for _, e := range s.endpoints {
		if !st.NoQueueGroup && !e.QueueGroupDisabled && e.QueueGroup == st.QueueGroup && adr32.Overlap(e.Subject, subject) {
			return validationError("endpoint %q: subject %q overlaps %q of endpoint %q in the same queue group %q, "+
				"which would receive its messages at random", name, subject, e.Subject, e.Name, st.QueueGroup)
		}
	}
	return nil
}

func (s *service) Config() Config {
	cfg := s.cfg
	cfg.Metadata = maps.Clone(cfg.Metadata)
	if cfg.Endpoint != nil {
		ec := *cfg.Endpoint
		ec.Metadata = maps.Clone(ec.Metadata)
		cfg.Endpoint = &ec
	}
	return cfg
}

func (s *service) endpointList() []*Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoints
}
