package natsmux_test

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/middleware"
)

var orders = map[string]string{"42": "2 books"}

// getOrder is a handler: it returns the reply or an error.
func getOrder(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	order, ok := orders[req.Param("id")]
	if !ok {
		return nil, natsmux.Errorf(404, "order %s not found", req.Param("id"))
	}
	return natsmux.Reply([]byte(order)), nil
}

// A router serves requests in memory too, which is how handlers and
// middleware are tested without a server.
func ExampleRouter() {
	r := natsmux.NewRouter()
	r.Route("orders", func(r *natsmux.Router) {
		r.HandleFunc("get", getOrder, natsmux.WithSubject("{id}.get"))
	})

	resp, _ := r.ServeNATS(context.Background(), natsmux.NewRequest("orders.42.get", nil))
	fmt.Println(string(resp.Data))
	_, err := r.ServeNATS(context.Background(), natsmux.NewRequest("orders.7.get", nil))
	fmt.Println(err)
	// Output:
	// 2 books
	// 404 order 7 not found
}

// Middleware wraps every endpoint registered after it; the first added runs
// first.
func ExampleRouter_Use() {
	logged := func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			resp, err := next.ServeNATS(ctx, req)
			fmt.Printf("%s -> %d\n", req.Endpoint.Template, natsmux.CodeOf(err))
			return resp, err
		})
	}
	r := natsmux.NewRouter()
	r.Use(logged)
	r.HandleFunc("get", getOrder, natsmux.WithSubject("orders.{id}.get"))

	_, _ = r.ServeNATS(context.Background(), natsmux.NewRequest("orders.42.get", nil))
	_, _ = r.ServeNATS(context.Background(), natsmux.NewRequest("orders.1.get", nil))
	// Output:
	// orders.{id}.get -> 0
	// orders.{id}.get -> 404
}

// Serve runs a router as a service until its context ends.
func ExampleServe() {
	ns, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	go ns.Start()
	defer ns.Shutdown()
	ns.ReadyForConnections(10 * time.Second)
	nc, _ := nats.Connect(ns.ClientURL())
	defer nc.Close()

	r := natsmux.NewRouter()
	r.HandleFunc("get", getOrder, natsmux.WithSubject("orders.{id}.get"))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		err := natsmux.Serve(ctx, nc, micro.Config{Name: "orders", Version: "1.0.0"}, r)
		done <- err
	}()

	client, _ := nats.Connect(ns.ClientURL())
	defer client.Close()
	for {
		if infos, _ := micro.DiscoverInfo(ctx, client, micro.WithDiscoveryService("orders")); len(infos) == 1 && len(infos[0].Endpoints) == 1 {
			break
		}
	}
	reply, _ := client.Request("orders.42.get", nil, time.Second)
	fmt.Println(string(reply.Data))
	reply, _ = client.Request("orders.9.get", nil, time.Second)
	fmt.Println(micro.ResponseError(reply))

	stop()
	fmt.Println(<-done)
	// Output:
	// 2 books
	// service error 404: order 9 not found
	// <nil>
}

func getItem(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	return natsmux.Reply([]byte(req.Param("tenant") + "/" + req.Param("id") + "/" + req.Param("item"))), nil
}

// Parameters may sit in group prefixes and endpoint subjects alike.
func ExampleRouter_Route() {
	r := natsmux.NewRouter()
	r.Route("tenants.{tenant}", func(r *natsmux.Router) {
		r.HandleFunc("item", getItem, natsmux.WithSubject("orders.{id}.items.{item}"))
	})
	ep := r.Endpoints()[0]
	fmt.Println(ep.Subject, ep.Params())
	resp, _ := r.ServeNATS(context.Background(), natsmux.NewRequest("tenants.acme.orders.42.items.7", nil))
	fmt.Println(string(resp.Data))
	// Output:
	// tenants.*.orders.*.items.* [tenant id item]
	// acme/42/7
}

func health(context.Context, *natsmux.Request) (*natsmux.Response, error) {
	return natsmux.Reply([]byte("ok")), nil
}

func listOrders(context.Context, *natsmux.Request) (*natsmux.Response, error) {
	return natsmux.ReplyJSON(orders)
}

func purgeOrders(context.Context, *natsmux.Request) (*natsmux.Response, error) {
	clear(orders)
	return nil, nil
}

// adminOnly lets through requests that carry the admin role.
func adminOnly(next natsmux.Handler) natsmux.Handler {
	return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		if req.Header.Get("Role") != "admin" {
			return nil, natsmux.ErrForbidden
		}
		return next.ServeNATS(ctx, req)
	})
}

// A service's endpoints, grouped, with middleware for all and for one.
func ExampleRouter_Group() {
	r := natsmux.NewRouter()
	r.Use(middleware.Recover())
	r.HandleFunc("health", health)
	r.Route("orders", func(r *natsmux.Router) {
		r.HandleFunc("get", getOrder, natsmux.WithSubject("{id}.get"))
		r.HandleFunc("list", listOrders)
		r.With(adminOnly).HandleFunc("purge", purgeOrders, natsmux.WithMaxConcurrency(1))
	}, natsmux.WithQueueGroup("orders"))

	for _, ep := range r.Endpoints() {
		fmt.Printf("%-6s %-14s queue group %q, up to %d at once\n", ep.Name, ep.Subject, ep.QueueGroup, ep.MaxConcurrency)
	}
	_, err := r.ServeNATS(context.Background(), natsmux.NewRequest("orders.purge", nil))
	fmt.Println(err)
	// Output:
	// health health         queue group "q", up to 256 at once
	// get    orders.*.get   queue group "orders", up to 256 at once
	// list   orders.list    queue group "orders", up to 256 at once
	// purge  orders.purge   queue group "orders", up to 1 at once
	// 403 forbidden
}
