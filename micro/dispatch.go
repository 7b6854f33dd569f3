package micro

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// How an endpoint runs its handlers, and why (docs/micro.md has the numbers).
//
// Handing every message to another goroutine costs about a quarter of a raw
// responder's throughput on a small machine, so the dispatcher keeps the fast
// path inline: one goroutine, the leader, receives a message and runs the
// handler itself. Concurrency comes from two escapes:
//
//   - When handlers are slow on average (a smoothed handler time above
//     slowEnter), the cost of a goroutine is noise next to the handler, so the
//     leader hands each message to a new goroutine and goes back to receiving.
//   - When a single call runs longer than handoffAfter while handlers are fast
//     on average, the service's watchdog makes a new leader, as the Go
//     scheduler hands off a P when a goroutine blocks in a system call. The
//     old leader finishes its call and exits.
//
// A slot is taken before a message is received, so at most maxConcurrency
// handlers run and, at the limit, messages wait in the subscription's pending
// buffer, where its pending limits apply.
const (
	slowEnter    = 40 * time.Microsecond
	slowExit     = 20 * time.Microsecond
	handoffAfter = 100 * time.Microsecond
)

// epoch anchors the monotonic timestamps kept in atomics.
var epoch = time.Now()

type dispatcher struct {
	svc *service
	ep  *Endpoint
	sub *nats.Subscription

	slots      chan struct{} // one token per running handler or waiting leader
	concurrent bool          // maxConcurrency > 1

	avgNanos atomic.Int64 // smoothed handler time
	slow     atomic.Bool  // hand every message to its own goroutine

	// inlineSince is when the leader's current inline call started (ns since
	// epoch), 0 when it runs none. The watchdog swaps it to 0 to depose the
	// leader; the leader swaps it to 0 to stay leader. One of them wins.
	inlineSince atomic.Int64
}

func newDispatcher(svc *service, ep *Endpoint, sub *nats.Subscription, maxConcurrency int) *dispatcher {
	return &dispatcher{
		svc:        svc,
		ep:         ep,
		sub:        sub,
		slots:      make(chan struct{}, maxConcurrency),
		concurrent: maxConcurrency > 1,
	}
}

func (d *dispatcher) start() {
	d.svc.running.Add(1)
	go d.lead()
}

// lead receives and serves messages until the subscription is closed or the
// leader is deposed.
func (d *dispatcher) lead() {
	defer d.svc.running.Done()
	for {
		d.slots <- struct{}{}
		msg, err := d.sub.NextMsgWithContext(context.Background())
		if err != nil {
			<-d.slots
			if errors.Is(err, nats.ErrSlowConsumer) || errors.Is(err, nats.ErrNoResponders) {
				// Reported through the connection's error handler, or a
				// status message; the subscription carries on.
				continue
			}
			return
		}
		if d.concurrent && d.slow.Load() {
			d.svc.running.Add(1)
			go d.work(msg)
			continue
		}
		start := time.Now()
		since := int64(start.Sub(epoch))
		d.inlineSince.Store(since)
		d.svc.watchdog.alert()
		d.serve(msg, start)
		<-d.slots
		if !d.inlineSince.CompareAndSwap(since, 0) {
			return // deposed: a new leader took over during the call
		}
	}
}

// promote makes a new leader if the leader's inline call started at or
// before cutoff, and reports whether the leader runs a call at all.
func (d *dispatcher) promote(cutoff int64) (busy bool) {
	since := d.inlineSince.Load()
	if since == 0 {
		return false
	}
	if since <= cutoff && d.inlineSince.CompareAndSwap(since, 0) {
		d.start()
	}
	return true
}

func (d *dispatcher) work(msg *nats.Msg) {
	defer d.svc.running.Done()
	d.serve(msg, time.Now())
	<-d.slots
}

// serve runs the handler for one message and records the outcome.
func (d *dispatcher) serve(msg *nats.Msg, start time.Time) {
	d.ep.stats.begin()
	req := newRequest(msg, d.svc.nc, d.svc.handlerCtx, start)
	perr := d.call(req)
	elapsed := time.Since(start)
	if perr != nil {
		d.recovered(req, perr)
	}
	req.release()
	d.ep.stats.record(elapsed, req.failure.Load())
	d.observe(elapsed)
}

func (d *dispatcher) call(req *request) (perr *PanicError) {
	defer func() {
		if v := recover(); v != nil {
			perr = newPanicError(v)
		}
	}()
	d.ep.Handler.Handle(req)
	return nil
}

// recovered answers a request whose handler panicked with a 500 error, unless
// it was answered before the panic, counts the error and reports the panic.
func (d *dispatcher) recovered(req *request, perr *PanicError) {
	const code, description = "500", "internal error"
	if req.replied.Load() || req.Error(code, description, nil) != nil {
		req.fail(code + ":" + description)
	}
	d.svc.reportPanic(d.ep.Subject, perr)
}

// observe folds a handler time into the moving average (weight 1/8) and
// switches between inline and per-message goroutines with some hysteresis.
// A sample counts for at most sampleCap, so that one call that was descheduled
// on a busy machine cannot flip a fast endpoint: it takes three slow calls in
// a row. Updates from concurrent workers may overwrite each other; an average
// that is off by one sample does not matter here.
func (d *dispatcher) observe(elapsed time.Duration) {
	const sampleCap = 3 * slowEnter
	avg := d.avgNanos.Load()
	avg += (int64(min(elapsed, sampleCap)) - avg) / 8
	d.avgNanos.Store(avg)
	switch slow := d.slow.Load(); {
	case !slow && avg > int64(slowEnter):
		d.slow.Store(true)
	case slow && avg < int64(slowExit):
		d.slow.Store(false)
	}
}
