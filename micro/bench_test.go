package micro_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// benchCompare measures our micro against a raw nats.go responder and
// nats.go's micro in alternating rounds on one in-process server. Each b.N
// is one round of round per target; the metrics that matter are
// the per-target ns/req and allocs/req and the throughput ratios.
func benchCompare(b *testing.B, load loadgen.Load, delay time.Duration, round time.Duration, opts ...micro.EndpointOpt) {
	srv := microtest.NewServer(b)
	if err := loadgen.StartRaw(srv.Connect(b), "bench.raw", delay); err != nil {
		b.Fatal(err)
	}
	stop, err := loadgen.StartNatsMicro(srv.Connect(b), "bench.ref", delay)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stop() })
	svc, err := micro.AddService(srv.Connect(b), micro.Config{Name: "natsmux-micro", Version: "1.0.0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Stop() })
	handler := micro.HandlerFunc(func(r micro.Request) {
		if delay > 0 {
			time.Sleep(delay)
		}
		_ = r.Respond(r.Data())
	})
	if err := svc.AddEndpoint("echo", handler, append(opts, micro.WithEndpointSubject("bench.ours"))...); err != nil {
		b.Fatal(err)
	}

	client := srv.Connect(b)
	targets := []loadgen.Target{
		{Name: "raw", Subject: "bench.raw", Conn: client},
		{Name: "natsgo-micro", Subject: "bench.ref", Conn: client},
		{Name: "micro", Subject: "bench.ours", Conn: client},
	}
	res := loadgen.Bench(b, targets, load, round)
	b.ReportMetric(loadgen.Ratio(res[2], res[0]), "x-raw")
	b.ReportMetric(loadgen.Ratio(res[2], res[1]), "x-natsgo-micro")
}

// BenchmarkEcho: 128-byte echo, 32 concurrent requesters.
func BenchmarkEcho(b *testing.B) {
	benchCompare(b, loadgen.Load{Requesters: 32, Payload: bytes.Repeat([]byte("x"), 128)}, 0, 200*time.Millisecond)
}

// BenchmarkSlowHandler: a handler that waits 1 ms, 64 concurrent requesters.
func BenchmarkSlowHandler(b *testing.B) {
	benchCompare(b, loadgen.Load{Requesters: 64, Payload: []byte("x")}, time.Millisecond, 200*time.Millisecond)
}

// BenchmarkSlowHandlerLimits shows how the concurrency limit caps the
// throughput of a 1 ms handler under 512 requesters; the default limit was
// chosen from this curve.
func BenchmarkSlowHandlerLimits(b *testing.B) {
	for _, limit := range []int{16, 64, 256, 1024} {
		b.Run(limitName(limit), func(b *testing.B) {
			benchCompare(b, loadgen.Load{Requesters: 512, Payload: []byte("x")}, time.Millisecond, 200*time.Millisecond,
				micro.WithEndpointMaxConcurrency(limit))
		})
	}
}

func limitName(n int) string {
	return "limit-" + string(rune('0'+n/1000%10)) + string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

// BenchmarkHandoff measures what handing each message to another goroutine
// costs a raw nats.go responder, the measurement behind the dispatcher's
// inline fast path: inline (the callback replies), a goroutine per message,
// and a pool of workers fed by a channel, each a 128-byte echo with 32
// requesters.
func BenchmarkHandoff(b *testing.B) {
	srv := microtest.NewServer(b)
	if err := loadgen.StartRaw(srv.Connect(b), "handoff.inline", 0); err != nil {
		b.Fatal(err)
	}
	perMessage := srv.Connect(b)
	if _, err := perMessage.QueueSubscribe("handoff.goroutine", "q", func(m *nats.Msg) {
		go func() { _ = m.Respond(m.Data) }()
	}); err != nil {
		b.Fatal(err)
	}
	pooled := srv.Connect(b)
	work := make(chan *nats.Msg, 1024)
	for range 8 {
		go func() {
			for m := range work {
				_ = m.Respond(m.Data)
			}
		}()
	}
	b.Cleanup(func() { close(work) })
	if _, err := pooled.QueueSubscribe("handoff.pool", "q", func(m *nats.Msg) { work <- m }); err != nil {
		b.Fatal(err)
	}
	for _, nc := range []*nats.Conn{perMessage, pooled} {
		if err := nc.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	client := srv.Connect(b)
	targets := []loadgen.Target{
		{Name: "inline", Subject: "handoff.inline", Conn: client},
		{Name: "goroutine", Subject: "handoff.goroutine", Conn: client},
		{Name: "pool", Subject: "handoff.pool", Conn: client},
	}
	res := loadgen.Bench(b, targets, loadgen.Load{Requesters: 32, Payload: bytes.Repeat([]byte("x"), 128)}, 200*time.Millisecond)
	b.ReportMetric(loadgen.Ratio(res[1], res[0]), "goroutine-x-inline")
	b.ReportMetric(loadgen.Ratio(res[2], res[0]), "pool-x-inline")
}

// BenchmarkMix: mixes of fast and slow requests, 32 requesters, natsmux
// micro against a responder that gives every message a goroutine of its own
// (the design that a slow request never holds up). It reports the
// throughput ratio and the ratio of the fast requests' p99.
func BenchmarkMix(b *testing.B) {
	for _, m := range loadgen.Mixes {
		b.Run(m.Name, func(b *testing.B) {
			srv := microtest.NewServer(b)
			if err := loadgen.StartPerMessage(srv.Connect(b), "mix.gpm", 0); err != nil {
				b.Fatal(err)
			}
			svc, err := micro.AddService(srv.Connect(b), micro.Config{Name: "mix", Version: "1.0.0"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = svc.Stop() })
			work := micro.HandlerFunc(func(r micro.Request) {
				loadgen.Work(r.Data())
				_ = r.Respond(r.Data())
			})
			if err := svc.AddEndpoint("mix", work, micro.WithEndpointSubject("mix.ours")); err != nil {
				b.Fatal(err)
			}
			client := srv.Connect(b)
			targets := []loadgen.Target{
				{Name: "gpm", Subject: "mix.gpm", Conn: client},
				{Name: "micro", Subject: "mix.ours", Conn: client},
			}
			load := loadgen.Load{Requesters: 32, Payload: bytes.Repeat([]byte("x"), 128), Mix: m.Mix}
			res := loadgen.Bench(b, targets, load, 200*time.Millisecond)
			b.ReportMetric(loadgen.Ratio(res[1], res[0]), "x-gpm")
			b.ReportMetric(loadgen.FastP99Ratio(res[1], res[0]), "fastp99-x-gpm")
		})
	}
}
