package middleware_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/middleware"
	"github.com/natsmux/natsmux/microtest"
)

type zzItem struct {
	SKU string `json:"sku" validate:"required,min=3"`
	Qty int    `json:"qty" validate:"required,min=1"`
}
type zzOrder struct {
	ID    string   `json:"id" validate:"required"`
	Items []zzItem `json:"items" validate:"required,min=1,dive"`
	Total float64  `json:"total" validate:"gte=0"`
}

var zzPayload = []byte(`{"id":"ord-000042","items":[{"sku":"sku-7","qty":2},{"sku":"sku-9","qty":1},{"sku":"sku-11","qty":3}],"total":42.5,"note":"x"}`)

func BenchmarkZZStack(b *testing.B) {
	callers, _ := strconv.Atoi(os.Getenv("CALLERS"))
	if callers == 0 {
		callers = 32
	}
	skip := os.Getenv("SKIP")
	srv := microtest.NewServer(b)
	if err := loadgen.StartRaw(srv.Connect(b), "bench.raw", 0); err != nil {
		b.Fatal(err)
	}
	rec := natsmux.NewRouter()
	rec.Use(middleware.Recover())
	rec.HandleFunc("echo", echo, natsmux.WithSubject("bench.rec"))
	serve(b, srv.Connect(b), "rec", rec)

	bt := newBenchTelemetry(b, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1)))
	var mws []natsmux.Middleware
	add := func(name string, mw natsmux.Middleware) {
		if !strings.Contains(skip, name) {
			mws = append(mws, mw)
		}
	}
	add("tracing", bt.tracing)
	add("requestid", middleware.RequestID())
	add("logger", middleware.Logger(middleware.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))))
	add("metrics", bt.metrics)
	add("recover", middleware.Recover())
	full := natsmux.NewRouter()
	full.Use(mws...)
	var inner []natsmux.Middleware
	if !strings.Contains(skip, "timeout") {
		inner = append(inner, middleware.Timeout(5*time.Second))
	}
	full.HandleFunc("echo", echo, natsmux.WithSubject("bench.full"), natsmux.WithMiddleware(inner...))
	serve(b, srv.Connect(b), "full", full)

	typed := natsmux.NewRouter()
	typed.Use(middleware.Recover())
	typed.Handle("echo", binding.JSON(func(_ context.Context, in *zzOrder) (*zzOrder, error) { return in, nil }), natsmux.WithSubject("bench.typed"))
	serve(b, srv.Connect(b), "typed", typed)

	client := srv.Connect(b)
	targets := []loadgen.Target{
		{Name: "raw", Subject: "bench.raw", Conn: client},
		{Name: "rec", Subject: "bench.rec", Conn: client},
		{Name: "full", Subject: "bench.full", Conn: client},
		{Name: "typed", Subject: "bench.typed", Conn: client},
	}
	if only := os.Getenv("ONLY"); only != "" {
		for _, t := range targets {
			if t.Name == only {
				targets = []loadgen.Target{t}
			}
		}
		res := loadgen.Bench(b, targets, loadgen.Load{Requesters: callers, Payload: zzPayload}, 500*time.Millisecond)
		b.ReportMetric(res[0].Throughput(), "req/s")
		return
	}
	res := loadgen.Bench(b, targets, loadgen.Load{Requesters: callers, Payload: zzPayload}, 200*time.Millisecond)
	for i, r := range res[1:] {
		b.ReportMetric(loadgen.Ratio(r, res[0]), targets[i+1].Name+"-x-raw")
	}
	if os.Getenv("SUMMARY") != "" {
		for i, r := range res {
			b.Logf("%-6s %s", targets[i].Name, r.Summary())
		}
	}
	_ = bytes.MinRead
}
