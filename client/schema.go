package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/adr32"
	"github.com/natsmux/natsmux/internal/schema"
	"github.com/natsmux/natsmux/internal/schema/validate"
	"github.com/natsmux/natsmux/micro"
)

// DefaultSchemaRefresh is the least time between two INFO requests that
// schema validation makes for one service, or for all of them, unless
// WithSchemaRefresh says otherwise.
const DefaultSchemaRefresh = 30 * time.Second

// MaxSchemaVersions bounds the distinct schemas that schema validation
// keeps for one endpoint subject: the versions of its service that run
// side by side, as during a rolling upgrade. Endpoint subjects are bounded
// by MaxLearnedEndpoints.
const MaxSchemaVersions = 4

// SchemaOption configures schema validation (WithSchemaValidation).
type SchemaOption func(*schemaConfig)

type schemaConfig struct {
	all       bool // every call, not only those with WithValidation(true)
	refresh   time.Duration
	warn      func(context.Context, SchemaWarning)
	discovery []micro.DiscoveryOpt
}

// WithSchemaValidation checks every call against the JSON Schemas that its
// endpoint publishes in INFO (binding.RequestSchemaKey,
// binding.ResponseSchemaKey): the request before it is sent, the reply
// when it comes. A request that breaks the schema fails with a 400
// *natsmux.Error that lists the fields as a service's validation failure
// does (binding.FieldErrors) and matches ErrInvalidRequest; it is never
// sent. A reply that breaks it fails with a 502 that matches
// ErrInvalidReply. WithValidation(false) leaves a call out; without this
// option, WithValidation(true) checks one call. See docs/client.md for how
// the schemas are fetched, cached and refreshed.
func WithSchemaValidation(opts ...SchemaOption) Option {
	return func(c *Client) {
		c.schemaCfg.all = true
		for _, opt := range opts {
			opt(&c.schemaCfg)
		}
	}
}

// WithSchemaRefresh sets the least time between two INFO requests for one
// service, which the client makes when a verdict may rest on a schema that
// changed, and between two INFO requests of all services, which it makes
// for a subject that no endpoint it knows of serves (DefaultSchemaRefresh).
// Zero asks every time.
func WithSchemaRefresh(d time.Duration) SchemaOption {
	return func(c *schemaConfig) { c.refresh = d }
}

// WithSchemaWarnings sends schema warnings to fn instead of logging them
// with slog.Default() at Warn. fn runs on the goroutine of the call that
// found the problem; it must not block.
func WithSchemaWarnings(fn func(context.Context, SchemaWarning)) SchemaOption {
	return func(c *schemaConfig) { c.warn = fn }
}

// WithSchemaDiscovery adds options to the INFO requests that fetch
// schemas, after the client's own, such as micro.WithDiscoveryQuiet to wait
// less for stragglers.
func WithSchemaDiscovery(opts ...micro.DiscoveryOpt) SchemaOption {
	return func(c *schemaConfig) { c.discovery = append(c.discovery, opts...) }
}

// WithValidation turns schema validation on or off for one call, whatever
// WithSchemaValidation says for the client.
func WithValidation(on bool) CallOption {
	return func(c *callConfig) { c.validate = &on }
}

// ErrInvalidRequest is the cause of the 400 error of a request that breaks
// the schema its endpoint publishes, found before sending;
// ErrInvalidReply is the cause of the 502 error of a reply that breaks it.
var (
	ErrInvalidRequest = errors.New("client: the request does not match the schema the service publishes")
	ErrInvalidReply   = errors.New("client: the reply does not match the schema the service publishes")
)

// schemaCache holds the schemas that services publish, fetched through
// INFO when a checked call first needs them, and checks calls against
// them.
type schemaCache struct {
	c     *Client
	cfg   schemaConfig
	sem   chan struct{} // one INFO request at a time
	state atomic.Pointer[schemaState]
}

// schemaState is one immutable picture of what services publish.
type schemaState struct {
	services  map[string]serviceSchemas
	index     *subjectIndex[[]*published] // by endpoint subject, at most MaxSchemaVersions each
	loadedAll time.Time                   // of the last INFO request to all services
}

type serviceSchemas struct {
	loaded    time.Time
	endpoints []*published
}

