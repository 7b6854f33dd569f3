package scaletest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

const echoSubject = "scale.echo"

// instances mounts an echo service instance on each of the given nodes,
// connected to that node first with the others as failover, and waits until
// every node knows of all of them. It returns the services in node order.
func instances(t *testing.T, c *microtest.Cluster, nodes []int, opts ...nats.Option) []micro.Service {
	t.Helper()
	svcs := make([]micro.Service, len(nodes))
	for i, node := range nodes {
		nc := c.ConnectNode(t, node, opts...)
		svcs[i] = mount(t, nc, micro.Config{Name: "scale", Version: "1.0.0"}, echoRouter(echoSubject))
	}
	c.WaitForInterest(t, echoSubject, len(nodes))
	return svcs
}

func requestsServed(svc micro.Service) int {
	return svc.Stats().Endpoints[0].NumRequests
}

// TestClusterSpreadsRequests: three instances on three nodes of a four-node
// cluster share the load of callers; every node's discovery sees all three,
// and their stats add up to the requests sent.
func TestClusterSpreadsRequests(t *testing.T) {
	c := microtest.NewCluster(t, 4)
	svcs := instances(t, c, []int{0, 1, 2})
	ids := make([]string, len(svcs))
	for i, svc := range svcs {
		ids[i] = svc.Info().ID
	}
	slices.Sort(ids)

	// NATS picks a member of a queue group at random, across the cluster:
	// a caller's own server gets no preference (leaf nodes and gateways
	// are another matter), so each instance gets about a third wherever
	// the callers are.
	tests := []struct {
		name    string
		callers []int // the nodes the callers are connected to
	}{
		{"callers on a node without an instance", []int{3, 3, 3, 3, 3, 3}},
		{"callers on a node with an instance", []int{0, 0, 0, 0, 0, 0}},
		{"callers on every node", []int{0, 1, 2, 3, 0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, svc := range svcs {
				svc.Reset()
			}
			var conns []*nats.Conn
			for _, node := range tt.callers {
				conns = append(conns, c.ConnectNode(t, node))
			}
			run := Load{Conns: conns, Message: to(echoSubject)}.Start()
			waitSucceeded(t, run, 1500)
			tally := run.Stop()
			if tally.Failed > 0 || tally.Kinds[OK] != tally.Sent {
				t.Fatalf("not every request succeeded: %s", tally)
			}
			testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
				total := 0
				for _, svc := range svcs {
					total += requestsServed(svc)
				}
				return total == tally.Sent
			}, "the instances' stats add up to the %d requests sent", tally.Sent)

			for i, svc := range svcs {
				share := float64(requestsServed(svc)) / float64(tally.Sent)
				t.Logf("instance on node-%d served %d of %d requests (%.0f%%)", i, requestsServed(svc), tally.Sent, 100*share)
				if share < 0.2 {
					t.Errorf("instance on node-%d: share %.3f, want a fair share (at least 0.2)", i, share)
				}
			}
		})
	}

	t.Run("discovery from every node", func(t *testing.T) {
		for node := range c.Nodes {
			nc := c.ConnectNode(t, node)
			ctx, cancel := context.WithTimeout(context.Background(), microtest.DefaultTimeout)
			defer cancel()
			opts := []micro.DiscoveryOpt{micro.WithDiscoveryService("scale"), micro.WithDiscoveryMax(len(svcs))}
			pings, err := micro.DiscoverPing(ctx, nc, opts...)
			if err != nil {
				t.Fatal(err)
			}
			infos, err := micro.DiscoverInfo(ctx, nc, opts...)
			if err != nil {
				t.Fatal(err)
			}
			stats, err := micro.DiscoverStats(ctx, nc, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, p := range pings {
				got["PING"] = append(got["PING"], p.ID)
			}
			for _, i := range infos {
				got["INFO"] = append(got["INFO"], i.ID)
			}
			for _, s := range stats {
				got["STATS"] = append(got["STATS"], s.ID)
			}
			for verb, seen := range got {
				slices.Sort(seen)
				if !slices.Equal(seen, ids) {
					t.Errorf("%s from node-%d saw %v, want %v", verb, node, seen, ids)
				}
			}
			var local int
			for _, svc := range svcs {
				local += requestsServed(svc)
			}
			if remote, _ := totalRequests(stats); remote != local {
				t.Errorf("STATS from node-%d: %d requests, the instances count %d", node, remote, local)
			}
		}
	})
}

