package middleware_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/codes"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// logToSink makes a sink slog's default logger for the test, so that the
// framework's own records are seen too.
func logToSink(t *testing.T) *logSink {
	sink := &logSink{}
	defaultLogger := slog.Default()
	slog.SetDefault(slog.New(middleware.LogHandler(sink.handler())))
	t.Cleanup(func() { slog.SetDefault(defaultLogger) })
	return sink
}

// TestRecommendedChainPanic: a panic in a handler behind the full chain gets
// a 500 reply, is logged once with its stack, counted in the stats, the
// metrics and the span, and the service serves on.
func TestRecommendedChainPanic(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	tr, m, sink := newTracer(t), newMeter(t), logToSink(t)
	r := natsmux.NewRouter()
	r.Use(tr.middleware(), middleware.RequestID(), middleware.Logger(), middleware.Metrics(middleware.WithMeterProvider(m)),
		middleware.Recover())
	r.HandleFunc("crash", panicky)
	r.HandleFunc("ok", echo)
	svc := serve(t, nc, "fragile", r)

	reply := microtest.RequestMsg(t, nc, &nats.Msg{Subject: "crash", Data: []byte("kaboom")})
	var serr *micro.ServiceError
	if !errors.As(micro.ResponseError(reply), &serr) || serr.Code != 500 || serr.Description != "internal error" {
		t.Fatalf("reply %v %q, want 500 internal error", reply.Header, reply.Data)
	}
	if reply.Header.Get(middleware.DefaultRequestIDHeader) == "" {
		t.Errorf("no request id on the error reply: %v", reply.Header)
	}
	if again := microtest.Request(t, nc, "ok", []byte("still here")); string(again.Data) != "still here" {
		t.Errorf("after the panic: %q", again.Data)
	}

	var panicLines []string
	for _, line := range sink.lines() {
		if strings.Contains(line, "kaboom") {
			panicLines = append(panicLines, line)
		}
	}
	recs := sink.records(t, "nats request")
	if len(panicLines) != 1 || len(recs) != 2 {
		t.Fatalf("the panic is in %d log lines, want 1:\n%s", len(panicLines), strings.Join(sink.lines(), "\n"))
	}
	span := tr.span(t, "process crash")
	crash := recs[0]
	want := map[string]any{"level": "ERROR", "endpoint": "crash", "code": 500.0, "panic": "kaboom",
		"trace_id": span.SpanContext().TraceID().String()}
	for k, v := range want {
		if crash[k] != v {
			t.Errorf("log %s = %v, want %v", k, crash[k], v)
		}
	}
	if stack, _ := crash["stack"].(string); !strings.Contains(stack, "middleware_test.panicky") {
		t.Errorf("logged stack does not show the panicking function:\n%s", stack)
	}

	if span.Status().Code != codes.Error || attrs(span.Attributes())["error.type"].AsString() != "500" {
		t.Errorf("span status %v, attributes %v", span.Status(), span.Attributes())
	}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		stats := svc.Stats().Endpoints[0]
		return stats.Name == "crash" && stats.NumRequests == 1 && stats.NumErrors == 1
	}, "stats count the panic as an error")
	if n := sumPoints(t, m.collect(t)["messaging.process.duration"]); n["crash 500"] != 1 || n["ok "] != 1 {
		t.Errorf("request counts %v", n)
	}
}

func TestRecommended(t *testing.T) {
	sink := logToSink(t)
	r := natsmux.NewRouter()
	r.Use(middleware.Recommended()...)
	r.HandleFunc("crash", panicky)
	header, _, err := serveMemory(r, "crash", []byte("kaboom"))
	if natsmux.CodeOf(err) != 500 || header.Get(middleware.DefaultRequestIDHeader) == "" {
		t.Errorf("error %v, reply headers %v", err, header)
	}
	if recs := sink.records(t, ""); len(recs) != 1 || recs[0]["panic"] != "kaboom" || recs[0]["stack"] == nil {
		t.Errorf("records %v, want one with the panic and its stack", recs)
	}
}
