package micro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
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

type group struct {
	svc            *service
	prefix         string
	queueGroup     string
	qgDisabled     bool
	maxConcurrency int
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
	s.handlerCtx, s.cancelHandlers = context.WithCancel(context.Background())
	s.watchdog = newWatchdog()
	s.callbacks.start(s.done)
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
	qg, noQueue := ResolveQueueGroup(ec.QueueGroup, s.cfg.QueueGroup, ec.QueueGroupDisabled, s.cfg.QueueGroupDisabled)
	return s.addEndpoint("default", ec.Subject, ec.Handler, &endpointOpts{
		metadata:       maps.Clone(ec.Metadata),
		queueGroup:     qg,
		qgDisabled:     noQueue,
		maxConcurrency: firstPositive(ec.MaxConcurrency, s.cfg.MaxConcurrency),
	})
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
	subject := cmpOr(o.subject, name)
	o.queueGroup, o.qgDisabled = ResolveQueueGroup(o.queueGroup, s.cfg.QueueGroup, o.qgDisabled, s.cfg.QueueGroupDisabled)
	o.maxConcurrency = firstPositive(o.maxConcurrency, s.cfg.MaxConcurrency)
	return s.addEndpoint(name, subject, handler, o)
}

func (s *service) AddGroup(name string, opts ...GroupOpt) Group {
	root := &group{svc: s, queueGroup: s.cfg.QueueGroup, qgDisabled: s.cfg.QueueGroupDisabled, maxConcurrency: s.cfg.MaxConcurrency}
	return root.AddGroup(name, opts...)
}

func (g *group) AddGroup(name string, opts ...GroupOpt) Group {
	var o groupOpts
	for _, opt := range opts {
		opt(&o)
	}
	qg, noQueue := ResolveQueueGroup(o.queueGroup, g.queueGroup, o.qgDisabled, g.qgDisabled)
	return &group{
		svc:            g.svc,
		prefix:         JoinSubject(g.prefix, name),
		queueGroup:     qg,
		qgDisabled:     noQueue,
		maxConcurrency: firstPositive(o.maxConcurrency, g.maxConcurrency),
	}
}

func (g *group) AddEndpoint(name string, handler Handler, opts ...EndpointOpt) error {
	o, err := collectEndpointOpts(opts)
	if err != nil {
		return err
	}
	subject := JoinSubject(g.prefix, cmpOr(o.subject, name))
	o.queueGroup, o.qgDisabled = ResolveQueueGroup(o.queueGroup, g.queueGroup, o.qgDisabled, g.qgDisabled)
	o.maxConcurrency = firstPositive(o.maxConcurrency, g.maxConcurrency)
	return g.svc.addEndpoint(name, subject, handler, o)
}

