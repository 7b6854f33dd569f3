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
// service-wide lock is taken on the request path. The load recorder, nil
// when Config.LoadStatsDisabled, takes no lock at all.
type endpointStats struct {
	mu             sync.Mutex
	numRequests    int
	numErrors      int
	lastError      string
	processingTime time.Duration

	load *loadRecorder
}

// newLoadRecorder returns the load recorder of an endpoint of a service
// configured with cfg, nil when load stats are disabled.
func newLoadRecorder(cfg *Config) *loadRecorder {
	if cfg.LoadStatsDisabled {
		return nil
	}
	return &loadRecorder{}
}

// begin counts a request in flight until record.
func (s *endpointStats) begin() {
	if s.load != nil {
		s.load.inFlight.Add(1)
	}
}

// record adds the outcome of a request that began.
func (s *endpointStats) record(elapsed time.Duration, failure *string) {
	if s.load != nil {
		s.load.finish(elapsed, failure)
	}
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
	if s.load != nil {
		s.load.reset()
	}
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

// loadStats returns the endpoint's load stats, and false when they are
// disabled.
func (e *Endpoint) loadStats() (LoadStats, bool) {
	if e.stats.load == nil {
		return LoadStats{}, false
	}
	return e.stats.load.snapshot(e.MaxConcurrency), true
}
