package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// MetricsAddrEnv is the environment variable that sets the address of the
// Prometheus scrape endpoint when the --metrics-addr flag of Main is not
// given.
const MetricsAddrEnv = "NATSMUX_METRICS_ADDR"

// telemetryShutdownTimeout bounds the final flush of spans and metrics.
const telemetryShutdownTimeout = 5 * time.Second

// WithPrometheus serves the services' metrics, the Go runtime's included,
// for Prometheus to scrape at http://addr/metrics, such as ":9464" or
// "127.0.0.1:9464". Main sets it from --metrics-addr or NATSMUX_METRICS_ADDR.
// It adds to what the OTEL_* environment variables configure.
func WithPrometheus(addr string) Option {
	return func(c *runConfig) { c.prometheus = addr }
}

// addTelemetryFlags registers Main's telemetry flags on fs and returns the
// options they ask for, to call after parsing.
func addTelemetryFlags(fs *pflag.FlagSet) func() []Option {
	addr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, such as :9464 [$"+MetricsAddrEnv+"]")
	return func() []Option {
		if *addr == "" {
			*addr = os.Getenv(MetricsAddrEnv)
		}
		if *addr == "" {
			return nil
		}
		return []Option{WithPrometheus(*addr)}
	}
}

// telemetry is the OpenTelemetry SDK that Run installed globally, and how
// to put back what was there before.
type telemetry struct {
	tp      *sdktrace.TracerProvider
	mp      *sdkmetric.MeterProvider
	restore func()
}

// startTelemetry sets up tracing and metrics from the standard OTEL_*
// variables (through autoexport) and WithPrometheus, and installs them as
// the global providers that the middleware uses. A signal is on when its
// exporter variable names an exporter other than "none", or when it is unset
// and an OTLP endpoint is; with nothing configured, or OTEL_SDK_DISABLED=true,
// it installs nothing and returns nil.
func startTelemetry(ctx context.Context, c *runConfig, services []Service) (_ *telemetry, err error) {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	tracing := signalOn("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	metrics := signalOn("OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") || c.prometheus != ""
	if !tracing && !metrics {
		return nil, nil
	}
	res, err := serviceResource(ctx, services)
	if err != nil {
		return nil, err
	}
	t := &telemetry{}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.shutdownProviders(ctx))
		}
	}()
	if tracing {
		exporter, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			return nil, fmt.Errorf("traces: %w", err)
		}
		t.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	}
	if metrics {
		if t.mp, err = meterProvider(ctx, c, res); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		if err := runtime.Start(runtime.WithMeterProvider(t.mp)); err != nil {
			return nil, fmt.Errorf("runtime metrics: %w", err)
		}
	}
	t.install()
	return t, nil
}

// signalOn reports whether a signal's exporter is configured.
func signalOn(exporterVar, endpointVar string) bool {
	if exporter, set := os.LookupEnv(exporterVar); set && exporter != "" {
		return exporter != "none"
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv(endpointVar) != ""
}

// serviceResource describes the process: the services' names (joined with
// commas when there are several), their version when they share one, and a
// fresh instance id; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
func serviceResource(ctx context.Context, services []Service) (*resource.Resource, error) {
	versions := map[string]bool{}
	for _, s := range services {
		versions[s.Config.Version] = true
	}
	attrs := []resource.Option{resource.WithAttributes(
		semconv.ServiceName(serviceNames(services)),
		semconv.ServiceInstanceID(uuid.NewString()),
	)}
	if len(versions) == 1 {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(services[0].Config.Version)))
	}
	// Later options win: the environment over the services' config.
	return resource.New(ctx, slices.Concat(attrs, []resource.Option{resource.WithTelemetrySDK(), resource.WithFromEnv()})...)
}

// meterProvider makes the provider with the reader OTEL_METRICS_EXPORTER
// asks for, if any, and the Prometheus endpoint of WithPrometheus, if set.
func meterProvider(ctx context.Context, c *runConfig, res *resource.Resource) (*sdkmetric.MeterProvider, error) {
	opts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if signalOn("OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
		reader, err := autoexport.NewMetricReader(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdkmetric.WithReader(reader))
	}
	if c.prometheus != "" {
		reader, err := servePrometheus(c.prometheus, c.logger)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdkmetric.WithReader(reader))
	}
	return sdkmetric.NewMeterProvider(opts...), nil
}

// servePrometheus listens on addr and serves the metrics of the returned
// reader at /metrics until the reader shuts down.
func servePrometheus(addr string, log *slog.Logger) (sdkmetric.Reader, error) {
	registry := prometheus.NewRegistry()
	exporter, err := promexporter.New(promexporter.WithRegisterer(registry))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("prometheus endpoint: %w", err), exporter.Shutdown(context.Background()))
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("prometheus endpoint failed", "error", err)
		}
	}()
	log.Info("serving Prometheus metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return &servedReader{Reader: exporter, srv: srv}, nil
}

// servedReader stops its HTTP server when it shuts down.
type servedReader struct {
	sdkmetric.Reader
	srv *http.Server
}

func (r *servedReader) Shutdown(ctx context.Context) error {
	return errors.Join(r.srv.Shutdown(ctx), r.Reader.Shutdown(ctx))
}

// install makes the providers global, with W3C trace context and baggage
// as the propagator, and remembers what to restore.
func (t *telemetry) install() {
	prevTP, prevMP, prevProp := otel.GetTracerProvider(), otel.GetMeterProvider(), otel.GetTextMapPropagator()
	if t.tp != nil {
		otel.SetTracerProvider(t.tp)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	}
	if t.mp != nil {
		otel.SetMeterProvider(t.mp)
	}
	t.restore = func() {
		if t.tp != nil {
			otel.SetTracerProvider(prevTP)
			otel.SetTextMapPropagator(prevProp)
		}
		if t.mp != nil {
			otel.SetMeterProvider(prevMP)
		}
	}
}

// shutdown flushes what is left to the exporters and puts the previous
// global providers back. Errors are logged: the services have stopped by
// then, and a backend that is down must not turn a clean stop into a
// failure.
func (t *telemetry) shutdown(log *slog.Logger) {
	if t == nil {
		return
	}
	t.restore()
	ctx, cancel := context.WithTimeout(context.Background(), telemetryShutdownTimeout)
	defer cancel()
	if err := t.shutdownProviders(ctx); err != nil {
		log.Warn("flushing telemetry", "error", err)
	}
}

func (t *telemetry) shutdownProviders(ctx context.Context) error {
	var errs []error
	if t.tp != nil {
		errs = append(errs, t.tp.Shutdown(ctx))
	}
	if t.mp != nil {
		errs = append(errs, t.mp.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
