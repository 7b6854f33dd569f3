package adr32

import "maps"

// Defaults of an endpoint that neither it, its groups nor its service set.
const (
	// DefaultQueueGroup is ADR-32's queue group, so that instances share load.
	DefaultQueueGroup = "q"
	// DefaultMaxConcurrency is how many requests an endpoint handles at once.
	DefaultMaxConcurrency = 256
)

// Settings are what a service, a group and an endpoint may each set. A level
// inherits what it leaves unset from the level above it: adding a setting
// means a field here, its rule in Inherit, and an option on each side.
type Settings struct {
	QueueGroup     string
	NoQueueGroup   bool // subscribe without a queue group
	MaxConcurrency int  // 0: inherit
	PendingMsgs    int  // pending limits; both 0: inherit, -1: no limit
	PendingBytes   int
	Metadata       map[string]string // merged, the lower level's keys win
}

// Inherit returns s with what it leaves unset taken from parent. For queue
// groups ADR-32's order holds: an explicit disable wins, then an explicit
// name, then whatever the parent resolved to.
func (s Settings) Inherit(parent Settings) Settings {
	out := s
	if !s.NoQueueGroup && s.QueueGroup == "" {
		out.QueueGroup, out.NoQueueGroup = parent.QueueGroup, parent.NoQueueGroup
	}
	if s.MaxConcurrency <= 0 {
		out.MaxConcurrency = parent.MaxConcurrency
	}
	if s.PendingMsgs == 0 && s.PendingBytes == 0 {
		out.PendingMsgs, out.PendingBytes = parent.PendingMsgs, parent.PendingBytes
	}
	switch {
	case len(parent.Metadata) == 0:
	case len(s.Metadata) == 0:
		out.Metadata = parent.Metadata
	default:
		out.Metadata = maps.Clone(parent.Metadata)
		maps.Copy(out.Metadata, s.Metadata)
	}
	return out
}

// Resolve fills in the defaults of what nothing set: the result is what an
// endpoint subscribes with.
func (s Settings) Resolve() Settings {
	if s.NoQueueGroup {
		s.QueueGroup = ""
	} else if s.QueueGroup == "" {
		s.QueueGroup = DefaultQueueGroup
	}
	if s.MaxConcurrency <= 0 {
		s.MaxConcurrency = DefaultMaxConcurrency
	}
	return s
}
