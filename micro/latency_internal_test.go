package micro

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// maxRelativeError is how far a percentile may be from the exact one: half
// the relative width of the widest bucket.
const maxRelativeError = 1.0 / (2 * subBuckets)

// exactPercentile is the nearest-rank percentile of sorted.
func exactPercentile(sorted []time.Duration, permille int) time.Duration {
	rank := max((len(sorted)*permille+999)/1000, 1)
	return sorted[rank-1]
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	distributions := []struct {
		name string
		n    int
		draw func() time.Duration
	}{
		{"uniform 0-10ms", 100_000, func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) }},
		{"log-normal around 300µs", 100_000, func() time.Duration {
			return time.Duration(math.Exp(rng.NormFloat64()*1.2 + math.Log(300e3)))
		}},
		{"bimodal: 50µs, and 1% at 200ms", 50_000, func() time.Duration {
			if rng.IntN(100) == 0 {
				return 200*time.Millisecond + time.Duration(rng.Int64N(1e6))
			}
			return 50*time.Microsecond + time.Duration(rng.Int64N(5e3))
		}},
		{"nanoseconds, below the first octave", 1_000, func() time.Duration { return time.Duration(rng.IntN(40)) }},
		{"constant", 10, func() time.Duration { return 1234567 }},
		{"one request", 1, func() time.Duration { return 42 * time.Microsecond }},
		{"beyond the range: an hour", 100, func() time.Duration { return time.Hour + time.Duration(rng.IntN(1000)) }},
	}
	for _, d := range distributions {
		t.Run(d.name, func(t *testing.T) {
			var h histogram
			values := make([]time.Duration, d.n)
			for i := range values {
				values[i] = d.draw()
				h.record(values[i])
			}
			slices.Sort(values)
			got := h.quantiles()
			if got.Max != values[len(values)-1] {
				t.Errorf("max %v, want %v", got.Max, values[len(values)-1])
			}
			beyondRange := values[len(values)-1] >= 1<<(maxExponent+1)
			for _, q := range []struct {
				permille int
				got      time.Duration
			}{{500, got.P50}, {900, got.P90}, {990, got.P99}, {999, got.P999}} {
				want := exactPercentile(values, q.permille)
				if beyondRange {
					// Times past the last bucket all read as the maximum.
					want = values[len(values)-1]
				}
				if rel := math.Abs(float64(q.got-want)) / float64(want); rel > maxRelativeError {
					t.Errorf("p%.1f = %v, exact %v: off by %.2f%% (limit %.2f%%)",
						float64(q.permille)/10, q.got, want, 100*rel, 100*maxRelativeError)
				}
			}
		})
	}
}

func TestHistogramEmptyAndReset(t *testing.T) {
	var h histogram
	if got := h.quantiles(); got != (LatencyStats{}) {
		t.Errorf("empty histogram: %+v", got)
	}
	for i := range 1000 {
		h.record(time.Duration(i) * time.Millisecond)
	}
	h.record(-time.Second) // a clock step backwards counts as 0
	if got := h.quantiles(); got.P50 < 450*time.Millisecond || got.Max != 999*time.Millisecond {
		t.Fatalf("before reset: %+v", got)
	}
	h.reset()
	if got := h.quantiles(); got != (LatencyStats{}) {
		t.Errorf("after reset: %+v", got)
	}
	h.record(time.Microsecond)
	if got := h.quantiles(); got.P999 != time.Microsecond || got.Max != time.Microsecond {
		t.Errorf("a request after reset: %+v", got)
	}
}

// TestBuckets checks the bucket layout: every value lands in a bucket
// whose midpoint is within maxRelativeError of it, and buckets grow with
// the value.
func TestBuckets(t *testing.T) {
	prev := -1
	check := func(v int64) {
		i := bucketOf(v)
		if i < prev || i >= bucketCount {
			t.Fatalf("value %d in bucket %d after bucket %d (of %d)", v, i, prev, bucketCount)
		}
		prev = i
		if v > 0 && v < 1<<(maxExponent+1) {
			if rel := math.Abs(float64(bucketValue(i)-v)) / float64(v); rel > maxRelativeError {
				t.Fatalf("value %d reads as %d: off by %.2f%%", v, bucketValue(i), 100*rel)
			}
		}
	}
	for v := int64(0); v < 100_000; v++ {
		check(v)
	}
	for v := int64(100_000); v < 1<<(maxExponent+2); v += v/97 + 1 {
		check(v)
	}
	check(math.MaxInt64)
	if bucketOf(math.MaxInt64) != bucketCount-1 || bucketOf(-5) != 0 {
		t.Errorf("extremes: MaxInt64 in %d, -5 in %d", bucketOf(math.MaxInt64), bucketOf(-5))
	}
}

