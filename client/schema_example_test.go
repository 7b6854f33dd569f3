package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/client"
)

// A client that checks its calls against the schemas the service
// publishes: a request that breaks them fails before it is sent, with the
// field errors the service would have answered with.
func ExampleWithSchemaValidation() {
	var served atomic.Int32
	r := natsmux.NewRouter()
	r.Handle("order", binding.JSON(func(_ context.Context, o *Order) (*Receipt, error) {
		served.Add(1)
		return &Receipt{SKU: o.SKU, Cents: 100 * o.Qty}, nil
	}), natsmux.WithSubject("shop.order"))
	nc, stop := exampleService(r)
	defer stop()

	c, _ := client.New(nc, client.WithSchemaValidation())
	ctx := context.Background()
	_ = c.LoadSchemas(ctx) // at start-up, so that the first call does not wait for INFO

	_, err := client.Call[Order, Receipt](ctx, c, "shop.order", &Order{SKU: "ab", Qty: 1})
	fmt.Println(natsmux.CodeOf(err), errors.Is(err, client.ErrInvalidRequest), served.Load())
	for _, fe := range binding.FieldErrors(err) {
		fmt.Println(fe.Field, fe.Rule, fe.Param, "-", fe.Message)
	}

	receipt, err := client.Call[Order, Receipt](ctx, c, "shop.order", &Order{SKU: "tea", Qty: 2})
	fmt.Println(receipt.Cents, err, served.Load())
	// Output:
	// 400 true 0
	// sku min 3 - sku must be at least 3 characters long
	// 200 <nil> 1
}
