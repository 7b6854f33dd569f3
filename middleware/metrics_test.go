package middleware_test

import (
	"context"
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

func TestMetrics(t *testing.T) {
	m := newMeter(t)
	entered, release := make(chan struct{}), make(chan struct{})
	r := natsmux.NewRouter()
	r.Use(middleware.Metrics(middleware.WithMeterProvider(m)))
	r.HandleFunc("get", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		switch req.Param("id") {
		case "0":
			return nil, natsmux.ErrNotFound
		case "block":
			entered <- struct{}{}
			<-release
		}
		return natsmux.Reply(nil), nil
	}, natsmux.WithSubject("orders.{id}"))
	r.HandleFunc("ping", echo)

	for _, subject := range []string{"orders.1", "orders.2", "orders.0", "ping"} {
		_, _, _ = serveMemory(r, subject, nil)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _ = serveMemory(r, "orders.block", nil)
	}()
	testutil.Receive(t, entered, microtest.DefaultTimeout)
	if active := sumPoints(t, m.collect(t)[middleware.ActiveRequestsMetric]); active[`get `] != 1 {
		t.Errorf("active requests while one is blocked: %v", active)
	}
	close(release)
	testutil.Closed(t, done, microtest.DefaultTimeout, "blocked request")

	got := m.collect(t)
	tests := []struct {
		metric string
		want   map[string]int64 // "<endpoint> <error code>" -> sum or count
	}{
		{"messaging.process.duration", map[string]int64{"get ": 3, "get 404": 1, "ping ": 1}},
		{middleware.ActiveRequestsMetric, map[string]int64{"get ": 0, "ping ": 0}},
	}
	for _, tt := range tests {
		points := sumPoints(t, got[tt.metric])
		if len(points) != len(tt.want) {
			t.Errorf("%s: points %v, want %v", tt.metric, points, tt.want)
		}
		for k, v := range tt.want {
			if points[k] != v {
				t.Errorf("%s[%s] = %d, want %d", tt.metric, k, points[k], v)
			}
		}
	}

	hist := got["messaging.process.duration"].(metricdata.Histogram[float64])
	for _, dp := range hist.DataPoints {
		set := dp.Attributes
		wantTemplate := map[string]string{"get": "orders.{id}", "ping": "ping"}[value(set, middleware.EndpointNameKey)]
		if value(set, "messaging.system") != "nats" || value(set, "messaging.destination.template") != wantTemplate {
			t.Errorf("duration attributes %v", set.ToSlice())
		}
		// A subject with parameters would make a series per request.
		_, hasSubject := set.Value("messaging.destination.name")
		if hasSubject != (wantTemplate == "ping") {
			t.Errorf("destination name in %v", set.ToSlice())
		}
		if code := value(set, middleware.ErrorCodeKey); code != "" && value(set, "error.type") != code {
			t.Errorf("error.type %q, code %q", value(set, "error.type"), code)
		}
	}
}

// sumPoints returns the sums, or for a histogram the counts, of the points
// of a metric, keyed by endpoint name and error code.
func sumPoints(t *testing.T, agg metricdata.Aggregation) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	key := func(set attribute.Set) string {
		return value(set, middleware.EndpointNameKey) + " " + value(set, middleware.ErrorCodeKey)
	}
	switch data := agg.(type) {
	case metricdata.Sum[int64]:
		for _, dp := range data.DataPoints {
			out[key(dp.Attributes)] += dp.Value
		}
	case metricdata.Histogram[float64]:
		for _, dp := range data.DataPoints {
			out[key(dp.Attributes)] += int64(dp.Count)
		}
	default:
		t.Fatalf("unexpected aggregation %T", agg)
	}
	return out
}

func value(set attribute.Set, key attribute.Key) string {
	v, _ := set.Value(key)
	return v.String()
}

// TestMetricsServedAgainAndAgain: each mount builds its own chain, but the
// instruments and attribute sets of a router's endpoints are shared, so a
// router served on connection after connection adds no series and keeps no
// stopped chain alive.
func TestMetricsServedAgainAndAgain(t *testing.T) {
	srv := microtest.NewServer(t, microtest.WithOptions(func(o *server.Options) { o.MaxClosedClients = 1 })) // the server keeps closed connections for its monitoring, 10000 by default
	m := newMeter(t)
	r := natsmux.NewRouter()
	r.Use(middleware.Tracing(middleware.WithTracerProvider(sdktrace.NewTracerProvider())), middleware.Metrics(middleware.WithMeterProvider(m)))
	r.HandleFunc("echo", echo)
	round := func() {
		nc, err := nats.Connect(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		svc, err := micro.AddService(nc, micro.Config{Name: "again", Version: "1.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := natsmux.Mount(svc, r); err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Request("echo", []byte("x"), microtest.DefaultTimeout); err != nil {
			t.Fatal(err)
		}
		if err := svc.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	const warmUp, rounds = 20, 200
	for range warmUp {
		round()
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range rounds {
		round()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// A chain, or a series, kept per mount would grow by several KiB a
	// round; what is left is noise.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 512<<10 {
		t.Errorf("the heap grew by %d KiB over %d rounds", grown>>10, rounds)
	}
	hist := m.collect(t)["messaging.process.duration"].(metricdata.Histogram[float64])
	if len(hist.DataPoints) != 1 || hist.DataPoints[0].Count != warmUp+rounds {
		t.Errorf("%d series, want 1 counting %d requests: %+v", len(hist.DataPoints), warmUp+rounds, hist.DataPoints)
	}
}
