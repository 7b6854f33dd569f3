package natsmux

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// Registration mistakes (an invalid name or template, a duplicate subject,
// Use after Handle) panic with a message that says what is wrong, as
// net/http and chi do.
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
	mu       sync.Mutex
	routes   []*route
	subjects map[string]string // subscription subject -> endpoint name
	mounts   []*mount
}

// route is one registered endpoint.
type route struct {
	router     *Router
	name       string
	template   string // relative to the router's prefix until registered
	settings   adr32.Settings
	middleware []Middleware
	endpoint   *Endpoint // as declared, before any mount
	handler    Handler   // the endpoint's whole chain
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
	return &Router{tree: &tree{subjects: map[string]string{}}}
}

// Use appends middleware to the router's stack. The first middleware added
// runs first (outermost). Use panics once an endpoint has been registered on
// the router or on a group of it, since that endpoint's chain is built.
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
// WithSubject's template, or by the name. The endpoint's chain is built now;
// if the router is mounted, the endpoint goes live before Handle returns.
func (r *Router) Handle(name string, h Handler, opts ...EndpointOption) {
	if h == nil {
		panic(fmt.Sprintf("natsmux: Handle(%q): nil handler", name))
	}
	if err := adr32.CheckName(name); err != nil {
		panic(fmt.Sprintf("natsmux: Handle(%q): %v", name, err))
	}
	rt := &route{router: r, name: name, template: name}
	if p, ok := h.(MetadataProvider); ok {
		WithMetadata(p.EndpointMetadata()).applyEndpoint(rt)
	}
	for _, opt := range opts {
		opt.applyEndpoint(rt)
	}
	rt.template = adr32.JoinSubject(r.prefix, rt.template)
	subject, params, err := parseTemplate(rt.template)
	if err != nil {
		panic(fmt.Sprintf("natsmux: Handle(%q): %v", name, err))
	}

	r.tree.mu.Lock()
	defer r.tree.mu.Unlock()
	if other, dup := r.tree.subjects[subject]; dup {
		panic(fmt.Sprintf("natsmux: Handle(%q): subject %q is already served by endpoint %q", name, subject, other))
	}
	rt.endpoint = rt.describe(subject, params, micro.Config{})
	rt.handler = Chain(append(r.stack(), rt.middleware...)...)(h)
	r.tree.subjects[subject] = name
	r.tree.routes = append(r.tree.routes, rt)
	for p := r; p != nil; p = p.parent {
		p.sealed = true
	}
	r.tree.mounts = slices.DeleteFunc(r.tree.mounts, func(m *mount) bool {
		err := m.add(rt)
		if errors.Is(err, micro.ErrServiceStopped) {
			return true // the service is gone; forget it
		}
		if err != nil {
			panic(fmt.Sprintf("natsmux: Handle(%q) on service %s: %v", name, m.cfg.Name, err))
		}
		return false
	})
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

// ServeNATS makes the router a Handler that dispatches in memory, with no
// NATS involved: it finds the endpoint whose subject matches req.Subject
// (literal tokens beat wildcards; among equals the first registered wins),
// sets req.Endpoint, puts req on the context and runs that endpoint's chain,
// as a mounted router does; a reply sent with ReplyNow is returned in place
// of the chain's, once the chain returns. It returns an error matching
// ErrNotFound
// when no endpoint matches. Tests use it to call handlers directly.
func (r *Router) ServeNATS(ctx context.Context, req *Request) (*Response, error) {
	rt := r.match(req.Subject)
	if rt == nil {
		return nil, Errorf(404, "no endpoint for subject %q", req.Subject)
	}
	req.Endpoint = rt.endpoint
	early := &memoryReply{}
	req.replier = early
	resp, err := serve(WithRequest(ctx, req), req, rt.handler)
	if !early.reply(req, resp, err) {
		return early.resp, early.err // ReplyNow answered first
	}
	return resp, err
}

func (r *Router) match(subject string) *route {
	r.tree.mu.Lock()
	defer r.tree.mu.Unlock()
	var best *route
	bestScore := -1
	for _, rt := range r.tree.routes {
		if !adr32.Matches(rt.endpoint.Subject, subject) {
			continue
		}
		if score := literalTokens(rt.endpoint.Subject); score > bestScore {
			best, bestScore = rt, score
		}
	}
	return best
}

func literalTokens(subject string) int {
	n := 0
	for tok := range strings.SplitSeq(subject, ".") {
		if tok != "*" && tok != ">" {
			n++
		}
	}
	return n
}

// describe returns the endpoint as it is on a service with config cfg: the
// queue group, concurrency, pending limits and metadata its groups and the
// service give it.
func (rt *route) describe(subject string, params []param, cfg micro.Config) *Endpoint {
	eff := rt.effective(cfg)
	md := eff.Metadata
	if len(params) > 0 {
		md = maps.Clone(md)
		if md == nil {
			md = map[string]string{}
		}
		md[TemplateMetadataKey] = rt.template
	}
	return &Endpoint{
		Service:            cfg.Name,
		Name:               rt.name,
		Subject:            subject,
		Template:           rt.template,
		QueueGroup:         eff.QueueGroup,
		QueueGroupDisabled: eff.NoQueueGroup,
		Metadata:           md,
		MaxConcurrency:     eff.MaxConcurrency,
		params:             params,
		pendingMsgs:        eff.PendingMsgs,
		pendingBytes:       eff.PendingBytes,
	}
}

// effective folds the settings from the service down through the groups to
// the endpoint.
func (rt *route) effective(cfg micro.Config) adr32.Settings {
	eff := adr32.Settings{QueueGroup: cfg.QueueGroup, NoQueueGroup: cfg.QueueGroupDisabled, MaxConcurrency: cfg.MaxConcurrency}
	var path []*Router
	for p := rt.router; p != nil; p = p.parent {
		path = append(path, p)
	}
	for i := len(path) - 1; i >= 0; i-- {
		eff = path[i].settings.Inherit(eff)
	}
	return rt.settings.Inherit(eff).Resolve()
}
