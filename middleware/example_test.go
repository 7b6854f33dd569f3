package middleware_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	slogmulti "github.com/samber/slog-multi"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/middleware"
)

var orders = map[string]string{"42": "2 books"}

func getOrder(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	order, ok := orders[req.Param("id")]
	if !ok {
		return nil, natsmux.ErrNotFound
	}
	return natsmux.Reply([]byte(order)), nil
}

// withoutTimes drops the attributes that change from run to run, so that
// the examples' logs can be compared.
func withoutTimes(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey || a.Key == "duration" {
		return slog.Attr{}
	}
	return a
}

// The recommended chain: Tracing, RequestID, Logger, Metrics and Recover for
// every endpoint, then Limit for a group and Timeout for one endpoint.
func Example() {
	r := natsmux.NewRouter()
	r.Use(
		middleware.Tracing(),   // outermost: everything below runs in the span
		middleware.RequestID(), // the id is on the context for Logger, and on every error reply
		middleware.Logger(),    // one record per request, with its final code
		middleware.Metrics(),   // duration, count and in-flight requests
		middleware.Recover(),   // innermost: a panic becomes a 500 that the others see
	)
	r.Route("orders", func(r *natsmux.Router) {
		r.Use(middleware.Limit(100, middleware.WithBacklog(50, 100*time.Millisecond)))
		r.HandleFunc("get", getOrder, natsmux.WithSubject("{id}.get"),
			natsmux.WithMiddleware(middleware.Timeout(2*time.Second)))
	})

	resp, err := r.ServeNATS(context.Background(), natsmux.NewRequest("orders.42.get", nil))
	fmt.Println(string(resp.Data), err)
	// Output: 2 books <nil>
}

// Logger writes one record per request; handlers add attributes to it.
func ExampleLogger() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: withoutTimes}))
	r := natsmux.NewRouter()
	r.Use(middleware.RequestID(), middleware.Logger(middleware.WithLogger(logger)))
	r.HandleFunc("get", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		middleware.AddLogAttrs(ctx, slog.String("order", req.Param("id")))
		return getOrder(ctx, req)
	}, natsmux.WithSubject("orders.{id}.get"))

	for _, id := range []string{"42", "7"} {
		req := natsmux.NewRequest("orders."+id+".get", nil)
		req.Header = nats.Header{"X-Request-Id": {"req-" + id}}
		_, _ = r.ServeNATS(context.Background(), req)
	}
	// Output:
	// {"level":"INFO","msg":"nats request","service":"","endpoint":"get","subject":"orders.42.get","request_size":0,"request_id":"req-42","code":0,"reply_size":7,"order":"42"}
	// {"level":"WARN","msg":"nats request","service":"","endpoint":"get","subject":"orders.7.get","request_size":0,"request_id":"req-7","code":404,"reply_size":0,"error":"not found","order":"7"}
}

// LogHandler stamps the records that handlers log with the request's ids;
// slogmulti.Fanout sends them to several sinks, here JSON and text.
func ExampleLogHandler() {
	opts := &slog.HandlerOptions{ReplaceAttr: withoutTimes}
	logger := slog.New(middleware.LogHandler(slogmulti.Fanout(
		slog.NewJSONHandler(os.Stdout, opts),
		slog.NewTextHandler(os.Stdout, opts),
	)))
	r := natsmux.NewRouter()
	r.Use(middleware.RequestID())
	r.HandleFunc("get", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		logger.InfoContext(ctx, "looking up order", "id", req.Param("id"))
		return getOrder(ctx, req)
	}, natsmux.WithSubject("orders.{id}.get"))

	req := natsmux.NewRequest("orders.42.get", nil)
	req.Header = nats.Header{"X-Request-Id": {"req-1"}}
	_, _ = r.ServeNATS(context.Background(), req)
	// Output:
	// {"level":"INFO","msg":"looking up order","id":"42","request_id":"req-1","service":"","endpoint":"get"}
	// level=INFO msg="looking up order" id=42 request_id=req-1 service="" endpoint=get
}

