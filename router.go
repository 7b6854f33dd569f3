package natsmux

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/natsmux/natsmux/internal/adr32"
	"github.com/natsmux/natsmux/micro"
)

// TemplateMetadataKey is the endpoint metadata key under which a subject
// template with parameters is published, so that INFO shows
// "orders.{id}.get" next to the subscribed "orders.*.get".
const TemplateMetadataKey = "natsmux.subject_template"

// Router registers endpoints and the middleware that wraps them, in the
// style of chi: Use adds middleware, With and Group derive routers, Handle
// registers an endpoint. A router and every router derived from it form one
// tree; Mount or Serve puts the whole tree on a service.
//
// Registration mistakes (an invalid name or template, a duplicate name,
// subjects that overlap, Use after Handle) panic with a message that says
// what is wrong, as net/http and chi do.
type Router struct {
	tree     *tree
	parent   *Router
	prefix   string // subject prefix, possibly a template
	settings adr32.Settings
	mws      []Middleware
	sealed   bool // an endpoint was registered here or below; guarded by tree.mu
}

// tree is what all routers derived from one NewRouter share.
type tree struct {
	mu     sync.Mutex
	routes []*route
	mounts []*mount // the services the tree is mounted on, while they run
	local  Handler  // Router.ServeNATS's in-memory mount, made on first use
}

// route is one registered endpoint.
type route struct {
	router   *Router
	name     string
	template string // relative to the router's prefix until registered
	subject  string // the subscription subject, wildcards for parameters
	params   []param
	settings adr32.Settings
	mws      []Middleware // the routers' and the endpoint's own, outermost first
	handler  Handler
	endpoint *Endpoint // as registered, on no service
}

// MetadataProvider is implemented by handlers that describe themselves, such
// as binding's typed handlers, which publish their request and response
// schemas: Handle adds the metadata to the endpoint's, under the endpoint's
// own WithMetadata and over its groups'.
type MetadataProvider interface {
	EndpointMetadata() map[string]string
}

// NewRouter returns an empty router.
func NewRouter() *Router {
	return &Router{tree: &tree{}}
}

// Use appends middleware to the router's stack. The first middleware added
// runs first (outermost). Use panics once an endpoint has been registered on
// the router or on a group of it, since that endpoint's chain is decided.
func (r *Router) Use(mws ...Middleware) {
	r.tree.mu.Lock()
	defer r.tree.mu.Unlock()
	if r.sealed {
		panic("natsmux: Use called after Handle on this router or one of its groups; add middleware before endpoints")
	}
	r.mws = append(r.mws, mws...)
}

// With returns a router that shares this one's prefix and settings and adds
// mws to its stack, for endpoints that need more middleware than their
// siblings: r.With(auth).Handle("delete", h).
func (r *Router) With(mws ...Middleware) *Router {
	return &Router{tree: r.tree, parent: r, prefix: r.prefix, mws: slices.Clone(mws)}
}

// Group returns a router for endpoints under prefix (an ADR-32 group): their
// subjects start with prefix, and they take the group's options (queue
// group, concurrency, pending limits, metadata) unless they set their own.
// The prefix may hold template parameters, such as "tenants.{tenant}".
func (r *Router) Group(prefix string, opts ...GroupOption) *Router {
	g := &Router{tree: r.tree, parent: r, prefix: adr32.JoinSubject(r.prefix, prefix)}
	for _, opt := range opts {
		opt.applyGroup(&g.settings)
	}
	return g
}

// Route calls fn with a new group under prefix and returns the group.
func (r *Router) Route(prefix string, fn func(*Router), opts ...GroupOption) *Router {
	g := r.Group(prefix, opts...)
	fn(g)
	return g
}

// HandleFunc registers fn as the endpoint name; see Handle.
func (r *Router) HandleFunc(name string, fn func(context.Context, *Request) (*Response, error), opts ...EndpointOption) {
	r.Handle(name, HandlerFunc(fn), opts...)
}

// Handle registers the endpoint name, served by h behind the middleware of
// the router and its parents. Its subject is the router's prefix followed by
// WithSubject's template, or by the name.
//
// Endpoint names are unique in a tree, and no two endpoints' subjects may
// overlap (match a common subject, as orders.create and orders.{id} do): on
// the wire both subscriptions would receive such a message and NATS would
// pick one at random, so Handle panics, naming both endpoints. Nor may a
// subject overlap the discovery subjects under $SRV.
//
// If the router is mounted, the endpoint goes live before Handle returns.
func (r *Router) Handle(name string, h Handler, opts ...EndpointOption) {
	rt := r.newRoute(name, h, opts)
	r.tree.mu.Lock()
	defer r.tree.mu.Unlock()
	if err := r.tree.conflict(rt); err != nil {
		panic(fmt.Sprintf("natsmux: Handle(%q): %v", name, err))
	}
	rt.mws = append(r.stack(), rt.mws...)
	r.tree.routes = append(r.tree.routes, rt)
	for p := r; p != nil; p = p.parent {
		p.sealed = true
	}
	r.tree.mounts = slices.DeleteFunc(r.tree.mounts, func(m *mount) bool {
		if m.svc.Stopped() {
			return true // the service is gone; let it go
		}
		if err := m.add(rt); err != nil {
			panic(fmt.Sprintf("natsmux: Handle(%q) on service %s: %v", name, m.cfg.Name, err))
		}
		return false
	})
}

