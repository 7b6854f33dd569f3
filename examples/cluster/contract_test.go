package main

import (
	"testing"

	"github.com/natsmux/natsmux/microtest"
)

// TestContract: two instances of the service keep the contract they
// publish, and agree on it (see docs/contracts.md).
func TestContract(t *testing.T) {
	srv := microtest.NewServer(t)
	microtest.Serve(t, srv.Connect(t), service("node-1"))
	microtest.Serve(t, srv.Connect(t), service("node-2"))
	microtest.CheckContract(t, srv.Connect(t), serviceName)
}
