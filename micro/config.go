package micro

import (
	"fmt"
	"maps"
	"regexp"
	"strings"

	"github.com/natsmux/natsmux/internal/adr32"
)

// DefaultMaxConcurrency is how many requests one endpoint handles at once
// unless the service, a group or the endpoint sets another limit. See
// docs/micro.md for the measurements behind it.
const DefaultMaxConcurrency = adr32.DefaultMaxConcurrency

type (
	// Config configures a service. The fields up to ErrorHandler are those of
	// nats.go's micro; the rest are natsmux extensions.
	Config struct {
		// Name is the kind of service, shared by all its instances:
		// letters, digits, dashes and underscores.
		Name string `json:"name"`

		// Endpoint, when set, is added as an endpoint named "default".
		Endpoint *EndpointConfig `json:"endpoint"`

		// Version is a semantic version (semver.org), such as 1.0.0.
		Version string `json:"version"`

		// Description is free text shown by INFO.
		Description string `json:"description"`

		// Metadata annotates the service; it is copied and cannot change later.
		Metadata map[string]string `json:"metadata,omitempty"`

		// QueueGroup replaces the default queue group "q" for the service's
		// endpoints and groups.
		QueueGroup string `json:"queue_group"`

		// QueueGroupDisabled makes endpoints plain subscriptions (every
		// instance receives every request) unless they set a queue group.
		QueueGroupDisabled bool `json:"queue_group_disabled"`

		// StatsHandler returns the "data" of an endpoint's STATS entry. It is
		// called outside of any lock the request path takes; a panic in it is
		// recovered and the STATS reply still goes out.
		StatsHandler StatsHandler

		// DoneHandler is called once the service has stopped and every
		// in-flight handler has returned, after Stop, Shutdown or the
		// connection's close.
		DoneHandler DoneHandler

		// ErrorHandler is called on asynchronous errors of the service's
		// subscriptions (slow consumer, permissions), on the connection's
		// callback goroutine before the connection's own error handler; and,
		// from the service's callback goroutine, on failed discovery replies
		// and recovered panics. The service keeps running.
		ErrorHandler ErrHandler

		// MaxConcurrency bounds how many requests each endpoint handles at once
		// (0 means DefaultMaxConcurrency, 1 strictly serial, as nats.go's micro).
		// Groups and endpoints may set their own.
		MaxConcurrency int `json:"max_concurrency,omitempty"`

		// LoadStatsDisabled turns off the latency percentiles and load
		// counters (LoadStats) that each endpoint records and publishes in
		// its STATS data, with the StatsHandler's (docs/micro.md). Their
		// cost is within the noise of an echo benchmark.
		LoadStatsDisabled bool `json:"load_stats_disabled,omitempty"`

		// APIPrefix replaces "$SRV" as the root of the discovery subjects, for
		// example to separate tenants that share an account.
		APIPrefix string `json:"api_prefix,omitempty"`

		// ReplyPrefixes, when set, are the only subjects the service replies
		// under: the inbox prefixes of its callers, such as "_INBOX" (nats.go's
		// default) or a caller's nats.CustomInboxPrefix. A request whose reply
		// subject is not under one of them, or that has none, is refused
		// before any handler runs: no reply, and an error in the stats. It
		// keeps a caller from naming another endpoint's subject as its reply
		// subject, which the server's allow_responses would let the service
		// publish to, so that the service's reply becomes a request the caller
		// may not send itself (docs/security.md). Discovery requests are
		// refused the same way.
		ReplyPrefixes []string `json:"reply_prefixes,omitempty"`
	}

	// EndpointConfig configures an endpoint.
	EndpointConfig struct {
		// Subject the endpoint listens on, including its group's prefix.
		Subject string

		// Handler serves the endpoint's requests.
		Handler Handler

		// Metadata annotates the endpoint; it is copied and cannot change later.
		Metadata map[string]string `json:"metadata,omitempty"`

		// QueueGroup is the endpoint's queue group; empty when disabled.
		QueueGroup string `json:"queue_group"`

		// QueueGroupDisabled reports a plain subscription without queue group.
		QueueGroupDisabled bool `json:"queue_group_disabled"`

		// MaxConcurrency bounds the requests handled at once (0: inherit).
		MaxConcurrency int `json:"max_concurrency,omitempty"`
	}

	// ErrHandler receives a service's asynchronous errors.
	ErrHandler func(Service, *NATSError)

	// DoneHandler is called once when a service has stopped.
	DoneHandler func(Service)

	// StatsHandler returns extra, JSON-encodable stats for an endpoint.
	StatsHandler func(*Endpoint) any

	// EndpointOpt configures an endpoint in AddEndpoint.
	EndpointOpt func(*endpointOpts) error

	// GroupOpt configures a group in AddGroup.
	GroupOpt func(*adr32.Settings)

	endpointOpts struct {
		subject  string
		settings adr32.Settings
	}
)

// WithEndpointSubject sets the endpoint's subject (relative to its group);
// by default it is the endpoint's name.
func WithEndpointSubject(subject string) EndpointOpt {
	return func(o *endpointOpts) error {
		o.subject = subject
		return nil
	}
}

