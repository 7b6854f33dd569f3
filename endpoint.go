package natsmux

import "github.com/natsmux/natsmux/internal/adr32"

// Endpoint describes an endpoint as it serves requests: what INFO shows for
// it, and the parameters of its subject template. Handlers and middleware
// read it from Request.Endpoint, and middleware from EndpointOf when it
// builds its handler; it must not be modified.
type Endpoint struct {
	// Service is the name of the service the endpoint is mounted on; empty
	// for an endpoint served in memory or only registered on a router.
	Service string
	// Name is the endpoint's name.
	Name string
	// Subject is the subscribed subject, wildcards for parameters:
	// "orders.*.items.*".
	Subject string
	// Template is the subject as registered: "orders.{id}.items.{item}";
	// the same as Subject when there are no parameters.
	Template string
	// QueueGroup is the endpoint's queue group; empty when disabled.
	QueueGroup string
	// QueueGroupDisabled reports a plain subscription without queue group.
	QueueGroupDisabled bool
	// Metadata is the endpoint's metadata, the template included when it has
	// parameters (TemplateMetadataKey).
	Metadata map[string]string
	// MaxConcurrency is how many requests the endpoint handles at once.
	MaxConcurrency int

	params   []param
	settings adr32.Settings // resolved: what the endpoint subscribes with
}

// Params returns the names of the template's parameters, in subject order.
func (e *Endpoint) Params() []string {
	names := make([]string, len(e.params))
	for i, p := range e.params {
		names[i] = p.name
	}
	return names
}

func (e *Endpoint) paramIndex(name string) int {
	for _, p := range e.params {
		if p.name == name {
			return p.token
		}
	}
	return -1
}