// A handler that calls another service injects its context into the
// request's headers, and the trace goes on there.
func ExampleTracing() {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	propagator := propagation.TraceContext{}
	tracing := middleware.Tracing(middleware.WithTracerProvider(tp), middleware.WithPropagators(propagator))

	var shopSpan trace.SpanContext
	stock := natsmux.NewRouter()
	stock.Use(tracing)
	stock.HandleFunc("check", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		span := trace.SpanContextFromContext(ctx)
		fmt.Println("same trace:", span.TraceID() == shopSpan.TraceID(), "own span:", span.SpanID() != shopSpan.SpanID())
		return natsmux.Reply([]byte("in stock")), nil
	}, natsmux.WithSubject("stock.check"))

	shop := natsmux.NewRouter()
	shop.Use(tracing)
	shop.HandleFunc("buy", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		shopSpan = trace.SpanContextFromContext(ctx)
		out := natsmux.NewRequest("stock.check", req.Data)
		out.Header = nats.Header{}
		propagator.Inject(ctx, natsmux.HeaderCarrier(out.Header))
		// Over NATS: nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: ..., Header: out.Header}).
		return stock.ServeNATS(ctx, out)
	}, natsmux.WithSubject("shop.buy"))

	resp, _ := shop.ServeNATS(context.Background(), natsmux.NewRequest("shop.buy", nil))
	fmt.Println(string(resp.Data))
	// Output:
	// same trace: true own span: true
	// in stock
}

// A handler that outlives its timeout gets its context cancelled, and the
// caller a 504 at once.
func ExampleTimeout() {
	r := natsmux.NewRouter()
	r.HandleFunc("slow", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		<-ctx.Done() // a handler that waits watches its context
		return nil, ctx.Err()
	}, natsmux.WithMiddleware(middleware.Timeout(10*time.Millisecond)))

	_, err := r.ServeNATS(context.Background(), natsmux.NewRequest("slow", nil))
	fmt.Println(natsmux.CodeOf(err))
	// Output: 504
}

// MaybeEndpoint applies middleware to the endpoints that match, here those
// whose metadata mark them as internal.
func ExampleMaybeEndpoint() {
	internalOnly := middleware.MaybeEndpoint(middleware.Limit(1), func(ep *natsmux.Endpoint) bool {
		return ep.Metadata["visibility"] == "internal"
	})
	r := natsmux.NewRouter()
	r.Use(internalOnly)
	r.HandleFunc("get", getOrder, natsmux.WithSubject("orders.{id}.get"))
	r.HandleFunc("purge", getOrder, natsmux.WithSubject("orders.{id}.purge"),
		natsmux.WithMetadata(map[string]string{"visibility": "internal"}))

	resp, _ := r.ServeNATS(context.Background(), natsmux.NewRequest("orders.42.purge", nil))
	fmt.Println(string(resp.Data))
	// Output: 2 books
}

// A service that prints its traces and metrics to stdout and logs with trace
// ids: the setup of docs/observability.md. A real service exports with OTLP
// instead; nothing else changes.
func Example_observability() {
	ctx := context.Background()
	spans, err := stdouttrace.New(stdouttrace.WithPrettyPrint())
	if err != nil {
		log.Fatal(err)
	}
	metrics, err := stdoutmetric.New(stdoutmetric.WithPrettyPrint())
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics)))
	defer func() {
		// Shutting down flushes what is left to the exporters.
		_ = tp.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
	}()
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	slog.SetDefault(slog.New(middleware.LogHandler(slog.NewJSONHandler(os.Stdout, nil))))

	r := natsmux.NewRouter()
	r.Use(middleware.Recommended()...)
	r.HandleFunc("get", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		slog.InfoContext(ctx, "looking up order", "id", req.Param("id")) // with trace_id, span_id, request_id
		return getOrder(ctx, req)
	}, natsmux.WithSubject("orders.{id}.get"))

	// natsmux.Serve(ctx, nc, micro.Config{Name: "orders", Version: "1.0.0"}, r) in a real service.
	if _, err := r.ServeNATS(ctx, natsmux.NewRequest("orders.42.get", nil)); err != nil {
		slog.ErrorContext(ctx, "request failed", "error", err)
	}
}

// requireToken is middleware of one's own: it turns away requests without
// the expected bearer token, before the handler runs.
func requireToken(token string) natsmux.Middleware {
	want := "Bearer " + token // computed once, not per request
	return func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			if natsmux.HeaderCarrier(req.Header).Get("Authorization") != want {
				return nil, natsmux.ErrUnauthorized
			}
			return next.ServeNATS(ctx, req)
		})
	}
}

// Middleware of one's own is a function from handler to handler; With adds
// it to some endpoints only.
func Example_writingMiddleware() {
	r := natsmux.NewRouter()
	r.Use(middleware.Recover())
	r.With(requireToken("s3cret")).HandleFunc("get", getOrder, natsmux.WithSubject("orders.{id}.get"))

	_, err := r.ServeNATS(context.Background(), natsmux.NewRequest("orders.42.get", nil))
	fmt.Println(err)

	req := natsmux.NewRequest("orders.42.get", nil)
	req.Header = nats.Header{"Authorization": {"Bearer s3cret"}}
	resp, _ := r.ServeNATS(context.Background(), req)
	fmt.Println(string(resp.Data))
	// Output:
	// 401 unauthorized
	// 2 books
}
