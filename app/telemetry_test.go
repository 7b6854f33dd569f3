package app_test

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// otelVariables are the variables that configure telemetry; the tests
// start from none of them set.
var otelVariables = []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", app.MetricsAddrEnv}

func clearTelemetryEnv(t *testing.T) {
	for _, name := range otelVariables {
		t.Setenv(name, "")
	}
}

// TestTelemetryNothingSet: without OTEL_* variables, Run installs no
// provider: the middleware keeps the global no-op ones and exports nothing.
func TestTelemetryNothingSet(t *testing.T) {
	clearTelemetryEnv(t)
	srv := microtest.NewServer(t)
	tp, mp, prop := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	seen := make(chan [3]any, 1)
	s := echoService("quiet")
	s.Options = append(s.Options, natsmux.WithOnStart(func(micro.Service) {
		seen <- [3]any{otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()}
	}))
	r := startRun(t, []app.Service{s}, app.WithConn(app.ConnOptions{URL: srv.URL}))
	got := testutil.Receive(t, seen, microtest.DefaultTimeout)
	if got[0] != tp || got[1] != mp || got[2] != prop {
		t.Errorf("providers changed while running: %T %T %T", got[0], got[1], got[2])
	}
	if _, ok := got[0].(*sdktrace.TracerProvider); ok {
		t.Error("an SDK tracer provider is installed")
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}

func TestTelemetryBadConfig(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"OTEL_TRACES_EXPORTER", "carrier-pigeon", "traces"},
		{"OTEL_METRICS_EXPORTER", "carrier-pigeon", "metrics"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "smoke-signals", "traces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearTelemetryEnv(t)
			t.Setenv(tt.name, tt.value)
			if tt.name == "OTEL_EXPORTER_OTLP_PROTOCOL" {
				t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
			}
			tp := otel.GetTracerProvider()
			err := app.Run(context.Background(), []app.Service{echoService("bad")}, app.WithConn(app.ConnOptions{URL: "nats://127.0.0.1:1"}))
			if err == nil || !strings.Contains(err.Error(), "app: telemetry: "+tt.want) {
				t.Errorf("Run: %v, want a telemetry error about %s", err, tt.want)
			}
			if otel.GetTracerProvider() != tp {
				t.Error("a failed setup left a provider installed")
			}
		})
	}
}

// The telemetry tests below run services in a child process, as a
// deployment would: OpenTelemetry's globals are set once per process.
const helperEnv = "NATSMUX_TELEMETRY_HELPER"

// TestTelemetryHelperProcess is the child: two services, alpha and beta,
// run with app's Main, configured by the environment and the arguments in
// helperEnv. alpha.call calls beta.work with the trace context; beta.work
// answers 404 to "missing".
func TestTelemetryHelperProcess(t *testing.T) {
	args, ok := os.LookupEnv(helperEnv)
	if !ok {
		t.Skip("the child process of the telemetry tests")
	}
	nc, err := nats.Connect(os.Getenv("NATS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(nc, client.WithPropagator(otel.GetTextMapPropagator()))
	if err != nil {
		t.Fatal(err)
	}
	alpha := natsmux.NewRouter()
	alpha.Use(middleware.Tracing(), middleware.Metrics())
	alpha.HandleFunc("call", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		reply, err := c.Request(ctx, "beta.work", req.Data, nil)
		if err != nil {
			return nil, err
		}
		return natsmux.Reply(reply.Data), nil
	}, natsmux.WithSubject("alpha.call"))
	beta := natsmux.NewRouter()
	beta.Use(middleware.Tracing(), middleware.Metrics())
	beta.HandleFunc("work", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		if string(req.Data) == "missing" {
			return nil, natsmux.Errorf(404, "no such thing")
		}
		return natsmux.Reply([]byte("done")), nil
	}, natsmux.WithSubject("beta.work"))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	code := app.New().MainCode(ctx, strings.Fields(args), os.Stderr, []app.Service{
		{Config: micro.Config{Name: "alpha", Version: "1.2.3"}, Router: alpha},
		{Config: micro.Config{Name: "beta", Version: "1.2.3"}, Router: beta},
	}, slog.SetDefault)
	stop()
	os.Exit(code)
}

// child is the helper process running.
type child struct {
	cmd    *exec.Cmd
	stderr testutil.Buffer
	exited chan struct{} // closed when the child has exited with err
	err    error
}

