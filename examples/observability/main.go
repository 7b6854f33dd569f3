// Command observability is an orders service that reports traces, metrics
// and logs:
//
//   - a span "process orders.{id}.get" per request, continuing the
//     caller's trace, printed as JSON on stdout by the OpenTelemetry SDK's
//     stdout exporter;
//   - the duration histogram and the requests in flight, printed on stdout
//     every 30s and at exit;
//   - log records stamped with trace_id, span_id and request_id, fanned out
//     to two sinks: text on stderr for people, JSON lines in a file for
//     machines.
//
// A production service swaps the stdout exporters for OTLP ones and keeps
// the rest. Try:
//
//	go run ./examples/observability
//	micro request orders.1.get
//	micro request -H traceparent:00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 orders.1.get
//	micro request orders.9.get     # 404: a span with error.type 404
//
// then Ctrl-C to see the last spans and metrics flushed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	slogmulti "github.com/samber/slog-multi"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/middleware"
)

const (
	serviceName    = "orders"
	serviceVersion = "1.0.0"
	metricsEvery   = 30 * time.Second // how often metrics are printed while serving
)

func main() {
	logPath := filepath.Join(os.TempDir(), "natsmux-observability.jsonl")
	logFile, err := os.Create(logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "JSON logs go to", logPath)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, sinks{traces: os.Stdout, metrics: os.Stdout, textLogs: os.Stderr, jsonLogs: logFile})
	stop()
	err = errors.Join(err, logFile.Close())
	if err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
}

// sinks says where the telemetry goes.
type sinks struct {
	traces, metrics    io.Writer // spans and metrics, as JSON
	textLogs, jsonLogs io.Writer // every log record goes to both
}

// run serves the orders service, connected as NATS_URL says (or to an
// embedded server), until ctx ends; then it flushes the telemetry that is
// left to out.
func run(ctx context.Context, out sinks) (err error) {
	tel, err := newTelemetry(out)
	if err != nil {
		return err
	}
	defer func() {
		// Shutting the providers down exports what they still hold. It gets
		// a context of its own, since ctx has ended by then.
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = errors.Join(err, tel.traces.Shutdown(flush), tel.metrics.Shutdown(flush))
	}()
	return app.Run(ctx, []app.Service{service(tel)}, app.WithLogger(tel.logger), devserver.Fallback())
}

// telemetry holds the OpenTelemetry SDK's providers and the logger.
type telemetry struct {
	traces  *sdktrace.TracerProvider
	metrics *sdkmetric.MeterProvider
	logger  *slog.Logger
}

// newTelemetry sets up the SDK with stdout exporters, and a logger that
// stamps records with the ids of the request they are logged for.
func newTelemetry(out sinks) (*telemetry, error) {
	spanExporter, err := stdouttrace.New(stdouttrace.WithWriter(out.traces), stdouttrace.WithPrettyPrint())
	if err != nil {
		return nil, err
	}
	metricExporter, err := stdoutmetric.New(stdoutmetric.WithWriter(out.metrics), stdoutmetric.WithPrettyPrint())
	if err != nil {
		return nil, err
	}
	// The resource names the service in every span and metric.
	res := resource.NewSchemaless(semconv.ServiceName(serviceName), semconv.ServiceVersion(serviceVersion))

	// middleware.LogHandler adds trace_id, span_id, request_id, service and
	// endpoint to every record logged with a request's context, before
	// slogmulti.Fanout hands the record to each sink.
	logger := slog.New(middleware.LogHandler(slogmulti.Fanout(
		slog.NewTextHandler(out.textLogs, nil),
		slog.NewJSONHandler(out.jsonLogs, nil),
	)))
	return &telemetry{
		// The batcher exports spans in the background, a few seconds apart.
		traces: sdktrace.NewTracerProvider(sdktrace.WithBatcher(spanExporter), sdktrace.WithResource(res)),
		metrics: sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
			sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExporter, sdkmetric.WithInterval(metricsEvery)))),
		logger: logger,
	}, nil
}

// service returns the orders service, reporting to tel. The providers are
// passed to the middleware rather than set globally (otel.SetTracerProvider
// and friends), which would work as well.
func service(tel *telemetry) app.Service {
	r := natsmux.NewRouter()
	r.Use(
		// Continue the caller's trace from the W3C traceparent header.
		middleware.Tracing(middleware.WithTracerProvider(tel.traces), middleware.WithPropagators(propagation.TraceContext{})),
		middleware.RequestID(),
		middleware.Logger(middleware.WithLogger(tel.logger)),
		middleware.Metrics(middleware.WithMeterProvider(tel.metrics)),
		middleware.Recover(),
	)
	r.HandleFunc("get", orderLookup(tel.logger), natsmux.WithSubject("orders.{id}.get"))
	return app.Service{
		Config: micro.Config{Name: serviceName, Version: serviceVersion, Description: "Orders, traced, measured and logged"},
		Router: r,
	}
}

// orders are the orders the service knows.
var orders = map[string]string{"1": `{"id":"1","items":{"apple":2}}`}

// orderLookup returns the handler of orders.{id}.get, which logs with
// logger.
func orderLookup(logger *slog.Logger) natsmux.HandlerFunc {
	return func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		id := req.Param("id")
		// Logged with ctx, so the record carries the request's ids.
		logger.InfoContext(ctx, "looking up order", "id", id)
		order, ok := orders[id]
		if !ok {
			return nil, natsmux.Errorf(404, "no order %s", id)
		}
		return natsmux.Reply([]byte(order)), nil
	}
}
