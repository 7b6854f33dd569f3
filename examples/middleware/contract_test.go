package main

import (
	"log/slog"
	"testing"

	"github.com/natsmux/natsmux/microtest"
)

// TestContract: the service keeps the contract it publishes (see
// docs/contracts.md).
func TestContract(t *testing.T) {
	srv := microtest.NewServer(t)
	microtest.Serve(t, srv.Connect(t), service(slog.New(slog.DiscardHandler)))
	microtest.CheckContract(t, srv.Connect(t), "jobs")
}
