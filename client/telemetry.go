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

// OtherValue stands for values that telemetry does not record one by one:
// error codes outside 100-999 (in error.type, without natsmux.error.code)
// and, in Metrics, the destinations beyond its limit. It is the value the
// semantic conventions use for error.type.
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

// errorAttrs returns the attributes of a call that failed with code: a
// code outside 100-999, which no ADR-32 reply carries, is only
// error.type OtherValue, so that such codes make one series, not one each.
func errorAttrs(code int) []attribute.KeyValue {
	if !validCode(code) {
		return []attribute.KeyValue{semconv.ErrorTypeKey.String(OtherValue)}
	}
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(strconv.Itoa(code)), ErrorCodeKey.Int(code)}
}

func validCode(code int) bool { return code >= 100 && code <= 999 }

func otelHandle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}
