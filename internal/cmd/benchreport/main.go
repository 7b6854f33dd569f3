// Command benchreport measures natsmux against its baselines and writes the
// report section of docs/benchmarks.md with its charts, docs/benchmarks.svg
// and docs/benchmarks-mix.svg. Run it with `make bench`.
//
// In one process, on one in-process nats-server, it drives the contenders in
// alternating rounds (internal/loadgen), so that a busy machine slows them
// alike, and reports ratios to a baseline measured in the same run:
//
//   - the stack a user runs, against a raw nats.go responder: nats.go's
//     micro, natsmux's micro with and without load stats, a router with
//     Recover, the recommended chain with Timeout and JSON logs that are
//     really formatted, and a typed JSON endpoint with nested validation;
//     with 32 callers and 1, and with a 1 ms handler;
//   - a family of mixes of fast and slow requests, against a responder
//     that gives every message a goroutine of its own: throughput and the
//     fast requests' p99;
//   - each middleware alone, in memory (ns and allocations per request) and
//     in a service at 1 caller (the time the service spent in it);
//   - a CPU profile of the chain at 1 caller.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func main() {
	out := flag.String("out", "docs/benchmarks.md", "Markdown file whose report section is replaced")
	svg := flag.String("svg", "docs/benchmarks.svg", "chart of the stack to write")
	mixSVG := flag.String("mix-svg", "docs/benchmarks-mix.svg", "chart of the mixes to write")
	rounds := flag.Int("rounds", 8, "rounds per contender and scenario")
	round := flag.Duration("round", 250*time.Millisecond, "length of one round")
	flag.Parse()
	if err := run(*out, *svg, *mixSVG, *rounds, *round); err != nil {
		log.Fatal(err)
	}
}

func run(out, svgPath, mixPath string, rounds int, round time.Duration) error {
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

	env := environment{load: loadAverage(), rounds: rounds, round: round}
	started := time.Now()
	stack, err := measureStack(connect, rounds, round)
	if err != nil {
		return err
	}
	mixes, err := measureMixes(connect, rounds, round)
	if err != nil {
		return err
	}
	log.Print("middleware, in memory")
	mws := measureMiddleware()
	log.Printf("middleware in a service, 1 caller: %d rounds of %s per case", rounds, round)
	if err := measureInService(connect, mws, rounds, round); err != nil {
		return err
	}
	log.Print("profile of the chain at 1 caller")
	profile, err := profileChain(connect)
	if err != nil {
		return err
	}
	env.took = time.Since(started)

	if err := os.WriteFile(svgPath, stackChart(stack), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(mixPath, mixChart(mixes), 0o644); err != nil {
		return err
	}
	return replaceReport(out, report(stack, mixes, mws, profile, env))
}

// environment says where and how the numbers were taken.
type environment struct {
	load   string
	took   time.Duration
	rounds int
	round  time.Duration
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
