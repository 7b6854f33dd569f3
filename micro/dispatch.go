package micro

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// How an endpoint runs its handlers, and why (docs/micro.md has the numbers).
//
// Handing every message to another goroutine costs about a quarter of a raw
// responder's throughput on a small machine, so an endpoint's handlers run
// on the goroutines that receive its messages: a receiver takes the next
// message and serves it itself. How many receivers there are is the whole
// design:
//
//   - Inline mode: one receiver, the leader, while calls are fast. A call
//     still running after handoffAfter holds up the messages behind it, so
//     the service's watchdog, which looks every watchdogTick while leaders
//     are busy, starts another receiver, as the Go scheduler hands off a P
//     when a goroutine blocks in a system call; the old leader leaves once
//     its call returns, and receivers left from spread mode leave at
//     surplus's pace.
//   - Spread mode: as many receivers as calls in flight, plus at least one
//     waiting for the next message. A receiver that takes a message when no
//     other waits starts one before it serves the message, so a slow call
//     never holds up the next; receivers in surplus leave slowly (see
//     surplus). Receivers live on from message to message, so a message
//     costs the wake-up of a parked goroutine, not a new goroutine and its
//     stack growth.
//
// Each stalled inline call costs about stallCost of the endpoint's time. The
// dispatcher adds up the stall that the calls of the last few windows cost,
// or would have cost inline, as a share of wall time: above spreadAbove it
// spreads, below inlineBelow it goes back inline. A rare slow call (one in a
// thousand) costs a few percent and stays inline; one in a hundred, or a
// heavy tail, spreads. Handlers that compute for a while (a smoothed time of
// the calls that do not block above slowEnter) spread too, so that several
// run in parallel on several cores.
//
// An endpoint never has more than maxConcurrency receivers, so at most that
// many handlers run; at the limit no one receives, and messages wait in the
// subscription's pending buffer, where its pending limits apply.
const (
	handoffAfter = 100 * time.Microsecond
	stallCost    = handoffAfter + watchdogTick/2
	slowEnter    = 40 * time.Microsecond
	slowExit     = 20 * time.Microsecond

	// idleReceivers is how many receivers may wait for a message in spread
	// mode even when few are busy; beyond that, and beyond as many as are
	// busy, one receiver leaves every shrinkEvery.
	idleReceivers = 4
	shrinkEvery   = 10 * time.Millisecond

	// stallWindow is how often the stall share is folded into its average.
	stallWindow = 10 * time.Millisecond
	// spreadAbove and inlineBelow bound the smoothed stall share, in
	// 1/1024ths of wall time: spread above 15%, back inline below 5%.
	// Spreading costs about a quarter of the throughput of fast calls; a
	// stall share costs its own size, and that share of fast requests wait
	// up to stallCost.
	spreadAbove = 154
	inlineBelow = 51
)

// epoch anchors the monotonic timestamps kept in atomics.
var epoch = time.Now()

type dispatcher struct {
	svc *service
	ep  *Endpoint
	sub *nats.Subscription
	max int32 // receivers at most: the endpoint's concurrency limit

	receivers atomic.Int32 // goroutines that receive and serve
	waiting   atomic.Int32 // receivers waiting for a message
	lastLeft  atomic.Int64 // when a receiver last left as surplus (ns since epoch)
	spread    atomic.Bool  // keep a receiver waiting at all times

	avgNanos    atomic.Int64 // smoothed time of the calls that do not block
	stallNanos  atomic.Int64 // stall cost of the calls of the current window
	windowEnd   atomic.Int64 // when the current window ends (ns since epoch)
	stallShare  atomic.Int64 // smoothed stall share of wall time, in 1/1024ths
	promotions  atomic.Int64 // receivers started by the watchdog, for tests
	modeChanges atomic.Int64 // switches between inline and spread, for tests

	// inlineSince is when the leader's current inline call started (ns since
	// epoch), 0 when it runs none. The watchdog swaps it to 0 when it starts
	// another receiver; the leader swaps it to 0 to stay leader. One of them
	// wins.
	inlineSince atomic.Int64
}

func newDispatcher(svc *service, ep *Endpoint, sub *nats.Subscription, maxConcurrency int) *dispatcher {
	return &dispatcher{svc: svc, ep: ep, sub: sub, max: int32(min(maxConcurrency, math.MaxInt32))}
}

