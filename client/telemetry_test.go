package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// recorder is an SDK tracer provider that records the spans it ends.
func recorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// meter is an SDK meter provider read on demand.
type meter struct {
	*sdkmetric.MeterProvider
	reader *sdkmetric.ManualReader
}

func newMeter(t *testing.T) meter {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return meter{MeterProvider: mp, reader: reader}
}

// collect returns the client's metrics by name.
func (m meter) collect(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == client.ScopeName {
			for _, md := range sm.Metrics {
				out[md.Name] = md.Data
			}
		}
	}
	return out
}

// sum returns the total of a counter, over all its attribute sets.
func (m meter) sum(t *testing.T, name string) int64 {
	t.Helper()
	data, ok := m.collect(t)[name]
	if !ok {
		return 0
	}
	var n int64
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range d.DataPoints {
			n += dp.Value
		}
	default:
		t.Fatalf("%s is a %T", name, data)
	}
	return n
}

func attrValue(set attribute.Set, key attribute.Key) string {
	v, _ := set.Value(key)
	return v.String()
}

// getOrder answers orders.{id}.get, with a 404 for id 0.
func getOrder(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	if req.Param("id") == "0" {
		return nil, natsmux.ErrNotFound
	}
	return nil, nil
}

// TestTracing: the client's span is the parent of the service's, with the
// messaging conventions on both sides of the wire.
func TestTracing(t *testing.T) {
	tp, spans := recorder(t)
	w3c := propagation.TraceContext{}
	r := natsmux.NewRouter()
	r.Use(middleware.Tracing(middleware.WithTracerProvider(tp), middleware.WithPropagators(w3c)))
	r.HandleFunc("get", getOrder, natsmux.WithSubject("orders.{id}.get"))
	e := newEnv(t, r, micro.Config{Name: "orders", Version: "1.0.0"})
	c := e.client(t, client.WithMiddleware(client.Tracing(client.WithTracerProvider(tp), client.WithTracingPropagator(w3c))))

	ctx := context.Background()
	if _, err := c.Request(ctx, "orders.7.get", nil, nil, client.WithTemplate("orders.{id}.get")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Request(ctx, "orders.0.get", nil, nil)
	if natsmux.CodeOf(err) != 404 {
		t.Fatalf("got %v, want a 404", err)
	}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return len(spans.Ended()) == 4 }, "four spans ended")

	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	tests := []struct {
		name   string
		kind   trace.SpanKind
		status codes.Code
		attrs  map[attribute.Key]string
	}{
		{"send orders.{id}.get", trace.SpanKindProducer, codes.Unset, map[attribute.Key]string{
			"messaging.system": "nats", "messaging.operation.name": "send", "messaging.operation.type": "send",
			"messaging.destination.name": "orders.7.get", "messaging.destination.template": "orders.{id}.get"}},
		{"send orders.0.get", trace.SpanKindProducer, codes.Error, map[attribute.Key]string{
			"messaging.destination.name": "orders.0.get", "error.type": "404", client.ErrorCodeKey: "404"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(byName[tt.name]) != 1 {
				t.Fatalf("spans %v", byName)
			}
			span := byName[tt.name][0]
			if span.SpanKind() != tt.kind || span.Status().Code != tt.status {
				t.Errorf("kind %v, status %v", span.SpanKind(), span.Status())
			}
			got := attribute.NewSet(span.Attributes()...)
			for k, v := range tt.attrs {
				if attrValue(got, k) != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, attrValue(got, k), v, got.ToSlice())
				}
			}
			// The service's span continues the client's trace.
			var child sdktrace.ReadOnlySpan
			for _, s := range byName["process orders.{id}.get"] {
				if s.Parent().SpanID() == span.SpanContext().SpanID() {
					child = s
				}
			}
			if child == nil || child.SpanContext().TraceID() != span.SpanContext().TraceID() {
				t.Errorf("no service span is a child of %s", tt.name)
			}
		})
	}

	// A client span may be of kind CLIENT, for services traced as servers.
	c = e.client(t, client.WithMiddleware(client.Tracing(client.WithTracerProvider(tp), client.WithSpanKind(trace.SpanKindClient))))
	if _, err := c.Request(ctx, "orders.8.get", nil, nil); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return len(spans.Ended()) == 6 }, "six spans ended")
	for _, s := range spans.Ended() {
		if s.Name() == "send orders.8.get" && s.SpanKind() != trace.SpanKindClient {
			t.Errorf("kind %v, want client", s.SpanKind())
		}
	}
}

