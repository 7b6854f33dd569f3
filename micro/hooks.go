package micro

import (
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
		_ = s.stop()
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
// a request or NATS's own callback goroutine. It is unbounded: a burst of
// errors is queued, not dropped.
type callbackQueue struct {
	mu     sync.Mutex
	queue  []func()
	closed bool
	wake   chan struct{}
}

// start runs the queue until close; done is closed after the last callback.
func (q *callbackQueue) start(done chan struct{}) {
	q.wake = make(chan struct{}, 1)
	go q.run(done)
}

func (q *callbackQueue) run(done chan struct{}) {
	defer close(done)
	for range q.wake {
		for {
			q.mu.Lock()
			if len(q.queue) == 0 {
				closed := q.closed
				q.mu.Unlock()
				if closed {
					return
				}
				break
			}
			f := q.queue[0]
			q.queue = q.queue[1:]
			q.mu.Unlock()
			f()
		}
	}
}

func (q *callbackQueue) push(f func()) {
	q.mu.Lock()
	if !q.closed {
		q.queue = append(q.queue, f)
	}
	q.mu.Unlock()
	q.signal()
}

// close lets the queue run what it holds and then stop.
func (q *callbackQueue) close() {
	q.mu.Lock()
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
