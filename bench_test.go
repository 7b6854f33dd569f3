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
	"github.com/natsmux/natsmux/middleware"
)

// roundLength is how long each target is driven per round.
const roundLength = 200 * time.Millisecond

// BenchmarkRouterEcho: 128-byte echo with 32 concurrent requesters, in
// alternating rounds against a raw nats.go responder on the same server:
// a micro endpoint alone, a router mounted on a service, and the router
// with middleware.Recover (issue 13's goal, 0.97). X-x-raw is X's
// throughput over raw's; X-handler-us the time X's handler took in the
// service.
func BenchmarkRouterEcho(b *testing.B) {
	srv := microtest.NewServer(b)
	if err := loadgen.StartRaw(srv.Connect(b), "bench.raw", 0); err != nil {
		b.Fatal(err)
	}
	echo := func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	}
	r := natsmux.NewRouter()
	r.HandleFunc("echo", echo, natsmux.WithSubject("bench.router"))
	r.HandleFunc("recover", echo, natsmux.WithSubject("bench.recover"), natsmux.WithMiddleware(middleware.Recover()))
	svc, err := micro.AddService(srv.Connect(b), micro.Config{Name: "bench", Version: "1.0.0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Stop() })
	if err := svc.AddEndpoint("micro", micro.HandlerFunc(func(req micro.Request) { _ = req.Respond(req.Data()) }),
		micro.WithEndpointSubject("bench.micro")); err != nil {
		b.Fatal(err)
	}
	if err := natsmux.Mount(svc, r); err != nil {
		b.Fatal(err)
	}
	client := srv.Connect(b)
	targets := []loadgen.Target{
		{Name: "raw", Subject: "bench.raw", Conn: client},
		{Name: "micro", Subject: "bench.micro", Conn: client},
		{Name: "router", Subject: "bench.router", Conn: client},
		{Name: "router-recover", Subject: "bench.recover", Conn: client},
	}
	load := loadgen.Load{Requesters: 32, Payload: bytes.Repeat([]byte("x"), 128)}
	res := loadgen.Bench(b, targets, load, roundLength)
	for i, t := range targets[1:] {
		b.ReportMetric(loadgen.Ratio(res[i+1], res[0]), t.Name+"-x-raw")
	}
	// What the router and Recover add to micro's call, without the noise of
	// a ratio of throughputs.
	loadgen.ReportHandlerTimes(b, svc.Stats())
}