// newRoute checks what can be checked of an endpoint on its own.
func (r *Router) newRoute(name string, h Handler, opts []EndpointOption) *route {
	if h == nil {
		panic(fmt.Sprintf("natsmux: Handle(%q): nil handler", name))
	}
	if err := adr32.CheckName(name); err != nil {
		panic(fmt.Sprintf("natsmux: Handle(%q): %v", name, err))
	}
	rt := &route{router: r, name: name, template: name, handler: h}
	if p, ok := h.(MetadataProvider); ok {
		WithMetadata(p.EndpointMetadata()).applyEndpoint(rt)
	}
	for _, opt := range opts {
		opt.applyEndpoint(rt)
	}
	rt.template = adr32.JoinSubject(r.prefix, rt.template)
	var err error
	if rt.subject, rt.params, err = parseTemplate(rt.template); err != nil {
		panic(fmt.Sprintf("natsmux: Handle(%q): %v", name, err))
	}
	rt.endpoint = rt.describe(micro.Config{})
	return rt
}

// conflict reports why rt cannot join the tree: a name in use, or a subject
// that overlaps another endpoint's or the discovery subjects.
func (t *tree) conflict(rt *route) error {
	for _, other := range t.routes {
		switch {
		case other.name == rt.name:
			return fmt.Errorf("an endpoint named %q is already registered (subject %q); endpoint names must be unique", rt.name, other.template)
		case other.subject == rt.subject:
			return fmt.Errorf("subject %q is already served by endpoint %q", rt.subject, other.name)
		case adr32.Overlap(other.subject, rt.subject):
			return fmt.Errorf("subject %q overlaps %q of endpoint %q: a message to a subject both match would reach either at random; "+
				"give them subjects that cannot both match (for example orders.get.{id} beside orders.create), or serve both from one endpoint",
				rt.template, other.template, other.name)
		}
	}
	if err := adr32.CheckDiscoveryOverlap(rt.subject, micro.APIPrefix); err != nil {
		return err
	}
	return nil
}

// stack returns the middleware from the root router down to r, in a new
// slice, so that no two endpoints share a backing array.
func (r *Router) stack() []Middleware {
	var path []*Router
	for p := r; p != nil; p = p.parent {
		path = append(path, p)
	}
	var mws []Middleware
	for i := len(path) - 1; i >= 0; i-- {
		mws = append(mws, path[i].mws...)
	}
	return mws
}

// Endpoints returns the endpoints registered on the router's tree, in
// registration order, as they would be on a service with default settings.
func (r *Router) Endpoints() []*Endpoint {
	r.tree.mu.Lock()
	defer r.tree.mu.Unlock()
	out := make([]*Endpoint, len(r.tree.routes))
	for i, rt := range r.tree.routes {
		out[i] = rt.endpoint
	}
	return out
}

// ServeNATS makes the router a Handler that serves in memory, with no NATS
// involved, exactly as the router mounted without options serves over NATS:
// InMemory(r) documents what it returns. Tests use it to call endpoints
// directly.
func (r *Router) ServeNATS(ctx context.Context, req *Request) (*Response, error) {
	r.tree.mu.Lock()
	if r.tree.local == nil {
		r.tree.local = InMemory(r)
	}
	l := r.tree.local
	r.tree.mu.Unlock()
	return l.ServeNATS(ctx, req)
}

// match returns the route whose subject matches subject; there is at most
// one, since subjects may not overlap.
func (t *tree) match(subject string) *route {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rt := range t.routes {
		if adr32.Matches(rt.subject, subject) {
			return rt
		}
	}
	return nil
}

// bind returns the route as it is on a service with config cfg, served as
// sc says: its endpoint and its chain.
func (rt *route) bind(cfg micro.Config, sc serveConfig) *boundRoute {
	ep := rt.describe(cfg)
	return &boundRoute{ep: ep, handler: buildChain(ep, rt.mws, rt.handler, sc.errorHandler)}
}

// describe returns the endpoint as it is on a service with config cfg: the
// queue group, concurrency, pending limits and metadata that the endpoint,
// its groups and the service give it.
func (rt *route) describe(cfg micro.Config) *Endpoint {
	st := adr32.Settings{QueueGroup: cfg.QueueGroup, NoQueueGroup: cfg.QueueGroupDisabled, MaxConcurrency: cfg.MaxConcurrency}
	var path []*Router
	for p := rt.router; p != nil; p = p.parent {
		path = append(path, p)
	}
	for i := len(path) - 1; i >= 0; i-- {
		st = path[i].settings.Inherit(st)
	}
	st = rt.settings.Inherit(st).Resolve()
	if len(rt.params) > 0 {
		st.Metadata = maps.Clone(st.Metadata)
		if st.Metadata == nil {
			st.Metadata = map[string]string{}
		}
		st.Metadata[TemplateMetadataKey] = rt.template
	}
	return &Endpoint{
		Service:            cfg.Name,
		Name:               rt.name,
		Subject:            rt.subject,
		Template:           rt.template,
		QueueGroup:         st.QueueGroup,
		QueueGroupDisabled: st.NoQueueGroup,
		Metadata:           st.Metadata,
		MaxConcurrency:     st.MaxConcurrency,
		params:             rt.params,
		settings:           st,
	}
}
