package natsmux

import (
	"cmp"
	"errors"
	"fmt"
	"maps"

	"github.com/natsmux/natsmux/internal/adr32"
)

// EndpointOption configures an endpoint in Handle.
type EndpointOption interface {
	applyEndpoint(*route)
}

// GroupOption configures a group in Group and Route.
type GroupOption interface {
	applyGroup(*adr32.Settings)
}

// Option configures a group or an endpoint.
type Option interface {
	EndpointOption
	GroupOption
}

type sharedOption func(*adr32.Settings)

func (o sharedOption) applyEndpoint(r *route)       { o(&r.settings) }
func (o sharedOption) applyGroup(s *adr32.Settings) { o(s) }

type endpointOption func(*route)

func (o endpointOption) applyEndpoint(r *route) { o(r) }

// WithSubject sets the endpoint's subject, relative to its group's prefix; by
// default it is the endpoint's name. It may be a template with parameters,
// such as "orders.{id}.items.{item}" (see Request.Param).
func WithSubject(template string) EndpointOption {
	return endpointOption(func(r *route) { r.template = template })
}

// WithMiddleware adds middleware to one endpoint, inside the router's.
func WithMiddleware(mws ...Middleware) EndpointOption {
	return endpointOption(func(r *route) { r.mws = append(r.mws, mws...) })
}

// WithMetadata adds metadata, shown by INFO. A group's metadata goes to each
// of its endpoints; an endpoint's keys win over its groups'.
func WithMetadata(md map[string]string) Option {
	md = maps.Clone(md)
	return sharedOption(func(s *adr32.Settings) {
		if s.Metadata == nil {
			s.Metadata = map[string]string{}
		}
		maps.Copy(s.Metadata, md)
	})
}

// WithQueueGroup sets the queue group of a group's endpoints or of one
// endpoint, overriding what it would inherit.
func WithQueueGroup(name string) Option {
	if err := adr32.CheckQueueGroup(name); err != nil || name == "" {
		panic(fmt.Sprintf("natsmux: WithQueueGroup(%q): %v", name, cmp.Or(err, errors.New("empty name; use WithoutQueueGroup to disable queue groups"))))
	}
	return sharedOption(func(s *adr32.Settings) { s.QueueGroup, s.NoQueueGroup = name, false })
}

// WithoutQueueGroup subscribes without a queue group, so that every instance
// of the service receives every request.
func WithoutQueueGroup() Option {
	return sharedOption(func(s *adr32.Settings) { s.QueueGroup, s.NoQueueGroup = "", true })
}

// WithMaxConcurrency bounds how many requests each endpoint handles at once
// (see docs/micro.md); 1 handles them one at a time, in order.
func WithMaxConcurrency(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("natsmux: WithMaxConcurrency(%d): the limit must be at least 1", n))
	}
	return sharedOption(func(s *adr32.Settings) { s.MaxConcurrency = n })
}

// WithPendingLimits sets how many messages and bytes may wait for a free
// handler before NATS drops messages and reports a slow consumer; -1 means
// no limit.
func WithPendingLimits(msgs, bytes int) Option {
	if msgs == 0 && bytes == 0 {
		panic("natsmux: WithPendingLimits(0, 0): at least one limit must be non-zero (-1 means none)")
	}
	return sharedOption(func(s *adr32.Settings) { s.PendingMsgs, s.PendingBytes = msgs, bytes })
}
