package client_test

import (
	"context"
	"testing"

	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
)

// BenchmarkSchemaValidation measures what checking a typed call against
// the published schemas adds, request and reply, against the same call
// unchecked (the baseline of the same run), on an in-process server. The
// schemas are fetched before the timer starts.
func BenchmarkSchemaValidation(b *testing.B) {
	e := newEnv(b, (&shop{}).router(), micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(b, client.WithSchemaValidation())
	if err := c.LoadSchemas(context.Background()); err != nil {
		b.Fatal(err)
	}
	order := &Order{SKU: "tea", Qty: 2, Kind: "retail", Email: "ann@example.com"}
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[on]
		b.Run(name, func(b *testing.B) {
			validation := client.WithValidation(on)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Call[Order, Receipt](context.Background(), c, "shop.order", order, validation); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
