package middleware

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/messagingconv"

	"github.com/natsmux/natsmux"
)

// ActiveRequestsMetric is the name of Metrics' in-flight gauge, which the
// messaging semantic conventions do not define.
const ActiveRequestsMetric = "natsmux.requests.active"

// durationBuckets are the bucket boundaries of the duration histogram.
var durationBuckets = []float64{
	0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
}

// MetricsOption configures Metrics.
type MetricsOption func(*metricsConfig)

type metricsConfig struct {
	provider metric.MeterProvider
}

// WithMeterProvider sets the meter provider; by default the global one
// (otel.GetMeterProvider), which is a no-op until otel.SetMeterProvider.
func WithMeterProvider(mp metric.MeterProvider) MetricsOption {
	if mp == nil {
		panic("middleware: WithMeterProvider: nil provider")
	}
	return func(c *metricsConfig) { c.provider = mp }
}

// Metrics returns middleware that measures requests with OpenTelemetry
// metrics:
//
//   - messaging.process.duration, a histogram of the time each request took,
//     in seconds, in the buckets that the semantic conventions advise (5 ms
//     to 10 s) and four more below, down to 250 µs, since NATS requests
//     often take less than a millisecond;
//   - natsmux.requests.active (ActiveRequestsMetric), an up-down counter of
//     the requests being served, observed when metrics are collected.
//
// Each carries the endpoint's attributes, those of Tracing's spans except
// messaging.operation.type, and except the subject when the endpoint's
// subject has parameters, which would make a series per request (the
// template stays). The duration of an error reply adds error.type and
// natsmux.error.code, so the histogram's count is also the count of
// requests by endpoint and code: there is no separate counter to pay for. The attribute sets are built once per
// endpoint and code. Instruments that cannot be created are reported to
// otel.Handle and measure nothing.
func Metrics(opts ...MetricsOption) natsmux.Middleware {
	cfg := metricsConfig{provider: otel.GetMeterProvider()}
	for _, opt := range opts {
		opt(&cfg)
	}
	meter := cfg.provider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	duration, err := messagingconv.NewProcessDuration(meter, metric.WithExplicitBucketBoundaries(durationBuckets...))
	otelHandle(err)
	// Counting in an atomic and reporting at collection spares each request
	// two measurements, which the SDK makes at a cost per attribute.
	var served endpointRegistry
	_, err = meter.Int64ObservableUpDownCounter(ActiveRequestsMetric, metric.WithUnit("{request}"),
		metric.WithDescription("Requests being served."), metric.WithInt64Callback(served.observeActive))
	otelHandle(err)

	return func(next natsmux.Handler) natsmux.Handler {
		endpoint := perEndpoint(next, served.add)
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			em := endpoint(req)
			em.active.Add(1)
			defer em.active.Add(-1)
			start := time.Now()
			resp, err := next.ServeNATS(ctx, req)
			elapsed := time.Since(start).Seconds()
			set := &em.ok
			if err != nil {
				set = em.forCode(natsmux.CodeOf(err))
			}
			duration.Inst().Record(ctx, elapsed, set.record...)
			return resp, err
		})
	}
}

func otelHandle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// endpointRegistry is every endpoint that one Metrics has measured, by
// attribute set: a chain is built per endpoint and mount, and the mounts of
// a service that is served again and again, or of several instances in one
// process, share their series, so that the registry grows with the distinct
// endpoints only.
type endpointRegistry struct {
	mu        sync.Mutex
	endpoints map[attribute.Distinct]*endpointMetrics
}

func (r *endpointRegistry) add(ep *natsmux.Endpoint) *endpointMetrics {
	attrs := endpointAttrs(ep)
	ok := newMeasurementAttrs(attrs)
	r.mu.Lock()
	defer r.mu.Unlock()
	key := ok.set.Equivalent()
	if em, found := r.endpoints[key]; found {
		return em
	}
	if r.endpoints == nil {
		r.endpoints = map[attribute.Distinct]*endpointMetrics{}
	}
	em := &endpointMetrics{attrs: attrs, ok: ok}
	r.endpoints[key] = em
	return em
}

func (r *endpointRegistry) observeActive(_ context.Context, o metric.Int64Observer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, em := range r.endpoints {
		o.Observe(em.active.Load(), em.ok.observe...)
	}
	return nil
}

// endpointMetrics holds an endpoint's attribute sets, as the options that
// measurements take, so that a request builds none.
type endpointMetrics struct {
	attrs  []attribute.KeyValue
	ok     measurementAttrs
	errors sync.Map // code -> *measurementAttrs
	active atomic.Int64
}

type measurementAttrs struct {
	set     attribute.Set
	record  []metric.RecordOption
	observe []metric.ObserveOption
}

func newMeasurementAttrs(attrs []attribute.KeyValue) measurementAttrs {
	set := attribute.NewSet(attrs...)
	opt := metric.WithAttributeSet(set)
	return measurementAttrs{set: set, record: []metric.RecordOption{opt}, observe: []metric.ObserveOption{opt}}
}

func (em *endpointMetrics) forCode(code int) *measurementAttrs {
	if m, ok := em.errors.Load(code); ok {
		return m.(*measurementAttrs)
	}
	m := newMeasurementAttrs(append(append([]attribute.KeyValue(nil), em.attrs...), errorAttrs(code)...))
	actual, _ := em.errors.LoadOrStore(code, &m)
	return actual.(*measurementAttrs)
}
