package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echo replies with the request's payload.
func echo(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	return natsmux.Reply(req.Data), nil
}

// serve mounts r on a new service on nc, shut down at cleanup.
func serve(t testing.TB, nc *nats.Conn, name string, r *natsmux.Router) micro.Service {
	t.Helper()
	svc := microtest.AddService(t, nc, micro.Config{Name: name, Version: "1.0.0"})
	if err := natsmux.Mount(svc, r); err != nil {
		t.Fatal(err)
	}
	return svc
}

// serveMemory serves a request in memory and returns the headers of its
// reply (or error reply), the reply and the error.
func serveMemory(r *natsmux.Router, subject string, data []byte) (nats.Header, *natsmux.Response, error) {
	resp, err := r.ServeNATS(context.Background(), natsmux.NewRequest(subject, data))
	var e *natsmux.Error
	switch {
	case resp != nil:
		return resp.Header, resp, err
	case errors.As(err, &e):
		return e.Header, resp, err
	}
	return nil, resp, err
}

// tracer is an SDK tracer provider that records the spans it ends.
type tracer struct {
	*sdktrace.TracerProvider
	spans *tracetest.SpanRecorder
}

func newTracer(t testing.TB) tracer {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tracer{TracerProvider: tp, spans: rec}
}

// middleware returns Tracing on this provider with W3C trace context.
func (tr tracer) middleware(opts ...middleware.TracingOption) natsmux.Middleware {
	return middleware.Tracing(append([]middleware.TracingOption{
		middleware.WithTracerProvider(tr), middleware.WithPropagators(propagation.TraceContext{})}, opts...)...)
}

// span returns the one ended span named name.
func (tr tracer) span(t testing.TB, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range tr.spans.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %q, want 1; spans: %v", len(found), name, spanNames(tr.spans.Ended()))
	}
	return found[0]
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name()
	}
	return names
}

// attrs returns a span's attributes by key.
func attrs(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// meter is an SDK meter provider read on demand.
type meter struct {
	*sdkmetric.MeterProvider
	reader *sdkmetric.ManualReader
}

func newMeter(t testing.TB) meter {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return meter{MeterProvider: mp, reader: reader}
}

// collect returns the metrics of the middleware's scope by name.
func (m meter) collect(t testing.TB) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != middleware.ScopeName {
			continue
		}
		for _, md := range sm.Metrics {
			out[md.Name] = md.Data
		}
	}
	return out
}

// logSink collects JSON log lines, safe for concurrent writers.
type logSink struct{ testutil.Buffer }

// handler is a JSON handler on the sink that logs everything.
func (s *logSink) handler() slog.Handler {
	return slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug})
}

// lines returns the raw lines logged so far.
func (s *logSink) lines() []string {
	return strings.Split(strings.TrimSpace(s.String()), "\n")
}

// records returns the records logged so far, decoded, with message msg (all
// when msg is empty).
func (s *logSink) records(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range s.lines() {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if msg == "" || rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// codeOf returns the error code of a reply, 0 for a successful one.
func codeOf(msg *nats.Msg) int {
	var serr *micro.ServiceError
	if errors.As(micro.ResponseError(msg), &serr) {
		return serr.Code
	}
	return 0
}
