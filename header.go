package natsmux

import (
	"strings"

	"github.com/nats-io/nats.go"
)

// HeaderCarrier adapts NATS headers to the carrier interface of
// OpenTelemetry propagators (Get, Set, Keys), without this package depending
// on OpenTelemetry. NATS header keys are case-sensitive, while W3C trace
// context headers are not: Get finds "traceparent" under any case, so a
// "Traceparent" set by another client is honoured; Set writes the key as
// given.
type HeaderCarrier nats.Header

// Get returns the first value of key, matching the key's case exactly if
// possible and ignoring case otherwise.
func (c HeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set replaces the values of key, and of any key that differs from it only
// in case, with value.
func (c HeaderCarrier) Set(key, value string) {
	for k := range c {
		if k != key && strings.EqualFold(k, key) {
			delete(c, k)
		}
	}
	c[key] = []string{value}
}

// Keys returns the header keys.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
