package microtest

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/natsmux/natsmux/internal/testutil"
)

// Supercluster is NATS clusters of in-process nats-servers joined by
// gateways, the topology of a deployment across regions, with leaf nodes
// (AddLeaf) at the edge. Cluster i is named SuperclusterName(i) and its
// node j "<cluster name>-node-j". Every node listens for gateways and for
// leaf nodes on random loopback ports. Its methods are for the test's own
// goroutine.
//
// NATS keeps queue groups local across gateways: a request goes to a
// member of the queue group in the cluster where it was published when
// there is one, and to another cluster's only when there is none.
type Supercluster struct {
	// Clusters are the clusters, in order.
	Clusters []*Cluster
	// Leaves are the leaf nodes that AddLeaf started, in order.
	Leaves []*Server

	leafHubs []int // the cluster of each leaf
}

// SuperclusterName returns the name of cluster i of a Supercluster.
func SuperclusterName(i int) string {
	return fmt.Sprintf("cluster-%d", i)
}

// NewSupercluster starts clusters (at least 2) of nodes each (at least 1),
// joins them with gateways and waits until every node has its routes and a
// gateway to every other cluster. The options apply to every node (auth,
// limits, WithOptions), as for NewCluster. Each node is shut down by the
// test's cleanup.
func NewSupercluster(tb testing.TB, clusters, nodes int, opts ...Option) *Supercluster {
	tb.Helper()
	if clusters < 2 {
		tb.Fatalf("microtest: a supercluster needs at least two clusters, got %d", clusters)
	}
	s := &Supercluster{}
	for i := range clusters {
		// Each cluster dials the gateways of the ones before it; gateways
		// connect both ways once one side knows the other.
		remotes := make([]*server.RemoteGatewayOpts, 0, i)
		for j, earlier := range s.Clusters {
			remotes = append(remotes, &server.RemoteGatewayOpts{Name: SuperclusterName(j), URLs: gatewayURLs(earlier)})
		}
		name := SuperclusterName(i)
		edge := WithOptions(func(o *server.Options) {
			o.Gateway.Name, o.Gateway.Host, o.Gateway.Port = name, "127.0.0.1", server.RANDOM_PORT
			o.Gateway.Gateways = remotes
			o.LeafNode.Host, o.LeafNode.Port = "127.0.0.1", server.RANDOM_PORT
			withSystemAccount(o) // gateways and leaf nodes together need one
		})
		s.Clusters = append(s.Clusters, newCluster(tb, name, name+"-node-", nodes, slices.Concat(opts, []Option{edge})))
	}
	s.WaitForGateways(tb)
	return s
}

// withSystemAccount names a system account, declaring it unless the
// options already do.
func withSystemAccount(o *server.Options) {
	if o.SystemAccount == "" {
		o.SystemAccount = server.DEFAULT_SYSTEM_ACCOUNT
	}
	if !slices.ContainsFunc(o.Accounts, func(a *server.Account) bool { return a.Name == o.SystemAccount }) {
		o.Accounts = append(o.Accounts, server.NewAccount(o.SystemAccount))
	}
}

func gatewayURLs(c *Cluster) []*url.URL {
	urls := make([]*url.URL, len(c.Nodes))
	for i, node := range c.Nodes {
		urls[i] = &url.URL{Scheme: "nats", Host: node.GatewayAddr().String()}
	}
	return urls
}

// AddLeaf starts a leaf node: a server of its own, with its own clients,
// that connects to cluster's nodes (trying them in turn) and extends the
// supercluster's subjects to its clients and theirs to the supercluster.
// It waits until the leaf is connected and is shut down by the test's
// cleanup. The options apply to the leaf (WithOptions: deny lists, ...).
func (s *Supercluster) AddLeaf(tb testing.TB, cluster int, opts ...Option) *Server {
	tb.Helper()
	if cluster < 0 || cluster >= len(s.Clusters) {
		tb.Fatalf("microtest: cluster %d of a %d-cluster supercluster", cluster, len(s.Clusters))
	}
	var hubs []*url.URL
	for _, node := range s.Clusters[cluster].Nodes {
		hubs = append(hubs, leafURL(tb, node))
	}
	name := fmt.Sprintf("leaf-%d", len(s.Leaves))
	leaf := NewServer(tb, slices.Concat(opts, []Option{WithOptions(func(o *server.Options) {
		o.ServerName = name
		o.LeafNode.Remotes = []*server.RemoteLeafOpts{{URLs: hubs}}
	})})...)
	s.Leaves = append(s.Leaves, leaf)
	s.leafHubs = append(s.leafHubs, cluster)
	testutil.Eventually(tb, DefaultTimeout, func() bool { return leaf.NumLeafNodes() == 1 }, "%s connected to %s", name, SuperclusterName(cluster))
	return leaf
}

// leafURL returns the address where node accepts leaf node connections.
func leafURL(tb testing.TB, node *Server) *url.URL {
	tb.Helper()
	varz, err := node.Varz(nil)
	if err != nil {
		tb.Fatalf("microtest: varz of %s: %v", node.Name(), err)
	}
	return &url.URL{Scheme: "nats-leaf", Host: net.JoinHostPort("127.0.0.1", fmt.Sprint(varz.LeafNode.Port))}
}

// WaitForGateways waits until every cluster's routes are complete and
// every running node has a gateway to every other cluster, failing the
// test after DefaultTimeout.
func (s *Supercluster) WaitForGateways(tb testing.TB) {
	tb.Helper()
	for _, c := range s.Clusters {
		c.WaitForRoutes(tb)
	}
	testutil.Eventually(tb, DefaultTimeout, func() bool {
		for _, c := range s.Clusters {
			for _, node := range c.runningNodes() {
				if node.NumOutboundGateways() != len(s.Clusters)-1 {
					return false
				}
			}
		}
		return true
	}, "gateways complete (%s)", stringer(s.gatewayCounts))
}

func (s *Supercluster) gatewayCounts() string {
	var counts []string
	for _, c := range s.Clusters {
		for _, node := range c.runningNodes() {
			counts = append(counts, fmt.Sprintf("%s: %d gateways", node.Name(), node.NumOutboundGateways()))
		}
	}
	return strings.Join(counts, ", ")
}

// WaitForInterest waits until the clients of the supercluster's running
// nodes and leaf nodes hold at least n subscriptions that match subject (a
// subject without wildcards) between them, and every running node of each
// cluster that holds one of them, itself or through its leaf nodes, knows of
// one; it fails the test after DefaultTimeout.
//
// Other clusters learn of the interest over their gateways, which offer no
// view of it from outside the server: a test that needs a cluster without
// subscribers to reach them waits until a request gets through.
func (s *Supercluster) WaitForInterest(tb testing.TB, subject string, n int) {
	tb.Helper()
	testutil.Eventually(tb, DefaultTimeout, func() bool {
		byCluster := make([]int, len(s.Clusters))
		for i, leaf := range s.Leaves {
			byCluster[s.leafHubs[i]] += localSubscriptions(tb, leaf, subject)
		}
		total := 0
		for i, c := range s.Clusters {
			for _, node := range c.runningNodes() {
				byCluster[i] += localSubscriptions(tb, node, subject)
			}
			if byCluster[i] > 0 && !c.knowInterest(subject) {
				return false
			}
			total += byCluster[i]
		}
		return total >= n
	}, "%d subscriptions to %q in the supercluster", n, subject)
}
