package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/natsmux/natsmux"
)

// DefaultStateLimit is how many destinations Resilience keeps state for
// (circuit breaker, latencies) unless WithStateLimit says otherwise.
const DefaultStateLimit = 1024

// Names of the metrics of Resilience. The counters carry the destination,
// as Metrics records it (at most DefaultMetricsDestinations by name).
const (
	// RetriesMetric counts retries sent.
	RetriesMetric = "natsmux.client.retries"
	// HedgesMetric counts hedges sent: second copies of a slow call.
	HedgesMetric = "natsmux.client.hedges"
	// AbandonedMetric counts the copies of hedged calls whose replies were
	// not awaited because another copy answered first: the losers.
	AbandonedMetric = "natsmux.client.hedges.abandoned"
	// BudgetDeniedMetric counts retries and hedges not sent because the
	// Budget was spent.
	BudgetDeniedMetric = "natsmux.client.budget.denied"
	// BreakerRejectedMetric counts calls failed at once by an open
	// circuit breaker.
	BreakerRejectedMetric = "natsmux.client.breaker.rejected"
	// BreakerOpenedMetric counts the times a circuit breaker opened.
	BreakerOpenedMetric = "natsmux.client.breaker.opened"
	// OpenBreakersMetric is the number of destinations whose breaker is
	// open or half-open, observed when metrics are collected.
	OpenBreakersMetric = "natsmux.client.breaker.open"
)

// ErrCircuitOpen is the cause of the error of a call that Resilience failed
// at once because its destination's circuit breaker is open: a 503
// *natsmux.Error that matches both ErrCircuitOpen and
// natsmux.ErrServiceUnavailable. Resilience never retries it.
var ErrCircuitOpen = errors.New("client: circuit open")

// RetryPolicy says how Resilience retries idempotent calls. Zero fields
// take the defaults.
type RetryPolicy struct {
	// MaxAttempts is how many times a call may be sent, the first time
	// included (default 3); 1 turns retries off.
	MaxAttempts int
	// Backoff is the wait before the first retry (default 20ms); it doubles
	// for each retry after it, up to MaxBackoff (default 1s). Each wait is
	// drawn at random between half and all of that (jitter), so that
	// callers that failed together do not come back together.
	Backoff, MaxBackoff time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	p.MaxAttempts = orDefault(p.MaxAttempts, 3)
	p.Backoff = orDefault(p.Backoff, 20*time.Millisecond)
	p.MaxBackoff = max(orDefault(p.MaxBackoff, time.Second), p.Backoff)
	return p
}

// wait returns the jittered wait before the given retry (1 for the first).
func (p RetryPolicy) wait(retry int) time.Duration {
	d := p.Backoff
	for range retry - 1 {
		if d >= p.MaxBackoff/2 {
			d = p.MaxBackoff
			break
		}
		d *= 2
	}
	return d/2 + rand.N(d/2+1)
}

// HedgePolicy says when Resilience sends a second copy of a slow
// idempotent call (hedging). Zero fields take the defaults.
type HedgePolicy struct {
	// Delay is how long a call waits for its reply before a copy is sent
	// (default 10ms). With Percentile, it is the least wait, and the wait
	// until 20 latencies of the destination are known.
	Delay time.Duration
	// Percentile, between 0 and 1 (such as 0.95), hedges after that
	// percentile of the latencies of the destination's latest 128
	// successful attempts, when it is longer than Delay; 0 keeps the delay
	// fixed.
	Percentile float64
	// MaxHedges is how many copies a call may send besides the first
	// (default 1), each after another Delay.
	MaxHedges int
}

func (p HedgePolicy) withDefaults() HedgePolicy {
	if p.Percentile < 0 || p.Percentile >= 1 {
		panic(fmt.Sprintf("client: HedgePolicy.Percentile %g: want a fraction from 0 up to, not including, 1", p.Percentile))
	}
	p.Delay = orDefault(p.Delay, 10*time.Millisecond)
	p.MaxHedges = orDefault(p.MaxHedges, 1)
	return p
}

type resilienceConfig struct {
	provider   metric.MeterProvider
	retry      RetryPolicy
	hedge      *HedgePolicy
	breaker    *BreakerPolicy
	budget     *Budget
	stateLimit int
}

