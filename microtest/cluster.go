package microtest

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
)

// ClusterName is the name every node of a Cluster announces on its routes.
const ClusterName = "microtest"

// Cluster is a NATS cluster of in-process nats-servers joined by routes on
// 127.0.0.1, each node on random client and route ports. Nodes can be shut
// down and restarted on the same ports, to test what clients and services do
// when a server dies and comes back. Its methods are for the test's own
// goroutine: they are not safe for concurrent use.
type Cluster struct {
	// Nodes are the servers; node i is named "node-i".
	Nodes []*Server

	tb      testing.TB
	running []bool
	// The ports each node drew when it first started, so that a restart
	// binds the same addresses and clients and peers find the node again.
	clientPorts, routePorts []int
}

// NewCluster starts n nodes (n >= 1) joined in a full mesh of routes and
// waits until every node has its routes to all the others. The options apply
// to every node (auth, limits, WithOptions); WithPort does not fit a cluster.
// Each node is shut down by the test's cleanup.
func NewCluster(tb testing.TB, n int, opts ...Option) *Cluster {
	tb.Helper()
	if n < 1 {
		tb.Fatalf("microtest: a cluster needs at least one node, got %d", n)
	}
	c := &Cluster{tb: tb, running: make([]bool, n)}
	var seed *url.URL
	for i := range n {
		node := NewServer(tb, slices.Concat(opts, []Option{withClusterNode(tb, i, seed)})...)
		c.Nodes = append(c.Nodes, node)
		c.running[i] = true
		c.clientPorts = append(c.clientPorts, node.Port())
		c.routePorts = append(c.routePorts, node.ClusterAddr().Port)
		if i == 0 {
			seed = routeURL(c.routePorts[0])
		}
	}
	c.WaitForRoutes(tb)
	return c
}

// withClusterNode configures node i: a route listener on a random loopback
// port and, for all but the first node, a route to the first (the seed), from
// which the server's gossip completes the mesh.
func withClusterNode(tb testing.TB, i int, seed *url.URL) Option {
	return WithOptions(func(o *server.Options) {
		if o.Port != server.RANDOM_PORT {
			tb.Fatalf("microtest: NewCluster picks the nodes' ports; WithPort(%d) does not apply", o.Port)
		}
		o.ServerName = fmt.Sprintf("node-%d", i)
		o.Cluster.Name = ClusterName
		o.Cluster.Host = "127.0.0.1"
		o.Cluster.Port = server.RANDOM_PORT
		o.Routes = nil
		if seed != nil {
			o.Routes = []*url.URL{seed}
		}
	})
}

func routeURL(port int) *url.URL {
	return &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", fmt.Sprint(port))}
}

// URLs returns the client URL of every node, in node order.
func (c *Cluster) URLs() []string {
	urls := make([]string, len(c.Nodes))
	for i, node := range c.Nodes {
		urls[i] = node.URL
	}
	return urls
}

// URL returns the client URLs of all nodes as one comma-separated list, the
// form nats.Connect takes for a cluster.
func (c *Cluster) URL() string {
	return strings.Join(c.URLs(), ",")
}

// Connect returns a client connected to the cluster through the list of all
// nodes: nats.go picks one at random and fails over to the others. It is
// closed by the test's cleanup. Credentials implied by the options the
// cluster was created with are presented.
func (c *Cluster) Connect(tb testing.TB, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	return Connect(tb, c.URL(), c.clientOptions(tb, opts)...)
}

// ConnectNode returns a client connected to node i that fails over to the
// other nodes, in order, when node i goes away. It is closed by the test's
// cleanup. Use Nodes[i].Connect for a client that knows node i only (it may
// still learn the other nodes from the server's gossip).
func (c *Cluster) ConnectNode(tb testing.TB, i int, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	c.checkIndex(tb, i)
	urls := c.URLs()
	ordered := slices.Concat(urls[i:], urls[:i])
	all := append(c.clientOptions(tb, opts), nats.DontRandomize())
	return Connect(tb, strings.Join(ordered, ","), all...)
}

func (c *Cluster) clientOptions(tb testing.TB, opts []nats.Option) []nats.Option {
	return append(append([]nats.Option{nats.Name(tb.Name())}, c.Nodes[0].client...), opts...)
}

