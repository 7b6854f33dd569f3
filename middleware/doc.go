// Package middleware is natsmux's middleware catalogue: what makes a NATS
// service observable and safe, one line each.
//
// # Overview
//
// Each middleware is a natsmux.Middleware, built by a constructor whose
// options have documented defaults:
//
//   - Tracing: an OpenTelemetry span per request, continuing the caller's
//     trace from the request's headers, with the messaging semantic
//     conventions.
//   - RequestID: a request id from the request's header or a new one, on the
//     context and on every error reply.
//   - Logger: one log/slog record per request, its level from the result;
//     LogHandler stamps the records that handlers log with the request's
//     trace, span and request ids.
//   - Metrics: OpenTelemetry metrics: the messaging.process.duration
//     histogram, whose count is the request count, and the requests in
//     flight.
//   - Recover: a panic becomes a 500 reply, with the panic and its stack
//     kept for the logs.
//   - Timeout: a deadline per request, with a 504 reply when it passes.
//   - Limit: load shedding, with a bounded backlog and fast 429 replies.
//   - Maybe and MaybeEndpoint: any middleware, for the requests or endpoints
//     that match a predicate.
//
// The global set goes in this order, which Recommended returns: Tracing,
// RequestID, Logger, Metrics, Recover. Tracing is outermost so that all the
// others run inside its span; Recover innermost, so that the others see a
// panic as the 500 it becomes. Timeout and Limit go on the endpoints or
// groups that need them, inside that set.
//
// Tracing and Metrics use only the OpenTelemetry API; the application picks
// the SDK and exporters (docs/observability.md), or passes providers as
// options. Without either, they use the global providers, which do nothing
// until set.
//
// # Example
//
//	r := natsmux.NewRouter()
//	r.Use(middleware.Recommended()...)
//	r.Route("orders", func(r *natsmux.Router) {
//		r.Use(middleware.Limit(100, middleware.WithBacklog(50, 100*time.Millisecond)))
//		r.HandleFunc("get", getOrder, natsmux.WithSubject("{id}.get"),
//			natsmux.WithMiddleware(middleware.Timeout(2*time.Second)))
//	})
//	err := natsmux.Serve(ctx, nc, micro.Config{Name: "orders", Version: "1.0.0"}, r)
package middleware
