package main

import (
	"context"
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/loadgen"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/middleware"
)

// scenario is a kind of load on the stack, and what the handlers do.
type scenario struct {
	name    string
	callers int
	delay   time.Duration // every handler waits this long
}

var scenarios = []scenario{
	{name: "echo, 32 callers", callers: 32},
	{name: "echo, 1 caller", callers: 1},
	{name: "1 ms handler, 64 callers", callers: 64, delay: time.Millisecond},
}

// responders in report order; the first is the baseline of the ratios.
var responders = []string{"raw nats.go", "nats.go micro", "natsmux micro", "micro, no load stats",
	"router + Recover", "recommended chain + Timeout", "typed JSON"}

// payload is an order of 139 bytes, which every responder echoes; the
// typed endpoint decodes, validates (nested, with dive) and encodes it.
var payload = []byte(`{"id":"ord-000042","items":[{"sku":"sku-7","qty":2},{"sku":"sku-9","qty":1},{"sku":"sku-11","qty":3}],"total":42.5,"note":"leave at door"}`)

type order struct {
	ID    string `json:"id" validate:"required"`
	Items []struct {
		SKU string `json:"sku" validate:"required,min=3"`
		Qty int    `json:"qty" validate:"required,min=1"`
	} `json:"items" validate:"required,min=1,dive"`
	Total float64 `json:"total" validate:"gte=0"`
	Note  string  `json:"note" validate:"max=200"`
}

// productionTelemetry sets the global providers as a production service
// would, minus the network: spans sampled one in ten, batched to an exporter
// that drops them; metrics aggregated for a reader; logs formatted as JSON
// and written to io.Discard, so that every record costs what it costs.
func productionTelemetry() func() {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))),
		sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	return func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}
}

type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// cleanups stops what a measurement started, in reverse order.
type cleanups []func()

func (c *cleanups) add(f func()) { *c = append(*c, f) }

func (c cleanups) run() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

// conn connects, and closes the connection with the other cleanups.
func (c *cleanups) conn(connect func() (*nats.Conn, error)) *nats.Conn {
	nc, err := connect()
	if err != nil {
		log.Fatal(err)
	}
	c.add(nc.Close)
	return nc
}

// service adds a micro service on a connection of its own.
func (c *cleanups) service(connect func() (*nats.Conn, error), cfg micro.Config) micro.Service {
	svc, err := micro.AddService(c.conn(connect), cfg)
	if err != nil {
		log.Fatal(err)
	}
	c.add(func() { _ = svc.Stop() })
	return svc
}

// mount serves r on a service of its own.
func (c *cleanups) mount(connect func() (*nats.Conn, error), name string, r *natsmux.Router) {
	if err := natsmux.Mount(c.service(connect, micro.Config{Name: name, Version: "1.0.0"}), r); err != nil {
		log.Fatal(err)
	}
}

// echoMicro answers with the payload after delay and the work the payload
// asks for (loadgen.Mix).
func echoMicro(delay time.Duration) micro.Handler {
	return micro.HandlerFunc(func(r micro.Request) {
		sleep(delay)
		loadgen.Work(r.Data())
		_ = r.Respond(r.Data())
	})
}

func sleep(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}

// recommended is the recommended chain, with Timeout on the endpoint.
func recommended(r *natsmux.Router, subject string, h natsmux.HandlerFunc) {
	r.Use(middleware.Recommended()...)
	r.HandleFunc("echo", h, natsmux.WithSubject(subject), natsmux.WithMiddleware(middleware.Timeout(5*time.Second)))
}

// startStack starts one responder of each kind, each on its own
// connection, and returns them as targets on one client connection.
func startStack(connect func() (*nats.Conn, error), sc scenario) ([]loadgen.Target, cleanups) {
	var c cleanups
	echo := func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		sleep(sc.delay)
		return natsmux.Reply(req.Data), nil
	}
	must(loadgen.StartRaw(c.conn(connect), "bench.raw", sc.delay))
	stopRef, err := loadgen.StartNatsMicro(c.conn(connect), "bench.natsgo", sc.delay)
	must(err)
	c.add(func() { _ = stopRef() })
	must(c.service(connect, micro.Config{Name: "micro", Version: "1.0.0"}).
		AddEndpoint("echo", echoMicro(sc.delay), micro.WithEndpointSubject("bench.micro")))
	must(c.service(connect, micro.Config{Name: "micro-noload", Version: "1.0.0", LoadStatsDisabled: true}).
		AddEndpoint("echo", echoMicro(sc.delay), micro.WithEndpointSubject("bench.noload")))

	recovered := natsmux.NewRouter()
	recovered.Use(middleware.Recover())
	recovered.HandleFunc("echo", echo, natsmux.WithSubject("bench.recover"))
	c.mount(connect, "router", recovered)

	full := natsmux.NewRouter()
	recommended(full, "bench.full", echo)
	c.mount(connect, "chain", full)

	typed := natsmux.NewRouter()
	typed.Use(middleware.Recover())
	typed.Handle("echo", binding.JSON(func(_ context.Context, in *order) (*order, error) {
		sleep(sc.delay)
		return in, nil
	}), natsmux.WithSubject("bench.typed"))
	c.mount(connect, "typed", typed)

	client := c.conn(connect)
	subjects := []string{"bench.raw", "bench.natsgo", "bench.micro", "bench.noload", "bench.recover", "bench.full", "bench.typed"}
	targets := make([]loadgen.Target, len(subjects))
	for i, s := range subjects {
		targets[i] = loadgen.Target{Name: responders[i], Subject: s, Conn: client}
	}
	must(client.Flush())
	return targets, c
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// measureStack runs every scenario against every responder.
func measureStack(connect func() (*nats.Conn, error), rounds int, round time.Duration) ([][]loadgen.Result, error) {
	var tables [][]loadgen.Result
	for _, sc := range scenarios {
		targets, c := startStack(connect, sc)
		log.Printf("%s: %d rounds of %s per responder", sc.name, rounds, round)
		res := loadgen.Compare(targets, loadgen.Load{Requesters: sc.callers, Payload: payload}, rounds, round)
		c.run()
		if err := checkResults(sc.name, responders, res); err != nil {
			return nil, err
		}
		tables = append(tables, res)
	}
	return tables, nil
}

func checkResults(scenario string, names []string, res []loadgen.Result) error {
	for i, r := range res {
		log.Printf("  %-28s %s", names[i], r.Summary())
		if r.Errors > 0 {
			return errorf("%s, %s: %d requests failed", scenario, names[i], r.Errors)
		}
	}
	return nil
}
