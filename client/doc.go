// Package client calls NATS services from Go: typed calls with the types of
// the service's binding.JSON handlers, raw requests with headers, and
// discovery, with errors that say what went wrong.
//
// # Overview
//
// A Client wraps a *nats.Conn. Call encodes a request value, sends it and
// decodes the reply into a new value of the output type; Request does the
// same for bytes and headers. Both
//
//   - honour the context: a deadline bounds the wait (the client's timeout,
//     DefaultTimeout unless WithTimeout, when the context has none) and is
//     sent to the service in micro.TimeoutHeader, so the handler's context
//     ends when the caller stops waiting; cancellation stops the wait;
//   - inject the context's trace context into the headers when the client
//     has a propagator (WithPropagator);
//   - turn errors back into what they were: an ADR-32 error reply into a
//     *natsmux.Error with code, description, payload and headers (field
//     errors of a failed validation are read with binding.FieldErrors); no
//     service on the subject into a 503 that names it and matches
//     nats.ErrNoResponders; no reply in time into a 504 that matches
//     context.DeadlineExceeded and nats.ErrTimeout.
//
// Ping, Info and Stats ask services about themselves (ADR-32 discovery)
// through micro's discovery client, under the client's prefix
// (WithPrefix).
//
// # Example
//
//	c, err := client.New(nc, client.WithPropagator(propagation.TraceContext{}))
//	if err != nil {
//		return err
//	}
//	acct, err := client.Call[Signup, Account](ctx, c, "accounts.signup", &Signup{Email: "ann@example.com", Plan: "pro"})
//	switch {
//	case binding.FieldErrors(err) != nil:
//		// the service rejected fields of the request
//	case errors.Is(err, nats.ErrNoResponders):
//		// no service is running
//	case err != nil:
//		return err
//	}
package client
