package client_test

import (
	"context"
	"errors"
	"fmt"
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
