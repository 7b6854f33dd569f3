package scaletest

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// The endpoints of the resilience tests: one idempotent, one not.
const (
	getSubject    = "resilient.get"
	createSubject = "resilient.create"
)

// attemptTimeout bounds each attempt of the resilient client: a request
// lost with a dead server is retried after it.
const attemptTimeout = 250 * time.Millisecond

// soakRequested reports whether -soak was given, for the tests that run
// short in every test run and long in `make soak`.
func soakRequested() bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "soak" })
	return given
}

// ledger counts what the instances executed: every get, and every create
// by request id, so that a create executed twice shows.
type ledger struct {
	mu      sync.Mutex
	gets    int
	creates map[string]int
}

func newLedger() *ledger { return &ledger{creates: map[string]int{}} }

// router returns an instance's endpoints; each reply names the location.
func (l *ledger) router(location string) *natsmux.Router {
	r := natsmux.NewRouter()
	r.HandleFunc("get", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		l.mu.Lock()
		l.gets++
		l.mu.Unlock()
		return natsmux.Reply([]byte(location)), nil
	}, natsmux.WithSubject(getSubject), natsmux.WithIdempotent())
	r.HandleFunc("create", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		l.mu.Lock()
		l.creates[req.Header.Get(client.DefaultRequestIDHeader)]++
		l.mu.Unlock()
		return natsmux.Reply([]byte(location)), nil
	}, natsmux.WithSubject(createSubject))
	return r
}

// createsExecuted returns how many creates were executed and how many
// request ids were executed more than once.
func (l *ledger) createsExecuted() (executed, duplicated int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.creates {
		executed += n
		if n > 1 {
			duplicated++
		}
	}
	return executed, duplicated
}

var instanceConfig = micro.Config{Name: "resilient", Version: "1.0.0"}

// serveInstance serves r on nc until the returned stop is called (or the
// test ends), like a process that runs natsmux.Serve; stop waits for the
// graceful shutdown.
func serveInstance(t *testing.T, nc *nats.Conn, cfg micro.Config, r *natsmux.Router) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- natsmux.Serve(ctx, nc, cfg, r, natsmux.WithOnStart(func(micro.Service) { close(started) }))
	}()
	select {
	case <-started:
	case err := <-served:
		t.Fatalf("serving %s: %v", cfg.Name, err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := testutil.Receive(t, served, microtest.DefaultTimeout); err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// resilientClient is the client of the tests: request ids, retries of
// idempotent calls (what INFO declares idempotent) with attempts of
// attemptTimeout each, metrics on mp.
func resilientClient(t *testing.T, nc *nats.Conn, mp *sdkmetric.MeterProvider, opts ...client.ResilienceOption) *client.Client {
	t.Helper()
	opts = append([]client.ResilienceOption{client.WithMeterProvider(mp),
		client.WithRetry(client.RetryPolicy{MaxAttempts: 4, Backoff: 10 * time.Millisecond})}, opts...)
	c, err := client.New(nc, client.WithMiddleware(
		client.RequestID(),
		client.Resilience(opts...),
		client.Timeout(attemptTimeout),
	))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// learn has c learn the endpoints of the n instances of the named service.
func learn(t *testing.T, c *client.Client, service string, n int) {
	t.Helper()
	if err := c.LearnEndpoints(context.Background(), micro.WithDiscoveryService(service), micro.WithDiscoveryMax(n)); err != nil {
		t.Fatal(err)
	}
}

// calls returns a Load.Call that sends requests to subject through the
// clients, requester i through clients[i%len(clients)].
func calls(clients []*client.Client, subject string) func(requester, n int) (*nats.Msg, error) {
	return func(requester, _ int) (*nats.Msg, error) {
		return clients[requester%len(clients)].Request(context.Background(), subject, nil, nil)
	}
}

// newMeterProvider returns an SDK meter provider and its reader.
func newMeterProvider(t *testing.T) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, reader
}

// counters returns the totals of the client's counters.
func counters(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					out[m.Name] += dp.Value
				}
			}
		}
	}
	return out
}

