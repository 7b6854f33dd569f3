package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
)

// BenchmarkMiddleware measures what the client's middleware adds to a call
// to an echo endpoint on an in-process server, against a client without
// any (the baseline of the same run). Hedging is on but never fires: the
// replies come well before its delay.
func BenchmarkMiddleware(b *testing.B) {
	r := natsmux.NewRouter()
	r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	}, natsmux.WithIdempotent())
	e := newEnv(b, r, micro.Config{Name: "bench", Version: "1.0.0"})
	chains := []struct {
		name string
		mws  []client.Middleware
	}{
		{"none", nil},
		{"telemetry", []client.Middleware{client.Tracing(), client.RequestID(), client.Logger(), client.Metrics()}},
		{"resilience", []client.Middleware{client.Resilience(), client.Timeout(time.Second)}},
		{"resilience with hedging", []client.Middleware{
			client.Resilience(client.WithHedging(client.HedgePolicy{Delay: time.Second})), client.Timeout(time.Second)}},
	}
	for _, chain := range chains {
		b.Run(chain.name, func(b *testing.B) {
			c := e.client(b, client.WithMiddleware(chain.mws...))
			idempotent := client.WithIdempotent(true)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Request(context.Background(), "echo", []byte("x"), nil, idempotent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
