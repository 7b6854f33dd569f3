package middleware_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// discardSpans is a span exporter that drops what it is given, so that a
// benchmark measures making spans, not shipping them.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// benchTelemetry is the SDK setup of a production service, minus the
// network: spans sampled by sampler and batched to a discarding exporter,
// metrics aggregated for a reader.
type benchTelemetry struct {
	tracing natsmux.Middleware
	metrics natsmux.Middleware
}

func newBenchTelemetry(b *testing.B, sampler sdktrace.Sampler) benchTelemetry {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return benchTelemetry{
		tracing: middleware.Tracing(middleware.WithTracerProvider(tp), middleware.WithPropagators(propagation.TraceContext{})),
		metrics: middleware.Metrics(middleware.WithMeterProvider(mp)),
	}
}

// chain is the recommended global set with logs to h.
func (bt benchTelemetry) chain(h slog.Handler) []natsmux.Middleware {
	return []natsmux.Middleware{bt.tracing, middleware.RequestID(), middleware.Logger(middleware.WithLogger(slog.New(h))),
		bt.metrics, middleware.Recover()}
}

// BenchmarkEchoChain compares, on one in-process server with 32 concurrent
// requesters and a 128-byte echo, a raw nats.go responder, a natsmux router
// without middleware, and the recommended chain without and with Timeout,
// with real SDK telemetry: a production-like setup (one trace in ten
// sampled, logs discarded by their handler) and the heaviest one (every span
// sampled, every request formatted as JSON). Each b.N is one 200 ms round
// per target; the ratios to raw are what matters.
func BenchmarkEchoChain(b *testing.B) {
	setups := []struct {
		name    string
		sampler sdktrace.Sampler
		logs    slog.Handler
	}{
		{"ratio-sampler/discard-logs", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1)), slog.DiscardHandler},
		{"always-sample/json-logs", sdktrace.AlwaysSample(), slog.NewJSONHandler(io.Discard, nil)},
	}
	for _, setup := range setups {
		b.Run(setup.name, func(b *testing.B) {
			srv := microtest.NewServer(b)
			if err := loadgen.StartRaw(srv.Connect(b), "bench.raw", 0); err != nil {
				b.Fatal(err)
			}
			bare := natsmux.NewRouter()
			bare.HandleFunc("echo", echo, natsmux.WithSubject("bench.bare"))
			serve(b, srv.Connect(b), "bare", bare)

			full := natsmux.NewRouter()
			full.Use(newBenchTelemetry(b, setup.sampler).chain(setup.logs)...)
			full.HandleFunc("echo", echo, natsmux.WithSubject("bench.chain"))
			full.HandleFunc("echo-timeout", echo, natsmux.WithSubject("bench.timeout"),
				natsmux.WithMiddleware(middleware.Timeout(time.Second)))
			serve(b, srv.Connect(b), "chain", full)

			client := srv.Connect(b)
			targets := []loadgen.Target{
				{Name: "raw", Subject: "bench.raw", Conn: client},
				{Name: "router", Subject: "bench.bare", Conn: client},
				{Name: "chain", Subject: "bench.chain", Conn: client},
				{Name: "chain+timeout", Subject: "bench.timeout", Conn: client},
			}
			res := loadgen.Bench(b, targets, loadgen.Load{Requesters: 32, Payload: bytes.Repeat([]byte("x"), 128)}, 200*time.Millisecond)
			for i, r := range res[1:] {
				b.ReportMetric(loadgen.Ratio(r, res[0]), targets[i+1].Name+"-x-raw")
			}
		})
	}
}

