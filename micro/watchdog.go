package micro

import (
	"sync"
	"sync/atomic"
	"time"
)

// watchdog finds leaders whose inline call has run for handoffAfter and
// makes new ones (see dispatcher). One goroutine per service ticks while
// leaders are busy and sleeps once they have been idle for a while, so that
// the per-message cost is one atomic store and one atomic load, not a timer
// armed and stopped for every call (which measured 2 to 3% of echo
// throughput, through contention on the runtime's timer heaps).
type watchdog struct {
	mu          sync.Mutex
	dispatchers []*dispatcher

	asleep atomic.Bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
}

const (
	// watchdogTick is how often the watchdog looks: a call blocked for
	// handoffAfter is handed off within about a millisecond, the resolution
	// of Go's timers on an idle machine anyway.
	watchdogTick = time.Millisecond
	// idleTicks is how many ticks without a busy leader the watchdog waits
	// before it sleeps.
	idleTicks = 64
)

func newWatchdog() *watchdog {
	w := &watchdog{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *watchdog) watch(d *dispatcher) {
	w.mu.Lock()
	w.dispatchers = append(w.dispatchers, d)
	w.mu.Unlock()
}

// alert wakes the watchdog if it sleeps; a leader calls it after marking
// itself busy, so that either the leader sees the watchdog asleep or the
// watchdog, before it sleeps, sees the leader busy.
func (w *watchdog) alert() {
	if w.asleep.Load() && w.asleep.CompareAndSwap(true, false) {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *watchdog) run() {
	defer close(w.done)
	tick := time.NewTicker(watchdogTick)
	defer tick.Stop()
	for idle := 0; ; {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		if w.check() {
			idle = 0
			continue
		}
		if idle++; idle < idleTicks {
			continue
		}
		w.asleep.Store(true)
		if w.check() { // a leader got busy while we were deciding
			w.asleep.Store(false)
			idle = 0
			continue
		}
		select {
		case <-w.stop:
			return
		case <-w.wake:
			idle = 0
		}
	}
}

// check promotes over leaders stuck for handoffAfter and reports whether
// any leader is busy.
func (w *watchdog) check() bool {
	cutoff := int64(time.Since(epoch) - handoffAfter)
	w.mu.Lock()
	defer w.mu.Unlock()
	busy := false
	for _, d := range w.dispatchers {
		busy = d.promote(cutoff) || busy
	}
	return busy
}

// close stops the watchdog and waits for its goroutine to end.
func (w *watchdog) close() {
	close(w.stop)
	<-w.done
}
