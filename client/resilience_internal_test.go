package client

import (
	"fmt"
	"testing"
	"time"
)

// TestBreaker drives one breaker through its states with outcomes and a
// clock of the test's own.
func TestBreakerStates(t *testing.T) {
	policy := BreakerPolicy{Failures: 3, ErrorRate: 0.5, Window: 10, OpenFor: time.Second, Probes: 2}.withDefaults()
	t0 := time.Unix(1_000_000, 0)
	type step struct {
		at      time.Duration // after t0
		outcome outcome       // of a call that was allowed
		allowed bool          // whether the call is let through
		opened  bool          // whether its outcome opens the breaker
	}
	ok := func(at time.Duration) step { return step{at, outcomeSuccess, true, false} }
	fail := func(at time.Duration) step { return step{at, outcomeFailure, true, false} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"consecutive failures open it", []step{
			fail(0), fail(0), {0, outcomeFailure, true, true},
			{time.Millisecond, 0, false, false}, // open: rejected
		}},
		{"a success breaks the run", []step{fail(0), fail(0), ok(0), fail(0), fail(0), ok(0)}},
		{"cancelled calls do not count", []step{fail(0), fail(0), {0, outcomeNeutral, true, false}, {0, outcomeNeutral, true, false}, ok(0)}},
		{"the error rate opens it once the window is full", []step{
			fail(0), ok(0), fail(0), ok(0), fail(0), ok(0), fail(0), ok(0), fail(0),
			{0, outcomeSuccess, true, true}, // 5 of the last 10 failed
		}},
		{"half-open probes close it", []step{
			fail(0), fail(0), {0, outcomeFailure, true, true},
			{999 * time.Millisecond, 0, false, false},
			ok(time.Second), ok(time.Second), // two probes, both succeed
			fail(time.Second), fail(time.Second), ok(time.Second), // closed, with a clean record
		}},
		{"a failed probe opens it again", []step{
			fail(0), fail(0), {0, outcomeFailure, true, true},
			{time.Second, outcomeFailure, true, true},
			{time.Second + time.Millisecond, 0, false, false},
			ok(2 * time.Second),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBreaker(&policy)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				allowed, probe := b.allow(now)
				if allowed != s.allowed {
					t.Fatalf("step %d: allowed %t, want %t", i, allowed, s.allowed)
				}
				if !allowed {
					continue
				}
				if opened := b.record(s.outcome, probe, now); opened != s.opened {
					t.Fatalf("step %d: opened %t, want %t", i, opened, s.opened)
				}
			}
		})
	}

	t.Run("probes are limited while half-open", func(t *testing.T) {
		b := newBreaker(&policy)
		for range policy.Failures {
			b.allow(t0)
			b.record(outcomeFailure, false, t0)
		}
		later := t0.Add(policy.OpenFor)
		var probes []bool
		for range 5 {
			if ok, probe := b.allow(later); ok {
				probes = append(probes, probe)
			}
		}
		if len(probes) != policy.Probes || !probes[0] || !probes[1] {
			t.Fatalf("half-open breaker let %v through, want %d probes", probes, policy.Probes)
		}
		// A cancelled probe frees its place.
		b.record(outcomeNeutral, true, later)
		if ok, probe := b.allow(later); !ok || !probe {
			t.Errorf("no probe after one was cancelled")
		}
	})
}

// TestBudgetBound: however many extra requests are asked for, a budget
// grants at most burst + ratio × calls.
func TestBudgetBound(t *testing.T) {
	for _, tt := range []struct {
		ratio       float64
		burst       int
		calls, asks int // asks: extra requests asked for per call
	}{
		{0.1, 10, 10_000, 1},
		{0.1, 10, 1_000, 5},
		{0.05, 1, 2_000, 3},
		{0, 3, 500, 2},
	} {
		t.Run(fmt.Sprintf("ratio %g burst %d", tt.ratio, tt.burst), func(t *testing.T) {
			b := NewBudget(tt.ratio, tt.burst)
			granted := 0
			for range tt.calls {
				b.deposit()
				for range tt.asks {
					if b.withdraw() {
						granted++
					}
				}
			}
			bound := float64(tt.burst) + tt.ratio*float64(tt.calls)
			if float64(granted) > bound || float64(granted) < bound-float64(tt.burst)-1 {
				t.Errorf("%d extra requests granted for %d calls, want at most and about %g", granted, tt.calls, bound)
			}
		})
	}
	for _, bad := range []struct {
		ratio float64
		burst int
	}{{-0.1, 1}, {1.5, 1}, {0.1, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewBudget(%g, %d) did not panic", bad.ratio, bad.burst)
				}
			}()
			NewBudget(bad.ratio, bad.burst)
		}()
	}
}

