package client

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
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
	case checkRequest && natsmux.CodeOf(err) == 400 && s.publishes(ctx, eps, requestDir):
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

// publishes reports whether one of the versions publishes a schema for
// dir that the client can check against.
func (s *schemaCache) publishes(ctx context.Context, eps []*published, dir direction) bool {
	return slices.ContainsFunc(eps, func(p *published) bool { return p.validator(ctx, s, dir) != nil })
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