// published is what one version of a service publishes for one endpoint.
// It is shared by the states that keep it, so that its compiled schemas
// and the warnings it gave outlive a refresh that finds it unchanged.
type published struct {
	service, version, endpoint, subject string
	schemas                             [2]string // request, response as published; "" for none

	compileOnce sync.Once
	validators  [2]*validate.Validator // nil for none, or one that does not compile
	warned      sync.Map               // *expectation -> struct{}: compared once per caller's types
}

// direction indexes published.schemas and validators.
type direction int

const (
	requestDir direction = iota
	responseDir
)

func newSchemaCache(c *Client, cfg schemaConfig) *schemaCache {
	if cfg.warn == nil {
		cfg.warn = logSchemaWarning
	}
	return &schemaCache{c: c, cfg: cfg, sem: make(chan struct{}, 1)}
}

// checks reports whether a call with cfg is checked.
func (s *schemaCache) checks(cfg *callConfig) bool {
	if cfg.validate != nil {
		return *cfg.validate
	}
	return s.cfg.all
}

// middleware checks the calls whose Invocation asks for it; the client
// puts it last, next to the connection, so that every middleware sees its
// errors as it sees the service's.
func (s *schemaCache) middleware(next Invoker) Invoker {
	return InvokerFunc(func(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
		if inv.expect == nil {
			return next.Invoke(ctx, inv)
		}
		return s.invoke(ctx, inv, next)
	})
}

func (s *schemaCache) invoke(ctx context.Context, inv *Invocation, next Invoker) (*nats.Msg, error) {
	eps := s.endpoint(ctx, inv.Subject)
	s.compare(ctx, eps, inv.expect)
	checkRequest := len(inv.Data) > 0 && isJSON(inv.Header)
	if checkRequest {
		if err := s.check(ctx, inv, &eps, requestDir, inv.Data); err != nil {
			return nil, err
		}
	}
	reply, err := next.Invoke(ctx, inv)
	switch {
	case err == nil && len(reply.Data) > 0 && isJSON(reply.Header):
		if err := s.check(ctx, inv, &eps, responseDir, reply.Data); err != nil {
			return nil, err
		}
	case checkRequest && natsmux.CodeOf(err) == 400:
		// The service refused a request that its schema, as the client
		// knows it, accepts: it may publish another one by now.
		s.refresh(ctx, inv, eps)
	}
	return reply, err
}

// isJSON reports whether a message is JSON, as a typed endpoint reads one
// without a Content-Type; the schemas describe JSON payloads.
func isJSON(h nats.Header) bool {
	ct := binding.ContentTypeOf(h)
	return ct == "" || strings.EqualFold(ct, binding.JSONCodec{}.ContentType())
}

// endpoint returns what the endpoint that serves subject publishes,
// fetching the INFO of all services the first time, and again, once the
// refresh interval has passed, for a subject that no known endpoint
// serves.
func (s *schemaCache) endpoint(ctx context.Context, subject string) []*published {
	if eps := s.state.Load().lookup(subject); eps != nil {
		return eps
	}
	return s.load(ctx, "", func(st *schemaState) bool { return st == nil || s.due(st.loadedAll) }).lookup(subject)
}

// lookup returns what the endpoints that serve subject publish, one entry
// per version (with empty schemas for an endpoint that publishes none),
// or nil when no known endpoint serves it.
func (st *schemaState) lookup(subject string) []*published {
	if st == nil {
		return nil
	}
	eps, _ := st.index.first(subject)
	return eps
}

func (s *schemaCache) due(last time.Time) bool {
	return time.Since(last) >= s.cfg.refresh
}

// check checks data against the schemas of one direction and returns the
// error of a payload that breaks them. Before it fails a call, it fetches
// the INFO of the endpoint's services again, if the last time is long
// enough ago, and checks against what they publish now, so that a failure
// never rests on a schema the service has replaced.
func (s *schemaCache) check(ctx context.Context, inv *Invocation, eps *[]*published, dir direction, data []byte) error {
	violations := s.verdict(ctx, *eps, dir, data)
	if violations == nil {
		return nil
	}
	if fresh, changed := s.refresh(ctx, inv, *eps); changed {
		*eps = fresh
		if violations = s.verdict(ctx, fresh, dir, data); violations == nil {
			return nil
		}
	}
	return violationError(inv.Subject, dir, violations)
}