// TestHistogramConcurrent records from many goroutines while others read
// and reset: under -race, and no count is lost between resets.
func TestHistogramConcurrent(t *testing.T) {
	const writers, perWriter = 8, 20_000
	var l loadRecorder
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				l.inFlight.Add(1)
				failure := "504:timeout"
				l.finish(time.Duration(w*perWriter+i), &failure)
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				s := l.snapshot(4)
				if s.Latency.P50 > s.Latency.Max || s.InFlight < 0 || s.InFlight > writers {
					t.Errorf("inconsistent snapshot while recording: %+v", s)
					return
				}
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	var total uint64
	for i := range l.latency.counts {
		total += l.latency.counts[i].Load()
	}
	s := l.snapshot(4)
	if total != writers*perWriter || s.TimedOut != writers*perWriter || s.InFlight != 0 {
		t.Errorf("counted %d, timed out %d, in flight %d; want %d, %d, 0", total, s.TimedOut, s.InFlight, writers*perWriter, writers*perWriter)
	}
	if want := time.Duration(writers*perWriter - 1); s.Latency.Max != want {
		t.Errorf("max %v, want %v", s.Latency.Max, want)
	}

	// Reset while recording: it must not race, and what is left is at most
	// what was recorded after it.
	wg.Go(func() {
		for i := range perWriter {
			l.inFlight.Add(1)
			l.finish(time.Duration(i), nil)
		}
	})
	l.reset()
	wg.Wait()
	if s := l.snapshot(4); s.TimedOut != 0 || s.Latency.Max >= perWriter {
		t.Errorf("after a concurrent reset: %+v", s)
	}
}

func TestFinishCountsByCode(t *testing.T) {
	var l loadRecorder
	for _, failure := range []string{"429:too many requests", "503:unavailable", "504:timeout", "500:oops",
		"nats: connection closed", "4290:not a code", "5030", ""} {
		l.inFlight.Add(1)
		l.finish(time.Millisecond, &failure)
	}
	l.inFlight.Add(2)
	l.finish(time.Millisecond, nil)
	s := l.snapshot(7)
	if s.Shed != 2 || s.TimedOut != 1 || s.InFlight != 1 || s.MaxConcurrency != 7 {
		t.Errorf("got %+v, want 2 shed, 1 timed out, 1 in flight, limit 7", s)
	}
}

func TestMergeLoadStats(t *testing.T) {
	load := LoadStats{Latency: LatencyStats{P50: 1, P90: 2, P99: 3, P999: 4, Max: 5}, InFlight: 6, Shed: 7, TimedOut: 8, MaxConcurrency: 9}
	ours := `"natsmux":{"latency":{"p50":1,"p90":2,"p99":3,"p999":4,"max":5},"in_flight":6,"shed":7,"timed_out":8,"max_concurrency":9}`
	tests := []struct {
		name, data, want string
	}{
		{"no StatsHandler", "", "{" + ours + "}"},
		{"null", "null", "{" + ours + "}"},
		{"empty object", "{}", "{" + ours + "}"},
		{"object keeps its bytes and order", `{"z":1,"a":[1,2]}`, `{"z":1,"a":[1,2],` + ours + "}"},
		{"whitespace around an object", " {\"a\":1} \n", `{"a":1,` + ours + "}"},
		{"the handler's own natsmux key wins", `{"natsmux":"mine"}`, `{"natsmux":"mine"}`},
		{"string", `"ok"`, `"ok"`},
		{"array", `[1,2]`, `[1,2]`},
		{"number", `42`, `42`},
		{"not JSON", `{"a":`, `{"a":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeLoadStats(json.RawMessage(tt.data), load)
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) && json.Valid([]byte(tt.data)) {
				t.Errorf("merging made invalid JSON: %s", got)
			}
			es := EndpointStats{Data: got}
			if back, ok := es.LoadStats(); ok != (tt.want != tt.data) || ok && back != load {
				t.Errorf("LoadStats() = %+v, %v", back, ok)
			}
		})
	}
}

// BenchmarkHistogramRecord compares ways to record a handler time, all on
// the same log-normal times, serially and from every CPU at once: this
// histogram (a bit length, a shift and one atomic add); the same buckets
// behind a mutex; and logarithmic buckets found with a float logarithm, as
// DDSketch does, with the same 1/32 error bound.
func BenchmarkHistogramRecord(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	times := make([]time.Duration, 4096)
	for i := range times {
		times[i] = time.Duration(math.Exp(rng.NormFloat64() + math.Log(300e3)))
	}
	var (
		h       histogram
		mu      sync.Mutex
		plain   [bucketCount]uint64
		logBins [2048]atomic.Uint64
	)
	gamma := math.Log1p(2 * maxRelativeError)
	recorders := []struct {
		name   string
		record func(time.Duration)
	}{
		{"log-linear atomic", h.record},
		{"log-linear mutex", func(d time.Duration) {
			mu.Lock()
			plain[bucketOf(int64(d))]++
			mu.Unlock()
		}},
		{"float log atomic", func(d time.Duration) {
			i := int(math.Log(float64(max(d, 1))) / gamma)
			logBins[min(i, len(logBins)-1)].Add(1)
		}},
	}
	for _, r := range recorders {
		b.Run(r.name+"/serial", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				r.record(times[i%len(times)])
			}
		})
		b.Run(r.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					r.record(times[i%len(times)])
				}
			})
		})
	}
}
