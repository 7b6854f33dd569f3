package micro

// The server side of discovery: every service answers PING, INFO and STATS.

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/nats-io/nats.go"
)

// subscribeDiscovery subscribes PING, INFO and STATS on the three subjects
// each: all services, all instances of this name, this instance. These are
// plain subscriptions: every instance must answer.
func (s *service) subscribeDiscovery() error {
	for _, verb := range []Verb{PingVerb, InfoVerb, StatsVerb} {
		handler := s.discoveryHandler(verb)
		for _, target := range [][2]string{{"", ""}, {s.cfg.Name, ""}, {s.cfg.Name, s.id}} {
			subject, _ := controlSubject(s.prefix, verb, target[0], target[1])
			sub, err := s.nc.Subscribe(subject, handler)
			if err != nil {
				return fmt.Errorf("subscribing to %q: %w", subject, err)
			}
			s.running.Add(1)
			sub.SetClosedHandler(func(string) { s.running.Done() })
			s.mu.Lock()
			s.verbSubs = append(s.verbSubs, sub)
			s.mu.Unlock()
		}
	}
	return s.nc.Flush()
}

func (s *service) discoveryHandler(verb Verb) nats.MsgHandler {
	return func(m *nats.Msg) {
		if s.replyAllowed != nil && !s.replyAllowed(m.Reply) {
			s.reportError(refusedReply(m))
			return
		}
		var data []byte
		switch verb {
		case PingVerb:
			data = s.ping
		case InfoVerb:
			data, _ = json.Marshal(s.Info())
		case StatsVerb:
			data, _ = json.Marshal(s.Stats())
		}
		err := m.Respond(data)
		if err == nil {
			return
		}
		reply := &nats.Msg{Header: nats.Header{
			ErrorHeader:     {fmt.Sprintf("Error handling %s request: %s", verb, err)},
			ErrorCodeHeader: {"500"},
		}}
		if err := m.RespondMsg(reply); err != nil {
			s.reportError(&NATSError{Subject: m.Subject, Description: err.Error(), err: err})
		}
	}
}

func (s *service) identity() ServiceIdentity {
	return ServiceIdentity{
		Name:     s.cfg.Name,
		ID:       s.id,
		Version:  s.cfg.Version,
		Metadata: maps.Clone(s.cfg.Metadata),
	}
}

func (s *service) Info() Info {
	endpoints := s.endpointList()
	infos := make([]EndpointInfo, 0, len(endpoints))
	for _, e := range endpoints {
		infos = append(infos, e.info())
	}
	return Info{
		ServiceIdentity: s.identity(),
		Type:            InfoResponseType,
		Description:     s.cfg.Description,
		Endpoints:       infos,
	}
}

func (s *service) Stats() Stats {
	s.mu.Lock()
	endpoints, started := s.endpoints, s.started
	s.mu.Unlock()
	stats := Stats{
		ServiceIdentity: s.identity(),
		Type:            StatsResponseType,
		Started:         started,
		Endpoints:       make([]*EndpointStats, 0, len(endpoints)),
	}
	for _, e := range endpoints {
		es := e.snapshot()
		if s.cfg.StatsHandler != nil {
			es.Data = s.statsData(e)
		}
		if load, ok := e.loadStats(); ok {
			es.Data = mergeLoadStats(es.Data, load)
		}
		stats.Endpoints = append(stats.Endpoints, es)
	}
	return stats
}

// statsData calls StatsHandler for e. A panic or a value that does not
// marshal leaves the endpoint without data; the STATS reply still goes out.
func (s *service) statsData(e *Endpoint) (data json.RawMessage) {
	defer func() {
		if v := recover(); v != nil {
			data = nil
			s.reportPanic(e.Subject, newPanicError(v))
		}
	}()
	data, _ = json.Marshal(s.cfg.StatsHandler(e))
	return data
}

func (s *service) Reset() {
	s.mu.Lock()
	endpoints := s.endpoints
	s.started = time.Now().UTC()
	s.mu.Unlock()
	for _, e := range endpoints {
		e.stats.reset()
	}
}
