// Command benchreport measures natsmux against its baselines and writes the
// headline of docs/benchmarks.md and the chart docs/benchmarks.svg.
//
// In one process, on one in-process nats-server, it drives each responder
// in alternating rounds (internal/loadgen): a raw nats.go responder, nats.go's
// micro, natsmux's micro, a router with Recover, the router with the whole
// recommended middleware chain and Timeout, a typed JSON endpoint, and
// natsmux's micro without its load stats (Config.LoadStatsDisabled). Two
// scenarios: a 128-byte echo with 32 requesters, and a handler that waits
// 1 ms with 64 requesters. Run it with `make bench`.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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

func main() {
	out := flag.String("out", "docs/benchmarks.md", "Markdown file whose report section is replaced")
	svg := flag.String("svg", "docs/benchmarks.svg", "chart to write")
	rounds := flag.Int("rounds", 8, "rounds per responder and scenario")
	round := flag.Duration("round", 250*time.Millisecond, "length of one round")
	flag.Parse()
	if err := run(*out, *svg, *rounds, *round); err != nil {
		log.Fatal(err)
	}
}

// scenario is a kind of load, and what the handlers do under it.
type scenario struct {
	name       string
	requesters int
	delay      time.Duration
}

var scenarios = []scenario{
	{name: "echo, 32 requesters", requesters: 32},
	{name: "1 ms handler, 64 requesters", requesters: 64, delay: time.Millisecond},
}

// responders in report order; the first is the baseline of the ratios.
var responders = []string{"raw nats.go", "nats.go micro", "natsmux micro", "router + Recover",
	"router + full chain", "typed JSON", "micro, no load stats"}

// payload is a small JSON document of 128 bytes, which every responder
// echoes; the typed endpoint decodes, validates and encodes it.
var payload = []byte(`{"id":"ord-000042","customer":"c-1187","items":[{"sku":"sku-7","qty":2},{"sku":"sku-9","qty":1}],"note":"leave at door"}`)

type order struct {
	ID       string `json:"id" validate:"required"`
	Customer string `json:"customer" validate:"required"`
	Items    []struct {
		SKU string `json:"sku" validate:"required"`
		Qty int    `json:"qty" validate:"min=1"`
	} `json:"items" validate:"required,dive"`
	Note string `json:"note"`
}

func run(out, svgPath string, rounds int, round time.Duration) error {
	shutdownTelemetry := productionTelemetry()
	defer shutdownTelemetry()

	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		return err
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		return errors.New("nats-server did not start")
	}
	connect := func() (*nats.Conn, error) { return nats.Connect(ns.ClientURL()) }

	load0 := loadAverage()
	started := time.Now()
	var tables [][]loadgen.Result
	for _, sc := range scenarios {
		targets, stop, err := startResponders(connect, sc)
		if err != nil {
			return err
		}
		log.Printf("%s: %d rounds of %s per responder", sc.name, rounds, round)
		res := loadgen.Compare(targets, loadgen.Load{Requesters: sc.requesters, Payload: payload}, rounds, round)
		stop()
		for i, r := range res {
			log.Printf("  %-20s %s", responders[i], r.Summary())
			if r.Errors > 0 {
				return fmt.Errorf("%s, %s: %d requests failed", sc.name, responders[i], r.Errors)
			}
		}
		tables = append(tables, res)
	}
	env := environment{load: load0, took: time.Since(started), rounds: rounds, round: round}
	if err := os.WriteFile(svgPath, chart(tables), 0o644); err != nil {
		return err
	}
	return replaceReport(out, report(tables, env))
}

// productionTelemetry sets the global providers the way a production
// service would, minus the network: spans sampled one in ten, batched to an
// exporter that drops them; metrics aggregated for a reader; logs through a
// handler that discards them.
func productionTelemetry() func() {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))),
		sdktrace.WithBatcher(discardSpans{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	slog.SetDefault(slog.New(slog.DiscardHandler))
	return func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}
}

