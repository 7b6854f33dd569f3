package client

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
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
}

// WithTracerProvider sets the tracer provider; by default the global one
// (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) TracingOption {
	if tp == nil {
		panic("client: WithTracerProvider: nil provider")
	}
	return func(c *tracingConfig) { c.provider = tp }
}

// WithTracingPropagator sets how the span's context is written into the
// request's headers; by default the global propagator
// (otel.GetTextMapPropagator), which writes nothing until
// otel.SetTextMapPropagator, for example with propagation.TraceContext{}.
func WithTracingPropagator(p propagation.TextMapPropagator) TracingOption {
	if p == nil {
		panic("client: WithTracingPropagator: nil propagator")
	}
	return func(c *tracingConfig) { c.propagator = p }
}

// WithSpanKind sets the kind of the spans; trace.SpanKindProducer by
// default (see Tracing). trace.SpanKindClient suits services traced as
// servers (the service's Tracing with trace.SpanKindServer), so that
// backends pair the two.
func WithSpanKind(kind trace.SpanKind) TracingOption {
	return func(c *tracingConfig) { c.kind = kind }
}

// Tracing returns middleware that traces each call with OpenTelemetry: a
// span "send <destination>" (Invocation.Destination: the template when
// known, else the subject) whose context it writes into the request's
// headers through the propagator and natsmux.HeaderCarrier, so that the
// service's spans are its children. The span lasts until the reply or the
// error, and carries the messaging semantic conventions:
// messaging.system "nats", messaging.operation.name and .type "send",
// messaging.destination.name (the subject) and
// messaging.destination.template (when known). A failed call adds
// error.type (the code as a string) and natsmux.error.code, and sets the
// span's status to Error, 4xx included: the call failed for the caller.
//
// The kind is PRODUCER by default. A request is a message whose context the
// caller creates and propagates, which the conventions give the kind
// PRODUCER, and the service's Tracing makes CONSUMER spans by default: the
// pair is what backends join into one edge of a service graph. The span
// does cover the wait for the reply, as a CLIENT span would; choose
// trace.SpanKindClient with WithSpanKind where the services' spans are
// SERVER spans.
//
// Put Tracing first, outside Resilience: one span per call, and every
// attempt's request carries it as parent.
func Tracing(opts ...TracingOption) Middleware {
	cfg := tracingConfig{provider: otel.GetTracerProvider(), propagator: otel.GetTextMapPropagator(), kind: trace.SpanKindProducer}
	for _, opt := range opts {
		opt(&cfg)
	}
	tracer := cfg.provider.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))
	start := []trace.SpanStartOption{trace.WithSpanKind(cfg.kind)}
	return func(next Invoker) Invoker {
		return InvokerFunc(func(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
			ctx, span := tracer.Start(ctx, operationSend+" "+inv.Destination(), start...)
			defer span.End()
			if span.IsRecording() {
				span.SetAttributes(callAttrs(inv, true)...)
			}
			cfg.propagator.Inject(ctx, natsmux.HeaderCarrier(inv.Header))
			reply, err := next.Invoke(ctx, inv)
			if err != nil && span.IsRecording() {
				span.SetAttributes(errorAttrs(natsmux.CodeOf(err))...)
				span.SetStatus(codes.Error, err.Error())
			}
			return reply, err
		})
	}
}