type resilienceOption func(*resilienceConfig)

func (f resilienceOption) applyResilience(c *resilienceConfig) { f(c) }

// WithRetry sets how Resilience retries; RetryPolicy's defaults without it.
func WithRetry(p RetryPolicy) ResilienceOption {
	p = p.withDefaults()
	return resilienceOption(func(c *resilienceConfig) { c.retry = p })
}

// WithHedging turns hedging on, with p; it is off by default. It panics on
// a percentile out of range.
func WithHedging(p HedgePolicy) ResilienceOption {
	p = p.withDefaults()
	return resilienceOption(func(c *resilienceConfig) { c.hedge = &p })
}

// WithBreaker turns the per-destination circuit breaker on, with p; it is
// off by default.
func WithBreaker(p BreakerPolicy) ResilienceOption {
	p = p.withDefaults()
	return resilienceOption(func(c *resilienceConfig) { c.breaker = &p })
}

// WithBudget sets the budget of retries and hedges; by default each
// Resilience has its own NewBudget(DefaultBudgetRatio,
// DefaultBudgetBurst).
func WithBudget(b *Budget) ResilienceOption {
	if b == nil {
		panic("client: WithBudget: nil budget")
	}
	return resilienceOption(func(c *resilienceConfig) { c.budget = b })
}

// WithStateLimit sets how many destinations Resilience keeps state for
// (DefaultStateLimit): beyond it, the destination used least recently is
// forgotten, its breaker closed and its latencies lost. It panics if n is
// below 1.
func WithStateLimit(n int) ResilienceOption {
	if n < 1 {
		panic("client: WithStateLimit: the limit must be at least 1")
	}
	return resilienceOption(func(c *resilienceConfig) { c.stateLimit = n })
}

// Resilience returns middleware that makes calls survive what a NATS
// deployment does to them (a server or an instance that dies, a slow
// instance, a service that is down), opt-in and within bounds:
//
//   - retries: an idempotent call (Invocation.Idempotent) that fails with
//     503 (no responders, or a service that is shutting down) or 504 (a
//     timeout) is sent again after a jittered backoff (RetryPolicy), as
//     long as the caller's deadline leaves time for the wait. Put Timeout
//     inside Resilience, so that an attempt that gets no reply gives up
//     before the caller's deadline and leaves time for a retry;
//   - hedging (WithHedging): an idempotent call that has no reply after a
//     delay is sent again, and the first useful reply wins; the loser's
//     reply is not awaited, and counted (AbandonedMetric);
//   - a circuit breaker per destination (WithBreaker): after repeated
//     failures it fails calls at once with ErrCircuitOpen, then lets probes
//     through (BreakerPolicy);
//   - a Budget that bounds retries and hedges together, by default to 10%
//     of the calls; beyond it, failures reach the caller.
//
// Calls that are not idempotent are sent exactly once, as without
// Resilience: their failures reach the caller unchanged, and no request is
// ever sent twice. The breaker applies to them too.
//
// Its state (budget, breakers, latencies) belongs to the middleware value:
// clients built with the same value share it. The per-destination state is
// kept for at most WithStateLimit destinations. Its metrics are the
// counters and the gauge named by the *Metric constants.
func Resilience(opts ...ResilienceOption) Middleware {
	r := newResilience(opts)
	return func(next Invoker) Invoker {
		return InvokerFunc(func(ctx context.Context, inv *Invocation) (*nats.Msg, error) {
			return r.invoke(ctx, next, inv)
		})
	}
}

func newResilience(opts []ResilienceOption) *resilience {
	cfg := resilienceConfig{provider: otel.GetMeterProvider(), retry: RetryPolicy{}.withDefaults(), stateLimit: DefaultStateLimit}
	for _, opt := range opts {
		opt.applyResilience(&cfg)
	}
	if cfg.budget == nil {
		cfg.budget = NewBudget(DefaultBudgetRatio, DefaultBudgetBurst)
	}
	r := &resilience{resilienceConfig: cfg, sets: newDestinationSets(DefaultMetricsDestinations)}
	r.states = newLRU(cfg.stateLimit, r.newDestination)
	r.instruments()
	return r
}

