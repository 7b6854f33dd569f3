package micro_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	refmicro "github.com/nats-io/nats.go/micro"

	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

var payload128 = bytes.Repeat([]byte("x"), 128)

// responder starts one kind of echo service on its own connection and
// returns the subject it listens on.
type responder func(b *testing.B, srv *microtest.Server, handler time.Duration) string

var responders = []struct {
	name  string
	start responder
}{
	{"raw", func(b *testing.B, srv *microtest.Server, d time.Duration) string {
		nc := srv.Connect(b)
		_, err := nc.QueueSubscribe("bench.echo", "q", func(m *nats.Msg) {
			if d > 0 {
				time.Sleep(d)
			}
			_ = m.Respond(m.Data)
		})
		if err != nil {
			b.Fatal(err)
		}
		_ = nc.Flush()
		return "bench.echo"
	}},
	{"natsgo-micro", func(b *testing.B, srv *microtest.Server, d time.Duration) string {
		nc := srv.Connect(b)
		svc, err := refmicro.AddService(nc, refmicro.Config{Name: "ref", Version: "1.0.0"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = svc.Stop() })
		err = svc.AddEndpoint("echo", refmicro.HandlerFunc(func(r refmicro.Request) {
			if d > 0 {
				time.Sleep(d)
			}
			_ = r.Respond(r.Data())
		}), refmicro.WithEndpointSubject("bench.echo"))
		if err != nil {
			b.Fatal(err)
		}
		_ = nc.Flush()
		return "bench.echo"
	}},
	{"micro", func(b *testing.B, srv *microtest.Server, d time.Duration) string {
		nc := srv.Connect(b)
		svc, err := micro.AddService(nc, micro.Config{Name: "ours", Version: "1.0.0"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = svc.Stop() })
		err = svc.AddEndpoint("echo", micro.HandlerFunc(func(r micro.Request) {
			if d > 0 {
				time.Sleep(d)
			}
			_ = r.Respond(r.Data())
		}), micro.WithEndpointSubject("bench.echo"))
		if err != nil {
			b.Fatal(err)
		}
		return "bench.echo"
	}},
}

func benchRequests(b *testing.B, nc *nats.Conn, subject string, requesters int) {
	b.ReportAllocs()
	b.SetParallelism((requesters + 1) / 2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := nc.Request(subject, payload128, 5*time.Second); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEcho(b *testing.B) {
	for _, r := range responders {
		b.Run(r.name, func(b *testing.B) {
			srv := microtest.NewServer(b)
			subject := r.start(b, srv, 0)
			benchRequests(b, srv.Connect(b), subject, 32)
		})
	}
}

func BenchmarkSlowHandler(b *testing.B) {
	for _, r := range responders {
		b.Run(r.name, func(b *testing.B) {
			srv := microtest.NewServer(b)
			subject := r.start(b, srv, time.Millisecond)
			benchRequests(b, srv.Connect(b), subject, 64)
		})
	}
}
