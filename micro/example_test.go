package micro_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// startServer runs an in-process NATS server for the examples; a program
// connects to its deployment instead.
func startServer() (*server.Server, *nats.Conn) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		log.Fatal("nats-server did not start")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	return ns, nc
}

func Example() {
	ns, nc := startServer()
	defer ns.Shutdown()
	defer nc.Close()

	svc, err := micro.AddService(nc, micro.Config{Name: "greeter", Version: "1.0.0", Description: "says hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	greet := micro.HandlerFunc(func(r micro.Request) {
		if len(r.Data()) == 0 {
			_ = r.Error("400", "a name is required", nil)
			return
		}
		_ = r.Respond([]byte("hello, " + string(r.Data())))
	})
	if err := svc.AddGroup("greeter").AddEndpoint("hello", greet); err != nil {
		fmt.Println(err)
		return
	}

	reply, _ := nc.Request("greeter.hello", []byte("world"), time.Second)
	fmt.Println(string(reply.Data))
	reply, _ = nc.Request("greeter.hello", nil, time.Second)
	fmt.Println(micro.ResponseError(reply))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// hello, world
	// service error 400: a name is required
}

func ExampleDiscoverInfo() {
	ns, nc := startServer()
	defer ns.Shutdown()
	defer nc.Close()

	svc, _ := micro.AddService(nc, micro.Config{Name: "inventory", Version: "2.1.0"})
	defer func() { _ = svc.Stop() }()
	_ = svc.AddEndpoint("count", micro.HandlerFunc(func(r micro.Request) { _ = r.Respond([]byte("42")) }),
		micro.WithEndpointSubject("inventory.count"))

	infos, err := micro.DiscoverInfo(context.Background(), nc, micro.WithDiscoveryService("inventory"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, info := range infos {
		for _, e := range info.Endpoints {
			fmt.Printf("%s %s: %s on %s (queue group %q)\n", info.Name, info.Version, e.Name, e.Subject, e.QueueGroup)
		}
	}
	// Output:
	// inventory 2.1.0: count on inventory.count (queue group "q")
}

func ExampleService_Shutdown() {
	ns, nc := startServer()
	defer ns.Shutdown()
	defer nc.Close()

	svc, _ := micro.AddService(nc, micro.Config{Name: "worker", Version: "1.0.0",
		DoneHandler: func(micro.Service) { fmt.Println("stopped after the drain") }})
	_ = svc.AddEndpoint("work", micro.HandlerFunc(func(r micro.Request) {
		select {
		case <-time.After(20 * time.Millisecond):
			_ = r.Respond([]byte("done"))
		case <-r.Context().Done(): // Shutdown gave up waiting
			_ = r.Error("503", "shutting down", nil)
		}
	}))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = svc.Shutdown(ctx)
	<-svc.Done()
	// Output:
	// stopped after the drain
}

// The four discovery calls: every service, one service's instances, one
// instance, and the raw documents.
func ExampleDiscover() {
	ns, nc := startServer()
	defer ns.Shutdown()
	defer nc.Close()
	ctx := context.Background()
	svc, _ := micro.AddService(nc, micro.Config{Name: "orders", Version: "1.0.0"})
	defer func() { _ = svc.Stop() }()
	id := svc.Info().ID

	pings, err := micro.DiscoverPing(ctx, nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	infos, err := micro.DiscoverInfo(ctx, nc, micro.WithDiscoveryService("orders"))
	if err != nil {
		fmt.Println(err)
		return
	}
	stats, err := micro.DiscoverStats(ctx, nc, micro.WithDiscoveryInstance("orders", id))
	if err != nil {
		fmt.Println(err)
		return
	}
	docs, err := micro.Discover(ctx, nc, micro.InfoVerb)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(pings), len(infos), len(stats), len(docs))
	// Output:
	// 1 1 1 1
}
