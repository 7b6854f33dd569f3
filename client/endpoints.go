package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

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
	template   string
	idempotent bool
}

// catalog holds the learned endpoints by subscription subject.
type catalog = subjectIndex[learnedEndpoint]

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
			merged[ep.Subject] = learnedEndpoint{ep.Metadata[natsmux.TemplateMetadataKey], idempotent}
		}
	}
	for subject, ep := range merged {
		if ep.template == "" {
			ep.template = subject // a subject with wildcards is a template of its own
			merged[subject] = ep
		}
	}
	return newSubjectIndex(merged), len(dropped)
}

// lookupLearned returns what the catalog knows of subject: the template of
// the most specific endpoint that matches it, and whether every endpoint
// that matches it is idempotent. A nil catalog knows nothing.
func lookupLearned(c *catalog, subject string) learnedEndpoint {
	var found learnedEndpoint
	first := true
	for ep := range c.matches(subject) {
		if first {
			found, first = ep, false
			continue
		}
		found.idempotent = found.idempotent && ep.idempotent
	}
	return found
}

func matchesAny(patterns []string, subject string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return adr32.Matches(p, subject) })
}
