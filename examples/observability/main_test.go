package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The caller's trace, which the first request continues.
const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
)

// attribute is an attribute as the stdout exporters write it.
type attribute struct {
	Key   string
	Value struct{ Value any }
}

// attributeMap turns attributes into a map from key to value.
func attributeMap(attrs []attribute) map[string]any {
	m := make(map[string]any, len(attrs))
	for _, a := range attrs {
		m[a.Key] = a.Value.Value
	}
	return m
}

// span is what the test reads of a span written by stdouttrace.
type span struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct {
		TraceID, SpanID string
		Remote          bool
	}
	SpanKind   int
	Attributes []attribute
	Status     struct{ Code string }
}

// resourceMetrics is what the test reads of an export by stdoutmetric.
type resourceMetrics struct {
	ScopeMetrics []struct {
		Metrics []struct {
			Name, Unit string
			Data       struct {
				DataPoints []struct {
					Attributes []attribute
					Count      int
				}
			}
		}
	}
}

// decodeAll decodes the stream of JSON values in data.
func decodeAll[T any](t *testing.T, what string, data []byte) []T {
	t.Helper()
	var all []T
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var v T
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return all
		}
		if err != nil {
			t.Fatalf("%s: %v:\n%s", what, err, data)
		}
		all = append(all, v)
	}
}

// TestTelemetry runs the example against a test server, sends a request
// that continues a caller's trace and one for a missing order, stops it,
// and reads the spans, metrics and logs that the exporters and log sinks
// received.
func TestTelemetry(t *testing.T) {
	srv := microtest.NewServer(t)
	t.Setenv("NATS_URL", srv.URL)
	nc := srv.Connect(t)
	var traces, metrics, textLogs, jsonLogs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, sinks{traces: &traces, metrics: &metrics, textLogs: &textLogs, jsonLogs: &jsonLogs})
	}()
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		infos, _ := micro.DiscoverInfo(ctx, nc, micro.WithDiscoveryMax(1))
		return len(infos) == 1 && len(infos[0].Endpoints) == 1
	}, "the endpoint is up")

	const callerRequestID = "caller-1"
	found := microtest.RequestMsg(t, nc, &nats.Msg{Subject: "orders.1.get", Header: nats.Header{
		"traceparent": {"00-" + callerTrace + "-" + callerSpan + "-01"}, middleware.DefaultRequestIDHeader: {callerRequestID}}})
	missing := microtest.Request(t, nc, "orders.9.get", nil)
	if err := micro.ResponseError(missing); err == nil || string(found.Data) != orders["1"] {
		t.Fatalf("replies %q and %q (%v)", found.Data, missing.Data, err)
	}
	cancel()
	if err := testutil.Receive(t, done, microtest.DefaultTimeout); err != nil {
		t.Fatalf("run: %v", err)
	}
	// run has returned, so the exporters and log sinks are done writing.

	spans := decodeAll[span](t, "spans", traces.Bytes())
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2:\n%s", len(spans), &traces)
	}
	// The endpoint's attributes, on its spans and metrics alike.
	endpoint := map[string]any{
		"messaging.system":               "nats",
		"messaging.operation.name":       "process",
		"messaging.destination.template": "orders.{id}.get",
		"messaging.consumer.group.name":  "q",
		"natsmux.service.name":           "orders",
		"natsmux.endpoint.name":          "get",
	}
	// A span's: the endpoint's, the operation's type and more.
	with := func(extra map[string]any) map[string]any {
		m := maps.Clone(endpoint)
		m["messaging.operation.type"] = "process"
		maps.Copy(m, extra)
		return m
	}
	requests := []struct {
		name      string
		requestID string // the caller's, or the one the error reply echoes
		attrs     map[string]any
	}{
		{"found", callerRequestID, with(map[string]any{"messaging.destination.name": "orders.1.get"})},
		{"missing", missing.Header.Get(middleware.DefaultRequestIDHeader), with(map[string]any{
			"messaging.destination.name": "orders.9.get", "error.type": "404", "natsmux.error.code": float64(404)})},
	}
	for i, rq := range requests {
		s := spans[i]
		if s.Name != "process orders.{id}.get" || s.SpanKind != 5 || s.Status.Code != "Unset" {
			t.Errorf("%s: span %q of kind %d, status %s; want process orders.{id}.get, consumer (5), unset",
				rq.name, s.Name, s.SpanKind, s.Status.Code)
		}
		if diff := cmp.Diff(rq.attrs, attributeMap(s.Attributes)); diff != "" {
			t.Errorf("%s: span attributes (-want +got):\n%s", rq.name, diff)
		}
		checkLogs(t, rq.name, jsonLogs.Bytes(), rq.requestID, s)
	}
	if p := spans[0].Parent; p.TraceID != callerTrace || p.SpanID != callerSpan || !p.Remote {
		t.Errorf("span's parent %+v, want the caller's span %s in trace %s", p, callerSpan, callerTrace)
	}
	if spans[1].Parent.TraceID == callerTrace || spans[1].SpanContext.TraceID == callerTrace {
		t.Errorf("the second request, sent without a trace, is in the caller's trace: %+v", spans[1])
	}
	if want := "trace_id=" + callerTrace; !strings.Contains(textLogs.String(), want) {
		t.Errorf("text logs lack %s:\n%s", want, &textLogs)
	}

	exports := decodeAll[resourceMetrics](t, "metrics", metrics.Bytes())
	if len(exports) == 0 {
		t.Fatal("no metrics exported")
	}
	counts := map[string]int{} // by error code, "" for successes
	for _, sm := range exports[len(exports)-1].ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "messaging.process.duration" {
				continue
			}
			if m.Unit != "s" {
				t.Errorf("duration unit %q", m.Unit)
			}
			for _, dp := range m.Data.DataPoints {
				attrs := attributeMap(dp.Attributes)
				code, _ := attrs["error.type"].(string)
				delete(attrs, "error.type")
				delete(attrs, "natsmux.error.code")
				if diff := cmp.Diff(endpoint, attrs); diff != "" {
					t.Errorf("duration attributes (-want +got):\n%s", diff)
				}
				counts[code] += dp.Count
			}
		}
	}
	if want := map[string]int{"": 1, "404": 1}; !cmp.Equal(counts, want) {
		t.Errorf("duration histogram counts by error code %v, want %v", counts, want)
	}
}

// checkLogs checks that the handler's record and Logger's record of the
// request with the given id carry the ids of its span.
func checkLogs(t *testing.T, name string, jsonLogs []byte, requestID string, s span) {
	t.Helper()
	seen := map[string]bool{}
	lines := bufio.NewScanner(bytes.NewReader(jsonLogs))
	for lines.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(lines.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, lines.Bytes())
		}
		if rec["request_id"] != requestID {
			continue
		}
		msg := rec["msg"].(string)
		seen[msg] = true
		if rec["trace_id"] != s.SpanContext.TraceID || rec["span_id"] != s.SpanContext.SpanID {
			t.Errorf("%s: record %q has trace_id %v, span_id %v; want those of its span, %s and %s",
				name, msg, rec["trace_id"], rec["span_id"], s.SpanContext.TraceID, s.SpanContext.SpanID)
		}
	}
	if !seen["looking up order"] || !seen["nats request"] {
		t.Errorf("%s: records of request %q: %v, want the handler's and Logger's:\n%s", name, requestID, seen, jsonLogs)
	}
}
