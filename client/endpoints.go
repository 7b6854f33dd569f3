package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/adr32"
	"github.com/natsmux/natsmux/micro"
)

// MaxLearnedEndpoints bounds how many endpoint subjects LearnEndpoints
// keeps, so that INFO replies, which anyone allowed to answer $SRV
// requests can send, cannot make the client's memory or its per-call
// lookup grow without limit.
const MaxLearnedEndpoints = 4096

// LearnEndpoints asks the services for their INFO (options as for Info)
// and remembers, for each endpoint subject, its template
// (natsmux.TemplateMetadataKey) and whether it is idempotent
// (natsmux.IdempotentKey): later calls to a matching subject carry both in
// their Invocation, for telemetry and for Resilience. What it learns
// replaces what it learned before; call it at start-up and again after
// deployments, or on a timer of your own.
//
// A subject is idempotent only if every endpoint that serves it, on every
// instance that answered, says so: during a rolling deployment that makes
// an endpoint non-idempotent, the old instances do not count. What was
// learned is a snapshot, though: an endpoint that stops being idempotent
// after the call is still retried until the next LearnEndpoints, and any
// responder on the $SRV subjects can claim idempotence. Where that matters,
// declare idempotence explicitly (WithIdempotentSubjects, WithIdempotent)
// and do not call LearnEndpoints.
//
// It returns the error of Info, if any; what the replies that did decode
// say is learned all the same, unless no service answered. Endpoints beyond
// MaxLearnedEndpoints are left out, with an error that says so.
func (c *Client) LearnEndpoints(ctx context.Context, opts ...micro.DiscoveryOpt) error {
	infos, err := c.Info(ctx, opts...)
	if len(infos) == 0 {
		return err
	}
	learned, dropped := newCatalog(infos)
	c.learned.Store(learned)
	if dropped > 0 {
		err = errors.Join(err, fmt.Errorf("client: %d endpoint subjects beyond the limit of %d were not learned", dropped, MaxLearnedEndpoints))
	}
	return err
}

// learnedEndpoint is what the client knows of the endpoints on one
// subscription subject.
type learnedEndpoint struct {
	pattern    string // the subject, wildcards included
	template   string
	idempotent bool
}

// catalog holds the learned endpoints: literal subjects in a map, those
// with wildcards in a list, most specific first.
type catalog struct {
	literal  map[string]learnedEndpoint
	wildcard []learnedEndpoint
}

// newCatalog merges the endpoints of the INFO replies and returns how many
// subjects it left out for MaxLearnedEndpoints.
func newCatalog(infos []micro.Info) (*catalog, int) {
	merged := map[string]learnedEndpoint{}
	dropped := map[string]bool{}
	for _, info := range infos {
		for _, ep := range info.Endpoints {
			if adr32.CheckSubject(ep.Subject, true) != nil {
				continue
			}
			idempotent := ep.Metadata[natsmux.IdempotentKey] == "true"
			if prev, ok := merged[ep.Subject]; ok {
				prev.idempotent = prev.idempotent && idempotent
				prev.template = cmp.Or(prev.template, ep.Metadata[natsmux.TemplateMetadataKey])
				merged[ep.Subject] = prev
				continue
			}
			if len(merged) == MaxLearnedEndpoints {
				dropped[ep.Subject] = true
				continue
			}
			merged[ep.Subject] = learnedEndpoint{ep.Subject, ep.Metadata[natsmux.TemplateMetadataKey], idempotent}
		}
	}
	c := &catalog{literal: map[string]learnedEndpoint{}}
	for subject, ep := range merged {
		if ep.template == "" {
			ep.template = subject // a subject with wildcards is a template of its own
		}
		if strings.ContainsAny(subject, "*>") {
			c.wildcard = append(c.wildcard, ep)
		} else {
			c.literal[subject] = ep
		}
	}
	slices.SortFunc(c.wildcard, func(a, b learnedEndpoint) int {
		return cmp.Or(cmp.Compare(wildcards(a.pattern), wildcards(b.pattern)), strings.Compare(a.pattern, b.pattern))
	})
	return c, len(dropped)
}

// wildcards ranks a pattern by how much it matches: a '>' more than any
// number of '*'.
func wildcards(subject string) int {
	return strings.Count(subject, "*") + 1000*strings.Count(subject, ">")
}

// lookup returns what the catalog knows of subject: the template of the
// most specific endpoint that matches it, and whether every endpoint that
// matches it is idempotent. A nil catalog knows nothing.
func (c *catalog) lookup(subject string) learnedEndpoint {
	if c == nil {
		return learnedEndpoint{}
	}
	found, ok := c.literal[subject]
	for _, ep := range c.wildcard {
		if !adr32.Matches(ep.pattern, subject) {
			continue
		}
		if !ok {
			found, ok = ep, true
			continue
		}
		found.idempotent = found.idempotent && ep.idempotent
	}
	return found
}

func matchesAny(patterns []string, subject string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return adr32.Matches(p, subject) })
}
