package micro

// Latency percentiles and load, recorded for every request and published in
// the endpoint's STATS data (docs/micro.md, "Latency and load in STATS").

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"strings"
	"sync/atomic"
	"time"
)

// LoadStatsKey is the key of LoadStats in the JSON object of an endpoint's
// STATS "data". It is merged into the object a StatsHandler returns.
const LoadStatsKey = "natsmux"

type (
	// LoadStats is what natsmux adds to an endpoint's STATS "data", under
	// LoadStatsKey: its latency percentiles and the load it is under. Read it
	// with EndpointStats.LoadStats. An extension of natsmux; other ADR-32
	// tools show it as part of the free-form data.
	LoadStats struct {
		// Latency holds handler times since the service started or was Reset.
		Latency LatencyStats `json:"latency"`
		// InFlight is how many requests the endpoint is handling now.
		InFlight int64 `json:"in_flight"`
		// Shed counts the requests turned away with a 429 or 503 error reply.
		Shed uint64 `json:"shed"`
		// TimedOut counts the requests answered with a 504 error reply.
		TimedOut uint64 `json:"timed_out"`
		// MaxConcurrency is the endpoint's concurrency limit.
		MaxConcurrency int `json:"max_concurrency"`
	}

	// LatencyStats are percentiles of handler times, as integer nanoseconds
	// on the wire like the ADR-32 durations. Each is within 1/32 (3.1%) of
	// the exact percentile of the recorded times; Max is exact.
	LatencyStats struct {
		P50  time.Duration `json:"p50"`
		P90  time.Duration `json:"p90"`
		P99  time.Duration `json:"p99"`
		P999 time.Duration `json:"p999"`
		Max  time.Duration `json:"max"`
	}
)

// LoadStats returns the load stats in s.Data, and false when the endpoint
// publishes none (an implementation other than natsmux, a service with
// Config.LoadStatsDisabled, or a StatsHandler whose data is not an object).
func (s *EndpointStats) LoadStats() (LoadStats, bool) {
	var data struct {
		Load *LoadStats `json:"natsmux"`
	}
	if len(s.Data) == 0 || json.Unmarshal(s.Data, &data) != nil || data.Load == nil {
		return LoadStats{}, false
	}
	return *data.Load, true
}

// The histogram is log-linear, as HDR histograms are: each power of two of
// nanoseconds is split into subBuckets buckets of equal width, so a bucket
// is at most 1/subBuckets of its lower bound wide and its midpoint is within
// 1/(2*subBuckets) of any time in it. Finding the bucket is a bit length and
// a shift; recording is one atomic add (docs/micro.md has the measurements
// against a mutex and a float logarithm). Times from 2^maxExponent ns
// (18 minutes) up share the last bucket; max keeps the exact value.
const (
	subBucketBits = 4
	subBuckets    = 1 << subBucketBits
	maxExponent   = 40
	bucketCount   = (maxExponent-subBucketBits+1)*subBuckets + subBuckets
)

// histogram counts handler times without locks. Readers see counts that
// may be a request or two apart from each other while requests are being
// recorded, never torn values.
type histogram struct {
	counts [bucketCount]atomic.Uint64
	max    atomic.Int64
}

func bucketOf(ns int64) int {
	v := uint64(max(ns, 0))
	if v < subBuckets {
		return int(v)
	}
	exp := bits.Len64(v) - 1
	if exp > maxExponent {
		return bucketCount - 1
	}
	sub := int(v>>(exp-subBucketBits)) - subBuckets
	return (exp-subBucketBits+1)*subBuckets + sub
}

// bucketValue is the value a bucket stands for: its midpoint.
func bucketValue(i int) int64 {
	if i < subBuckets {
		return int64(i)
	}
	shift := i/subBuckets - 1
	low := int64(subBuckets+i%subBuckets) << shift
	return low + (int64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	ns := int64(d)
	h.counts[bucketOf(ns)].Add(1)
	for m := h.max.Load(); ns > m; m = h.max.Load() {
		if h.max.CompareAndSwap(m, ns) {
			break
		}
	}
}

func (h *histogram) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.max.Store(0)
}

// quantiles reads the counts once and returns the nearest-rank percentiles,
// none above the maximum.
func (h *histogram) quantiles() LatencyStats {
	var counts [bucketCount]uint64
	var total uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	maxNs := h.max.Load()
	// at returns the nearest-rank percentile: the smallest time that at
	// least permille/1000 of the requests did not exceed.
	at := func(permille uint64) time.Duration {
		if total == 0 {
			return 0
		}
		rank := max((total*permille+999)/1000, 1)
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen < rank {
				continue
			}
			if i == bucketCount-1 { // unbounded above: the maximum is the best guess
				return time.Duration(maxNs)
			}
			return time.Duration(min(bucketValue(i), maxNs))
		}
		return time.Duration(maxNs)
	}
	return LatencyStats{P50: at(500), P90: at(900), P99: at(990), P999: at(999), Max: time.Duration(maxNs)}
}

// loadRecorder is an endpoint's latency histogram and load counters.
type loadRecorder struct {
	latency  histogram
	inFlight atomic.Int64
	shed     atomic.Uint64
	timedOut atomic.Uint64
}

// finish records one request that began: its handler time and, from the
// code of its error reply, whether it was shed or timed out.
func (l *loadRecorder) finish(elapsed time.Duration, failure *string) {
	l.inFlight.Add(-1)
	l.latency.record(elapsed)
	if failure == nil {
		return
	}
	switch code, _, _ := strings.Cut(*failure, ":"); code {
	case "429", "503":
		l.shed.Add(1)
	case "504":
		l.timedOut.Add(1)
	}
}

func (l *loadRecorder) reset() {
	l.latency.reset()
	l.shed.Store(0)
	l.timedOut.Store(0)
}

func (l *loadRecorder) snapshot(maxConcurrency int) LoadStats {
	return LoadStats{
		Latency:        l.latency.quantiles(),
		InFlight:       l.inFlight.Load(),
		Shed:           l.shed.Load(),
		TimedOut:       l.timedOut.Load(),
		MaxConcurrency: maxConcurrency,
	}
}

// mergeLoadStats adds load under LoadStatsKey to data, the JSON a
// StatsHandler returned: to its object, unless the object has that key
// already, or as the only key when data is empty or null. Data of another
// kind (an array, a string, a number) is left as it is.
func mergeLoadStats(data json.RawMessage, load LoadStats) json.RawMessage {
	encoded, _ := json.Marshal(load) // a struct of numbers always encodes
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return json.RawMessage(`{"` + LoadStatsKey + `":` + string(encoded) + `}`)
	}
	var fields map[string]json.RawMessage
	if data[0] != '{' || json.Unmarshal(data, &fields) != nil {
		return data
	}
	if _, taken := fields[LoadStatsKey]; taken {
		return data
	}
	// Appending keeps the handler's own bytes and field order.
	out := append([]byte(nil), data[:len(data)-1]...)
	if len(fields) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"`+LoadStatsKey+`":`...)
	out = append(out, encoded...)
	return append(out, '}')
}