// verdict returns nil when one of the published versions accepts data, or
// when none publishes a schema to check it against; else what the first
// one finds wrong. Accepting what any running version accepts keeps a
// rolling upgrade from failing the replies of the instances not yet
// upgraded.
func (s *schemaCache) verdict(ctx context.Context, eps []*published, dir direction, data []byte) []validate.Violation {
	var first []validate.Violation
	for _, p := range eps {
		v := p.validator(ctx, s, dir)
		if v == nil {
			continue
		}
		violations, err := v.Violations(data)
		if err != nil {
			violations = []validate.Violation{{Keyword: "json", Message: err.Error()}}
		}
		if len(violations) == 0 {
			return nil
		}
		if first == nil {
			first = violations
		}
	}
	return first
}

// refresh fetches the INFO of the services of eps again, those whose last
// fetch is at least the refresh interval ago, and returns what the
// endpoint publishes now and whether that changed.
func (s *schemaCache) refresh(ctx context.Context, inv *Invocation, eps []*published) ([]*published, bool) {
	if len(eps) == 0 {
		return eps, false // no service to ask
	}
	var services []string
	for _, p := range eps {
		if !slices.Contains(services, p.service) {
			services = append(services, p.service)
		}
	}
	st := s.state.Load()
	for _, name := range services {
		st = s.load(ctx, name, func(st *schemaState) bool { return st == nil || s.due(st.services[name].loaded) })
	}
	fresh := st.lookup(inv.Subject)
	if slices.Equal(fresh, eps) {
		return eps, false
	}
	s.compare(ctx, fresh, inv.expect)
	return fresh, true
}

// LoadSchemas fetches the INFO of services, or of every service when none
// is named, and keeps the schemas they publish for schema validation (see
// WithSchemaValidation), in place of what the client knew of them: at
// start-up, so that the first checked call does not wait for INFO, or
// after a deployment. Without names, services that do not answer are
// forgotten; a named one that does not answer is kept. It returns the
// errors of the INFO requests and says what it left out for
// MaxLearnedEndpoints or MaxSchemaVersions.
func (c *Client) LoadSchemas(ctx context.Context, services ...string) error {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	always := func(*schemaState) bool { return true }
	if len(services) == 0 {
		return c.schemas.loadErr(ctx, "", always)
	}
	var errs []error
	for _, name := range services {
		errs = append(errs, c.schemas.loadErr(ctx, name, always))
	}
	return errors.Join(errs...)
}

// load is loadErr for calls, which go on whatever happened: what went
// wrong is a warning.
func (s *schemaCache) load(ctx context.Context, service string, due func(*schemaState) bool) *schemaState {
	if err := s.loadErr(ctx, service, due); err != nil && ctx.Err() == nil {
		s.cfg.warn(ctx, SchemaWarning{Service: service, Err: err})
	}
	return s.state.Load()
}

// loadErr fetches the INFO of service, or of all services for "", when due
// says the state needs it (checked again once it is this goroutine's turn,
// since another may have just done it), and stores the new state.
func (s *schemaCache) loadErr(ctx context.Context, service string, due func(*schemaState) bool) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("client: fetching schemas: %w", ctx.Err())
	}
	defer func() { <-s.sem }()
	old := s.state.Load()
	if !due(old) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("client: fetching schemas: %w", err) // ask nothing for a call that has ended
	}
	opts := slices.Clone(s.cfg.discovery)
	if service != "" {
		opts = append(opts, micro.WithDiscoveryService(service))
	}
	now := time.Now()
	infos, err := s.c.Info(ctx, opts...)
	if err != nil {
		err = fmt.Errorf("client: fetching schemas: %w", err)
	}
	// A caller that stopped waiting says nothing about the services: what
	// came is kept, and the next call may ask again. Any other outcome
	// counts, failures too, so that they do not turn every call into an
	// INFO request. Services that did not answer are forgotten only when
	// all were asked and the question ended as it should.
	if err != nil && ctx.Err() != nil {
		now = time.Time{}
	}
	forget := service == "" && err == nil && ctx.Err() == nil
	next, dropped := old.with(service, infos, now, forget)
	s.state.Store(next)
	if dropped > 0 {
		err = errors.Join(err, fmt.Errorf("client: %d endpoint schemas beyond the limits of %d subjects and %d versions each were left out",
			dropped, MaxLearnedEndpoints, MaxSchemaVersions))
	}
	return err
}

