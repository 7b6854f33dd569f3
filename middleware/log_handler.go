package middleware

import (
	"context"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"

	"github.com/natsmux/natsmux"
)

// LogHandler returns h behind a handler that stamps every record logged
// with a request's context (slog.InfoContext(ctx, ...) in a handler,
// Logger's own records) with what the context knows of the request:
// trace_id and span_id of the current span (Tracing), request_id
// (RequestID), service and endpoint. Keys the record already has, or that
// the logger was given with With, are left alone, and records logged without
// a request's context pass unchanged:
//
//	slog.SetDefault(slog.New(middleware.LogHandler(slog.NewJSONHandler(os.Stdout, nil))))
//
// LogHandler has the signature of a slog-multi middleware, so it composes
// with other handlers: slogmulti.Pipe(middleware.LogHandler).Handler(h).
func LogHandler(h slog.Handler) slog.Handler {
	return &enricher{next: h}
}

// enricher is LogHandler's handler. It remembers the top-level keys that
// With gave it, so that it does not stamp them again.
type enricher struct {
	next    slog.Handler
	keys    []string // top-level keys added with WithAttrs
	grouped bool     // WithGroup was called: the keys a record adds are in a group
}

func (e *enricher) Enabled(ctx context.Context, level slog.Level) bool {
	return e.next.Enabled(ctx, level)
}

func (e *enricher) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := &enricher{next: e.next.WithAttrs(attrs), keys: e.keys, grouped: e.grouped}
	if !e.grouped {
		out.keys = slices.Clone(e.keys)
		for _, a := range attrs {
			out.keys = append(out.keys, a.Key)
		}
	}
	return out
}

func (e *enricher) WithGroup(name string) slog.Handler {
	if name == "" {
		return e
	}
	return &enricher{next: e.next.WithGroup(name), keys: e.keys, grouped: true}
}

func (e *enricher) Handle(ctx context.Context, record slog.Record) error {
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
	add = slices.DeleteFunc(add, func(s slog.Attr) bool { return slices.Contains(e.keys, s.Key) })
	if len(add) == 0 {
		return e.next.Handle(ctx, record)
	}
	record.Attrs(func(a slog.Attr) bool {
		add = slices.DeleteFunc(add, func(s slog.Attr) bool { return s.Key == a.Key })
		return len(add) > 0
	})
	if len(add) == 0 {
		return e.next.Handle(ctx, record)
	}
	// The record may share attribute storage with copies held elsewhere.
	record = record.Clone()
	record.AddAttrs(add...)
	return e.next.Handle(ctx, record)
}
