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
func (s *service) stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	subs := s.verbSubs
	for _, e := range s.endpoints {
		subs = append(subs, e.sub)
	}
	s.endpoints, s.verbSubs = nil, nil
	s.mu.Unlock()

	var errs []error
	for _, sub := range subs {
		if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) &&
			!errors.Is(err, nats.ErrConnectionDraining) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, fmt.Errorf("draining subscription %q: %w", sub.Subject, err))
		}
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
	if h := s.cfg.DoneHandler; h != nil {
		s.callbacks.push(func() { h(s) })
	}
	s.callbacks.close()
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
