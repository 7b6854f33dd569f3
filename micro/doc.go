// Package micro implements the NATS Service API (ADR-32): services made of
// endpoints that answer requests, discoverable and measurable with the
// standard NATS tooling (PING, INFO and STATS under $SRV).
//
// # Overview
//
// The package is a drop-in replacement for nats.go's micro: every name that
// package exports exists here with the same signature and behaviour, and the
// replies are the same bytes on the wire, so a program switches by changing
// its import path. It differs where users of nats.go's micro have long asked
// for more, each difference documented in docs/micro.md:
//
//   - Request.Context, a per-request context that honours the caller's
//     timeout (TimeoutHeader) and is cancelled when Shutdown stops waiting.
//   - Concurrent handling per endpoint, bounded by MaxConcurrency
//     (DefaultMaxConcurrency; 1 restores strictly serial handling), with
//     exact stats.
//   - Latency percentiles (p50 to p99.9, max), requests in flight, shed
//     and timed out, per endpoint in STATS data (LoadStats), recorded
//     without locks; Config.LoadStatsDisabled turns them off.
//   - A panicking handler gets a 500 error reply, is counted and reported,
//     and the service keeps serving; so does a panicking StatsHandler.
//   - Shutdown drains the subscriptions and waits for in-flight handlers;
//     Done and DoneHandler fire after the drain. Adding an endpoint to a
//     stopped service is an error.
//   - AddService and AddEndpoint flush, so an endpoint answers as soon as it
//     is added; the discovery prefix is configurable (Config.APIPrefix).
//   - The client side of the protocol: Discover, DiscoverPing, DiscoverInfo
//     and DiscoverStats with request-many semantics, and ResponseError for
//     error replies.
//
// # Example
//
//	svc, err := micro.AddService(nc, micro.Config{Name: "greeter", Version: "1.0.0"})
//	if err != nil {
//		return err
//	}
//	defer svc.Shutdown(context.Background())
//	err = svc.AddGroup("greeter").AddEndpoint("hello", micro.HandlerFunc(func(r micro.Request) {
//		r.Respond([]byte("hello, " + string(r.Data())))
//	}))
package micro