// TestResilientNodeFailure kills a node of a three-node cluster under
// steady load from resilient clients, and restarts it: not one idempotent
// call fails, while calls that are not idempotent fail as they would
// without the client's help and are never executed twice. It runs one
// kill and restart in every test run, and one after the other, a node at
// a time, for -soak in `make soak`.
func TestResilientNodeFailure(t *testing.T) {
	c := microtest.NewCluster(t, 3)
	led := newLedger()
	reconnected := make(chan string, 64)
	for node := range 3 {
		mount(t, c.ConnectNode(t, node, reconnecting(reconnected)...), instanceConfig, led.router(fmt.Sprint("node-", node)))
	}
	c.WaitForInterest(t, getSubject, 3)
	c.WaitForInterest(t, createSubject, 3)
	mp, reader := newMeterProvider(t)
	var clients []*client.Client
	for i := range 6 {
		clients = append(clients, resilientClient(t, c.ConnectNode(t, i%3, reconnecting(reconnected)...), mp))
		learn(t, clients[i], instanceConfig.Name, 3)
	}

	gets := Load{Requesters: 12, Call: calls(clients, getSubject)}.Start()
	creates := Load{Requesters: 4, Call: calls(clients, createSubject)}.Start()
	waitSucceeded(t, gets, 500)
	start := time.Now()
	for cycle := 0; cycle == 0 || soakRequested() && time.Since(start) < *soakFor; cycle++ {
		victim := cycle % 3
		c.Shutdown(victim)
		c.WaitForInterest(t, getSubject, 3) // the instance on it reconnected elsewhere
		waitSucceeded(t, gets, 500)
		c.Restart(victim)
		waitSucceeded(t, gets, 500)
		t.Logf("cycle %d: node-%d killed and restarted", cycle+1, victim)
	}
	getTally, createTally := gets.Stop(), creates.Stop()
	t.Logf("idempotent calls: %s; p99.9 %s", getTally, getTally.Percentile(0.999))
	t.Logf("calls that are not idempotent: %s", createTally)
	metrics := counters(t, reader)
	t.Logf("retries %d, denied by the budget %d", metrics[client.RetriesMetric], metrics[client.BudgetDeniedMetric])

	if getTally.Failed > 0 || getTally.Kinds[OK] != getTally.Sent {
		t.Errorf("idempotent calls failed: %s", getTally)
	}
	if extra := metrics[client.RetriesMetric]; float64(extra) > client.DefaultBudgetBurst+client.DefaultBudgetRatio*float64(getTally.Sent+createTally.Sent) {
		t.Errorf("%d retries for %d calls: beyond the budget", extra, getTally.Sent+createTally.Sent)
	}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		executed, _ := led.createsExecuted()
		return executed >= createTally.Kinds[OK]
	}, "every answered create executed")
	executed, duplicated := led.createsExecuted()
	t.Logf("creates: %d sent, %d answered, %d executed, %d executed twice", createTally.Sent, createTally.Kinds[OK], executed, duplicated)
	if duplicated > 0 || executed > createTally.Sent {
		t.Errorf("creates were executed more than once: %d ids twice, %d executions for %d sent", duplicated, executed, createTally.Sent)
	}
	// The failures are those of the moment, as without the client's help:
	// a request lost with its server, or sent while a restarted server did
	// not know of the service yet.
	if failed := createTally.Kinds["error 504"] + createTally.Kinds[Timeout] + createTally.Kinds["error 503"] + createTally.Kinds[NoResponders]; createTally.Kinds[OK]+failed != createTally.Sent {
		t.Errorf("creates ended otherwise than answered, timed out or without responders: %s", createTally)
	}
}

// placeCounter counts where calls were served, by the phase they started
// in.
type placeCounter struct {
	phase  atomic.Int32
	mu     sync.Mutex
	counts map[int32]map[string]int
}

func (p *placeCounter) call(clients []*client.Client, subject string) func(requester, n int) (*nats.Msg, error) {
	send := calls(clients, subject)
	return func(requester, n int) (*nats.Msg, error) {
		phase := p.phase.Load()
		reply, err := send(requester, n)
		if err == nil {
			p.mu.Lock()
			if p.counts[phase] == nil {
				p.counts[phase] = map[string]int{}
			}
			p.counts[phase][string(reply.Data)]++
			p.mu.Unlock()
		}
		return reply, err
	}
}

// of returns a copy of the counts of phase.
func (p *placeCounter) of(phase int32) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts[phase])
}

