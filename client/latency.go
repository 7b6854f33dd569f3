package client

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Sizes of a destination's latency record, for hedging after a percentile.
const (
	latencySamples    = 128 // the latest successful attempts kept
	minLatencySamples = 20  // before that many, the percentile is not trusted
	latencyRefresh    = 16  // new samples between two computations
)

// latencies keeps the latest round-trip times of a destination in a ring
// of fixed size and computes a percentile of them now and then, so that
// most calls read a cached value.
type latencies struct {
	mu       sync.Mutex
	ring     [latencySamples]time.Duration
	added    int // ever
	computed int // added when cached was computed
	cached   time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.added%latencySamples] = d
	l.added++
}

// percentile returns the p-th percentile (0 < p < 1) of the kept samples,
// and false while there are fewer than minLatencySamples.
func (l *latencies) percentile(p float64) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.added < minLatencySamples {
		return 0, false
	}
	if l.computed == 0 || l.added-l.computed >= latencyRefresh {
		samples := slices.Clone(l.ring[:min(l.added, latencySamples)])
		slices.Sort(samples)
		rank := int(math.Ceil(p*float64(len(samples)))) - 1
		l.cached = samples[max(rank, 0)]
		l.computed = l.added
	}
	return l.cached, true
}