type resilience struct {
	resilienceConfig
	states *lru[*destination]
	sets   *destinationSets

	retries, hedges, abandoned, denied, rejected, opened metric.Int64Counter
}

// destination is what Resilience keeps for one destination.
type destination struct {
	breaker *breaker   // nil without WithBreaker
	latency *latencies // nil unless hedging after a percentile
}

func (r *resilience) newDestination() *destination {
	d := &destination{}
	if r.breaker != nil {
		d.breaker = newBreaker(r.breaker)
	}
	if r.hedge != nil && r.hedge.Percentile > 0 {
		d.latency = &latencies{}
	}
	return d
}

func (r *resilience) instruments() {
	meter := r.provider.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL))
	counter := func(name, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithUnit("{request}"), metric.WithDescription(desc))
		otelHandle(err)
		return c
	}
	r.retries = counter(RetriesMetric, "Retries sent.")
	r.hedges = counter(HedgesMetric, "Hedged copies of slow calls sent.")
	r.abandoned = counter(AbandonedMetric, "Copies of hedged calls whose replies were not awaited.")
	r.denied = counter(BudgetDeniedMetric, "Retries and hedges not sent for lack of budget.")
	r.rejected = counter(BreakerRejectedMetric, "Calls failed at once by an open circuit breaker.")
	r.opened = counter(BreakerOpenedMetric, "Times a circuit breaker opened.")
	_, err := meter.Int64ObservableUpDownCounter(OpenBreakersMetric, metric.WithUnit("{destination}"),
		metric.WithDescription("Destinations whose circuit breaker is open or half-open."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			var n int64
			r.states.each(func(d *destination) {
				if d.breaker != nil && d.breaker.isOpen() {
					n++
				}
			})
			o.Observe(n)
			return nil
		}))
	otelHandle(err)
}

func (r *resilience) invoke(ctx context.Context, next Invoker, inv *Invocation) (*nats.Msg, error) {
	r.budget.deposit()
	d := r.states.get(inv.Destination())
	m := r.sets.get(inv)
	if d.breaker == nil {
		return r.attempts(ctx, next, inv, d, m)
	}
	ok, probe := d.breaker.allow(time.Now())
	if !ok {
		r.rejected.Add(ctx, 1, m.add...)
		return nil, natsmux.Wrap(ErrCircuitOpen, 503, fmt.Sprintf("circuit open for %q: its calls keep failing", inv.Destination()))
	}
	reply, err := r.attempts(ctx, next, inv, d, m)
	if d.breaker.record(outcomeOf(err), probe, time.Now()) {
		r.opened.Add(ctx, 1, m.add...)
	}
	return reply, err
}

// attempts sends an idempotent call until it gets a reply that is not
// worth retrying, the attempts or the budget are spent, or the deadline
// leaves no time for the backoff; any other call once.
func (r *resilience) attempts(ctx context.Context, next Invoker, inv *Invocation, d *destination, m *codeSets) (*nats.Msg, error) {
	if !inv.Idempotent {
		return next.Invoke(ctx, inv)
	}
	for attempt := 1; ; attempt++ {
		reply, err := r.round(ctx, next, inv, d, m)
		if err == nil || attempt >= r.retry.MaxAttempts || !retryable(err) || ctx.Err() != nil {
			return reply, err
		}
		wait := r.retry.wait(attempt)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return reply, err
		}
		if !r.budget.withdraw() {
			r.denied.Add(ctx, 1, m.add...)
			return reply, err
		}
		r.retries.Add(ctx, 1, m.add...)
		if !sleep(ctx, wait) {
			return reply, err
		}
	}
}

