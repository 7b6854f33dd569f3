// Package client calls NATS services from Go: typed calls with the types of
// the service's binding.JSON handlers, raw requests with headers, and
// discovery, with errors that say what went wrong, through middleware as
// composable as the service's, and with retries, hedging and a circuit
// breaker that stay within a budget.
//
// # Overview
//
// A Client wraps a *nats.Conn. Call encodes a request value, sends it and
// decodes the reply into a new value of the output type; Request does the
// same for bytes and headers. Call options add headers (WithHeader,
// WithHeaders), read the reply's (WithReplyHeader) and tell the client
// about the call (WithTemplate, WithIdempotent). Both
//
//   - honour the context: a deadline bounds the wait (the client's timeout,
//     DefaultTimeout unless WithTimeout, when the context has none) and is
//     sent to the service in micro.TimeoutHeader, so the handler's context
//     ends when the caller stops waiting; cancellation stops the wait;
//   - inject the context's trace context into the headers when the client
//     has a propagator (WithPropagator) or the Tracing middleware;
//   - turn errors back into what they were: an ADR-32 error reply into a
//     *natsmux.Error with code, description, payload and the reply's other
//     headers (field errors of a failed validation are read with
//     binding.FieldErrors); no service on the subject into a 503 that names
//     it and matches nats.ErrNoResponders; no reply in time into a 504 that
//     matches context.DeadlineExceeded and nats.ErrTimeout.
//
// WithMiddleware wraps every call in Middleware, func(Invoker) Invoker, the
// first outermost, as natsmux.Chain does on the service's side. The package
// ships Tracing (a PRODUCER span per call, its context sent along),
// RequestID, Logger (log/slog), Metrics (messaging.client.operation.duration
// by destination and code), Timeout and Resilience: retries of idempotent
// calls, hedged copies of slow ones and a circuit breaker per destination,
// bounded by a Budget of extra requests (10% by default). The recommended
// order is
//
//	client.WithMiddleware(client.Tracing(), client.RequestID(), client.Logger(), client.Metrics(),
//		client.Resilience(), client.Timeout(attempt))
//
// A call is idempotent, and only then retried or hedged, when the call says
// so (WithIdempotent), the client was told (WithIdempotentSubjects), or
// the endpoint declares it in INFO (natsmux.WithIdempotent) and the client
// learned it (LearnEndpoints).
//
// WithSchemaValidation (or WithValidation, per call) checks calls against
// the JSON Schemas that endpoints publish in INFO, fetched at the first
// checked call (or LoadSchemas) and again when a verdict may rest on a
// schema the service has replaced: a request that breaks them fails
// before it is sent with the 400 and field errors the service would have
// answered with, a reply with a 502. Call also compares the caller's types
// with the published schemas and reports a SchemaWarning when they
// disagree.
//
// Ping, Info and Stats ask services about themselves (ADR-32 discovery)
// through micro's discovery client, under the client's prefix
// (WithPrefix), for at most the client's timeout and micro.DefaultDiscoveryMax
// replies.
//
// # Example
//
//	c, err := client.New(nc, client.WithMiddleware(client.Tracing(), client.Resilience(), client.Timeout(time.Second)))
//	if err != nil {
//		return err
//	}
//	acct, err := client.Call[Signup, Account](ctx, c, "accounts.signup", &Signup{Email: "ann@example.com", Plan: "pro"},
//		client.WithHeader("X-Tenant", "acme"))
//	switch {
//	case binding.FieldErrors(err) != nil:
//		// the service rejected fields of the request
//	case errors.Is(err, nats.ErrNoResponders):
//		// no service is running
//	case err != nil:
//		return err
//	}
package client