// Shutdown stops node i and waits until it has stopped; its clients see the
// connection drop and its peers lose their routes to it. Shutting down a
// stopped node does nothing.
func (c *Cluster) Shutdown(i int) {
	c.tb.Helper()
	c.checkIndex(c.tb, i)
	c.Nodes[i].Shutdown()
	c.running[i] = false
}

// Restart starts node i again on the same client and route ports, with
// routes to every other node, after shutting it down if it is running, and
// waits until the cluster's routes are complete again. Clients that were
// connected to it reconnect through their usual reconnect logic.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	c.Shutdown(i)
	node := c.Nodes[i]
	// A copy: the stopped server still holds the old options.
	opts := *node.opts
	opts.Port, opts.Cluster.Port = c.clientPorts[i], c.routePorts[i]
	opts.Routes = nil
	for j, port := range c.routePorts {
		if j != i {
			opts.Routes = append(opts.Routes, routeURL(port))
		}
	}
	node.opts = &opts
	node.start()
	c.running[i] = true
	c.WaitForRoutes(c.tb)
}

// Running reports whether node i is running.
func (c *Cluster) Running(i int) bool {
	return c.running[i]
}

// WaitForRoutes waits until every running node has all its route
// connections to every other running node, failing the test after
// DefaultTimeout. NewCluster and Restart call it.
func (c *Cluster) WaitForRoutes(tb testing.TB) {
	tb.Helper()
	testutil.Eventually(tb, DefaultTimeout, func() bool {
		peers := c.runningNodes()
		for _, node := range peers {
			if node.NumRoutes() != (len(peers)-1)*routesPerPeer(node.opts) {
				return false
			}
		}
		return true
	}, "cluster routes complete (%s)", stringer(c.routeCounts))
}

// stringer defers building a failure message until a test fails.
type stringer func() string

func (f stringer) String() string { return f() }

// routesPerPeer is how many route connections a node keeps to each peer:
// one per pool slot plus one per pinned account, or one when pooling is
// off. The server fills in these options' defaults when it starts.
func routesPerPeer(o *server.Options) int {
	if o.Cluster.PoolSize < 1 {
		return 1
	}
	return o.Cluster.PoolSize + len(o.Cluster.PinnedAccounts)
}

func (c *Cluster) routeCounts() string {
	counts := make([]string, 0, len(c.Nodes))
	for i, node := range c.Nodes {
		if c.running[i] {
			counts = append(counts, fmt.Sprintf("%s: %d routes", node.Name(), node.NumRoutes()))
		}
	}
	return strings.Join(counts, ", ")
}

// WaitForInterest waits until the clients of the running nodes hold at
// least n subscriptions that match subject (a subject without wildcards)
// between them, and every running node knows of one, its own or through a
// route; it fails the test after DefaultTimeout. After it, a request
// published on any node reaches all n subscribers: without it, a request
// sent just after a service subscribed on another node may meet "no
// responders" while the interest is still travelling.
func (c *Cluster) WaitForInterest(tb testing.TB, subject string, n int) {
	tb.Helper()
	testutil.Eventually(tb, DefaultTimeout, func() bool {
		local := 0
		for _, node := range c.runningNodes() {
			if !node.GlobalAccount().SubscriptionInterest(subject) {
				return false
			}
			subs, err := node.Subsz(&server.SubszOptions{Subscriptions: true, Test: subject})
			if err != nil {
				tb.Fatalf("microtest: subscriptions to %q: %v", subject, err)
			}
			local += subs.Total
		}
		return local >= n
	}, "%d subscriptions to %q, known on every node", n, subject)
}

func (c *Cluster) runningNodes() []*Server {
	var nodes []*Server
	for i, node := range c.Nodes {
		if c.running[i] {
			nodes = append(nodes, node)
		}
	}
	return nodes
}

func (c *Cluster) checkIndex(tb testing.TB, i int) {
	tb.Helper()
	if i < 0 || i >= len(c.Nodes) {
		tb.Fatalf("microtest: node %d of a %d-node cluster", i, len(c.Nodes))
	}
}
