package main

import (
	"testing"

	"github.com/natsmux/natsmux/internal/exampletest"
	"github.com/natsmux/natsmux/microtest"
)

// TestContract: two instances of the service keep the contract they
// publish, and agree on it (see docs/contracts.md).
func TestContract(t *testing.T) {
	srv := microtest.NewServer(t)
	exampletest.Start(t, srv, service("node-1"), service("node-2"))
	microtest.CheckContract(t, srv.Connect(t), serviceName)
}