// TestMetrics: one duration per call, by destination and code, with the
// number of destinations bounded.
func TestMetrics(t *testing.T) {
	m := newMeter(t)
	r := natsmux.NewRouter()
	r.HandleFunc("get", getOrder, natsmux.WithSubject("orders.{id}.get"))
	e := newEnv(t, r, micro.Config{Name: "orders", Version: "1.0.0"})
	const limit = 5
	c := e.client(t, client.WithMiddleware(client.Metrics(client.WithMeterProvider(m), client.WithDestinationLimit(limit))))
	ctx := context.Background()
	tmpl := client.WithTemplate("orders.{id}.get")
	for _, id := range []string{"1", "2", "0"} {
		_, _ = c.Request(ctx, "orders."+id+".get", nil, nil, tmpl)
	}
	_, _ = c.Request(ctx, "nobody.home", nil, nil)
	// Codes that no reply carries, from a middleware of the caller's, make
	// one series.
	odd := e.client(t, client.WithMiddleware(client.Metrics(client.WithMeterProvider(m)), func(client.Invoker) client.Invoker {
		return client.InvokerFunc(func(_ context.Context, inv *client.Invocation) (*nats.Msg, error) {
			return nil, natsmux.NewError(len(inv.Subject)*1000, "odd")
		})
	}))
	for _, subject := range []string{"o", "oo", "ooo"} {
		_, _ = odd.Request(ctx, subject, nil, nil, client.WithTemplate("odd"))
	}
	// Subjects with ids and no template: only the first few get a series.
	for i := range 20 {
		_, _ = c.Request(ctx, fmt.Sprint("orders.", 100+i, ".get"), nil, nil)
	}

	hist := m.collect(t)["messaging.client.operation.duration"].(metricdata.Histogram[float64])
	counts := map[string]uint64{}
	for _, dp := range hist.DataPoints {
		set := dp.Attributes
		if attrValue(set, "messaging.system") != "nats" || attrValue(set, "messaging.operation.type") != "send" {
			t.Errorf("attributes %v", set.ToSlice())
		}
		dest := attrValue(set, "messaging.destination.template")
		if dest == "" {
			dest = attrValue(set, "messaging.destination.name")
		}
		code := attrValue(set, client.ErrorCodeKey)
		if code == "" && attrValue(set, "error.type") == client.OtherValue {
			code = client.OtherValue
		}
		counts[dest+" "+code] += dp.Count
	}
	want := map[string]uint64{
		"orders.{id}.get ": 2, "orders.{id}.get 404": 1, "nobody.home 503": 1,
		"orders.100.get ": 1, "orders.101.get ": 1, "orders.102.get ": 1, // the limit is 5 destinations
		client.OtherValue + " ": 17,
		"odd 500":               3, // CodeOf makes codes outside 100-999 a 500, as the wire does
	}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("calls by destination and code:\n got %v\nwant %v", counts, want)
	}
}

// TestLogger: one record per call, at the level its code calls for, with
// the request id that RequestID sent.
func TestLogger(t *testing.T) {
	r := natsmux.NewRouter()
	r.HandleFunc("teapot", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return nil, natsmux.Errorf(418, "short and stout")
	})
	r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	})
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	var out testutil.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := e.client(t, client.WithMiddleware(
		client.RequestID(client.WithRequestIDGenerator(func(context.Context) string { return "req-1" })),
		client.Logger(client.WithLogger(logger))))
	ctx := context.Background()
	_, _ = c.Request(ctx, "echo", []byte("hello"), nil)
	_, _ = c.Request(ctx, "teapot", nil, nil)
	_, _ = c.Request(ctx, "nobody.home", nil, nil)

	var records []map[string]any
	for line := range strings.Lines(out.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		delete(rec, "time")
		delete(rec, "duration")
		records = append(records, rec)
	}
	want := []map[string]any{
		{"level": "DEBUG", "msg": "nats call", "subject": "echo", "code": 0.0, "request_id": "req-1", "reply_size": 5.0},
		{"level": "WARN", "msg": "nats call", "subject": "teapot", "code": 418.0, "request_id": "req-1", "error": "418 short and stout"},
		{"level": "ERROR", "msg": "nats call", "subject": "nobody.home", "code": 503.0, "request_id": "req-1",
			"error": `503 no service is listening on "nobody.home": nats: no responders available for request`},
	}
	if fmt.Sprint(records) != fmt.Sprint(want) {
		t.Errorf("records:\n got %v\nwant %v", records, want)
	}
}

