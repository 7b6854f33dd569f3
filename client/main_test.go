package client_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Quote and Price are the types that service and client share.
type Quote struct {
	SKU string `json:"sku" validate:"required"`
	Qty int    `json:"qty" validate:"gte=1"`
}

type Price struct {
	SKU   string `json:"sku"`
	Cents int    `json:"cents"`
}

func quote(_ context.Context, q *Quote) (*Price, error) {
	if q.SKU == "gone" {
		return nil, natsmux.Errorf(404, "no product %s", q.SKU)
	}
	return &Price{SKU: q.SKU, Cents: 250 * q.Qty}, nil
}

// env is a server, a service mounting a router, and a client.
type env struct {
	srv *microtest.Server
	nc  *nats.Conn
	svc micro.Service
}

func newEnv(t testing.TB, r *natsmux.Router, cfg micro.Config) *env {
	t.Helper()
	srv := microtest.NewServer(t)
	svc := microtest.AddService(t, srv.Connect(t), cfg)
	if err := natsmux.Mount(svc, r); err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, nc: srv.Connect(t), svc: svc}
}

func (e *env) client(t testing.TB, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(e.nc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
