package main

import (
	"testing"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/microtest"
)

// TestContract: the service keeps the contract it publishes (see
// docs/contracts.md). Generated requests would ask for items the stock
// lacks, which the endpoint answers with an undeclared 404, so the test
// gives requests for items it holds; the recount works for its full
// duration once.
func TestContract(t *testing.T) {
	srv := microtest.NewServer(t)
	cfg, r := service()
	microtest.Serve(t, srv.Connect(t), app.Service{Config: cfg, Router: r})
	microtest.CheckContract(t, srv.Connect(t), serviceName,
		microtest.WithExamples("check", `{"sku":"tea","qty":2}`),
		microtest.WithExamples("recount", `{"warehouse":"north"}`))
}