func collectEndpointOpts(opts []EndpointOpt) (*endpointOpts, error) {
	o := &endpointOpts{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// JoinSubject joins a group prefix and a subject as ADR-32 groups do: with a
// dot, leaving out an empty part.
func JoinSubject(prefix, name string) string {
	switch {
	case prefix == "":
		return name
	case name == "":
		return prefix
	default:
		return prefix + "." + name
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// addEndpoint validates a resolved endpoint, subscribes it and starts its
// dispatcher. It flushes so that the endpoint answers once it returns.
func (s *service) addEndpoint(name, subject string, handler Handler, o *endpointOpts) error {
	if !nameRegexp.MatchString(name) {
		return validationError("invalid endpoint name %q: %s", name, nameRule)
	}
	if err := ValidateSubject(subject); err != nil {
		return err
	}
	if subject == s.prefix || strings.HasPrefix(subject, s.prefix+".") {
		return validationError("invalid endpoint subject %q: %s is reserved for discovery", subject, s.prefix)
	}
	if !o.qgDisabled {
		if err := ValidateQueueGroup(o.queueGroup); err != nil {
			return err
		}
	}
	if handler == nil {
		return validationError("endpoint %q has no handler", name)
	}
	if s.Stopped() {
		return fmt.Errorf("adding endpoint %q: %w", name, ErrServiceStopped)
	}

	sub, err := s.nc.QueueSubscribeSync(subject, o.queueGroup)
	if err != nil {
		return fmt.Errorf("subscribing endpoint %q to %q: %w", name, subject, err)
	}
	if o.msgLimit != 0 || o.bytesLimit != 0 {
		if err := sub.SetPendingLimits(o.msgLimit, o.bytesLimit); err != nil {
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
			Metadata:           o.metadata,
			QueueGroup:         o.queueGroup,
			QueueGroupDisabled: o.qgDisabled,
			MaxConcurrency:     o.maxConcurrency,
		},
		Name: name,
		sub:  sub,
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		_ = sub.Unsubscribe()
		return fmt.Errorf("adding endpoint %q: %w", name, ErrServiceStopped)
	}
	s.endpoints = append(s.endpoints, ep)
	d := newDispatcher(s, ep, sub, o.maxConcurrency)
	s.watchdog.watch(d)
	d.start()
	return nil
}

// subscribeDiscovery subscribes PING, INFO and STATS on the three subjects
// each: all services, all instances of this name, this instance. These are
// plain subscriptions: every instance must answer.
func (s *service) subscribeDiscovery() error {
	for _, verb := range []Verb{PingVerb, InfoVerb, StatsVerb} {
		handler := s.discoveryHandler(verb)
		for _, target := range [][2]string{{"", ""}, {s.cfg.Name, ""}, {s.cfg.Name, s.id}} {
			subject, _ := controlSubject(s.prefix, verb, target[0], target[1])
			sub, err := s.nc.Subscribe(subject, handler)
			if err != nil {
				return fmt.Errorf("subscribing to %q: %w", subject, err)
			}
			s.running.Add(1)
			sub.SetClosedHandler(func(string) { s.running.Done() })
			s.mu.Lock()
			s.verbSubs = append(s.verbSubs, sub)
			s.mu.Unlock()
		}
	}
	return s.nc.Flush()
}

func (s *service) discoveryHandler(verb Verb) nats.MsgHandler {
	return func(m *nats.Msg) {
		var data []byte
		switch verb {
		case PingVerb:
			data = s.ping
		case InfoVerb:
			data, _ = json.Marshal(s.Info())
		case StatsVerb:
			data, _ = json.Marshal(s.Stats())
		}
		err := m.Respond(data)
		if err == nil {
			return
		}
		reply := &nats.Msg{Header: nats.Header{
			ErrorHeader:     {fmt.Sprintf("Error handling %s request: %s", verb, err)},
			ErrorCodeHeader: {"500"},
		}}
		if err := m.RespondMsg(reply); err != nil {
			s.reportError(&NATSError{Subject: m.Subject, Description: err.Error(), err: err})
		}
	}
}

func (s *service) identity() ServiceIdentity {
	return ServiceIdentity{
		Name:     s.cfg.Name,
		ID:       s.id,
		Version:  s.cfg.Version,
		Metadata: maps.Clone(s.cfg.Metadata),
	}
}

func (s *service) endpointList() []*Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoints
}

func (s *service) Info() Info {
	endpoints := s.endpointList()
	infos := make([]EndpointInfo, 0, len(endpoints))
	for _, e := range endpoints {
		infos = append(infos, e.info())
	}
	return Info{
		ServiceIdentity: s.identity(),
		Type:            InfoResponseType,
		Description:     s.cfg.Description,
		Endpoints:       infos,
	}
}

func (s *service) Stats() Stats {
	s.mu.Lock()
	endpoints, started := s.endpoints, s.started
	s.mu.Unlock()
	stats := Stats{
		ServiceIdentity: s.identity(),
		Type:            StatsResponseType,
		Started:         started,
		Endpoints:       make([]*EndpointStats, 0, len(endpoints)),
	}
	for _, e := range endpoints {
		es := e.snapshot()
		if s.cfg.StatsHandler != nil {
			es.Data = s.statsData(e)
		}
		stats.Endpoints = append(stats.Endpoints, es)
	}
	return stats
}

// statsData calls StatsHandler for e. A panic or a value that does not
// marshal leaves the endpoint without data; the STATS reply still goes out.
func (s *service) statsData(e *Endpoint) (data json.RawMessage) {
	defer func() {
		if v := recover(); v != nil {
			data = nil
			s.reportPanic(e.Subject, newPanicError(v))
		}
	}()
	data, _ = json.Marshal(s.cfg.StatsHandler(e))
	return data
}

func (s *service) Reset() {
	s.mu.Lock()
	endpoints := s.endpoints
	s.started = time.Now().UTC()
	s.mu.Unlock()
	for _, e := range endpoints {
		e.stats.reset()
	}
}

func (s *service) Stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
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

func (s *service) Done() <-chan struct{} {
	return s.done
}

func (s *service) Stop() error {
	return s.stop()
}

func (s *service) Shutdown(ctx context.Context) error {
	err := s.stop()
	select {
	case <-s.drained:
		return err
	case <-ctx.Done():
		s.cancelHandlers()
		return errors.Join(err, fmt.Errorf("shutting down service %s: %w", s.cfg.Name, ctx.Err()))
	}
}

// stop drains every subscription and, once every handler has returned,
// closes drained, runs DoneHandler and closes done. Only the first call does
// anything.
func (s *service) stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	subs := s.verbSubs
	for _, e := range s.endpoints {
		subs = append(subs, e.sub)
	}
	s.endpoints, s.verbSubs = nil, nil
	s.mu.Unlock()

	var errs []error
	for _, sub := range subs {
		if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) &&
			!errors.Is(err, nats.ErrConnectionDraining) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, fmt.Errorf("draining subscription %q: %w", sub.Subject, err))
		}
	}
	unregister(s)
	go s.finish()
	return errors.Join(errs...)
}