// BenchmarkMiddleware measures each middleware alone, in memory: a request
// through a router (Router.ServeNATS, the request path a mounted router
// takes, minus NATS) with the middleware to a handler that echoes, on an
// endpoint with a fixed subject unless the case says template. "none" is the
// baseline; the difference is the middleware's cost. Tracing samples every
// span unless unsampled; the recommended chain is measured light (one trace
// in ten sampled, logs discarded by their handler), as production runs it
// (one in ten sampled, logs formatted as JSON) and heavy (every span
// sampled, logs formatted as JSON).
func BenchmarkMiddleware(b *testing.B) {
	bt := newBenchTelemetry(b, sdktrace.AlwaysSample())
	unsampled := newBenchTelemetry(b, sdktrace.NeverSample()).tracing
	light := newBenchTelemetry(b, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1)))
	jsonLogs := slog.NewJSONHandler(io.Discard, nil)
	always := func(*natsmux.Request) bool { return true }
	tests := []struct {
		name     string
		mws      []natsmux.Middleware
		template bool
	}{
		{name: "none"},
		{name: "Recover", mws: []natsmux.Middleware{middleware.Recover()}},
		{name: "RequestID", mws: []natsmux.Middleware{middleware.RequestID()}},
		{name: "Logger-json", mws: []natsmux.Middleware{middleware.Logger(middleware.WithLogger(slog.New(jsonLogs)))}},
		{name: "Logger-discard", mws: []natsmux.Middleware{middleware.Logger(middleware.WithLogger(slog.New(slog.DiscardHandler)))}},
		{name: "Tracing", mws: []natsmux.Middleware{bt.tracing}},
		{name: "Tracing-template", mws: []natsmux.Middleware{bt.tracing}, template: true},
		{name: "Tracing-unsampled", mws: []natsmux.Middleware{unsampled}},
		{name: "Metrics", mws: []natsmux.Middleware{bt.metrics}},
		{name: "Timeout", mws: []natsmux.Middleware{middleware.Timeout(time.Second)}},
		{name: "Limit", mws: []natsmux.Middleware{middleware.Limit(64)}},
		{name: "Maybe", mws: []natsmux.Middleware{middleware.Maybe(middleware.Recover(), always)}},
		{name: "MaybeEndpoint", mws: []natsmux.Middleware{middleware.MaybeEndpoint(middleware.Recover(), func(*natsmux.Endpoint) bool { return true })}},
		{name: "Recommended-light", mws: light.chain(slog.DiscardHandler)},
		{name: "Recommended-light+Timeout", mws: append(light.chain(slog.DiscardHandler), middleware.Timeout(time.Second))},
		{name: "Recommended-json+Timeout", mws: append(light.chain(jsonLogs), middleware.Timeout(time.Second))},
		{name: "Recommended-heavy", mws: bt.chain(jsonLogs)},
		{name: "Recommended-heavy+Timeout", mws: append(bt.chain(jsonLogs), middleware.Timeout(time.Second))},
	}
	payload := bytes.Repeat([]byte("x"), 128)
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			r := natsmux.NewRouter()
			r.Use(tt.mws...)
			subject := "orders.get"
			if tt.template {
				r.HandleFunc("item", echo, natsmux.WithSubject("orders.{id}.get"))
				subject = "orders.42.get"
			} else {
				r.HandleFunc("get", echo, natsmux.WithSubject(subject))
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ServeNATS(context.Background(), natsmux.NewRequest(subject, payload)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChainLeaveOneOut finds what the recommended chain with Timeout
// costs end to end, middleware by middleware: the whole chain and the chain
// without each one in turn, against a raw responder, all on one server in
// alternating rounds, with production telemetry (one trace in ten sampled,
// every log record formatted as JSON). The gap between "all" and
// "without-X" is what X costs on the wire; "id-on-every-reply" is the whole
// chain with RequestID's WithRequestIDOnEveryReply, "none" the router
// without middleware. X-handler-us is the
// average time the service spent in chain X (its endpoint's stats), where
// the middleware run amid the server's and the callers' work, not in a
// loop of their own. Each b.N is one 200 ms round per target.
func BenchmarkChainLeaveOneOut(b *testing.B) {
	for _, callers := range []int{32, 1} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			srv := microtest.NewServer(b)
			if err := loadgen.StartRaw(srv.Connect(b), "bench.raw", 0); err != nil {
				b.Fatal(err)
			}
			bt := newBenchTelemetry(b, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1)))
			named := []struct {
				name string
				mw   natsmux.Middleware
			}{
				{"tracing", bt.tracing},
				{"requestid", middleware.RequestID()},
				{"logger", middleware.Logger(middleware.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))},
				{"metrics", bt.metrics},
				{"recover", middleware.Recover()},
				{"timeout", middleware.Timeout(5 * time.Second)},
			}
			chains := natsmux.NewRouter()
			targets := []loadgen.Target{{Name: "raw", Subject: "bench.raw", Conn: srv.Connect(b)}}
			add := func(name string, mws []natsmux.Middleware) {
				chains.HandleFunc(name, echo, natsmux.WithMiddleware(mws...))
				targets = append(targets, loadgen.Target{Name: name, Subject: name, Conn: targets[0].Conn})
			}
			add("none", nil)
			for leftOut := -1; leftOut < len(named); leftOut++ {
				var mws []natsmux.Middleware
				for i, n := range named {
					if i != leftOut {
						mws = append(mws, n.mw)
					}
				}
				name := "all"
				if leftOut >= 0 {
					name = "without-" + named[leftOut].name
				}
				add(name, mws)
			}
			// The whole chain with the request id on successful replies too:
			// what a reply header costs the service and the caller.
			var everyReply []natsmux.Middleware
			for _, n := range named {
				if n.name == "requestid" {
					n.mw = middleware.RequestID(middleware.WithRequestIDOnEveryReply())
				}
				everyReply = append(everyReply, n.mw)
			}
			add("id-on-every-reply", everyReply)
			svc := serve(b, srv.Connect(b), "leave-one-out", chains)
			res := loadgen.Bench(b, targets, loadgen.Load{Requesters: callers, Payload: bytes.Repeat([]byte("x"), 128)}, 200*time.Millisecond)
			for i, r := range res[1:] {
				b.ReportMetric(loadgen.Ratio(r, res[0]), targets[i+1].Name+"-x-raw")
			}
			loadgen.ReportHandlerTimes(b, svc.Stats())
		})
	}
}

// BenchmarkJSONLogRecord formats a record like Logger's end record with
// slog's JSON handler alone, nothing of natsmux around it: the part of
// Logger's cost that is the handler's.
func BenchmarkJSONLogRecord(b *testing.B) {
	h := slog.NewJSONHandler(io.Discard, nil).WithAttrs([]slog.Attr{
		slog.String("service", "orders"), slog.String("endpoint", "get"), slog.String("subject", "orders.get")})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "nats request", 0)
		r.AddAttrs(slog.Int("request_size", 128), slog.String("request_id", "KhSa7IYfRKbLTnx5wPIbYn"), slog.Int("code", 0),
			slog.Duration("duration", 12*time.Microsecond), slog.Int("reply_size", 128))
		if err := h.Handle(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}
