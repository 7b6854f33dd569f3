package middleware

import (
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/natsmux/natsmux"
)

// ScopeName is the instrumentation scope of the tracer of Tracing and the
// meter of Metrics.
const ScopeName = "github.com/natsmux/natsmux/middleware"

// Attribute keys that Tracing and Metrics add to the messaging semantic
// conventions.
const (
	// ServiceNameKey is the name of the service the endpoint is mounted on.
	ServiceNameKey = attribute.Key("natsmux.service.name")
	// EndpointNameKey is the endpoint's name.
	EndpointNameKey = attribute.Key("natsmux.endpoint.name")
	// ErrorCodeKey is the code of an error reply (natsmux.CodeOf), an
	// integer; absent on successful replies. error.type holds the same code
	// as a string, as the HTTP conventions do with status codes.
	ErrorCodeKey = attribute.Key("natsmux.error.code")
)

// operationProcess is both the name and the type of the operation: an
// endpoint processes the messages it receives.
const operationProcess = "process"

// endpointAttrs returns the attributes that describe ep, the same for all
// its requests, for spans and metrics. They include the destination name only
// for a subject without parameters, where it is one per endpoint;
// fixedSubject tells.
func endpointAttrs(ep *natsmux.Endpoint) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String("nats"),
		semconv.MessagingOperationName(operationProcess),
	}
	if ep.Template != "" {
		attrs = append(attrs, semconv.MessagingDestinationTemplate(ep.Template))
	}
	if fixedSubject(ep) {
		attrs = append(attrs, semconv.MessagingDestinationName(ep.Subject))
	}
	if ep.QueueGroup != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(ep.QueueGroup))
	}
	if ep.Service != "" {
		attrs = append(attrs, ServiceNameKey.String(ep.Service))
	}
	if ep.Name != "" {
		attrs = append(attrs, EndpointNameKey.String(ep.Name))
	}
	return attrs
}

// fixedSubject reports whether all of ep's requests have the same subject.
func fixedSubject(ep *natsmux.Endpoint) bool {
	return ep.Subject != "" && ep.Subject == ep.Template
}

// errorAttrs returns the attributes of an error reply with code.
func errorAttrs(code int) []attribute.KeyValue {
	return []attribute.KeyValue{semconv.ErrorTypeKey.String(strconv.Itoa(code)), ErrorCodeKey.Int(code)}
}
