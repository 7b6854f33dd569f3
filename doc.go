// Package natsmux is a middleware-chain framework for NATS services, in the
// style of net/http and chi.
//
// # Overview
//
// A Router registers endpoints (Handle, HandleFunc) and the Middleware that
// wraps them (Use, With); Group and Route give endpoints a common subject
// prefix, queue group and limits, as ADR-32 groups do. Mount puts a router on
// a micro.Service, natsmux's implementation of the NATS Service API, which
// answers discovery ($SRV.PING, INFO, STATS) and keeps per-endpoint stats;
// Serve does it all and shuts down gracefully when its context ends.
//
// A Handler returns its reply or an error:
//
//	func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error)
//
// An error becomes an ADR-32 error reply (Nats-Service-Error and
// Nats-Service-Error-Code headers) with the code CodeOf gives it: return an
// *Error, a sentinel such as ErrNotFound, or any error (500 "internal
// error", its text kept from the caller). Stats count every error.
//
// Subjects may be templates: WithSubject("orders.{id}.items.{item}")
// subscribes to "orders.*.items.*" and the handler reads req.Param("id").
//
// The middleware catalogue (tracing, recovery, logging, metrics, request
// ids, timeouts, load shedding) is in the middleware package; typed handlers
// with validation are in binding; callers use the client package.
//
// # Example
//
//	r := natsmux.NewRouter()
//	r.Use(middleware.Recover())
//	r.Route("orders", func(r *natsmux.Router) {
//		r.HandleFunc("get", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
//			order, ok := orders[req.Param("id")]
//			if !ok {
//				return nil, natsmux.ErrNotFound
//			}
//			return natsmux.ReplyJSON(order)
//		}, natsmux.WithSubject("{id}.get"))
//	})
//	err := natsmux.Serve(ctx, nc, micro.Config{Name: "orders", Version: "1.0.0"}, r)
package natsmux