// TestRequestID: each call carries an id, the caller's own if it set one;
// a handler can pass on the id of the request it serves.
func TestRequestID(t *testing.T) {
	ids := make(chan string, 4)
	r := natsmux.NewRouter()
	r.HandleFunc("id", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		ids <- req.Header.Get(client.DefaultRequestIDHeader)
		return nil, nil
	})
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	ctx := context.Background()

	c := e.client(t, client.WithMiddleware(client.RequestID()))
	_, _ = c.Request(ctx, "id", nil, nil)
	_, _ = c.Request(ctx, "id", nil, nil)
	first, second := testutil.Receive(t, ids, microtest.DefaultTimeout), testutil.Receive(t, ids, microtest.DefaultTimeout)
	if len(first) != 22 || first == second {
		t.Errorf("generated ids %q and %q, want two different nuids", first, second)
	}
	_, _ = c.Request(ctx, "id", nil, nil, client.WithHeader(client.DefaultRequestIDHeader, "mine"))
	if got := testutil.Receive(t, ids, microtest.DefaultTimeout); got != "mine" {
		t.Errorf("the caller's id became %q", got)
	}

	// Passing on the id of the request being served, as a handler behind
	// middleware.RequestID would.
	passOn := client.WithRequestIDGenerator(middleware.RequestIDFromContext)
	if client.DefaultRequestIDHeader != middleware.DefaultRequestIDHeader {
		t.Errorf("the client sends %s, the service reads %s", client.DefaultRequestIDHeader, middleware.DefaultRequestIDHeader)
	}
	c = e.client(t, client.WithMiddleware(client.RequestID(passOn)))
	served := natsmux.NewRouter()
	served.Use(middleware.RequestID())
	served.HandleFunc("outer", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		_, err := c.Request(ctx, "id", nil, nil)
		return nil, err
	})
	incoming := natsmux.NewRequest("outer", nil)
	incoming.Header = nats.Header{middleware.DefaultRequestIDHeader: {"incoming-7"}}
	if _, err := served.ServeNATS(ctx, incoming); err != nil {
		t.Fatal(err)
	}
	if got := testutil.Receive(t, ids, microtest.DefaultTimeout); got != "incoming-7" {
		t.Errorf("the nested call carried %q, want the id of the request being served", got)
	}
}

// TestTimeout: Timeout bounds a call below the caller's deadline, and
// the service hears of the shorter deadline.
func TestTimeout(t *testing.T) {
	deadlines := make(chan time.Duration, 1)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	r := natsmux.NewRouter()
	r.HandleFunc("block", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		d, _ := time.ParseDuration(req.Header.Get(micro.TimeoutHeader))
		deadlines <- d
		started <- struct{}{}
		<-release
		return nil, nil
	})
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	t.Cleanup(func() { close(release) })
	c := e.client(t, client.WithMiddleware(client.Timeout(150*time.Millisecond)))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Request(ctx, "block", nil, nil)
	if natsmux.CodeOf(err) != 504 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a 504", err)
	}
	if d := testutil.Receive(t, deadlines, microtest.DefaultTimeout); d <= 0 || d > 150*time.Millisecond {
		t.Errorf("the service was given %s, want at most 150ms", d)
	}
	testutil.Receive(t, started, microtest.DefaultTimeout)

	for _, bad := range []func(){
		func() { client.Timeout(0) },
		func() { client.WithDestinationLimit(0) },
		func() { client.WithStateLimit(0) },
		func() { client.WithBudget(nil) },
		func() { client.WithMeterProvider(nil) },
		func() { client.WithTracerProvider(nil) },
		func() { client.WithTracingPropagator(nil) },
		func() { client.WithLogger(nil) },
		func() { client.WithRequestIDHeader("") },
		func() { client.WithRequestIDGenerator(nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a bad option did not panic")
				}
			}()
			bad()
		}()
	}
}