// reserve counts one more receiver, unless the endpoint has its maximum.
func (d *dispatcher) reserve() bool {
	for {
		n := d.receivers.Load()
		if n >= d.max {
			return false
		}
		if d.receivers.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// launch starts a receiver that reserve counted.
func (d *dispatcher) launch() {
	d.svc.running.Add(1)
	go d.receive()
}

// receive takes messages and serves them until the subscription is closed
// or the receiver is no longer needed.
func (d *dispatcher) receive() {
	defer d.svc.running.Done()
	defer d.receivers.Add(-1)
	for {
		d.waiting.Add(1)
		msg, err := d.sub.NextMsgWithContext(context.Background())
		d.waiting.Add(-1)
		if err != nil {
			if errors.Is(err, nats.ErrSlowConsumer) || errors.Is(err, nats.ErrNoResponders) {
				// Reported through the connection's error handler, or a
				// status message; the subscription carries on.
				continue
			}
			return
		}
		if !d.handle(msg) {
			return
		}
	}
}

// handle serves msg and reports whether the receiver should go on.
func (d *dispatcher) handle(msg *nats.Msg) bool {
	start := time.Now()
	if d.spread.Load() {
		if d.waiting.Load() == 0 && d.reserve() {
			d.launch() // someone to take the next message while this one is served
		}
		d.serve(msg, start)
		return !d.surplus(true)
	}
	since := int64(start.Sub(epoch))
	d.inlineSince.Store(since)
	d.svc.watchdog.alert()
	d.serve(msg, start)
	// Another receiver took over during the call, or stored a call of its
	// own since: this one leaves. Receivers left from spread mode leave at
	// surplus's pace, so that the endpoint gets back to one.
	return d.inlineSince.CompareAndSwap(since, 0) && !d.surplus(false)
}

// surplus reports whether a receiver whose call returned should leave: more
// receivers wait than the mode needs (spread: idleReceivers, and as many as
// are busy; inline: none, since the leader takes the next message itself),
// and none has left for shrinkEvery. Arrivals are bursty, so the number
// waiting swings; shrinking at most at that pace, while growing at once,
// keeps a receiver that the next burst needs from leaving, and stops the
// endpoint from paying for a new goroutine, and its stack growth, per
// message.
func (d *dispatcher) surplus(spread bool) bool {
	waiting := d.waiting.Load()
	if waiting == 0 || spread && (waiting < idleReceivers || waiting <= d.receivers.Load()-waiting) {
		return false
	}
	now := int64(time.Since(epoch))
	last := d.lastLeft.Load()
	return now-last >= int64(shrinkEvery) && d.lastLeft.CompareAndSwap(last, now)
}

// promote starts another receiver if the leader's inline call started at or
// before cutoff and the endpoint may have one more, and reports whether the
// leader runs a call at all.
func (d *dispatcher) promote(cutoff int64) (busy bool) {
	since := d.inlineSince.Load()
	if since == 0 {
		return false
	}
	if since > cutoff || !d.reserve() {
		return true
	}
	if !d.inlineSince.CompareAndSwap(since, 0) {
		d.receivers.Add(-1) // the call returned meanwhile
		return true
	}
	d.promotions.Add(1)
	d.launch()
	return true
}

// serve runs the handler for one message and records the outcome.
func (d *dispatcher) serve(msg *nats.Msg, start time.Time) {
	d.ep.stats.begin()
	if d.svc.replyAllowed != nil && !d.svc.replyAllowed(msg.Reply) {
		refused := refusedReply(msg)
		d.ep.stats.record(time.Since(start), &refused.Description)
		d.svc.reportError(refused)
		return
	}
	req := newRequest(msg, d.svc.nc, d.svc.handlerCtx, start)
	perr := d.call(req)
	elapsed := time.Since(start)
	if perr != nil {
		d.recovered(req, perr)
	}
	req.release()
	d.ep.stats.record(elapsed, req.failure.Load())
	d.observe(start, elapsed)
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

// observe folds a call into the statistics that choose the mode. It is
// called by the leader and by concurrent workers: updates that overwrite
// each other lose a sample, which an average over many does not miss.
func (d *dispatcher) observe(start time.Time, elapsed time.Duration) {
	// Calls that block count towards the stall share; the others towards
	// the smoothed handler time (weight 1/8), which a burst of slow calls
	// therefore cannot move.
	avg := d.avgNanos.Load()
	if elapsed > handoffAfter {
		d.stallNanos.Add(int64(min(elapsed, stallCost)))
	} else {
		avg += (int64(elapsed) - avg) / 8
		d.avgNanos.Store(avg)
	}
	now := int64(start.Sub(epoch) + elapsed)
	end := d.windowEnd.Load()
	if now < end || !d.windowEnd.CompareAndSwap(end, now+int64(stallWindow)) {
		d.choose(avg, d.stallShare.Load())
		return
	}
	// A new window: fold the last one's stall share into the average
	// (weight 1/2, so that a change of mix shows within a few windows).
	span := max(now-(end-int64(stallWindow)), int64(stallWindow))
	share := min(d.stallNanos.Swap(0)*1024/span, 1024)
	smoothed := d.stallShare.Load()
	smoothed += (share - smoothed) / 2
	d.stallShare.Store(smoothed)
	d.choose(avg, smoothed)
}

// choose switches between inline and spread with hysteresis.
func (d *dispatcher) choose(avg, stallShare int64) {
	spread := d.spread.Load()
	switch {
	case !spread && (avg > int64(slowEnter) || stallShare > spreadAbove):
		d.spread.Store(true)
		d.modeChanges.Add(1)
	case spread && avg < int64(slowExit) && stallShare < inlineBelow:
		d.spread.Store(false)
		d.modeChanges.Add(1)
	}
}
