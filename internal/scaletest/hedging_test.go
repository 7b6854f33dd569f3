package scaletest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// The slow instance of TestHedgingSlowInstance stalls for stall on one
// request in stallEvery of those it serves, as a process does in a long GC
// pause or on a noisy host: with three instances, one call in thirty.
const (
	stall      = 20 * time.Millisecond
	stallEvery = 10
)

// hedgedSubject is served by the instances of TestHedgingSlowInstance.
const hedgedSubject = "hedged.get"

// stallingRouter serves hedgedSubject, stalling on every stallEvery-th
// request when slow.
func stallingRouter(slow bool) *natsmux.Router {
	var served atomic.Int64
	r := natsmux.NewRouter()
	r.HandleFunc("get", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		if slow && served.Add(1)%stallEvery == 0 {
			t := time.NewTimer(stall)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
		return natsmux.Reply(req.Data), nil
	}, natsmux.WithSubject(hedgedSubject), natsmux.WithIdempotent())
	return r
}

// TestHedgingSlowInstance: three instances, one of which stalls now and
// then. The same load runs without hedging, then with it (after the 95th
// percentile of the observed latency): with hedging no call fails, the
// copies sent stay within the budget, and the service executes every call
// and at most the copies on top. The latencies of both runs are logged; under
// `make soak`, each run lasts half of -soak and the test also asserts that
// hedging lowered the 99th percentile.
func TestHedgingSlowInstance(t *testing.T) {
	srv := microtest.NewServer(t)
	var svcs []micro.Service
	for i := range 3 {
		svcs = append(svcs, mount(t, srv.Connect(t), micro.Config{Name: "hedged", Version: "1.0.0"}, stallingRouter(i == 2)))
	}
	executed := func() int {
		n := 0
		for _, svc := range svcs {
			n += requestsServed(svc)
		}
		return n
	}

	// run measures a load, and what it cost the service: the executions
	// beyond one per call. A copy abandoned before it left the client is
	// not executed, so those are at most the hedges and retries sent.
	run := func(hedging bool) (tally Tally, metrics map[string]int64, extra int) {
		mp, reader := newMeterProvider(t)
		var opts []client.ResilienceOption
		if hedging {
			opts = append(opts, client.WithHedging(client.HedgePolicy{Delay: 2 * time.Millisecond, Percentile: 0.95}))
		}
		var clients []*client.Client
		for range 2 {
			c := resilientClient(t, srv.Connect(t), mp, opts...)
			learn(t, c, "hedged", 3)
			clients = append(clients, c)
		}
		before := executed()
		load := Load{Requesters: 8, Call: calls(clients, hedgedSubject)}.Start()
		if soakRequested() {
			time.Sleep(*soakFor / 2) // the length of the run is the point
		} else {
			waitSucceeded(t, load, 1500)
		}
		tally = load.Stop()
		metrics = counters(t, reader)
		sent := tally.Sent + int(metrics[client.HedgesMetric]+metrics[client.RetriesMetric])
		testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return executed()-before >= tally.Sent },
			"the service executed the %d calls (so far %d)", tally.Sent, executed()-before)
		if extra = executed() - before - tally.Sent; extra > sent-tally.Sent {
			t.Errorf("the service executed %d requests for %d calls and %d copies", executed()-before, tally.Sent, sent-tally.Sent)
		}
		return tally, metrics, extra
	}

	plain, _, _ := run(false)
	hedged, metrics, extra := run(true)
	t.Logf("without hedging: %s", plain)
	t.Logf("with hedging:    %s", hedged)
	t.Logf("p99 %s without hedging, %s with; %d hedges sent (%.1f%% of the calls), %d executed (%.1f%% extra load), %d abandoned, %d denied by the budget",
		plain.Percentile(0.99), hedged.Percentile(0.99), metrics[client.HedgesMetric], 100*float64(metrics[client.HedgesMetric])/float64(hedged.Sent),
		extra, 100*float64(extra)/float64(hedged.Sent), metrics[client.AbandonedMetric], metrics[client.BudgetDeniedMetric])

	if hedged.Failed > 0 || hedged.Kinds[OK] != hedged.Sent {
		t.Errorf("hedged calls failed: %s", hedged)
	}
	if hedges := metrics[client.HedgesMetric]; hedges == 0 || float64(hedges) > client.DefaultBudgetBurst+client.DefaultBudgetRatio*float64(hedged.Sent) {
		t.Errorf("%d hedges for %d calls: want some, within the budget", hedges, hedged.Sent)
	}
	if metrics[client.AbandonedMetric] == 0 {
		t.Error("no hedge won against a stalled copy")
	}
	if soakRequested() && hedged.Percentile(0.99) >= plain.Percentile(0.99) {
		t.Errorf("hedging did not lower the p99: %s with, %s without", hedged.Percentile(0.99), plain.Percentile(0.99))
	}
}