// round sends a call, and with hedging copies of it while no reply has
// come, and returns the first reply that is not worth retrying, or the
// last failure when every copy failed. The first copy is sent on the
// caller's goroutine and a timer launches the hedges, so that a call that
// is answered before the delay costs no goroutine.
func (r *resilience) round(ctx context.Context, next Invoker, inv *Invocation, d *destination, m *codeSets) (*nats.Msg, error) {
	if r.hedge == nil {
		return r.send(ctx, next, inv, d)
	}
	h := &hedging{r: r, next: next, d: d, m: m, original: inv.Clone(), delay: r.hedgeDelay(d),
		results: make(chan attemptResult, r.hedge.MaxHedges)}
	h.ctx, h.cancel = context.WithCancel(ctx)
	defer h.cancel() // abandons the losers
	h.mu.Lock()
	h.timer = time.AfterFunc(h.delay, h.fire)
	h.mu.Unlock()

	reply, err := r.send(h.ctx, next, inv, d)
	launched := h.close()
	hedgeWon := errors.Is(err, context.Canceled) && ctx.Err() == nil
	if launched == 0 || !hedgeWon && (err == nil || !retryable(err)) {
		if launched > 0 {
			r.abandoned.Add(ctx, int64(launched), m.add...)
		}
		return reply, err
	}
	// The first copy failed, or stopped because a hedge won: the hedges'
	// results decide.
	for i := range launched {
		res := <-h.results
		if res.err == nil || !retryable(res.err) {
			abandoned := launched - i - 1
			if hedgeWon {
				abandoned++ // the first copy
			}
			if abandoned > 0 {
				r.abandoned.Add(ctx, int64(abandoned), m.add...)
			}
			return res.reply, res.err
		}
		reply, err = res.reply, res.err
	}
	return reply, err
}

// hedging is the state of one round with hedges.
type hedging struct {
	r        *resilience
	next     Invoker
	d        *destination
	m        *codeSets
	original *Invocation // never sent: each hedge sends a clone
	delay    time.Duration
	ctx      context.Context
	cancel   context.CancelFunc
	results  chan attemptResult // one per hedge launched

	mu       sync.Mutex
	timer    *time.Timer
	closed   bool // the round has its answer or gave up: no more hedges
	launched int
}

// fire launches a hedge, if the round still waits and the budget allows,
// and sets the timer for the next one.
func (h *hedging) fire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.launched >= h.r.hedge.MaxHedges {
		return
	}
	if !h.r.budget.withdraw() {
		h.r.denied.Add(h.ctx, 1, h.m.add...)
		return
	}
	h.launched++
	h.r.hedges.Add(h.ctx, 1, h.m.add...)
	hedge := h.original.Clone()
	go func() {
		reply, err := h.r.send(h.ctx, h.next, hedge, h.d)
		h.results <- attemptResult{reply, err}
		if err == nil || !retryable(err) {
			h.cancel() // the first copy stops waiting
		}
	}()
	if h.launched < h.r.hedge.MaxHedges {
		h.timer.Reset(h.delay)
	}
}

// close stops further hedges and returns how many were launched.
func (h *hedging) close() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.timer.Stop()
	h.closed = true
	return h.launched
}

type attemptResult struct {
	reply *nats.Msg
	err   error
}

// send sends one copy of a call and records its round trip for the
// destination's latency percentile when the service answered.
func (r *resilience) send(ctx context.Context, next Invoker, inv *Invocation, d *destination) (*nats.Msg, error) {
	start := time.Now()
	reply, err := next.Invoke(ctx, inv)
	if d.latency != nil && (err == nil || natsmux.CodeOf(err) < 500) {
		d.latency.add(time.Since(start))
	}
	return reply, err
}

func (r *resilience) hedgeDelay(d *destination) time.Duration {
	if d.latency != nil {
		if p, ok := d.latency.percentile(r.hedge.Percentile); ok {
			return max(p, r.hedge.Delay)
		}
	}
	return r.hedge.Delay
}

// retryable reports whether a failure may go away on another try: no
// responders or a service that is stopping (503), or no reply in time
// (504); never an open breaker or a cancelled call.
func retryable(err error) bool {
	if errors.Is(err, ErrCircuitOpen) || errors.Is(err, context.Canceled) {
		return false
	}
	code := natsmux.CodeOf(err)
	return code == 503 || code == 504
}

// outcomeOf judges a call for the breaker.
func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return outcomeSuccess
	case errors.Is(err, context.Canceled):
		return outcomeNeutral
	case natsmux.CodeOf(err) >= 500:
		return outcomeFailure
	default:
		return outcomeSuccess
	}
}

// sleep waits for d, or until ctx is done, and reports whether it waited
// for d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
