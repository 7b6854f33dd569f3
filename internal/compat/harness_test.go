//go:build compat

package compat_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/compat"
)

// TestCompatibilityService runs the harness against the suite's tester, as
// nats.go's test/compat_test.go does: start the tester's server, point
// NATS_URL at it, run this test, then start the tester.
func TestCompatibilityService(t *testing.T) {
	url := os.Getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url, nats.Timeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := compat.Serve(ctx, nc); err != nil {
		t.Fatal(err)
	}
}
