package microtest_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

func TestClusterRoutesMessagesBetweenNodes(t *testing.T) {
	tests := []struct {
		name string
		n    int
		opts []microtest.Option
	}{
		{"single node", 1, nil},
		{"three nodes", 3, nil},
		{"three nodes with auth", 3, []microtest.Option{microtest.WithUserPassword("alice", "s3cret")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := microtest.NewCluster(t, tt.n, tt.opts...)
			urls := c.URLs()
			if len(urls) != tt.n || len(slices.Compact(slices.Sorted(slices.Values(urls)))) != tt.n {
				t.Fatalf("URLs %v: want %d distinct URLs", urls, tt.n)
			}
			for i, u := range urls {
				parsed, err := url.Parse(u)
				if err != nil || parsed.Hostname() != "127.0.0.1" {
					t.Errorf("node %d URL %q is not on loopback", i, u)
				}
			}
			if c.URL() != strings.Join(urls, ",") {
				t.Errorf("URL() = %q", c.URL())
			}

			// A subscriber on the last node receives what is published on
			// each node.
			last := tt.n - 1
			sub := c.ConnectNode(t, last)
			received := make(chan string, tt.n)
			if _, err := sub.Subscribe("greet", func(m *nats.Msg) { received <- string(m.Data) }); err != nil {
				t.Fatal(err)
			}
			if err := sub.Flush(); err != nil {
				t.Fatal(err)
			}
			c.WaitForInterest(t, "greet", 1)
			for i := range tt.n {
				pub := c.ConnectNode(t, i)
				if got, want := pub.ConnectedServerName(), fmt.Sprintf("node-%d", i); got != want {
					t.Errorf("ConnectNode(%d) is on %s", i, got)
				}
				if err := pub.Publish("greet", []byte(pub.ConnectedServerName())); err != nil {
					t.Fatal(err)
				}
				if got := testutil.Receive(t, received, microtest.DefaultTimeout); got != pub.ConnectedServerName() {
					t.Errorf("received %q, want the message from %s", got, pub.ConnectedServerName())
				}
			}
			if nc := c.Connect(t); !nc.IsConnected() {
				t.Error("Connect: not connected")
			}
		})
	}
}

func TestClusterShutdownAndRestart(t *testing.T) {
	c := microtest.NewCluster(t, 3)
	port := c.Nodes[1].Port()
	reconnected := make(chan string, 4)
	onNode1 := c.ConnectNode(t, 1, nats.ReconnectWait(20*time.Millisecond), nats.MaxReconnects(-1),
		nats.ReconnectHandler(func(nc *nats.Conn) { reconnected <- nc.ConnectedServerName() }))
	got := make(chan struct{}, 16)
	if _, err := onNode1.Subscribe("after", func(*nats.Msg) { got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if err := onNode1.Flush(); err != nil {
		t.Fatal(err)
	}
	pub := c.ConnectNode(t, 0)

	c.Shutdown(1)
	c.Shutdown(1) // a second shutdown does nothing
	if c.Running(1) || !c.Running(0) {
		t.Fatalf("running: node 0 %v, node 1 %v", c.Running(0), c.Running(1))
	}
	if server := testutil.Receive(t, reconnected, microtest.DefaultTimeout); server == "node-1" {
		t.Fatalf("failed over to the node that was shut down")
	}
	c.WaitForRoutes(t)
	c.WaitForInterest(t, "after", 1)
	if err := pub.Publish("after", nil); err != nil {
		t.Fatal(err)
	}
	testutil.Receive(t, got, microtest.DefaultTimeout)

	c.Restart(1)
	if !c.Running(1) || c.Nodes[1].Port() != port {
		t.Fatalf("after restart: running %v, port %d, want %d", c.Running(1), c.Nodes[1].Port(), port)
	}
	// The restarted node routes again: a client that knows only node 1
	// reaches the subscriber, wherever it now is.
	back := microtest.Connect(t, c.Nodes[1].URL, nats.IgnoreDiscoveredServers())
	c.WaitForInterest(t, "after", 1)
	if err := back.Publish("after", nil); err != nil {
		t.Fatal(err)
	}
	testutil.Receive(t, got, microtest.DefaultTimeout)
	c.Restart(2) // restarting a running node stops it first
	if got := c.Nodes[2].NumRoutes(); got == 0 {
		t.Errorf("node 2 has no routes after its restart")
	}
}

func TestClusterMisuse(t *testing.T) {
	tests := []struct {
		name string
		call func(tb testing.TB)
		want string
	}{
		{"no nodes", func(tb testing.TB) { microtest.NewCluster(tb, 0) }, "at least one node, got 0"},
		{"fixed port", func(tb testing.TB) { microtest.NewCluster(tb, 2, microtest.WithPort(4222)) }, "WithPort(4222) does not apply"},
		{"node out of range", func(tb testing.TB) { microtest.NewCluster(tb, 1).ConnectNode(tb, 1) }, "node 1 of a 1-node cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := &fakeTB{TB: t}
			ft.run(func() { tt.call(ft) })
			if !strings.Contains(ft.failure, tt.want) {
				t.Errorf("failure %q, want %q", ft.failure, tt.want)
			}
		})
	}
}
