package client

import (
	"fmt"
	"sync/atomic"
)

// Default budget of Resilience: retries and hedges add at most 10% to the
// calls, plus a reserve of 10 for a client that makes few calls.
const (
	DefaultBudgetRatio = 0.1
	DefaultBudgetBurst = 10
)

// milli is the unit of a Budget's account: a thousandth of a request.
const milli = 1000

// Budget bounds the extra requests that Resilience sends, retries and
// hedges alike, as a token bucket: each call adds ratio of a token, each
// extra request takes a whole one, and the bucket holds at most burst
// tokens (it starts full). Over any stretch of calls, then, the extra
// requests number at most burst + ratio × calls: with the defaults, 10%
// more load than the callers asked for, however badly the services fail.
// When the bucket is empty, a call that could have been retried or hedged
// is not, and the failure reaches the caller.
//
// One Budget may be shared by the Resilience of several clients, to bound
// their extra load together. It is safe for concurrent use.
type Budget struct {
	perCall int64 // milli-tokens added per call
	max     int64 // milli-tokens
	tokens  atomic.Int64
}

// NewBudget returns a full budget that allows ratio extra requests per call
// (0 to 1) with a reserve of burst (at least 1). It panics on values out of
// range.
func NewBudget(ratio float64, burst int) *Budget {
	if ratio < 0 || ratio > 1 || burst < 1 {
		panic(fmt.Sprintf("client: NewBudget(%g, %d): the ratio must be within 0 and 1, the burst at least 1", ratio, burst))
	}
	b := &Budget{perCall: int64(ratio * milli), max: int64(burst) * milli}
	b.tokens.Store(b.max)
	return b
}

// deposit credits one call.
func (b *Budget) deposit() {
	for {
		cur := b.tokens.Load()
		next := min(cur+b.perCall, b.max)
		if next == cur || b.tokens.CompareAndSwap(cur, next) {
			return
		}
	}
}

// withdraw takes a token for an extra request and reports whether there was
// one.
func (b *Budget) withdraw() bool {
	for {
		cur := b.tokens.Load()
		if cur < milli {
			return false
		}
		if b.tokens.CompareAndSwap(cur, cur-milli) {
			return true
		}
	}
}

// Available returns how many extra requests the budget allows now.
func (b *Budget) Available() int {
	return int(b.tokens.Load() / milli)
}
