// Package loadgen drives request/reply load at NATS responders and compares
// them fairly: targets run in alternating rounds in one process, so that a
// noisy neighbour or a warming CPU affects all of them alike, and results are
// reported as ratios against a baseline measured in the same run.
package loadgen

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
)

// Load describes the traffic: how many requesters send at once and what.
type Load struct {
	Requesters int
	Payload    []byte
	Header     nats.Header   // sent with every request when not nil
	Timeout    time.Duration // per request; default 10s
	Mix        Mix           // how long handlers work on each request; none by default
}

// Result is what one or more rounds against a target measured.
type Result struct {
	Requests  int
	Errors    int
	Elapsed   time.Duration
	Mallocs   uint64 // heap allocations in the whole process
	latencies []time.Duration
	fast      []time.Duration // of the requests that asked for no work (Mix)
	rounds    []float64       // the throughput of each round, in order
}

// Throughput is requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// NsPerRequest is the wall time per request.
func (r Result) NsPerRequest() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Elapsed.Nanoseconds()) / float64(r.Requests)
}

// AllocsPerRequest is the process's heap allocations per request, the
// requesters' and the server's included (the same for every target).
func (r Result) AllocsPerRequest() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Mallocs) / float64(r.Requests)
}

// Percentile returns the latency below which p (0 to 1) of the requests
// completed.
func (r Result) Percentile(p float64) time.Duration {
	return percentile(r.latencies, p)
}

// FastPercentile is Percentile over the requests that asked the handler for
// no work: what a mix of slow requests does to the fast ones.
func (r Result) FastPercentile(p float64) time.Duration {
	return percentile(r.fast, p)
}

