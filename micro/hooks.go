package micro

import (
	"log/slog"
	"slices"
	"sync"

	"github.com/nats-io/nats.go"
)

// A service stops when its connection closes and learns of asynchronous
// errors on its subscriptions through the connection's handlers. The first
// service on a connection installs handlers that fan out to every service on
// it and then call the handlers the connection had before; the last service
// to stop puts those back.

type connServices struct {
	services   []*service
	prevClosed nats.ConnHandler
	prevErr    nats.ErrHandler
}

var registry = struct {
	sync.Mutex
	conns map[*nats.Conn]*connServices
}{conns: map[*nats.Conn]*connServices{}}

func register(s *service) {
	registry.Lock()
	defer registry.Unlock()
	cs, ok := registry.conns[s.nc]
	if !ok {
		cs = &connServices{prevClosed: s.nc.ClosedHandler(), prevErr: s.nc.ErrorHandler()}
		registry.conns[s.nc] = cs
		s.nc.SetClosedHandler(cs.closed)
		s.nc.SetErrorHandler(cs.asyncErr)
	}
	cs.services = append(cs.services, s)
}

func unregister(s *service) {
	registry.Lock()
	defer registry.Unlock()
	cs, ok := registry.conns[s.nc]
	if !ok {
		return
	}
	cs.services = slices.DeleteFunc(cs.services, func(other *service) bool { return other == s })
	if len(cs.services) > 0 {
		return
	}
	delete(registry.conns, s.nc)
	if !s.nc.IsClosed() {
		s.nc.SetClosedHandler(cs.prevClosed)
		s.nc.SetErrorHandler(cs.prevErr)
	}
}

func (cs *connServices) closed(nc *nats.Conn) {
	registry.Lock()
	services := slices.Clone(cs.services)
	registry.Unlock()
	for _, s := range services {
		_ = s.stop() // without a connection: see stop
	}
	if cs.prevClosed != nil {
		cs.prevClosed(nc)
	}
}

func (cs *connServices) asyncErr(nc *nats.Conn, sub *nats.Subscription, err error) {
	registry.Lock()
	services := slices.Clone(cs.services)
	registry.Unlock()
	for _, s := range services {
		s.handleAsyncErr(sub, err)
	}
	if cs.prevErr != nil {
		cs.prevErr(nc, sub, err)
	}
}

// callbackQueue runs a service's DoneHandler and ErrorHandler calls one at a
// time on their own goroutine, in order, so that user callbacks never block
// a request or NATS's own callback goroutine. It holds at most
// maxQueuedCallbacks: when an ErrorHandler falls behind a storm of errors,
// the errors beyond that are dropped, counted and logged, rather than
// queued without bound. DoneHandler is never dropped.
type callbackQueue struct {
	name    string // the service's, for the log
	mu      sync.Mutex
	queue   []func()
	closed  bool
	dropped int
	wake    chan struct{}
}

// maxQueuedCallbacks bounds the callbacks waiting to run, as nats.go bounds
// its own callback queue.
const maxQueuedCallbacks = 100

// start runs the queue until close; done is closed after the last callback.
func (q *callbackQueue) start(name string, done chan struct{}) {
	q.name = name
	q.wake = make(chan struct{}, 1)
	go q.run(done)
}

func (q *callbackQueue) run(done chan struct{}) {
	defer close(done)
	for range q.wake {
		for {
			q.mu.Lock()
			if len(q.queue) == 0 {
				closed, dropped := q.closed, q.dropped
				q.mu.Unlock()
				if !closed {
					break
				}
				if dropped > 0 {
					slog.Warn("micro: ErrorHandler fell behind; errors were dropped", "service", q.name, "dropped", dropped)
				}
				return
			}
			f := q.queue[0]
			q.queue[0] = nil
			q.queue = q.queue[1:]
			q.mu.Unlock()
			f()
		}
	}
}

// push queues f, unless the queue is full or closed.
func (q *callbackQueue) push(f func()) {
	q.mu.Lock()
	full := len(q.queue) >= maxQueuedCallbacks
	switch {
	case q.closed:
	case full:
		q.dropped++
		if q.dropped == 1 {
			slog.Warn("micro: ErrorHandler falls behind; dropping errors until it catches up", "service", q.name, "queued", maxQueuedCallbacks)
		}
	default:
		q.queue = append(q.queue, f)
	}
	q.mu.Unlock()
	q.signal()
}

// close queues last, which is never dropped, and lets the queue run what it
// holds and then stop.
func (q *callbackQueue) close(last func()) {
	q.mu.Lock()
	if last != nil {
		q.queue = append(q.queue, last)
	}
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *callbackQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