// TestClusterNodeFailure kills a node under steady load. Services and callers
// connected to it fail over to the other nodes; requests in flight through it
// are lost (they time out); once everyone has reconnected every request
// succeeds, also while the node comes back.
func TestClusterNodeFailure(t *testing.T) {
	const victim = 1
	c := microtest.NewCluster(t, 3)
	reconnected := make(chan string, 16)
	svcs := instances(t, c, []int{0, 1, 2}, reconnecting(reconnected)...)
	var callers []*nats.Conn
	for i := range 6 {
		callers = append(callers, c.ConnectNode(t, i%3, reconnecting(reconnected)...))
	}
	load := Load{Conns: callers, Requesters: 12, Message: to(echoSubject), Timeout: 500 * time.Millisecond}

	run := load.Start()
	waitSucceeded(t, run, 500)
	killed := time.Now()
	c.Shutdown(victim)
	// The instance and the two callers on the victim reconnect elsewhere.
	for range 3 {
		if node := testutil.Receive(t, reconnected, microtest.DefaultTimeout); node == "node-1" {
			t.Fatalf("a client reconnected to the node that was shut down")
		}
	}
	c.WaitForInterest(t, echoSubject, len(svcs))
	recovered := time.Since(killed)
	waitSucceeded(t, run, 500)
	failover := run.Stop()
	t.Logf("node-1 killed under load; everyone reconnected within %s", recovered.Round(time.Millisecond))
	t.Logf("during failover: %s", failover)
	if failover.Kinds[OK] == 0 {
		t.Fatalf("nothing succeeded: %s", failover)
	}

	// Now nothing may fail, however slow a busy test machine is.
	load.Timeout = 10 * time.Second
	for _, phase := range []struct {
		name   string
		during func()
	}{
		{"after failover", func() {}},
		{"while node-1 restarts", func() { c.Restart(victim) }},
	} {
		run := load.Start()
		waitSucceeded(t, run, 500)
		phase.during()
		waitSucceeded(t, run, 500)
		tally := run.Stop()
		t.Logf("%s: %s", phase.name, tally)
		if tally.Failed > 0 || tally.Kinds[OK] != tally.Sent {
			t.Errorf("%s: not every request succeeded: %s", phase.name, tally)
		}
	}
	for i, svc := range svcs {
		if svc.Stopped() {
			t.Errorf("instance %d stopped", i)
		}
	}
}

// TestServerRestart restarts a single server on the same port under load:
// the service reconnects and serves again as the same instance, with its
// stats kept.
func TestServerRestart(t *testing.T) {
	srv := microtest.NewServer(t)
	reconnected := make(chan string, 4)
	svc := mount(t, srv.Connect(t, reconnecting(reconnected)...), micro.Config{Name: "scale", Version: "1.0.0"}, echoRouter(echoSubject))
	caller := srv.Connect(t, reconnecting(reconnected)...)
	id := svc.Info().ID

	run := Load{Conns: []*nats.Conn{caller}, Requesters: 4, Message: to(echoSubject), Timeout: 500 * time.Millisecond}.Start()
	waitSucceeded(t, run, 200)
	restarted := time.Now()
	srv.Restart()
	testutil.Receive(t, reconnected, microtest.DefaultTimeout)
	testutil.Receive(t, reconnected, microtest.DefaultTimeout)
	t.Logf("server restarted under load; service and caller reconnected within %s", time.Since(restarted).Round(time.Millisecond))
	waitSucceeded(t, run, 200)
	tally := run.Stop()
	t.Logf("server restart: %s", tally)

	ctx, cancel := context.WithTimeout(context.Background(), microtest.DefaultTimeout)
	defer cancel()
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return requestsServed(svc) >= tally.Kinds[OK] },
		"the stats count every answered request")
	stats, err := micro.DiscoverStats(ctx, caller, micro.WithDiscoveryService("scale"))
	if err != nil || len(stats) != 1 {
		t.Fatalf("STATS after restart: %v, %v", stats, err)
	}
	if stats[0].ID != id {
		t.Errorf("instance id %s after restart, want %s", stats[0].ID, id)
	}
	// Requests that reached the service before the restart but whose replies
	// were lost count too, so the service may have served more than were
	// answered.
	if served, _ := totalRequests(stats); served < tally.Kinds[OK] {
		t.Errorf("stats count %d requests after the restart, %d were answered", served, tally.Kinds[OK])
	}
}
