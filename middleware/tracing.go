package middleware

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/natsmux/natsmux"
)

// TracingOption configures Tracing.
type TracingOption func(*tracingConfig)

type tracingConfig struct {
	provider   trace.TracerProvider
	propagator propagation.TextMapPropagator
	kind       trace.SpanKind
	spanName   func(*natsmux.Endpoint) string
	filter     func(*natsmux.Request) bool
}

// WithTracerProvider sets the tracer provider; by default the global one
// (otel.GetTracerProvider), which is a no-op until otel.SetTracerProvider.
func WithTracerProvider(tp trace.TracerProvider) TracingOption {
	if tp == nil {
		panic("middleware: WithTracerProvider: nil provider")
	}
	return func(c *tracingConfig) { c.provider = tp }
}

// WithPropagators sets how the caller's trace context is read from the
// request's headers; by default the global propagator
// (otel.GetTextMapPropagator), which propagates nothing until
// otel.SetTextMapPropagator, for example with propagation.TraceContext{}.
func WithPropagators(p propagation.TextMapPropagator) TracingOption {
	if p == nil {
		panic("middleware: WithPropagators: nil propagator")
	}
	return func(c *tracingConfig) { c.propagator = p }
}

// WithSpanKind sets the kind of the spans; trace.SpanKindConsumer by
// default, as the messaging conventions have it for processing a message.
// trace.SpanKindServer suits backends that show request/reply services as
// servers.
func WithSpanKind(kind trace.SpanKind) TracingOption {
	return func(c *tracingConfig) { c.kind = kind }
}

// WithSpanNameFormatter sets the name of an endpoint's spans; by default
// "process " followed by the endpoint's subject template, such as
// "process orders.{id}.get". It is called once per endpoint, not per
// request, which keeps span names few, as tracing backends want them.
func WithSpanNameFormatter(name func(*natsmux.Endpoint) string) TracingOption {
	if name == nil {
		panic("middleware: WithSpanNameFormatter: nil formatter")
	}
	return func(c *tracingConfig) { c.spanName = name }
}

// WithTracingFilter traces only the requests for which keep returns true;
// by default every request is traced.
func WithTracingFilter(keep func(*natsmux.Request) bool) TracingOption {
	if keep == nil {
		panic("middleware: WithTracingFilter: nil filter")
	}
	return func(c *tracingConfig) { c.filter = keep }
}

// Tracing returns middleware that traces each request with OpenTelemetry.
// It continues the caller's trace from the request's headers (W3C trace
// context through the propagator, with natsmux.HeaderCarrier, which finds
// "traceparent" whatever its case) and starts a span "process <subject
// template>" of kind consumer, with the messaging semantic conventions:
// messaging.system "nats", messaging.operation.name and .type "process",
// messaging.destination.name (the subject), messaging.destination.template,
// messaging.consumer.group.name (when the endpoint has a queue group), plus
// natsmux.service.name and natsmux.endpoint.name: at most eight attributes,
// as many as the SDK stores without allocating more per span, which is why
// the opt-in messaging.message.body.size is left out. An error reply adds
// error.type (the code, as a string) and natsmux.error.code (ErrorCodeKey);
// the span's status is Error for codes of 500 and above only, since a 4xx is
// the caller's mistake. Samplers see the span's name and kind; the
// attributes are set once the span is sampled, so that an unsampled request
// costs a fraction of a sampled one.
//
// The handler's context carries the span: a handler that calls another
// service injects it into the outgoing request's headers with the
// propagator and natsmux.HeaderCarrier, and the trace goes on there. Put
// Tracing first (outermost), as Recommended does, so that the other
// middleware log and measure inside the span.
func Tracing(opts ...TracingOption) natsmux.Middleware {
	cfg := tracingConfig{
		provider:   otel.GetTracerProvider(),
		propagator: otel.GetTextMapPropagator(),
		kind:       trace.SpanKindConsumer,
		spanName:   defaultSpanName,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	tracer := cfg.provider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	start := []trace.SpanStartOption{trace.WithSpanKind(cfg.kind)}
	return func(next natsmux.Handler) natsmux.Handler {
		spans := perEndpoint(next, func(ep *natsmux.Endpoint) spanTemplate {
			return spanTemplate{
				name:         cfg.spanName(ep),
				attrs:        append(endpointAttrs(ep), semconv.MessagingOperationTypeProcess),
				fixedSubject: fixedSubject(ep),
			}
		})
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (resp *natsmux.Response, err error) {
			if cfg.filter != nil && !cfg.filter(req) {
				return next.ServeNATS(ctx, req)
			}
			st := spans(req)
			if len(req.Header) > 0 {
				ctx = cfg.propagator.Extract(ctx, natsmux.HeaderCarrier(req.Header))
			}
			ctx, span := tracer.Start(ctx, st.name, start...)
			if span.IsRecording() {
				span.SetAttributes(st.attrs...)
				if !st.fixedSubject {
					span.SetAttributes(semconv.MessagingDestinationName(req.Subject))
				}
			}
			defer func() {
				if v := recover(); v != nil {
					// A panic that no Recover caught, or a deliberate abort.
					if v != natsmux.ErrAbortHandler { //nolint:errorlint // the sentinel is panicked, not wrapped
						span.SetStatus(codes.Error, "panic")
					}
					span.End()
					panic(v)
				}
				endSpan(span, err)
			}()
			return next.ServeNATS(ctx, req)
		})
	}
}

// spanTemplate is what the spans of an endpoint share.
type spanTemplate struct {
	name         string
	attrs        []attribute.KeyValue
	fixedSubject bool // the subject is among attrs
}

func defaultSpanName(ep *natsmux.Endpoint) string {
	if ep.Template == "" {
		return operationProcess
	}
	return operationProcess + " " + ep.Template
}

func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		code := natsmux.CodeOf(err)
		span.SetAttributes(errorAttrs(code)...)
		if code >= 500 {
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
}
