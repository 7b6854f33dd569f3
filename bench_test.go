package natsmux_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// roundLength is how long each target is driven per round.
const roundLength = 200 * time.Millisecond

// BenchmarkRouterEcho: 128-byte echo with 32 concurrent requesters through a
// router mounted on a service, against a raw nats.go responder on the same
// server, in alternating rounds. x-raw is the router's throughput over raw.
func BenchmarkRouterEcho(b *testing.B) {
	srv := microtest.NewServer(b)
	if err := loadgen.StartRaw(srv.Connect(b), "bench.raw", 0); err != nil {
		b.Fatal(err)
	}
	r := natsmux.NewRouter()
	r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	}, natsmux.WithSubject("bench.router"))
	svc, err := micro.AddService(srv.Connect(b), micro.Config{Name: "bench", Version: "1.0.0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Stop() })
	if err := natsmux.Mount(svc, r); err != nil {
		b.Fatal(err)
	}
	client := srv.Connect(b)
	targets := []loadgen.Target{
		{Name: "raw", Subject: "bench.raw", Conn: client},
		{Name: "router", Subject: "bench.router", Conn: client},
	}
	load := loadgen.Load{Requesters: 32, Payload: bytes.Repeat([]byte("x"), 128)}
	res := loadgen.Bench(b, targets, load, roundLength)
	b.ReportMetric(loadgen.Ratio(res[1], res[0]), "x-raw")
}
