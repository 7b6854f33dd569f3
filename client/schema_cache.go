package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/natsmux/natsmux/internal/adr32"
	"github.com/natsmux/natsmux/internal/schema"
	"github.com/natsmux/natsmux/internal/schema/validate"
	"github.com/natsmux/natsmux/micro"
)

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
