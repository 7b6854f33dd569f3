package main

import (
	"log/slog"
	"testing"

	"github.com/natsmux/natsmux/internal/exampletest"
	"github.com/natsmux/natsmux/microtest"
)

// TestContract: the service keeps the contract it publishes (see
// docs/contracts.md).
func TestContract(t *testing.T) {
	srv := microtest.NewServer(t)
	exampletest.Start(t, srv, service(slog.New(slog.DiscardHandler)))
	microtest.CheckContract(t, srv.Connect(t), "jobs")
}
