package main

import (
	"context"
	"io"
	"testing"

	"github.com/natsmux/natsmux/microtest"
)

// TestContract: the service keeps the contract it publishes (see
// docs/contracts.md).
func TestContract(t *testing.T) {
	tel, err := newTelemetry(sinks{traces: io.Discard, metrics: io.Discard, textLogs: io.Discard, jsonLogs: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tel.traces.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if err := tel.metrics.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	srv := microtest.NewServer(t)
	microtest.Serve(t, srv.Connect(t), service(tel))
	microtest.CheckContract(t, srv.Connect(t), serviceName)
}
