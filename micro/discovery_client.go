package micro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/adr32"
)

// Bounds of a discovery request.
const (
	// DefaultDiscoveryQuiet is how long discovery waits for one more reply
	// before it concludes that every instance has answered.
	DefaultDiscoveryQuiet = 300 * time.Millisecond
	// DefaultDiscoveryTimeout bounds a discovery request whose context has
	// no deadline, so that responders that keep answering cannot hold it.
	DefaultDiscoveryTimeout = 5 * time.Second
	// DefaultDiscoveryMax bounds the replies collected unless
	// WithDiscoveryMax says otherwise.
	DefaultDiscoveryMax = 10000
)

// DiscoveryOpt narrows or bounds a discovery request.
type DiscoveryOpt func(*discoveryOpts) error

type discoveryOpts struct {
	name, id string
	prefix   string
	max      int
	maxSet   bool
	quiet    time.Duration
}

// WithDiscoveryService asks only the instances of the named service.
func WithDiscoveryService(name string) DiscoveryOpt {
	return func(o *discoveryOpts) error {
		if !adr32.ValidName(name) {
			return fmt.Errorf("discovery: invalid service name %q", name)
		}
		o.name = name
		return nil
	}
}

// WithDiscoveryInstance asks the one instance with the given name and id, and
// stops at its reply.
func WithDiscoveryInstance(name, id string) DiscoveryOpt {
	return func(o *discoveryOpts) error {
		if err := WithDiscoveryService(name)(o); err != nil {
			return err
		}
		if err := adr32.CheckSubject(id, false); err != nil || strings.Contains(id, ".") {
			return fmt.Errorf("discovery: invalid instance id %q", id)
		}
		o.id = id
		return nil
	}
}

// WithDiscoveryMax stops after n replies.
func WithDiscoveryMax(n int) DiscoveryOpt {
	return func(o *discoveryOpts) error {
		if n < 1 {
			return fmt.Errorf("discovery: max replies must be at least 1, got %d", n)
		}
		o.max, o.maxSet = n, true
		return nil
	}
}

// WithDiscoveryQuiet stops when no reply has come for d (default
// DefaultDiscoveryQuiet), the first reply included.
func WithDiscoveryQuiet(d time.Duration) DiscoveryOpt {
	return func(o *discoveryOpts) error {
		if d <= 0 {
			return fmt.Errorf("discovery: quiet interval must be positive, got %s", d)
		}
		o.quiet = d
		return nil
	}
}

// WithDiscoveryPrefix asks under another root than $SRV, for services
// configured with Config.APIPrefix.
func WithDiscoveryPrefix(prefix string) DiscoveryOpt {
	return func(o *discoveryOpts) error {
		if err := adr32.CheckSubject(prefix, false); err != nil {
			return fmt.Errorf("discovery: invalid prefix: %w", err)
		}
		o.prefix = prefix
		return nil
	}
}

// Discover sends a discovery request for verb and returns the raw JSON
// documents of the replies, in arrival order. It collects replies until the
// quiet interval passes without one, the maximum count is reached
// (DefaultDiscoveryMax unless WithDiscoveryMax), or ctx ends (after
// DefaultDiscoveryTimeout when ctx has no deadline). A deadline is a normal
// end; a cancelled ctx returns what came and ctx's error. No service at all
// is an empty result, not an error.
func Discover(ctx context.Context, nc *nats.Conn, verb Verb, opts ...DiscoveryOpt) ([]json.RawMessage, error) {
	o := discoveryOpts{prefix: APIPrefix, quiet: DefaultDiscoveryQuiet, max: DefaultDiscoveryMax}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.id != "" && !o.maxSet {
		o.max = 1
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDiscoveryTimeout)
		defer cancel()
	}
	subject, err := controlSubject(o.prefix, verb, o.name, o.id)
	if err != nil {
		return nil, err
	}

	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		return nil, fmt.Errorf("discovery: requesting %s: %w", subject, err)
	}

	var replies []json.RawMessage
	for len(replies) < o.max {
		wait, cancel := context.WithTimeout(ctx, o.quiet)
		msg, err := sub.NextMsgWithContext(wait)
		cancel()
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return replies, nil
		case err != nil && ctx.Err() != nil:
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return replies, nil
			}
			return replies, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			return replies, nil // quiet interval passed
		case err != nil:
			return replies, fmt.Errorf("discovery: %w", err)
		}
		replies = append(replies, msg.Data)
	}
	return replies, nil
}

// DiscoverPing returns the PING replies of the services that answer.
func DiscoverPing(ctx context.Context, nc *nats.Conn, opts ...DiscoveryOpt) ([]Ping, error) {
	return discoverTyped[Ping](ctx, nc, PingVerb, PingResponseType, opts)
}

// DiscoverInfo returns the INFO replies of the services that answer.
func DiscoverInfo(ctx context.Context, nc *nats.Conn, opts ...DiscoveryOpt) ([]Info, error) {
	return discoverTyped[Info](ctx, nc, InfoVerb, InfoResponseType, opts)
}

// DiscoverStats returns the STATS replies of the services that answer.
func DiscoverStats(ctx context.Context, nc *nats.Conn, opts ...DiscoveryOpt) ([]Stats, error) {
	return discoverTyped[Stats](ctx, nc, StatsVerb, StatsResponseType, opts)
}

// discoverTyped decodes the replies of Discover. Replies of another type are
// skipped, as natscli does; replies that do not decode are reported in the
// error, next to the ones that did.
func discoverTyped[T any](ctx context.Context, nc *nats.Conn, verb Verb, typ string, opts []DiscoveryOpt) ([]T, error) {
	raw, err := Discover(ctx, nc, verb, opts...)
	errs := []error{err}
	out := make([]T, 0, len(raw))
	for _, doc := range raw {
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(doc, &head) == nil && head.Type != typ {
			continue
		}
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			errs = append(errs, fmt.Errorf("discovery: decoding %s reply: %w", verb, err))
			continue
		}
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}