// TestSuperclusterFailover: two clusters joined by gateways and a leaf
// node. Discovery from every server lists every instance; callers are
// served in their own cluster; when all its instances stop, calls go to
// the other cluster without one failing, and come back when they return; a
// service on the leaf node serves both clusters.
func TestSuperclusterFailover(t *testing.T) {
	sc := microtest.NewSupercluster(t, 2, 2)
	leaf := sc.AddLeaf(t, 0)
	led := newLedger()
	var stops []func()
	for i, c := range sc.Clusters {
		for node := range c.Nodes {
			stop := serveInstance(t, c.ConnectNode(t, node, reconnecting(nil)...), instanceConfig, led.router(microtest.SuperclusterName(i)))
			if i == 1 {
				stops = append(stops, stop)
			}
		}
	}
	const edgeSubject = "edge.get"
	edge := natsmux.NewRouter()
	edge.HandleFunc("get", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply([]byte("leaf")), nil
	}, natsmux.WithSubject(edgeSubject), natsmux.WithIdempotent())
	serveInstance(t, leaf.Connect(t), micro.Config{Name: "edge", Version: "1.0.0"}, edge)
	sc.WaitForInterest(t, getSubject, 4)
	sc.WaitForInterest(t, edgeSubject, 1)

	t.Run("discovery from every server", func(t *testing.T) {
		servers := []*microtest.Server{leaf}
		for _, c := range sc.Clusters {
			servers = append(servers, c.Nodes...)
		}
		for _, srv := range servers {
			nc := srv.Connect(t)
			var seen map[string]int
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), microtest.DefaultTimeout)
				defer cancel()
				pings, err := micro.DiscoverPing(ctx, nc, micro.WithDiscoveryMax(5))
				seen = map[string]int{}
				for _, p := range pings {
					seen[p.Name]++
				}
				return err == nil && seen["resilient"] == 4 && seen["edge"] == 1
			}, "PING from %s finds every instance (found %v)", srv.Name(), seen)
		}
	})

	mp, reader := newMeterProvider(t)
	callersIn := func(cluster int) []*client.Client {
		var clients []*client.Client
		for node := range sc.Clusters[cluster].Nodes {
			clients = append(clients, resilientClient(t, sc.Clusters[cluster].ConnectNode(t, node), mp))
			learn(t, clients[len(clients)-1], instanceConfig.Name, 4)
		}
		return clients
	}

	t.Run("served in the caller's cluster", func(t *testing.T) {
		for i := range sc.Clusters {
			places := &placeCounter{counts: map[int32]map[string]int{}}
			tally := Load{Requesters: 4, Call: places.call(callersIn(i), getSubject)}.Start()
			waitSucceeded(t, tally, 300)
			run := tally.Stop()
			want := microtest.SuperclusterName(i)
			t.Logf("callers in %s: %s; served by %v", want, run, places.of(0))
			if run.Failed > 0 || len(places.of(0)) != 1 || places.of(0)[want] != run.Sent {
				t.Errorf("callers in %s were served by %v", want, places.of(0))
			}
		}
	})

	t.Run("failover to the other cluster and back", func(t *testing.T) {
		places := &placeCounter{counts: map[int32]map[string]int{}}
		run := Load{Requesters: 8, Call: places.call(callersIn(1), getSubject)}.Start()
		waitSucceeded(t, run, 300)
		start := time.Now()
		// Phase 2c+1: cycle c's calls started after the stop; 2c+2: after
		// the instances came back.
		var cycle int32
		for ; cycle == 0 || soakRequested() && time.Since(start) < *soakFor; cycle++ {
			away, back := 2*cycle+1, 2*cycle+2
			places.phase.Store(away)
			for _, stop := range stops {
				stop()
			}
			waitSucceeded(t, run, 300)
			stops = stops[:0]
			for node := range sc.Clusters[1].Nodes {
				stops = append(stops, serveInstance(t, sc.Clusters[1].ConnectNode(t, node), instanceConfig, led.router("cluster-1")))
			}
			sc.Clusters[1].WaitForInterest(t, getSubject, 2)
			places.phase.Store(back)
			waitSucceeded(t, run, 300)
			t.Logf("cycle %d: calls started after the stop served by %v, after the return by %v", cycle+1, places.of(away), places.of(back))
			if places.of(away)["cluster-0"] == 0 {
				t.Errorf("cluster-0 served none of the calls while cluster-1 had no instance: %v", places.of(away))
			}
			if after := places.of(back); after["cluster-0"] > 0 || after["cluster-1"] == 0 {
				t.Errorf("calls started after the instances came back were served by %v, want cluster-1 only", after)
			}
		}
		tally := run.Stop()
		t.Logf("cluster-1's callers while its instances stopped and came back %d times: %s; p99.9 %s", cycle, tally, tally.Percentile(0.999))
		t.Logf("retries %d", counters(t, reader)[client.RetriesMetric])
		if tally.Failed > 0 || tally.Kinds[OK] != tally.Sent {
			t.Errorf("calls failed: %s", tally)
		}
	})

	t.Run("the leaf's service serves both clusters", func(t *testing.T) {
		for i := range sc.Clusters {
			c := callersIn(i)[0]
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
				_, err := c.Request(context.Background(), edgeSubject, nil, nil)
				return err == nil
			}, "cluster-%d reaches the leaf", i)
			for range 50 {
				if reply, err := c.Request(context.Background(), edgeSubject, nil, nil); err != nil || string(reply.Data) != "leaf" {
					t.Fatalf("from cluster-%d: %v, %v", i, reply, err)
				}
			}
		}
	})
}