// startChild runs the helper with env added to a copy of this process's
// environment from which every telemetry variable is removed.
func startChild(t *testing.T, args string, env ...string) *child {
	t.Helper()
	c := &child{exited: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestTelemetryHelperProcess$")
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(otelVariables, name) && !strings.HasPrefix(name, "NATS_") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Env = append(c.cmd.Env, append(env, helperEnv+"="+args)...)
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.exited
	})
	return c
}

// stop sends SIGTERM and checks that the child drains and exits with 0.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testutil.Closed(t, c.exited, 2*microtest.DefaultTimeout, "the services' process")
	if c.err != nil {
		t.Fatalf("the services exited with %v; their log:\n%s", c.err, &c.stderr)
	}
}

// waitServing waits until subject answers.
func waitServing(t *testing.T, nc *nats.Conn, subject string, c *child) {
	t.Helper()
	testutil.Eventually(t, 2*microtest.DefaultTimeout, func() bool {
		_, err := nc.Request(subject, nil, time.Second)
		return !errors.Is(err, nats.ErrNoResponders)
	}, "%s answers; the services' log:\n%s", subject, &c.stderr)
}

// otlpReceiver is an OTLP/HTTP endpoint that decodes what exporters send.
type otlpReceiver struct {
	mu      sync.Mutex
	spans   []*collectortrace.ExportTraceServiceRequest
	metrics []*collectormetrics.ExportMetricsServiceRequest
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want a protobuf body", http.StatusBadRequest)
		return
	}
	var reply proto.Message
	r.mu.Lock()
	defer r.mu.Unlock()
	switch req.URL.Path {
	case "/v1/traces":
		export := &collectortrace.ExportTraceServiceRequest{}
		err, reply = proto.Unmarshal(body, export), &collectortrace.ExportTraceServiceResponse{}
		r.spans = append(r.spans, export)
	case "/v1/metrics":
		export := &collectormetrics.ExportMetricsServiceRequest{}
		err, reply = proto.Unmarshal(body, export), &collectormetrics.ExportMetricsServiceResponse{}
		r.metrics = append(r.metrics, export)
	default:
		http.NotFound(w, req)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, _ := proto.Marshal(reply)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// receivedSpan is a span with the resource it came from.
type receivedSpan struct {
	*tracepb.Span
	resource *resourcepb.Resource
}

func (r *otlpReceiver) receivedSpans() []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, export := range r.spans {
		for _, rs := range export.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out = append(out, receivedSpan{s, rs.Resource})
				}
			}
		}
	}
	return out
}

// metricPoints returns the attribute sets of every data point of the
// metric called name.
func (r *otlpReceiver) metricPoints(name string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, export := range r.metrics {
		for _, rm := range export.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if m.Name != name {
						continue
					}
					for _, p := range m.GetHistogram().GetDataPoints() {
						out = append(out, attributes(p.Attributes))
					}
					for _, p := range m.GetSum().GetDataPoints() {
						out = append(out, attributes(p.Attributes))
					}
				}
			}
		}
	}
	return out
}

func attributes(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			out[kv.Key] = strconv.FormatInt(v.IntValue, 10)
		}
	}
	return out
}

