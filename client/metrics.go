package client

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/messagingconv"

	"github.com/natsmux/natsmux"
)

// DefaultMetricsDestinations is how many destinations Metrics records
// under their own names unless WithDestinationLimit says otherwise.
const DefaultMetricsDestinations = 100

// durationBuckets are the bucket boundaries of the duration histogram, in
// seconds: those the semantic conventions advise, and four more below 5 ms,
// since NATS calls often take less than a millisecond.
var durationBuckets = []float64{
	0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
}

// MetricsOption configures Metrics.
type MetricsOption interface{ applyMetrics(*metricsConfig) }

// ResilienceOption configures Resilience.
type ResilienceOption interface{ applyResilience(*resilienceConfig) }

// MeterOption configures both Metrics and Resilience.
type MeterOption interface {
	MetricsOption
	ResilienceOption
}

type metricsConfig struct {
	provider     metric.MeterProvider
	destinations int
}

type metricsOption func(*metricsConfig)

func (f metricsOption) applyMetrics(c *metricsConfig) { f(c) }

type meterProviderOption struct{ provider metric.MeterProvider }

func (o meterProviderOption) applyMetrics(c *metricsConfig)       { c.provider = o.provider }
func (o meterProviderOption) applyResilience(c *resilienceConfig) { c.provider = o.provider }

// WithMeterProvider sets the meter provider of Metrics or Resilience; by
// default the global one (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) MeterOption {
	if mp == nil {
		panic("client: WithMeterProvider: nil provider")
	}
	return meterProviderOption{mp}
}

// WithDestinationLimit sets how many destinations Metrics records under
// their own names (DefaultMetricsDestinations); the calls to any other
// destination are recorded under OtherValue.
func WithDestinationLimit(n int) MetricsOption {
	if n < 1 {
		panic("client: WithDestinationLimit: the limit must be at least 1")
	}
	return metricsOption(func(c *metricsConfig) { c.destinations = n })
}

// Metrics returns middleware that records the duration of each call, in
// seconds, in the histogram messaging.client.operation.duration of the
// messaging semantic conventions, with messaging.system "nats",
// messaging.operation.name and .type "send", and the destination: its
// template (messaging.destination.template) when the call has one
// (WithTemplate, or learned from INFO), else its subject
// (messaging.destination.name). A failed call adds error.type and
// natsmux.error.code, so the histogram's count is also the count of calls
// by destination and code.
//
// Subjects that carry ids would make a series per id: give such calls a
// template. As a guard, Metrics records at most WithDestinationLimit
// destinations (DefaultMetricsDestinations) under their own names, the
// first ones it sees, and all later ones under OtherValue. Placed outside
// Resilience, it measures what the caller waits, retries included; inside,
// each attempt.
func Metrics(opts ...MetricsOption) Middleware {
	cfg := metricsConfig{provider: otel.GetMeterProvider(), destinations: DefaultMetricsDestinations}
	for _, opt := range opts {
		opt.applyMetrics(&cfg)
	}
	meter := cfg.provider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	duration, err := messagingconv.NewClientOperationDuration(meter, metric.WithExplicitBucketBoundaries(durationBuckets...))
	otelHandle(err)
	return func(next Invoker) Invoker {
		dests := newDestinationSets(cfg.destinations)
		return InvokerFunc(func(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
			start := time.Now()
			reply, err := next.Invoke(ctx, inv)
			elapsed := time.Since(start).Seconds()
			code := 0
			if err != nil {
				code = natsmux.CodeOf(err)
			}
			duration.Inst().Record(ctx, elapsed, dests.get(inv).forCode(code)...)
			return reply, err
		})
	}
}

type destinationKey struct {
	name       string
	isTemplate bool
}

// destinationSets holds the attribute sets of at most limit destinations,
// built once each, so that a call builds none.
type destinationSets struct {
	limit int
	mu    sync.RWMutex
	sets  map[destinationKey]*codeSets
	other *codeSets
}

func newDestinationSets(limit int) *destinationSets {
	return &destinationSets{limit: limit, sets: map[destinationKey]*codeSets{}}
}

func (d *destinationSets) get(inv *Invocation) *codeSets {
	key := destinationKey{inv.Template, true}
	if inv.Template == "" {
		key = destinationKey{inv.Subject, false}
	}
	d.mu.RLock()
	cs, ok := d.sets[key]
	d.mu.RUnlock()
	if ok {
		return cs
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if cs, ok := d.sets[key]; ok {
		return cs
	}
	if len(d.sets) < d.limit {
		cs = newCodeSets(callAttrs(inv, !key.isTemplate))
		d.sets[key] = cs
		return cs
	}
	if d.other == nil {
		d.other = newCodeSets(callAttrs(&Invocation{Subject: OtherValue}, true))
	}
	return d.other
}

// codeSets are the measurement options of one destination: for counters,
// and for the histogram by code.
type codeSets struct {
	attrs []attribute.KeyValue
	add   []metric.AddOption
	ok    []metric.RecordOption
	codes sync.Map // int -> []metric.RecordOption
}

func newCodeSets(attrs []attribute.KeyValue) *codeSets {
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))
	return &codeSets{attrs: attrs, add: []metric.AddOption{set}, ok: []metric.RecordOption{set}}
}

func recordOptions(attrs []attribute.KeyValue) []metric.RecordOption {
	return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))}
}

// forCode returns the record options of a call that ended with code (0
// for success). natsmux.CodeOf's codes are from 100 to 999, so the entries
// are at most 901.
func (cs *codeSets) forCode(code int) []metric.RecordOption {
	if code == 0 {
		return cs.ok
	}
	if opts, ok := cs.codes.Load(code); ok {
		return opts.([]metric.RecordOption)
	}
	opts, _ := cs.codes.LoadOrStore(code, recordOptions(append(append([]attribute.KeyValue(nil), cs.attrs...), errorAttrs(code)...)))
	return opts.([]metric.RecordOption)
}
