package middleware

import (
	"context"
	"log/slog"
	"slices"

	slogmulti "github.com/samber/slog-multi"
	"go.opentelemetry.io/otel/trace"

	"github.com/natsmux/natsmux"
)

// LogEnricher returns a slog-multi middleware that stamps every record
// logged with a request's context (slog.InfoContext(ctx, ...) in a handler,
// Logger's own records) with what the context knows of the request:
// trace_id and span_id of the current span (Tracing), request_id
// (RequestID), service and endpoint. Keys the record already has are left
// alone, and records logged without a request's context pass unchanged.
// Compose it with other slog-multi handlers:
//
//	slog.New(slogmulti.Pipe(middleware.LogEnricher()).Handler(slogmulti.Fanout(json, text)))
func LogEnricher() slogmulti.Middleware {
	return slogmulti.NewHandleInlineMiddleware(enrich)
}

// LogHandler returns h behind LogEnricher: the usual way to log requests with
// their ids, as in slog.SetDefault(slog.New(middleware.LogHandler(h))).
func LogHandler(h slog.Handler) slog.Handler {
	return slogmulti.Pipe(LogEnricher()).Handler(h)
}

func enrich(ctx context.Context, record slog.Record, next func(context.Context, slog.Record) error) error {
	var stamps [5]slog.Attr
	add := stamps[:0]
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		add = append(add, slog.String(logKeyTraceID, sc.TraceID().String()), slog.String(logKeySpanID, sc.SpanID().String()))
	}
	if id := RequestIDFromContext(ctx); id != "" {
		add = append(add, slog.String(logKeyRequestID, id))
	}
	if ep := natsmux.EndpointFromContext(ctx); ep != nil {
		add = append(add, slog.String(logKeyService, ep.Service), slog.String(logKeyEndpoint, ep.Name))
	}
	if len(add) == 0 {
		return next(ctx, record)
	}
	record.Attrs(func(a slog.Attr) bool {
		add = slices.DeleteFunc(add, func(s slog.Attr) bool { return s.Key == a.Key })
		return len(add) > 0
	})
	if len(add) == 0 {
		return next(ctx, record)
	}
	// The record may share attribute storage with copies held elsewhere.
	record = record.Clone()
	record.AddAttrs(add...)
	return next(ctx, record)
}