type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// startResponders starts one responder of each kind, each on its own
// connection, and returns them as targets on one client connection.
func startResponders(connect func() (*nats.Conn, error), sc scenario) ([]loadgen.Target, func(), error) {
	var cleanups []func()
	stop := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	conn := func() *nats.Conn {
		nc, err := connect()
		if err != nil {
			log.Fatal(err)
		}
		cleanups = append(cleanups, nc.Close)
		return nc
	}
	addService := func(name string) (micro.Service, error) {
		svc, err := micro.AddService(conn(), micro.Config{Name: name, Version: "1.0.0"})
		if err == nil {
			cleanups = append(cleanups, func() { _ = svc.Stop() })
		}
		return svc, err
	}
	wait := func() {
		if sc.delay > 0 {
			time.Sleep(sc.delay)
		}
	}
	echo := func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		wait()
		return natsmux.Reply(req.Data), nil
	}

	if err := loadgen.StartRaw(conn(), "bench.raw", sc.delay); err != nil {
		return nil, stop, err
	}
	stopRef, err := loadgen.StartNatsMicro(conn(), "bench.natsgo", sc.delay)
	if err != nil {
		return nil, stop, err
	}
	cleanups = append(cleanups, func() { _ = stopRef() })

	ours, err := addService("natsmux-micro")
	if err != nil {
		return nil, stop, err
	}
	err = ours.AddEndpoint("echo", micro.HandlerFunc(func(r micro.Request) {
		wait()
		_ = r.Respond(r.Data())
	}), micro.WithEndpointSubject("bench.micro"))
	if err != nil {
		return nil, stop, err
	}

	noLoad, err := micro.AddService(conn(), micro.Config{Name: "natsmux-micro-noload", Version: "1.0.0", LoadStatsDisabled: true})
	if err != nil {
		return nil, stop, err
	}
	cleanups = append(cleanups, func() { _ = noLoad.Stop() })
	err = noLoad.AddEndpoint("echo", micro.HandlerFunc(func(r micro.Request) {
		wait()
		_ = r.Respond(r.Data())
	}), micro.WithEndpointSubject("bench.noload"))
	if err != nil {
		return nil, stop, err
	}

	recovered := natsmux.NewRouter()
	recovered.Use(middleware.Recover())
	recovered.HandleFunc("echo", echo, natsmux.WithSubject("bench.recover"))

	full := natsmux.NewRouter()
	full.Use(middleware.Recommended()...)
	full.HandleFunc("echo", echo, natsmux.WithSubject("bench.full"), natsmux.WithMiddleware(middleware.Timeout(5*time.Second)))

	typed := natsmux.NewRouter()
	typed.Use(middleware.Recover())
	typed.Handle("echo", binding.JSON(func(_ context.Context, in *order) (*order, error) {
		wait()
		return in, nil
	}), natsmux.WithSubject("bench.typed"))

	for name, r := range map[string]*natsmux.Router{"router": recovered, "full-chain": full, "typed": typed} {
		svc, err := addService(name)
		if err != nil {
			return nil, stop, err
		}
		if err := natsmux.Mount(svc, r); err != nil {
			return nil, stop, err
		}
	}
	client := conn()
	subjects := []string{"bench.raw", "bench.natsgo", "bench.micro", "bench.recover", "bench.full", "bench.typed", "bench.noload"}
	targets := make([]loadgen.Target, len(subjects))
	for i, s := range subjects {
		targets[i] = loadgen.Target{Name: responders[i], Subject: s, Conn: client}
	}
	return targets, stop, client.Flush()
}

// environment says where and how the numbers were taken.
type environment struct {
	load   string
	took   time.Duration
	rounds int
	round  time.Duration
}

func report(tables [][]loadgen.Result, env environment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s with `make bench` (`go run ./internal/cmd/benchreport`): %s, %s/%s, GOMAXPROCS %d, %s;\n",
		time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), cpuModel())
	fmt.Fprintf(&b, "load average before the run %s. Server, requesters and responders share the process and its cores.\n", env.load)
	fmt.Fprintf(&b, "Each responder ran %d rounds of %s per scenario, alternating with the others, after one warm-up round; %s in all.\n\n",
		env.rounds, env.round, env.took.Round(time.Second))
	for i, sc := range scenarios {
		fmt.Fprintf(&b, "**%s**\n\n", sc.name)
		b.WriteString("| responder | req/s | x raw | p50 | p99 | allocs/req |\n|---|---:|---:|---:|---:|---:|\n")
		for j, r := range tables[i] {
			fmt.Fprintf(&b, "| %s | %.0f | %.2f | %s | %s | %.1f |\n", responders[j], r.Throughput(), loadgen.Ratio(r, tables[i][0]),
				r.Percentile(0.50).Round(time.Microsecond), r.Percentile(0.99).Round(time.Microsecond), r.AllocsPerRequest())
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "In the 1 ms scenario natsmux micro is %.1fx nats.go micro, which handles one request at a time.\n\n",
		loadgen.Ratio(tables[1][2], tables[1][1]))
	fmt.Fprintf(&b, "Load stats (latency percentiles and load in STATS, on by default) cost little: on echo natsmux micro is %.2fx "+
		"itself without them (\"micro, no load stats\").\n\n", loadgen.Ratio(tables[0][2], tables[0][6]))
	b.WriteString("![Throughput relative to a raw nats.go responder](benchmarks.svg)\n")
	return b.String()
}

// The report section of docs/benchmarks.md lies between these markers; the
// rest of the file is prose that the report does not touch.
const (
	beginMarker = "<!-- benchreport:begin -->"
	endMarker   = "<!-- benchreport:end -->"
)

func replaceReport(path, section string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin, end := bytes.Index(doc, []byte(beginMarker)), bytes.Index(doc, []byte(endMarker))
	if begin < 0 || end < begin {
		return fmt.Errorf("%s: no %s ... %s section to replace", path, beginMarker, endMarker)
	}
	var out bytes.Buffer
	out.Write(doc[:begin+len(beginMarker)])
	out.WriteString("\n" + section)
	out.Write(doc[end:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.Lines(string(data)) {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimLeft(name, " \t:"))
		}
	}
	return "unknown CPU"
}