// TestStateBounds: every per-destination store has a fixed ceiling,
// whatever the number of destinations or samples.
func TestStateBounds(t *testing.T) {
	t.Run("lru", func(t *testing.T) {
		made := 0
		l := newLRU(8, func() *int { made++; v := made; return &v })
		for i := range 100_000 {
			l.get(fmt.Sprint("subject.", i))
		}
		if l.len() != 8 {
			t.Errorf("%d keys kept, want 8", l.len())
		}
		// The most recent keys stay, the least recently used go.
		first := l.get("subject.99999")
		l.get("new")
		if again := l.get("subject.99999"); again != first {
			t.Error("a recently used key was forgotten")
		}
		if before := made; *l.get("subject.99992") != before+1 {
			t.Error("the least recently used key was kept")
		}
	})
	t.Run("resilience destinations", func(t *testing.T) {
		r := newResilience([]ResilienceOption{WithStateLimit(16), WithBreaker(BreakerPolicy{}), WithHedging(HedgePolicy{Percentile: 0.9})})
		for i := range 10_000 {
			r.states.get(fmt.Sprint("orders.", i, ".get"))
		}
		if n := r.states.len(); n != 16 {
			t.Errorf("%d destinations kept, want 16", n)
		}
	})
	t.Run("latencies", func(t *testing.T) {
		var l latencies
		if _, ok := l.percentile(0.9); ok {
			t.Error("a percentile without samples")
		}
		for range 100_000 {
			l.add(time.Second)
		}
		for range latencySamples {
			l.add(time.Millisecond) // only the latest samples count
		}
		if p, ok := l.percentile(0.99); !ok || p != time.Millisecond {
			t.Errorf("p99 %s, %t; want 1ms from the latest %d samples", p, ok, latencySamples)
		}
	})
}

func TestLatencyPercentile(t *testing.T) {
	var l latencies
	for i := range minLatencySamples - 1 {
		l.add(time.Duration(i+1) * time.Millisecond)
	}
	if _, ok := l.percentile(0.5); ok {
		t.Fatalf("a percentile from %d samples, fewer than %d", minLatencySamples-1, minLatencySamples)
	}
	l.add(20 * time.Millisecond) // 1ms to 20ms
	for p, want := range map[float64]time.Duration{0.5: 10 * time.Millisecond, 0.9: 18 * time.Millisecond, 0.99: 20 * time.Millisecond} {
		l.computed = 0 // compute again for each p
		if got, _ := l.percentile(p); got != want {
			t.Errorf("p%g = %s, want %s", 100*p, got, want)
		}
	}
}

// TestRetryWait: the waits grow from Backoff to MaxBackoff, each drawn
// between half and all of its step.
func TestRetryWait(t *testing.T) {
	p := RetryPolicy{Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}.withDefaults()
	steps := []time.Duration{10, 20, 40, 50, 50, 50}
	for i, step := range steps {
		step *= time.Millisecond
		for range 100 {
			if w := p.wait(i + 1); w < step/2 || w > step {
				t.Fatalf("retry %d waited %s, want within %s and %s", i+1, w, step/2, step)
			}
		}
	}
	if w := p.wait(1_000); w > p.MaxBackoff {
		t.Errorf("retry 1000 waited %s, more than MaxBackoff", w)
	}
}

func TestHedgeDelay(t *testing.T) {
	r := newResilience([]ResilienceOption{WithHedging(HedgePolicy{Delay: 2 * time.Millisecond, Percentile: 0.9})})
	d := r.newDestination()
	if got := r.hedgeDelay(d); got != 2*time.Millisecond {
		t.Errorf("delay before samples %s, want the fixed 2ms", got)
	}
	for range minLatencySamples {
		d.latency.add(30 * time.Millisecond)
	}
	if got := r.hedgeDelay(d); got != 30*time.Millisecond {
		t.Errorf("delay %s, want the p90 of 30ms", got)
	}
	fast := r.newDestination()
	for range minLatencySamples {
		fast.latency.add(time.Microsecond)
	}
	if got := r.hedgeDelay(fast); got != 2*time.Millisecond {
		t.Errorf("delay %s, want Delay as the floor", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("a percentile of 1 did not panic")
		}
	}()
	WithHedging(HedgePolicy{Percentile: 1})
}

// TestPolicyDefaults: the defaults that the documentation gives.
func TestPolicyDefaults(t *testing.T) {
	tests := []struct {
		name      string
		got, want any
	}{
		{"retry", RetryPolicy{}.withDefaults(), RetryPolicy{MaxAttempts: 3, Backoff: 20 * time.Millisecond, MaxBackoff: time.Second}},
		{"hedge", HedgePolicy{}.withDefaults(), HedgePolicy{Delay: 10 * time.Millisecond, MaxHedges: 1}},
		{"breaker", BreakerPolicy{}.withDefaults(), BreakerPolicy{Failures: 10, ErrorRate: 0.5, Window: 50, OpenFor: 2 * time.Second, Probes: 1}},
		{"budget", *NewBudget(DefaultBudgetRatio, DefaultBudgetBurst), *NewBudget(0.1, 10)},
	}
	for _, tt := range tests {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
	r := newResilience(nil)
	if r.hedge != nil || r.breaker != nil || r.stateLimit != DefaultStateLimit || r.retry.MaxAttempts != 3 {
		t.Errorf("Resilience() without options: %+v", r.resilienceConfig)
	}
}
