package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/natsmux/natsmux/internal/loadgen"
)

func report(stack, mixTables [][]loadgen.Result, mws []middlewareResult, profile string, env environment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s with `make bench` (`go run ./internal/cmd/benchreport`): %s, %s/%s, GOMAXPROCS %d, %s;\n",
		time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), cpuModel())
	fmt.Fprintf(&b, "load average before the run %s. Server, callers and responders share the process and its cores.\n", env.load)
	fmt.Fprintf(&b, "Each contender ran %d rounds of %s per scenario, alternating with the others, after one warm-up round; %s in all. "+
		"A ratio is the mean of the middle half of the ratios of rounds next to each other in time.\n\n",
		env.rounds, env.round, env.took.Round(time.Second))

	b.WriteString("### The stack a user runs\n\n")
	b.WriteString("A 139-byte order echoed; \"recommended chain\" is `middleware.Recommended()` (Tracing with the SDK, one trace in " +
		"ten sampled; RequestID; Logger writing JSON that is formatted, to `io.Discard`; Metrics with the SDK; Recover) and " +
		"`middleware.Timeout`; \"typed JSON\" decodes, validates (nested, `dive`) and encodes the order.\n\n")
	for i, sc := range scenarios {
		fmt.Fprintf(&b, "**%s**\n\n", sc.name)
		b.WriteString("| responder | req/s | x raw | p50 | p99 | allocs/req |\n|---|---:|---:|---:|---:|---:|\n")
		for j, r := range stack[i] {
			fmt.Fprintf(&b, "| %s | %.0f | %.2f | %s | %s | %.1f |\n", responders[j], r.Throughput(), loadgen.Ratio(r, stack[i][0]),
				r.Percentile(0.50).Round(time.Microsecond), r.Percentile(0.99).Round(time.Microsecond), r.AllocsPerRequest())
		}
		b.WriteString("\n")
	}
	slow := stack[2]
	fmt.Fprintf(&b, "With a 1 ms handler natsmux micro is %.1fx nats.go micro, which handles one request at a time. "+
		"With load stats (latency percentiles and load in STATS), echo at 32 callers ran at %.2fx the same service without "+
		"them; one run of this ratio is noisy, BenchmarkEchoLoadStats measures only it.\n\n", loadgen.Ratio(slow[2], slow[1]), loadgen.Ratio(stack[0][2], stack[0][3]))
	b.WriteString("![Throughput relative to a raw nats.go responder](benchmarks.svg)\n\n")

	b.WriteString("### Mixes of fast and slow requests\n\n")
	fmt.Fprintf(&b, "%d callers; the requests that ask for no work are the fast ones. Ratios to a responder that gives every "+
		"message a goroutine of its own.\n\n", mixCallers)
	b.WriteString("| mix | natsmux micro, x throughput | fast p99, natsmux / goroutine per message | raw nats.go (inline), x throughput |\n" +
		"|---|---:|---:|---:|\n")
	for i, m := range loadgen.Mixes {
		res := mixTables[i]
		fast := "-"
		if res[0].FastPercentile(0.99) > 0 {
			fast = fmt.Sprintf("%s / %s = %.2f", res[1].FastPercentile(0.99).Round(time.Microsecond),
				res[0].FastPercentile(0.99).Round(time.Microsecond), loadgen.FastP99Ratio(res[1], res[0]))
		}
		fmt.Fprintf(&b, "| %s | %.2f | %s | %.2f |\n", m.Title, loadgen.Ratio(res[1], res[0]), fast, loadgen.Ratio(res[2], res[0]))
	}
	b.WriteString("\n![Throughput on mixes relative to a goroutine per message](benchmarks-mix.svg)\n\n")

	b.WriteString("### Each middleware, in memory and in a service\n\n")
	b.WriteString("An echo behind each middleware alone, with the telemetry above: served by `Router.ServeNATS` in a loop (the " +
		"request path of a mounted router, without NATS), and mounted on one service and served to 1 caller, the cases " +
		"in alternating rounds, where the time is the service's own (its endpoint's average processing time).\n\n")
	b.WriteString("| middleware | in memory, ns/req | allocs/req | added ns | added allocs | in the service, µs/req | added µs |\n" +
		"|---|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range mws {
		fmt.Fprintf(&b, "| %s | %.0f | %d | %+.0f | %+d | %.2f | %+.2f |\n", m.name, m.ns, m.allocs, m.ns-mws[0].ns,
			m.allocs-mws[0].allocs, micros(m.inService), micros(m.inService-mws[0].inService))
	}
	last := mws[len(mws)-1]
	fmt.Fprintf(&b, "\nIn the service, %q added %.1fx what it adds in memory: between two requests the core runs the "+
		"server and the caller, so the middleware's code and data (slog's handler, the OpenTelemetry SDK) are likely out of the "+
		"caches when the next request comes (a cause that fits; no hardware counters were read).\n",
		last.name, float64((last.inService-mws[0].inService).Nanoseconds())/(last.ns-mws[0].ns))
	b.WriteString("\n### Where the chain spends its time, at 1 caller\n\n")
	b.WriteString("`go tool pprof -top -cum` of the recommended chain with Timeout served to 1 caller for 3 s, the lines of " +
		"natsmux, slog, the OpenTelemetry SDK and the garbage collector (the rest is NATS and the scheduler):\n\n")
	b.WriteString("```\n" + profile + "```\n")
	return b.String()
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
