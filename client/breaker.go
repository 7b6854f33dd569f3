package client

import (
	"sync"
	"time"
)

// BreakerPolicy says when Resilience's circuit breaker for a destination
// opens, fails calls at once instead of sending them, and closes again.
// Zero fields take the defaults.
//
// The breaker judges calls as their callers see them, after retries and
// hedges: a call that failed once and succeeded on retry is a success. A
// call fails, for the breaker, with a code of 500 or above (timeouts and
// "no responders" included); a 4xx is the caller's mistake and a success
// of the service, and a call the caller cancelled does not count.
type BreakerPolicy struct {
	// Failures opens the breaker after this many failed calls in a row
	// (default 10).
	Failures int
	// ErrorRate opens the breaker when at least this fraction of the last
	// Window calls failed (default 0.5), once Window calls have been made.
	ErrorRate float64
	// Window is how many of the latest calls ErrorRate looks at (default
	// 50).
	Window int
	// OpenFor is how long an open breaker fails calls at once before it
	// lets probes through (default 2s).
	OpenFor time.Duration
	// Probes is how many calls a half-open breaker lets through at once
	// (default 1); that many successes in a row close it, one failure opens
	// it again for OpenFor.
	Probes int
}

func (p BreakerPolicy) withDefaults() BreakerPolicy {
	p.Failures = orDefault(p.Failures, 10)
	p.ErrorRate = orDefault(p.ErrorRate, 0.5)
	p.Window = orDefault(p.Window, 50)
	p.OpenFor = orDefault(p.OpenFor, 2*time.Second)
	p.Probes = orDefault(p.Probes, 1)
	return p
}

func orDefault[T int | float64 | time.Duration](v, fallback T) T {
	if v > 0 {
		return v
	}
	return fallback
}

type breakerState uint8

const (
	stateClosed breakerState = iota
	stateOpen
	stateHalfOpen
)

// outcome is what a call tells the breaker.
type outcome uint8

const (
	outcomeSuccess outcome = iota
	outcomeFailure
	outcomeNeutral // cancelled by the caller: says nothing of the service
)

// breaker is one destination's circuit breaker.
type breaker struct {
	policy *BreakerPolicy

	mu          sync.Mutex
	state       breakerState
	consecutive int    // failures in a row
	window      []bool // the latest calls, true for a failure; a ring
	next        int    // where the next call goes in window
	calls       int    // in window, up to its length
	failures    int    // in window
	openedAt    time.Time
	probes      int // in flight, while half-open
	probeWins   int // successes in a row, while half-open
}

func newBreaker(policy *BreakerPolicy) *breaker {
	return &breaker{policy: policy, window: make([]bool, policy.Window)}
}

// allow reports whether a call may be sent now, and whether it is a probe
// whose outcome decides the breaker's state.
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case stateClosed:
		return true, false
	case stateOpen:
		if now.Sub(b.openedAt) < b.policy.OpenFor {
			return false, false
		}
		b.state, b.probes, b.probeWins = stateHalfOpen, 0, 0
	}
	if b.probes >= b.policy.Probes {
		return false, false
	}
	b.probes++
	return true, true
}

// record takes the outcome of an allowed call and reports whether the
// breaker opened because of it.
func (b *breaker) record(o outcome, probe bool, now time.Time) (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		if b.state != stateHalfOpen { // a probe of an earlier half-open spell
			return false
		}
		b.probes--
		switch o {
		case outcomeFailure:
			b.trip(now)
			return true
		case outcomeSuccess:
			if b.probeWins++; b.probeWins >= b.policy.Probes {
				b.reset()
			}
		}
		return false
	}
	if o == outcomeNeutral || b.state != stateClosed {
		return false
	}
	b.count(o == outcomeFailure)
	if b.consecutive >= b.policy.Failures ||
		b.calls == len(b.window) && float64(b.failures) >= b.policy.ErrorRate*float64(b.calls) {
		b.trip(now)
		return true
	}
	return false
}

// count adds a call to the window and the run of failures.
func (b *breaker) count(failure bool) {
	if b.calls == len(b.window) && b.window[b.next] {
		b.failures--
	}
	b.calls = min(b.calls+1, len(b.window))
	b.window[b.next] = failure
	b.next = (b.next + 1) % len(b.window)
	if failure {
		b.failures++
		b.consecutive++
	} else {
		b.consecutive = 0
	}
}

func (b *breaker) trip(now time.Time) {
	b.state, b.openedAt = stateOpen, now
}

// reset closes the breaker with a clean record.
func (b *breaker) reset() {
	b.state, b.consecutive, b.next, b.calls, b.failures = stateClosed, 0, 0, 0, 0
	clear(b.window)
}

// isOpen reports whether the breaker fails calls, all or all but probes.
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != stateClosed
}
