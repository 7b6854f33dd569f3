package micro

import (
	"cmp"

	"github.com/natsmux/natsmux/internal/adr32"
)

// group is a subject prefix with the settings its endpoints inherit.
type group struct {
	svc      *service
	prefix   string
	settings adr32.Settings // already inherited from the service and parent groups
}

func (s *service) AddGroup(name string, opts ...GroupOpt) Group {
	root := &group{svc: s, settings: s.cfg.settings()}
	return root.AddGroup(name, opts...)
}

func (g *group) AddGroup(name string, opts ...GroupOpt) Group {
	var own adr32.Settings
	for _, opt := range opts {
		opt(&own)
	}
	return &group{svc: g.svc, prefix: adr32.JoinSubject(g.prefix, name), settings: own.Inherit(g.settings)}
}

func (g *group) AddEndpoint(name string, handler Handler, opts ...EndpointOpt) error {
	o, err := collectEndpointOpts(opts)
	if err != nil {
		return err
	}
	subject := adr32.JoinSubject(g.prefix, cmp.Or(o.subject, name))
	return g.svc.addEndpoint(name, subject, handler, o.settings.Inherit(g.settings).Resolve())
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
