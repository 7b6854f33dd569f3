package micro_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// statsOnWire requests the service's STATS, checks the raw reply against the
// schema natscli validates with, and returns it decoded.
func statsOnWire(t *testing.T, nc *nats.Conn, name string) micro.Stats {
	t.Helper()
	reply := microtest.Request(t, nc, "$SRV.STATS."+name, nil)
	validateSchema(t, reply.Data)
	var stats micro.Stats
	if err := json.Unmarshal(reply.Data, &stats); err != nil {
		t.Fatal(err)
	}
	return stats
}

func loadOf(t *testing.T, stats micro.Stats, endpoint string) micro.LoadStats {
	t.Helper()
	for _, e := range stats.Endpoints {
		if e.Name == endpoint {
			load, ok := e.LoadStats()
			if !ok {
				t.Fatalf("%s publishes no load stats: data %s", endpoint, e.Data)
			}
			return load
		}
	}
	t.Fatalf("no endpoint %s in %+v", endpoint, stats)
	return micro.LoadStats{}
}

func TestLoadStatsInSTATS(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "load", Version: "1.0.0",
		StatsHandler: func(e *micro.Endpoint) any { return map[string]string{"cache": "warm"} }})
	const handlerTime = 2 * time.Millisecond
	mustAdd(t, svc.AddEndpoint("ok", micro.HandlerFunc(func(r micro.Request) {
		time.Sleep(handlerTime) // the work being measured
		_ = r.Respond(r.Data())
	})))
	for _, code := range []string{"429", "503", "504", "500"} {
		mustAdd(t, svc.AddEndpoint("code"+code, micro.HandlerFunc(func(r micro.Request) {
			_ = r.Error(code, "refused", nil)
		})))
	}
	release := make(chan struct{})
	mustAdd(t, svc.AddEndpoint("block", micro.HandlerFunc(func(r micro.Request) {
		<-release
		_ = r.Respond(nil)
	}), micro.WithEndpointMaxConcurrency(5)))

	sent := map[string]int{"ok": 10, "code429": 3, "code503": 2, "code504": 4, "code500": 1}
	for subject, n := range sent {
		for range n {
			microtest.Request(t, nc, subject, nil)
		}
	}
	const blocked = 3
	for range blocked {
		if err := nc.Publish("block", nil); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, n := range sent {
		total += n
	}
	// Stats are recorded after the reply goes out: wait for every count.
	var stats micro.Stats
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		stats = statsOnWire(t, nc, "load")
		counted := 0
		for _, e := range stats.Endpoints {
			counted += e.NumRequests
		}
		return counted == total && loadOf(t, stats, "block").InFlight == blocked
	}, "%d requests counted and %d blocked ones in flight", total, blocked)

	ok := loadOf(t, stats, "ok")
	lat := ok.Latency
	if lat.P50 < handlerTime-handlerTime/32 || lat.P50 > lat.P90 || lat.P90 > lat.P99 || lat.P99 > lat.P999 || lat.P999 > lat.Max {
		t.Errorf("ok: latency %+v: want ordered percentiles of at least %v", lat, handlerTime)
	}
	if ok.Shed != 0 || ok.TimedOut != 0 || ok.InFlight != 0 || ok.MaxConcurrency != micro.DefaultMaxConcurrency {
		t.Errorf("ok: %+v", ok)
	}
	for _, e := range stats.Endpoints {
		if !strings.Contains(string(e.Data), `"cache":"warm"`) {
			t.Errorf("%s: the StatsHandler's data is lost: %s", e.Name, e.Data)
		}
	}
	for endpoint, want := range map[string][2]uint64{"code429": {3, 0}, "code503": {2, 0}, "code504": {0, 4}, "code500": {0, 0}} {
		if got := loadOf(t, stats, endpoint); got.Shed != want[0] || got.TimedOut != want[1] || got.Latency.Max == 0 {
			t.Errorf("%s: shed %d, timed out %d, max %v; want %d, %d and a time", endpoint, got.Shed, got.TimedOut,
				got.Latency.Max, want[0], want[1])
		}
	}
	if got := loadOf(t, stats, "block"); got.MaxConcurrency != 5 {
		t.Errorf("block: max concurrency %d, want 5", got.MaxConcurrency)
	}

	// Reset zeroes the counts but not the requests in flight.
	svc.Reset()
	for _, e := range statsOnWire(t, nc, "load").Endpoints {
		load, _ := e.LoadStats()
		if load.Latency != (micro.LatencyStats{}) || load.Shed != 0 || load.TimedOut != 0 || e.Name == "block" && load.InFlight != blocked {
			t.Errorf("%s after Reset: %+v", e.Name, load)
		}
	}
	close(release)
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		load := loadOf(t, statsOnWire(t, nc, "load"), "block")
		return load.InFlight == 0 && load.Latency.Max > 0
	}, "no request in flight once released, and their times recorded")
}

func TestLoadStatsDisabled(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	plain := microtest.AddService(t, nc, micro.Config{Name: "plain", Version: "1.0.0", LoadStatsDisabled: true})
	mustAdd(t, plain.AddEndpoint("plain", echo))
	own := microtest.AddService(t, nc, micro.Config{Name: "own", Version: "1.0.0", LoadStatsDisabled: true,
		StatsHandler: func(e *micro.Endpoint) any { return map[string]int{"hits": 1} }})
	mustAdd(t, own.AddEndpoint("own", echo))
	microtest.Request(t, nc, "plain", nil)
	microtest.Request(t, nc, "own", nil)

	if e := statsOnWire(t, nc, "plain").Endpoints[0]; e.Data != nil {
		t.Errorf("disabled, no StatsHandler: data %s", e.Data)
	}
	e := statsOnWire(t, nc, "own").Endpoints[0]
	if _, ok := e.LoadStats(); ok || string(e.Data) != `{"hits":1}` {
		t.Errorf("disabled, with a StatsHandler: data %s, want the handler's alone", e.Data)
	}
}

// BenchmarkEchoLoadStats measures what recording and keeping load stats
// costs an echo: natsmux micro with and without them, against a raw
// responder, in alternating rounds (128 bytes, 32 requesters).
func BenchmarkEchoLoadStats(b *testing.B) {
	srv := microtest.NewServer(b)
	if err := loadgen.StartRaw(srv.Connect(b), "bench.raw", 0); err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct {
		name     string
		disabled bool
	}{{"off", true}, {"on", false}} {
		svc := microtest.AddService(b, srv.Connect(b), micro.Config{Name: "load-" + s.name, Version: "1.0.0", LoadStatsDisabled: s.disabled})
		if err := svc.AddEndpoint("echo", echo, micro.WithEndpointSubject("bench."+s.name)); err != nil {
			b.Fatal(err)
		}
	}
	client := srv.Connect(b)
	targets := []loadgen.Target{
		{Name: "raw", Subject: "bench.raw", Conn: client},
		{Name: "off", Subject: "bench.off", Conn: client},
		{Name: "on", Subject: "bench.on", Conn: client},
	}
	res := loadgen.Bench(b, targets, loadgen.Load{Requesters: 32, Payload: bytes.Repeat([]byte("x"), 128)}, 200*time.Millisecond)
	b.ReportMetric(loadgen.Ratio(res[2], res[1]), "on-x-off")
	b.ReportMetric(loadgen.Ratio(res[2], res[0]), "on-x-raw")
	b.ReportMetric(loadgen.Ratio(res[1], res[0]), "off-x-raw")
}
