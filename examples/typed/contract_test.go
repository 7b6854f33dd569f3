package main

import (
	"testing"

	"github.com/natsmux/natsmux/microtest"
)

// TestContract: the service keeps the contract it publishes (see
// docs/contracts.md). A booking's check-out must follow its check-in and
// its room must exist, rules its schema cannot say, so the test gives a
// valid booking; the invalid requests are variants of it.
func TestContract(t *testing.T) {
	srv := microtest.NewServer(t)
	microtest.Serve(t, srv.Connect(t), service())
	microtest.CheckContract(t, srv.Connect(t), "hotel", microtest.WithExamples("book", booking(t, nil)))
}
