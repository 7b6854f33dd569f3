// Package scaletest holds natsmux's evidence under load, faults and scale:
// tests on real in-process NATS servers, clusters and superclusters
// (microtest) that a service built with natsmux balances, fails over, shuts
// down without losing requests, survives a soak with errors, panics and
// timeouts, sheds load as a slow consumer, and keeps its guard up against
// bad input and callers without permission; and that the resilient client
// (client.Resilience) loses no idempotent call when a node or a whole
// cluster's instances go away, never repeats one that is not idempotent,
// and cuts the tail latency of a slow instance by hedging within its
// budget.
//
// # Overview
//
// The tests are the point; Load is their traffic generator. It keeps a
// number of requesters busy until stopped and tallies every outcome: replies,
// error replies by code, timeouts and other failures, latency percentiles and
// the longest gap between two successful replies, which is what a caller
// feels while a server fails over. docs/scale.md and docs/security.md report
// what these tests measured.
//
// The soak test runs for a few seconds in the normal test run; give it more
// with the -soak flag, after -args so that go test passes it on. With the
// flag, the failover tests repeat their faults and the hedging test
// measures, each for that long (`make soak` runs them all):
//
//	go test -run '^TestSoak$' -v -timeout 10m ./internal/scaletest -args -soak=60s
//
// # Example
//
//	run := scaletest.Load{
//		Conns:   []*nats.Conn{nc},
//		Message: func(requester, n int) *nats.Msg { return nats.NewMsg("orders.get") },
//	}.Start()
//	// ... shut a node down, restart it ...
//	tally := run.Stop()
//	t.Logf("%s", tally)
package scaletest