// WithEndpointMetadata sets the endpoint's metadata, replacing any set before.
func WithEndpointMetadata(metadata map[string]string) EndpointOpt {
	return func(o *endpointOpts) error {
		o.settings.Metadata = maps.Clone(metadata)
		return nil
	}
}

// WithEndpointMetadataKey adds one key to the endpoint's metadata.
func WithEndpointMetadataKey(key, value string) EndpointOpt {
	return func(o *endpointOpts) error {
		if o.settings.Metadata == nil {
			o.settings.Metadata = map[string]string{}
		}
		o.settings.Metadata[key] = value
		return nil
	}
}

// WithEndpointQueueGroup sets the endpoint's queue group, overriding what its
// group or service would give it.
func WithEndpointQueueGroup(queueGroup string) EndpointOpt {
	return func(o *endpointOpts) error {
		o.settings.QueueGroup = queueGroup
		return nil
	}
}

// WithEndpointQueueGroupDisabled subscribes the endpoint without a queue
// group, so that every instance receives every request.
func WithEndpointQueueGroupDisabled() EndpointOpt {
	return func(o *endpointOpts) error {
		o.settings.NoQueueGroup = true
		return nil
	}
}

// WithEndpointPendingLimits sets how many messages and bytes may wait for a
// free handler. Beyond either limit NATS drops messages and the service
// reports a slow consumer (stats and ErrorHandler). -1 means no limit; both
// cannot be 0.
func WithEndpointPendingLimits(msgLimit, bytesLimit int) EndpointOpt {
	return func(o *endpointOpts) error {
		if msgLimit == 0 && bytesLimit == 0 {
			return fmt.Errorf("%w: pending limits: at least one of the message and byte limits must be non-zero", ErrConfigValidation)
		}
		o.settings.PendingMsgs, o.settings.PendingBytes = msgLimit, bytesLimit
		return nil
	}
}

// WithEndpointMaxConcurrency bounds how many requests the endpoint handles at
// once; 1 handles them one by one in arrival order.
func WithEndpointMaxConcurrency(n int) EndpointOpt {
	return func(o *endpointOpts) error {
		if n < 1 {
			return fmt.Errorf("%w: max concurrency must be at least 1, got %d", ErrConfigValidation, n)
		}
		o.settings.MaxConcurrency = n
		return nil
	}
}

// WithGroupQueueGroup sets the queue group of the group's endpoints and
// subgroups.
func WithGroupQueueGroup(queueGroup string) GroupOpt {
	return func(s *adr32.Settings) { s.QueueGroup = queueGroup }
}

// WithGroupQueueGroupDisabled makes the group's endpoints plain subscriptions
// unless they set a queue group.
func WithGroupQueueGroupDisabled() GroupOpt {
	return func(s *adr32.Settings) { s.NoQueueGroup = true }
}

// WithGroupMaxConcurrency sets the concurrency limit of the group's endpoints
// and subgroups. Values below 1 are ignored (the group inherits).
func WithGroupMaxConcurrency(n int) GroupOpt {
	return func(s *adr32.Settings) { s.MaxConcurrency = n }
}

// The semantic version regular expression suggested by semver.org.
var semVerRegexp = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

func validationError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfigValidation}, args...)...)
}

func (c *Config) validate() error {
	if !adr32.ValidName(c.Name) {
		return validationError("service name %q: %s", c.Name, adr32.NameRule)
	}
	if !semVerRegexp.MatchString(c.Version) {
		return validationError("version %q: version should not be empty and should match the SemVer format (for example 1.0.0)", c.Version)
	}
	if c.QueueGroup != "" {
		if err := adr32.CheckQueueGroup(c.QueueGroup); err != nil {
			return validationError("queue group: %v", err)
		}
	}
	if c.MaxConcurrency < 0 {
		return validationError("max concurrency must not be negative, got %d", c.MaxConcurrency)
	}
	if c.APIPrefix != "" {
		if err := adr32.CheckSubject(c.APIPrefix, false); err != nil {
			return validationError("API prefix: %v", err)
		}
	}
	for _, p := range c.ReplyPrefixes {
		if err := adr32.CheckSubject(strings.TrimSuffix(p, "."), false); err != nil {
			return validationError("reply prefix: %v", err)
		}
	}
	return nil
}

// replyFilter returns whether a reply subject is under one of prefixes, or
// nil when there are none and every reply subject is allowed.
func replyFilter(prefixes []string) func(reply string) bool {
	if len(prefixes) == 0 {
		return nil
	}
	trimmed := make([]string, len(prefixes))
	for i, p := range prefixes {
		trimmed[i] = strings.TrimSuffix(p, ".") + "."
	}
	return func(reply string) bool {
		for _, p := range trimmed {
			if strings.HasPrefix(reply, p) {
				return true
			}
		}
		return false
	}
}

// settings are what the service gives its groups and endpoints.
func (c *Config) settings() adr32.Settings {
	return adr32.Settings{QueueGroup: c.QueueGroup, NoQueueGroup: c.QueueGroupDisabled, MaxConcurrency: c.MaxConcurrency}
}
