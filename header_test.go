package natsmux_test

import (
	"slices"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
)

func TestHeaderCarrier(t *testing.T) {
	h := nats.Header{"Traceparent": {"00-abc-def-01"}, "X-Other": {"1"}}
	c := natsmux.HeaderCarrier(h)
	tests := []struct{ key, want string }{
		{"traceparent", "00-abc-def-01"},
		{"TRACEPARENT", "00-abc-def-01"},
		{"Traceparent", "00-abc-def-01"},
		{"tracestate", ""},
	}
	for _, tt := range tests {
		if got := c.Get(tt.key); got != tt.want {
			t.Errorf("Get(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	c.Set("traceparent", "00-new-01")
	if _, stale := h["Traceparent"]; stale || h.Get("traceparent") != "00-new-01" {
		t.Errorf("Set did not replace the differently cased key: %v", h)
	}
	keys := c.Keys()
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"X-Other", "traceparent"}) {
		t.Errorf("Keys() = %v", keys)
	}
}

type described struct{ natsmux.HandlerFunc }

func (described) EndpointMetadata() map[string]string {
	return map[string]string{"from": "handler", "shared": "handler"}
}

func TestMetadataProvider(t *testing.T) {
	r := natsmux.NewRouter()
	g := r.Group("g", natsmux.WithMetadata(map[string]string{"shared": "group", "group": "1"}))
	g.Handle("a", described{ok})
	g.Handle("b", described{ok}, natsmux.WithMetadata(map[string]string{"shared": "endpoint"}))
	eps := r.Endpoints()
	want := []map[string]string{
		{"from": "handler", "shared": "handler", "group": "1"},
		{"from": "handler", "shared": "endpoint", "group": "1"},
	}
	for i, ep := range eps {
		for k, v := range want[i] {
			if ep.Metadata[k] != v {
				t.Errorf("%s: metadata %v, want %v", ep.Name, ep.Metadata, want[i])
			}
		}
	}
}