// with returns a new state in which what infos publish replaces what st
// knew of the services that answered, and, when forget is set, nothing is
// left of those that did not. A named service that no instance answered
// for keeps what it published, with a new time, so that a service in the
// middle of a restart is neither forgotten nor asked again at once. A zero
// now leaves the times as they were.
func (st *schemaState) with(service string, infos []micro.Info, now time.Time, forget bool) (*schemaState, int) {
	next := &schemaState{services: map[string]serviceSchemas{}}
	known := map[string]*published{}
	if st != nil {
		next.loadedAll = st.loadedAll
		for name, svc := range st.services {
			for _, p := range svc.endpoints {
				known[p.key()] = p
			}
			if !forget {
				next.services[name] = svc
			}
		}
	}
	switch {
	case now.IsZero():
	case service == "":
		next.loadedAll = now
	default:
		svc := next.services[service]
		svc.loaded = now
		next.services[service] = svc
	}
	fresh := map[string][]*published{}
	filed := map[*published]bool{} // instances of one version publish the same
	dropped := 0
	for _, info := range infos {
		if service != "" && info.Name != service {
			continue
		}
		for _, ep := range info.Endpoints {
			if adr32.CheckSubject(ep.Subject, true) != nil {
				continue
			}
			p := &published{service: info.Name, version: info.Version, endpoint: ep.Name, subject: ep.Subject,
				schemas: [2]string{ep.Metadata[schema.RequestKey], ep.Metadata[schema.ResponseKey]}}
			key := p.key()
			if prev, ok := known[key]; ok {
				p = prev
			}
			switch {
			case filed[p]:
			case len(filed) == MaxLearnedEndpoints*MaxSchemaVersions: // more than the index can keep
				dropped++
			default:
				filed[p], known[key] = true, p
				fresh[info.Name] = append(fresh[info.Name], p)
			}
		}
	}
	for name, eps := range fresh {
		next.services[name] = serviceSchemas{loaded: now, endpoints: eps}
	}
	return next, dropped + next.reindex()
}

func (p *published) key() string {
	return strings.Join([]string{p.service, p.version, p.endpoint, p.subject, p.schemas[0], p.schemas[1]}, "\x00")
}

// reindex files the services' endpoints by subject, within
// MaxLearnedEndpoints subjects and MaxSchemaVersions per subject, drops
// what does not fit from the services too, and returns how many it
// dropped. Services go in order of name, so that what is dropped does not
// depend on the order of replies.
func (st *schemaState) reindex() int {
	bySubject := map[string][]*published{}
	dropped := 0
	for _, name := range slices.Sorted(maps.Keys(st.services)) {
		svc := st.services[name]
		kept := svc.endpoints[:0:0]
		for _, p := range svc.endpoints {
			list, ok := bySubject[p.subject]
			if !ok && len(bySubject) == MaxLearnedEndpoints || len(list) == MaxSchemaVersions {
				dropped++
				continue
			}
			bySubject[p.subject] = append(list, p)
			kept = append(kept, p)
		}
		svc.endpoints = kept
		st.services[name] = svc
	}
	st.index = newSubjectIndex(bySubject)
	return dropped
}

// validator returns the compiled schema of one direction, or nil when the
// endpoint publishes none or one that does not compile, which it reports
// once.
func (p *published) validator(ctx context.Context, s *schemaCache, dir direction) *validate.Validator {
	p.compileOnce.Do(func() {
		for d, text := range p.schemas {
			if text == "" {
				continue
			}
			v, err := validate.Compile([]byte(text))
			if err != nil {
				s.cfg.warn(ctx, p.warning(SchemaWarning{Err: fmt.Errorf("the %s schema is no valid JSON Schema, calls are not checked against it: %w",
					direction(d), err)}))
				continue
			}
			p.validators[d] = v
		}
	})
	return p.validators[dir]
}

func (d direction) String() string {
	if d == requestDir {
		return "request"
	}
	return "response"
}

// warning fills in the endpoint that w is about.
func (p *published) warning(w SchemaWarning) SchemaWarning {
	w.Service, w.Version, w.Endpoint, w.Subject = p.service, p.version, p.endpoint, p.subject
	return w
}
