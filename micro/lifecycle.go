package micro

// How a service stops: Stop and Shutdown drain, the connection's close stops
// it too, and errors reach ErrorHandler on their own goroutine.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
)

func (s *service) Stopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

func (s *service) Done() <-chan struct{} {
	return s.done
}

func (s *service) Stop() error {
	return s.stop()
}

func (s *service) Shutdown(ctx context.Context) error {
	err := s.stop()
	select {
	case <-s.drained:
		return err
	case <-ctx.Done():
		s.cancelHandlers()
		return errors.Join(err, fmt.Errorf("shutting down service %s: %w", s.cfg.Name, ctx.Err()))
	}
}

// stop drains every subscription and, once every handler has returned,
// closes drained, runs DoneHandler and closes done. Only the first call does
// anything.
//
// Draining needs the server: it unsubscribes there and waits for a round
// trip, so that no message is lost in between. Without a connection (the
// server is gone and the client reconnects, or the connection is closed)
// there is nothing to drain: the subscriptions end at once, the requests
// they had received but not started are dropped, and the contexts of the
// handlers running are cancelled, since their replies could not be sent.
// Waiting for the server instead would hold a shutdown until its timeout.
func (s *service) stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	// Endpoints first, discovery last, as nats.go's micro does: the server
	// takes a connection's unsubscriptions in order, so a client that finds
	// discovery gone finds the endpoints gone too.
	subs := make([]*nats.Subscription, 0, len(s.endpoints)+len(s.verbSubs))
	for _, e := range s.endpoints {
		subs = append(subs, e.sub)
	}
	subs = append(subs, s.verbSubs...)
	s.endpoints, s.verbSubs = nil, nil
	s.mu.Unlock()

	connected := s.nc.IsConnected()
	var errs []error
	dropped := 0
	for _, sub := range subs {
		var err error
		if connected {
			err = sub.Drain()
		} else {
			if n, _, perr := sub.Pending(); perr == nil {
				dropped += n
			}
			err = sub.Unsubscribe()
		}
		if err != nil && !errors.Is(err, nats.ErrConnectionClosed) &&
			!errors.Is(err, nats.ErrConnectionDraining) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, fmt.Errorf("draining subscription %q: %w", sub.Subject, err))
		}
	}
	if !connected {
		// No reply can reach a caller now: handlers need not finish.
		s.cancelHandlers()
	}
	switch {
	case !connected && !s.nc.IsClosed():
		s.report(fmt.Sprintf("stopping while disconnected from NATS: nothing to drain; %d received requests dropped, running handlers cancelled", dropped))
	case dropped > 0:
		s.report(fmt.Sprintf("the connection to NATS closed: %d received requests dropped", dropped))
	}
	unregister(s)
	go s.finish()
	return errors.Join(errs...)
}

func (s *service) finish() {
	s.running.Wait()
	s.watchdog.close()
	close(s.drained)
	s.cancelHandlers()
	var done func()
	if h := s.cfg.DoneHandler; h != nil {
		done = func() { h(s) }
	}
	s.callbacks.close(done)
}

// handleAsyncErr counts an asynchronous error of one of the service's
// subscriptions and reports it. It runs on the connection's callback
// goroutine and calls ErrorHandler there, before the connection's own error
// handler runs, as nats.go's micro does.
func (s *service) handleAsyncErr(sub *nats.Subscription, err error) {
	if sub == nil {
		return
	}
	s.mu.Lock()
	owned := false
	for _, e := range s.endpoints {
		if e.sub == sub {
			e.stats.recordError(err.Error())
			owned = true
		}
	}
	for _, v := range s.verbSubs {
		owned = owned || v == sub
	}
	s.mu.Unlock()
	if h := s.cfg.ErrorHandler; owned && h != nil {
		h(s, &NATSError{Subject: sub.Subject, Description: err.Error(), err: err})
	}
}

func (s *service) reportError(err *NATSError) {
	if h := s.cfg.ErrorHandler; h != nil {
		s.callbacks.push(func() { h(s, err) })
	}
}

// report says something worth knowing about the service's life: to
// ErrorHandler, or without one to the default slog logger.
func (s *service) report(what string) {
	if s.cfg.ErrorHandler == nil {
		slog.Warn("micro: "+what, "service", s.cfg.Name, "id", s.id)
		return
	}
	s.reportError(&NATSError{Subject: s.cfg.Name, Description: what})
}

// reportPanic hands a recovered panic to ErrorHandler or, without one, to
// the default slog logger, as net/http logs a panicking handler.
func (s *service) reportPanic(subject string, perr *PanicError) {
	if s.cfg.ErrorHandler == nil {
		slog.Error("micro: recovered from a panic", "service", s.cfg.Name, "subject", subject,
			"panic", perr.Value, "stack", string(perr.Stack))
		return
	}
	s.reportError(&NATSError{Subject: subject, Description: perr.Error(), err: perr})
}
