package asyncapi_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/asyncapi"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
)

type NewOrder struct {
	Email string `json:"email" validate:"required,email"`
	Items []Item `json:"items" validate:"required,min=1,dive"`
}

func createOrder(_ context.Context, _ *NewOrder) (*Receipt, error) { return &Receipt{}, nil }

func getOrder(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil }

// The document of a router: endpoints declare their subject parameters and
// error codes, typed endpoints publish their schemas.
func Example() {
	r := natsmux.NewRouter()
	r.Route("orders", func(r *natsmux.Router) {
		r.Handle("create", binding.JSON(createOrder), natsmux.WithError(409, "an order with these items exists"))
		r.Route("{id}", func(r *natsmux.Router) {
			r.HandleFunc("get", getOrder)
		}, natsmux.WithParam("id", "the order's number", "42"), natsmux.WithError(404, "no such order"))
	})

	doc, err := asyncapi.FromRouter(r, micro.Config{Name: "orders", Version: "1.2.0"},
		asyncapi.WithServer("nats://nats.example.com:4222"))
	if err != nil {
		panic(err)
	}
	yaml, err := doc.YAML()
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.SplitN(string(yaml), "\n", 2)[0])
	fmt.Println(*doc.Channels["get"].Address, "-", doc.Channels["get"].Parameters["id"].Description)
	for _, m := range doc.Operations["create"].Reply.Messages {
		fmt.Println(m.Ref)
	}
	// Output:
	// asyncapi: 3.0.0
	// orders.{id}.get - the order's number
	// #/channels/create.reply/messages/reply
	// #/channels/create.reply/messages/error.400
	// #/channels/create.reply/messages/error.409
	// #/channels/create.reply/messages/error
}
