package microtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

// TestSupercluster: two clusters joined by gateways and a leaf node carry
// messages everywhere, and NATS keeps a queue group's requests in the
// cluster where they are published while it has a member there.
func TestSupercluster(t *testing.T) {
	sc := microtest.NewSupercluster(t, 2, 2)
	leaf := sc.AddLeaf(t, 0)
	for i, c := range sc.Clusters {
		for j, node := range c.Nodes {
			if want := fmt.Sprintf("cluster-%d-node-%d", i, j); node.Name() != want || node.NumOutboundGateways() != 1 {
				t.Errorf("node %s with %d gateways, want %s with 1", node.Name(), node.NumOutboundGateways(), want)
			}
		}
	}
	if leaf.Name() != "leaf-0" || len(sc.Leaves) != 1 {
		t.Errorf("leaf %s, leaves %d", leaf.Name(), len(sc.Leaves))
	}

	// A queue group with a member in each cluster and one on the leaf.
	members := map[string]*nats.Conn{
		"cluster-0": sc.Clusters[0].ConnectNode(t, 1),
		"cluster-1": sc.Clusters[1].ConnectNode(t, 1),
		"leaf":      leaf.Connect(t),
	}
	for name, nc := range members {
		if _, err := nc.QueueSubscribe("where", "q", func(m *nats.Msg) { _ = m.Respond([]byte(name)) }); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	sc.WaitForInterest(t, "where", 3)

	ask := func(nc *nats.Conn) string {
		t.Helper()
		reply, err := nc.Request("where", nil, microtest.DefaultTimeout)
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		return string(reply.Data)
	}
	fromCluster1 := sc.Clusters[1].ConnectNode(t, 0)
	for range 20 {
		if got := ask(fromCluster1); got != "cluster-1" {
			t.Fatalf("a request published in cluster-1 was served by %s", got)
		}
	}
	// The leaf's hub prefers its own member to the leaf's.
	fromCluster0 := sc.Clusters[0].ConnectNode(t, 0)
	for range 20 {
		if got := ask(fromCluster0); got != "cluster-0" {
			t.Fatalf("a request published in cluster-0 was served by %s", got)
		}
	}
	// Without a member in cluster-1, the member in cluster-0 serves it;
	// the leaf node's member serves only when no cluster has one.
	for _, gone := range []struct{ member, next string }{{"cluster-1", "cluster-0"}, {"cluster-0", "leaf"}} {
		members[gone.member].Close()
		testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
			reply, err := fromCluster1.Request("where", nil, time.Second)
			return err == nil && string(reply.Data) == gone.next
		}, "%s serves cluster-1's requests once %s is gone", gone.next, gone.member)
		for range 20 {
			if got := ask(fromCluster1); got != gone.next {
				t.Fatalf("with %s gone, a request from cluster-1 was served by %s, want %s", gone.member, got, gone.next)
			}
		}
	}
}

func TestSuperclusterLeafReachesEveryCluster(t *testing.T) {
	sc := microtest.NewSupercluster(t, 2, 1)
	leaf := sc.AddLeaf(t, 1)
	if _, err := leaf.Connect(t).Subscribe("edge.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		t.Fatal(err)
	}
	sc.WaitForInterest(t, "edge.echo", 1)
	for i, c := range sc.Clusters {
		nc := c.ConnectNode(t, 0)
		testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
			reply, err := nc.Request("edge.echo", []byte("hi"), time.Second)
			return err == nil && string(reply.Data) == "hi"
		}, "cluster-%d reaches the leaf's subscriber", i)
	}
}
