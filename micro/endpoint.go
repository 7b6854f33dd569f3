package micro

import (
	"maps"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Endpoint is one registered endpoint: its configuration, as StatsHandler
// receives it, and its runtime state.
type Endpoint struct {
	EndpointConfig
	Name string

	sub   *nats.Subscription
	stats endpointStats
}

// endpointStats are an endpoint's counters. Each endpoint has its own lock,
// held only to add one request's outcome or to copy the counters, so no
// service-wide lock is taken on the request path.
type endpointStats struct {
	mu             sync.Mutex
	numRequests    int
	numErrors      int
	lastError      string
	processingTime time.Duration
}

func (s *endpointStats) record(elapsed time.Duration, failure *string) {
	s.mu.Lock()
	s.numRequests++
	s.processingTime += elapsed
	if failure != nil {
		s.numErrors++
		s.lastError = *failure
	}
	s.mu.Unlock()
}

func (s *endpointStats) recordError(text string) {
	s.mu.Lock()
	s.numErrors++
	s.lastError = text
	s.mu.Unlock()
}

func (s *endpointStats) reset() {
	s.mu.Lock()
	s.numRequests, s.numErrors, s.lastError, s.processingTime = 0, 0, "", 0
	s.mu.Unlock()
}

func (e *Endpoint) info() EndpointInfo {
	return EndpointInfo{
		Name:       e.Name,
		Subject:    e.Subject,
		QueueGroup: e.QueueGroup,
		Metadata:   maps.Clone(e.Metadata),
	}
}

func (e *Endpoint) snapshot() *EndpointStats {
	s := &e.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &EndpointStats{
		Name:           e.Name,
		Subject:        e.Subject,
		QueueGroup:     e.QueueGroup,
		NumRequests:    s.numRequests,
		NumErrors:      s.numErrors,
		LastError:      s.lastError,
		ProcessingTime: s.processingTime,
	}
	if s.numRequests > 0 {
		out.AverageProcessingTime = s.processingTime / time.Duration(s.numRequests)
	}
	return out
}