// TestTelemetryOTLP: with nothing but OTEL_EXPORTER_OTLP_ENDPOINT set, a
// caller's trace goes on through service alpha into service beta, each span
// the child of the one before, and the request metrics arrive with the
// endpoint and the error code, next to the Go runtime's, all under the
// services' resource.
func TestTelemetryOTLP(t *testing.T) {
	receiver := &otlpReceiver{}
	collector := httptest.NewServer(receiver)
	t.Cleanup(collector.Close)
	srv := microtest.NewServer(t)
	c := startChild(t, "", "NATS_URL="+srv.URL, "OTEL_EXPORTER_OTLP_ENDPOINT="+collector.URL, "OTEL_METRIC_EXPORT_INTERVAL=60000")
	nc := srv.Connect(t)
	waitServing(t, nc, "alpha.call", c)

	// The caller: a span of its own, sent in the request's headers.
	callerSpans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(callerSpans))
	ctx, span := tp.Tracer("caller").Start(context.Background(), "caller")
	caller, err := client.New(nc, client.WithPropagator(propagation.TraceContext{}))
	if err != nil {
		t.Fatal(err)
	}
	if reply, err := caller.Request(ctx, "alpha.call", []byte("thing"), nil); err != nil || string(reply.Data) != "done" {
		t.Fatalf("alpha.call: %v", err)
	}
	if _, err := caller.Request(ctx, "alpha.call", []byte("missing"), nil); natsmux.CodeOf(err) != 404 {
		t.Fatalf("alpha.call for a missing thing: %v, want 404", err)
	}
	span.End()
	c.stop(t) // the telemetry is flushed at exit, with a minute left before the next export

	spans := receiver.receivedSpans()
	trace, parent := span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()
	var chain []receivedSpan
	for _, name := range []string{"process alpha.call", "process beta.work"} {
		i := slices.IndexFunc(spans, func(s receivedSpan) bool {
			return s.Name == name && hex.EncodeToString(s.ParentSpanId) == parent
		})
		if i < 0 {
			t.Fatalf("no span %q with parent %s among %d spans: %v", name, parent, len(spans), spans)
		}
		if got := hex.EncodeToString(spans[i].TraceId); got != trace {
			t.Errorf("%s: trace %s, want the caller's %s", name, got, trace)
		}
		chain = append(chain, spans[i])
		parent = hex.EncodeToString(spans[i].SpanId)
	}
	res := attributes(chain[0].resource.Attributes)
	if res["service.name"] != "alpha,beta" || res["service.version"] != "1.2.3" || len(res["service.instance.id"]) != 36 {
		t.Errorf("resource: %v", res)
	}

	points := receiver.metricPoints("messaging.process.duration")
	if !slices.ContainsFunc(points, func(a map[string]string) bool {
		return a["natsmux.endpoint.name"] == "work" && a["natsmux.error.code"] == "404" && a["error.type"] == "404"
	}) || !slices.ContainsFunc(points, func(a map[string]string) bool {
		return a["natsmux.endpoint.name"] == "call" && a["natsmux.error.code"] == ""
	}) {
		t.Errorf("messaging.process.duration points: %v", points)
	}
	if len(receiver.metricPoints("go.goroutine.count")) == 0 {
		t.Error("no runtime metric go.goroutine.count")
	}
}

// TestPrometheusScrape: with --metrics-addr or NATSMUX_METRICS_ADDR, a
// Prometheus server scraping the address finds the request metrics and the
// runtime's, under the services' target info; the endpoint closes when the
// services stop.
func TestPrometheusScrape(t *testing.T) {
	tests := []struct {
		name string
		args func(addr string) (string, []string)
	}{
		{"flag", func(addr string) (string, []string) { return "--metrics-addr " + addr, nil }},
		{"environment", func(addr string) (string, []string) { return "", []string{app.MetricsAddrEnv + "=" + addr} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := microtest.NewServer(t)
			addr := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
			args, env := tt.args(addr)
			c := startChild(t, args, append(env, "NATS_URL="+srv.URL)...)
			nc := srv.Connect(t)
			waitServing(t, nc, "beta.work", c)
			microtest.Request(t, nc, "beta.work", []byte("missing"))

			var page string
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
				page = scrape(t, "http://"+addr+"/metrics")
				return strings.Contains(page, "messaging_process_duration_seconds_count{")
			}, "request metrics at %s; the page:\n%s", addr, stringer(func() string { return page }))
			for _, want := range []string{`natsmux_endpoint_name="work"`, `natsmux_error_code="404"`, "go_goroutine_count",
				`target_info{`, `service_name="alpha,beta"`, `service_version="1.2.3"`} {
				if !strings.Contains(page, want) {
					t.Errorf("the scraped page has no %s:\n%s", want, page)
				}
			}
			c.stop(t)
			if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
				_ = resp.Body.Close()
				t.Error("the metrics endpoint still answers after the services stopped")
			}
		})
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(body)
}

type stringer func() string

func (f stringer) String() string { return f() }

// TestTelemetryRestoresGlobals: Run installs its meter provider for the
// services' lifetime and puts the previous one back when they stop.
func TestTelemetryRestoresGlobals(t *testing.T) {
	clearTelemetryEnv(t)
	srv := microtest.NewServer(t)
	before := otel.GetMeterProvider()
	seen := make(chan any, 1)
	s := echoService("restore")
	s.Options = append(s.Options, natsmux.WithOnStart(func(micro.Service) { seen <- otel.GetMeterProvider() }))
	r := startRun(t, []app.Service{s}, app.WithConn(app.ConnOptions{URL: srv.URL}), app.WithPrometheus("127.0.0.1:0"))
	if _, ok := testutil.Receive(t, seen, microtest.DefaultTimeout).(*sdkmetric.MeterProvider); !ok {
		t.Error("no SDK meter provider while the services run")
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if otel.GetMeterProvider() != before {
		t.Errorf("meter provider after Run: %T, want the previous one back", otel.GetMeterProvider())
	}
}
