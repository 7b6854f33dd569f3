package micro

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/natsmux/natsmux/internal/adr32"
)

// Protocol constants of the NATS Service API (ADR-32).
const (
	// DefaultQueueGroup is the queue group of every endpoint that does not set
	// or inherit another one, so that instances of a service share its load.
	DefaultQueueGroup = adr32.DefaultQueueGroup

	// APIPrefix is the default root of the discovery subjects
	// ($SRV.PING, $SRV.INFO, $SRV.STATS). Config.APIPrefix overrides it.
	APIPrefix = "$SRV"
)

// Headers of an ADR-32 error reply. A requester detects an error by their
// presence; the code is always a number.
const (
	ErrorHeader     = "Nats-Service-Error"
	ErrorCodeHeader = "Nats-Service-Error-Code"
)

// TimeoutHeader carries the caller's timeout on a request: a Go duration such
// as "1.5s" or "250ms", or a whole number of milliseconds. The service
// derives the deadline of Request.Context from it. It is an extension of
// natsmux; other ADR-32 services ignore it.
const TimeoutHeader = adr32.TimeoutHeader

// Types of the discovery responses, sent in their "type" field.
const (
	InfoResponseType  = "io.nats.micro.v1.info_response"
	PingResponseType  = "io.nats.micro.v1.ping_response"
	StatsResponseType = "io.nats.micro.v1.stats_response"
)

type (
	// ServiceIdentity names one service instance: the fields every discovery
	// response starts with.
	ServiceIdentity struct {
		Name     string            `json:"name"`
		ID       string            `json:"id"`
		Version  string            `json:"version"`
		Metadata map[string]string `json:"metadata"`
	}

	// Ping is the response to a PING discovery request.
	Ping struct {
		ServiceIdentity
		Type string `json:"type"`
	}

	// Info is the response to an INFO discovery request: what the service was
	// created with.
	Info struct {
		ServiceIdentity
		Type        string         `json:"type"`
		Description string         `json:"description"`
		Endpoints   []EndpointInfo `json:"endpoints"`
	}

	// EndpointInfo describes one endpoint in an Info.
	EndpointInfo struct {
		Name       string            `json:"name"`
		Subject    string            `json:"subject"`
		QueueGroup string            `json:"queue_group"`
		Metadata   map[string]string `json:"metadata"`
	}

	// Stats is the response to a STATS discovery request.
	Stats struct {
		ServiceIdentity
		Type      string           `json:"type"`
		Started   time.Time        `json:"started"`
		Endpoints []*EndpointStats `json:"endpoints"`
	}

	// EndpointStats holds the counters of one endpoint. Durations are
	// marshalled as integer nanoseconds, as the protocol requires.
	EndpointStats struct {
		Name                  string          `json:"name"`
		Subject               string          `json:"subject"`
		QueueGroup            string          `json:"queue_group"`
		NumRequests           int             `json:"num_requests"`
		NumErrors             int             `json:"num_errors"`
		LastError             string          `json:"last_error"`
		ProcessingTime        time.Duration   `json:"processing_time"`
		AverageProcessingTime time.Duration   `json:"average_processing_time"`
		Data                  json.RawMessage `json:"data,omitempty"`
	}
)

// Verb names a discovery operation.
type Verb int64

// The discovery verbs.
const (
	PingVerb Verb = iota
	StatsVerb
	InfoVerb
)

// String returns the verb as it appears in subjects ("PING", "STATS",
// "INFO"), or "" for an unknown verb.
func (v Verb) String() string {
	switch v {
	case PingVerb:
		return "PING"
	case StatsVerb:
		return "STATS"
	case InfoVerb:
		return "INFO"
	default:
		return ""
	}
}

// ControlSubject returns the discovery subject for verb: all services when
// name is empty, all instances of name when id is empty, else the single
// instance name/id. It uses the default prefix $SRV.
func ControlSubject(verb Verb, name, id string) (string, error) {
	return controlSubject(APIPrefix, verb, name, id)
}

func controlSubject(prefix string, verb Verb, name, id string) (string, error) {
	v := verb.String()
	switch {
	case v == "":
		return "", fmt.Errorf("%w: %d", ErrVerbNotSupported, verb)
	case name == "" && id != "":
		return "", ErrServiceNameRequired
	case name == "":
		return prefix + "." + v, nil
	case id == "":
		return prefix + "." + v + "." + name, nil
	default:
		return prefix + "." + v + "." + name + "." + id, nil
	}
}
