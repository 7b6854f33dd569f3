package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
)

// Call sends typed requests to a typed endpoint; its errors say what went
// wrong in terms a caller can test.
func ExampleCall() {
	// An in-process server and a service with one typed endpoint.
	ns, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	go ns.Start()
	defer ns.Shutdown()
	ns.ReadyForConnections(10 * time.Second)
	nc, _ := nats.Connect(ns.ClientURL())
	defer nc.Close()
	svc, _ := micro.AddService(nc, micro.Config{Name: "shop", Version: "1.0.0"})
	defer func() { _ = svc.Stop() }()
	r := natsmux.NewRouter()
	r.Handle("quote", binding.JSON(quote), natsmux.WithSubject("shop.quote"))
	_ = natsmux.Mount(svc, r)

	c, _ := client.New(nc, client.WithTimeout(2*time.Second))
	ctx := context.Background()

	price, err := client.Call[Quote, Price](ctx, c, "shop.quote", &Quote{SKU: "tea", Qty: 2})
	fmt.Println(price.SKU, price.Cents, err)

	_, err = client.Call[Quote, Price](ctx, c, "shop.quote", &Quote{SKU: "tea"})
	for _, fe := range binding.FieldErrors(err) {
		fmt.Println(fe.Field, fe.Rule, fe.Param, "-", fe.Message)
	}

	_, err = client.Call[Quote, Price](ctx, c, "shop.quote", &Quote{SKU: "gone", Qty: 1})
	fmt.Println(natsmux.CodeOf(err), errors.Is(err, natsmux.ErrNotFound), err)

	_, err = client.Call[Quote, Price](ctx, c, "shop.order", &Quote{SKU: "tea", Qty: 1})
	fmt.Println(natsmux.CodeOf(err), errors.Is(err, nats.ErrNoResponders))
	// Output:
	// tea 500 <nil>
	// qty gte 1 - qty must be at least 1
	// 404 true 404 no product gone
	// 503 true
}

// exampleService starts an in-process server with a service that mounts r,
// and returns a connection for the caller and a function that stops it all.
func exampleService(r *natsmux.Router) (*nats.Conn, func()) {
	ns, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	go ns.Start()
	ns.ReadyForConnections(10 * time.Second)
	svcConn, _ := nats.Connect(ns.ClientURL())
	svc, _ := micro.AddService(svcConn, micro.Config{Name: "shop", Version: "1.0.0"})
	_ = natsmux.Mount(svc, r)
	nc, _ := nats.Connect(ns.ClientURL())
	return nc, func() {
		nc.Close()
		_ = svc.Stop()
		svcConn.Close()
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// Call options add headers to one call and read the reply's.
func ExampleWithHeader() {
	r := natsmux.NewRouter()
	r.HandleFunc("whoami", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply([]byte(req.Header.Get("X-Tenant"))).SetHeader("X-Served-By", "shop-1"), nil
	}, natsmux.WithSubject("shop.whoami"))
	nc, stop := exampleService(r)
	defer stop()
	c, _ := client.New(nc)

	var replyHeader nats.Header
	reply, err := c.Request(context.Background(), "shop.whoami", nil, nil,
		client.WithHeader("X-Tenant", "acme"), client.WithReplyHeader(&replyHeader))
	fmt.Println(string(reply.Data), replyHeader.Get("X-Served-By"), err)
	// Output:
	// acme shop-1 <nil>
}

// The recommended chain of client middleware, with a resilient client that
// retries what the services declare idempotent.
func ExampleResilience() {
	// stock fails with 503 the first time it is called: an instance that
	// is shutting down, say.
	var calls atomic.Int32
	r := natsmux.NewRouter()
	r.HandleFunc("stock", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		if calls.Add(1) == 1 {
			return nil, natsmux.ErrServiceUnavailable
		}
		return natsmux.Reply([]byte("12 in stock")), nil
	}, natsmux.WithSubject("shop.stock"), natsmux.WithIdempotent())
	nc, stop := exampleService(r)
	defer stop()

	c, _ := client.New(nc, client.WithMiddleware(
		client.Tracing(),
		client.RequestID(),
		client.Logger(),
		client.Metrics(),
		client.Resilience(client.WithBudget(client.NewBudget(0.1, 10))),
		client.Timeout(500*time.Millisecond), // each attempt
	))
	ctx := context.Background()
	// Learn from INFO which endpoints are idempotent.
	_ = c.LearnEndpoints(ctx, micro.WithDiscoveryService("shop"), micro.WithDiscoveryMax(1))

	reply, err := c.Request(ctx, "shop.stock", nil, nil)
	fmt.Println(string(reply.Data), err, "after", calls.Load(), "calls")
	// Output:
	// 12 in stock <nil> after 2 calls
}