func percentile(latencies []time.Duration, p float64) time.Duration {
	if len(latencies) == 0 {
		return 0
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	i := min(int(p*float64(len(sorted))), len(sorted)-1)
	return sorted[i]
}

func (r *Result) add(o Result) {
	r.Requests += o.Requests
	r.Errors += o.Errors
	r.Elapsed += o.Elapsed
	r.Mallocs += o.Mallocs
	r.latencies = append(r.latencies, o.latencies...)
	r.fast = append(r.fast, o.fast...)
	r.rounds = append(r.rounds, o.Throughput())
}

// Run sends requests to subject over nc with load.Requesters goroutines for
// the duration d and measures them, the requests in flight at the end
// included. A fixed duration rather than a fixed count keeps slow and fast
// targets equally long at full concurrency. Errors (timeouts; error replies
// are not errors here) are counted, not fatal.
func Run(nc *nats.Conn, subject string, load Load, d time.Duration) Result {
	timeout := load.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	requesters := max(1, load.Requesters)
	var failed atomic.Int64
	lat := make([][]time.Duration, requesters)
	fast := make([][]time.Duration, requesters)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range requesters {
		lat[i] = make([]time.Duration, 0, 1024)
		wg.Go(func() {
			work := load.Mix.source(i, load.Payload)
			msg := &nats.Msg{Subject: subject, Header: load.Header}
			for t0 := time.Now(); t0.Before(deadline); t0 = time.Now() {
				var slow bool
				msg.Data, slow = work()
				_, err := nc.RequestMsg(msg, timeout)
				took := time.Since(t0)
				lat[i] = append(lat[i], took)
				if !slow {
					fast[i] = append(fast[i], took)
				}
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	res := Result{Errors: int(failed.Load()), Elapsed: elapsed, Mallocs: after.Mallocs - before.Mallocs}
	for i, l := range lat {
		res.latencies = append(res.latencies, l...)
		res.fast = append(res.fast, fast[i]...)
	}
	res.Requests = len(res.latencies)
	return res
}

// Target is one responder under comparison, already listening on Subject.
// Conn is the connection its requests go over.
type Target struct {
	Name    string
	Subject string
	Conn    *nats.Conn
}

// Compare runs rounds of length d against each target in turn, for the
// given number of rounds, after one warm-up round each that is not counted.
// It returns the results in the targets' order.
//
// Each round starts one target further on (roundOrder), so that over as
// many rounds as targets each runs once in each place. A fixed order
// favoured some places: two identical raw responders, run before a third
// that allocates 80 KB a request (BenchmarkSameResponders), compared 1.03
// in a fixed order (13 runs, standard error 0.011) and 1.00 rotated (8).
func Compare(targets []Target, load Load, rounds int, d time.Duration) []Result {
	results := make([]Result, len(targets))
	for round := -1; round < rounds; round++ {
		for _, i := range roundOrder(round+1, len(targets)) {
			t := targets[i]
			r := Run(t.Conn, t.Subject, load, d)
			if round >= 0 {
				results[i].add(r)
			}
		}
	}
	return results
}

// roundOrder is the order of n targets in round r: 0 to n-1 rotated by r,
// so that over n rounds each target runs once in each place.
func roundOrder(r, n int) []int {
	order := make([]int, n)
	for k := range order {
		order[k] = (k + r) % n
	}
	return order
}

// Ratio is a's throughput over b's. For results of the same rounds of
// Compare it is the mean of the middle half of the ratios round by round: a
// round of a and the round of b next to it in time share the machine's state
// of the moment, and leaving out the quarter of highest and lowest ratios
// leaves out the rounds that a burst of other work on the machine hit in one
// and not the other, which a ratio of the totals takes in whole, while the
// mean of the rest varies less from run to run than their median.
func Ratio(a, b Result) float64 {
	if len(a.rounds) == 0 || len(a.rounds) != len(b.rounds) {
		if b.Throughput() == 0 {
			return 0
		}
		return a.Throughput() / b.Throughput()
	}
	ratios := make([]float64, 0, len(a.rounds))
	for i := range a.rounds {
		if b.rounds[i] > 0 {
			ratios = append(ratios, a.rounds[i]/b.rounds[i])
		}
	}
	if len(ratios) == 0 {
		return 0
	}
	slices.Sort(ratios)
	middle := ratios[len(ratios)/4 : len(ratios)-len(ratios)/4]
	sum := 0.0
	for _, r := range middle {
		sum += r
	}
	return sum / float64(len(middle))
}

// FastP99Ratio is a's p99 latency of fast requests over b's.
func FastP99Ratio(a, b Result) float64 {
	if b.FastPercentile(0.99) == 0 {
		return 0
	}
	return float64(a.FastPercentile(0.99)) / float64(b.FastPercentile(0.99))
}

// Summary formats a result for logs.
func (r Result) Summary() string {
	return fmt.Sprintf("%8.0f req/s  p50 %-9s p99 %-9s fast p99 %-9s %5.1f allocs/req  %d errors",
		r.Throughput(), r.Percentile(0.50).Round(time.Microsecond), r.Percentile(0.99).Round(time.Microsecond),
		r.FastPercentile(0.99).Round(time.Microsecond), r.AllocsPerRequest(), r.Errors)
}

// Bench runs Compare inside a benchmark, one round of length round per
// target for each b.N, fails it if any request failed, and reports each
// target's ns/req and allocs/req. Callers report the ratios they care about
// from the returned results.
func Bench(b *testing.B, targets []Target, load Load, round time.Duration) []Result {
	b.Helper()
	b.ResetTimer()
	res := Compare(targets, load, b.N, round)
	b.StopTimer()
	for i, r := range res {
		if r.Errors > 0 {
			b.Fatalf("%s: %d of %d requests failed", targets[i].Name, r.Errors, r.Requests)
		}
		b.ReportMetric(r.NsPerRequest(), targets[i].Name+"-ns/req")
		b.ReportMetric(r.AllocsPerRequest(), targets[i].Name+"-allocs/req")
	}
	return res
}

// ReportHandlerTimes reports the average time each endpoint's handler took
// in the service, from the service's own stats, as "<endpoint>-handler-us",
// leaving out the endpoints named in skip. Amid the server's and the
// callers' work it is far steadier than a ratio of round trips, above all at
// one caller.
func ReportHandlerTimes(b *testing.B, stats micro.Stats, skip ...string) {
	for _, e := range stats.Endpoints {
		if !slices.Contains(skip, e.Name) {
			b.ReportMetric(float64(e.AverageProcessingTime.Nanoseconds())/1e3, e.Name+"-handler-us")
		}
	}
}
