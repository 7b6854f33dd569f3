// Command cluster shows a service scaling out the NATS way: three
// nats-server nodes, clustered with routes on 127.0.0.1, each with an
// instance of the service whoami on a connection of its own. It prints
// what discovery sees, how requests spread over the instances, and how the
// cluster routes around a stopped instance, then exits.
//
//	go run ./examples/cluster
//
// Everything runs in this one process, on random loopback ports; no NATS
// server needs to be installed or running.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/micro"
)

const (
	nodes       = 3
	serviceName = "whoami"
	perNode     = 10 // requests sent through each node
	waitLimit   = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err := run(ctx, os.Stdout, logger)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// service returns the whoami service of the instance on node: its only
// endpoint, whoami, replies with the node's name, which the instance also
// publishes in its metadata.
func service(node string) app.Service {
	r := natsmux.NewRouter()
	r.HandleFunc("whoami", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply([]byte(node)), nil
	})
	return app.Service{
		Config: micro.Config{Name: serviceName, Version: "1.0.0", Description: "Says which node's instance answered",
			Metadata: map[string]string{"node": node}},
		Router: r,
	}
}

// instance is a service instance running on one node.
type instance struct {
	stop context.CancelFunc
	done chan error
}

// run starts the cluster and the instances, prints what they show and
// stops them all.
func run(ctx context.Context, out io.Writer, logger *slog.Logger) (err error) {
	cluster, err := startCluster(nodes)
	defer shutdown(cluster)
	if err != nil {
		return err
	}
	names := make([]string, len(cluster))
	for i, s := range cluster {
		names[i] = s.Name() + " " + s.ClientURL()
	}
	fmt.Fprintf(out, "cluster: %d nodes routed on 127.0.0.1: %s\n", len(cluster), strings.Join(names, ", "))

	instances := make([]*instance, len(cluster))
	defer func() {
		for _, in := range instances {
			if in != nil {
				err = errors.Join(err, in.halt())
			}
		}
	}()
	clients := make([]*nats.Conn, len(cluster))
	defer func() {
		for _, nc := range clients {
			if nc != nil {
				nc.Close()
			}
		}
	}()
	for i, s := range cluster {
		instances[i] = start(ctx, service(s.Name()), s.ClientURL(), logger)
		if clients[i], err = nats.Connect(s.ClientURL(), nats.Name("client on "+s.Name())); err != nil {
			return err
		}
	}

	for i, nc := range clients {
		seen, err := waitForInstances(ctx, nc, len(cluster))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "discovery through %s: %d instances of %s, on %s\n", cluster[i].Name(), len(seen), serviceName, strings.Join(seen, ", "))
	}

	answered := map[string]int{}
	for _, nc := range clients {
		if err := request(nc, perNode, answered); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "requests: %d through each node, answered by %s: the queue group spreads them over the cluster\n",
		perNode, formatCounts(answered))

	if err := instances[0].halt(); err != nil {
		return err
	}
	instances[0] = nil
	seen, err := waitForInstances(ctx, clients[0], len(cluster)-1)
	if err != nil {
		return err
	}
	answered = map[string]int{}
	if err := request(clients[0], perNode, answered); err != nil {
		return err
	}
	fmt.Fprintf(out, "failover: instance on %s stopped; discovery through it sees %s; %d requests through it answered by %s\n",
		cluster[0].Name(), strings.Join(seen, ", "), perNode, formatCounts(answered))
	return nil
}

// startCluster starts n nodes; each routes to the first, and the servers'
// gossip completes the mesh.
func startCluster(n int) ([]*server.Server, error) {
	var cluster []*server.Server
	var seed []*url.URL
	for i := range n {
		s, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("node-%d", i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			Cluster:    server.ClusterOpts{Name: "demo", Host: "127.0.0.1", Port: server.RANDOM_PORT},
			Routes:     seed,
			NoLog:      true,
			NoSigs:     true,
		})
		if err != nil {
			return cluster, err
		}
		go s.Start()
		cluster = append(cluster, s)
		if !s.ReadyForConnections(waitLimit) {
			return cluster, fmt.Errorf("%s did not start within %s", s.Name(), waitLimit)
		}
		if i == 0 {
			seed = []*url.URL{{Scheme: "nats", Host: s.ClusterAddr().String()}}
		}
	}
	return cluster, nil
}

func shutdown(cluster []*server.Server) {
	for _, s := range cluster {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// start runs svc with app.Run on a connection of its own to url.
func start(ctx context.Context, svc app.Service, url string, logger *slog.Logger) *instance {
	ctx, cancel := context.WithCancel(ctx)
	in := &instance{stop: cancel, done: make(chan error, 1)}
	go func() {
		in.done <- app.Run(ctx, []app.Service{svc}, app.WithLogger(logger),
			app.WithConn(app.ConnOptions{URL: url, Name: svc.Config.Name + " on " + svc.Config.Metadata["node"]}))
	}()
	return in
}

// halt stops the instance gracefully and waits until it has.
func (in *instance) halt() error {
	in.stop()
	return <-in.done
}

// waitForInstances waits until discovery through nc finds exactly n
// instances listing their endpoint, and returns their nodes. An instance
// lists its endpoint only after subscribing to it, so by then the node
// behind nc knows where requests can go.
func waitForInstances(ctx context.Context, nc *nats.Conn, n int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		infos, err := micro.DiscoverInfo(ctx, nc, micro.WithDiscoveryService(serviceName), micro.WithDiscoveryQuiet(100*time.Millisecond))
		if err != nil {
			return nil, err
		}
		var seen []string
		for _, info := range infos {
			if len(info.Endpoints) == 1 {
				seen = append(seen, info.Metadata["node"])
			}
		}
		if len(infos) == n && len(seen) == n {
			slices.Sort(seen)
			return seen, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("discovery found %d ready instances, not %d, within %s", len(seen), n, waitLimit)
		case <-tick.C:
		}
	}
}

// request sends n requests to whoami through nc and counts who answered.
func request(nc *nats.Conn, n int, answered map[string]int) error {
	for range n {
		reply, err := nc.Request("whoami", nil, waitLimit)
		if err != nil {
			return fmt.Errorf("whoami: %w", err)
		}
		answered[string(reply.Data)]++
	}
	return nil
}

// formatCounts lists counts by name, in name order.
func formatCounts(counts map[string]int) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", name, counts[name]))
	}
	return strings.Join(parts, ", ")
}
