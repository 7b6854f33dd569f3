package client

import (
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ScopeName is the instrumentation scope of the tracer of Tracing and the
// meters of Metrics and Resilience.
const ScopeName = "github.com/natsmux/natsmux/client"

// ErrorCodeKey is the attribute that holds the code of a failed call
// (natsmux.CodeOf), an integer, as the service's middleware records it;
// error.type holds the same code as a string.
const ErrorCodeKey = attribute.Key("natsmux.error.code")

// OtherValue stands for the destinations that Metrics does not record one
// by one, those beyond its limit; the semantic conventions use the same
// value for error.type.
const OtherValue = "_OTHER"

// operationSend is both the name and the type of the operation: the caller
// sends a request (and waits for its reply).
const operationSend = "send"

// callAttrs returns the attributes that describe a call's destination: its
// template when known, and its subject when withSubject.
func callAttrs(inv *Invocation, withSubject bool) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs,
		semconv.MessagingSystemKey.String("nats"),
		semconv.MessagingOperationName(operationSend),
		semconv.MessagingOperationTypeSend)
	if inv.Template != "" {
		attrs = append(attrs, semconv.MessagingDestinationTemplate(inv.Template))
	}
	if withSubject {
		attrs = append(attrs, semconv.MessagingDestinationName(inv.Subject))
	}
	return attrs
}

// errorAttrs returns the attributes of a call that failed with code, one
// of natsmux.CodeOf's, which are from 100 to 999.
func errorAttrs(code int) []attribute.KeyValue {
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(strconv.Itoa(code)), ErrorCodeKey.Int(code)}
}

func otelHandle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}