func (s *service) finish() {
	s.running.Wait()
	s.watchdog.close()
	close(s.drained)
	s.cancelHandlers()
	if h := s.cfg.DoneHandler; h != nil {
		s.callbacks.push(func() { h(s) })
	}
	s.callbacks.close()
}

// handleAsyncErr counts an asynchronous error of one of the service's
// subscriptions and reports it. It runs on the connection's callback
// goroutine and calls ErrorHandler there, before the connection's own error
// handler runs, as nats.go's micro does.
func (s *service) handleAsyncErr(sub *nats.Subscription, err error) {
	if sub == nil {
		return
	}
	s.mu.Lock()
	owned := false
	for _, e := range s.endpoints {
		if e.sub == sub {
			e.stats.recordError(err.Error())
			owned = true
		}
	}
	for _, v := range s.verbSubs {
		owned = owned || v == sub
	}
	s.mu.Unlock()
	if h := s.cfg.ErrorHandler; owned && h != nil {
		h(s, &NATSError{Subject: sub.Subject, Description: err.Error(), err: err})
	}
}

func (s *service) reportError(err *NATSError) {
	if h := s.cfg.ErrorHandler; h != nil {
		s.callbacks.push(func() { h(s, err) })
	}
}

// reportPanic hands a recovered panic to ErrorHandler or, without one, to
// the default slog logger, as net/http logs a panicking handler.
func (s *service) reportPanic(subject string, perr *PanicError) {
	if s.cfg.ErrorHandler == nil {
		slog.Error("micro: recovered from a panic", "service", s.cfg.Name, "subject", subject,
			"panic", perr.Value, "stack", string(perr.Stack))
		return
	}
	s.reportError(&NATSError{Subject: subject, Description: perr.Error(), err: perr})
}
