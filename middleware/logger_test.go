package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	slogmulti "github.com/samber/slog-multi"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// failWith returns a handler that fails with err, or answers "hello".
func failWith(err error) natsmux.HandlerFunc {
	return func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		if err != nil {
			return nil, err
		}
		return natsmux.Reply([]byte("hello")), nil
	}
}

func TestLoggerLevels(t *testing.T) {
	custom := middleware.WithLogLevels(slog.LevelDebug, slog.LevelInfo, slog.LevelWarn)
	tests := []struct {
		name      string
		opts      []middleware.LoggerOption
		err       error
		wantLevel string
		wantCode  float64
	}{
		{"success", nil, nil, "INFO", 0},
		{"client error", nil, natsmux.ErrNotFound, "WARN", 404},
		{"too many requests", nil, natsmux.ErrTooManyRequests, "WARN", 429},
		{"server error", nil, errors.New("disk on fire"), "ERROR", 500},
		{"timeout", nil, context.DeadlineExceeded, "ERROR", 504},
		{"custom success", []middleware.LoggerOption{custom}, nil, "DEBUG", 0},
		{"custom client error", []middleware.LoggerOption{custom}, natsmux.ErrBadRequest, "INFO", 400},
		{"custom server error", []middleware.LoggerOption{custom}, natsmux.ErrInternal, "WARN", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sink logSink
			r := natsmux.NewRouter()
			r.Use(middleware.Logger(append(tt.opts, middleware.WithLogger(slog.New(sink.handler())))...))
			r.Handle("h", failWith(tt.err))
			_, _, _ = serveMemory(r, "h", nil)
			recs := sink.records(t, "")
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1: %v", len(recs), sink.lines())
			}
			rec := recs[0]
			if rec["level"] != tt.wantLevel || rec["code"] != tt.wantCode || rec["msg"] != "nats request" {
				t.Errorf("record %v, want level %s and code %v", rec, tt.wantLevel, tt.wantCode)
			}
			if _, hasError := rec["error"]; hasError != (tt.err != nil) {
				t.Errorf("error attribute %v, handler error %v", rec["error"], tt.err)
			}
		})
	}
}

func TestLoggerRecord(t *testing.T) {
	var sink logSink
	r := natsmux.NewRouter()
	r.Use(middleware.RequestID(), middleware.Logger(middleware.WithLogger(slog.New(sink.handler())), middleware.WithLogStart()))
	r.HandleFunc("get", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		middleware.AddLogAttrs(ctx, slog.String("order", req.Param("id")), slog.Int("items", 2))
		if req.Param("id") == "0" {
			return nil, &natsmux.Error{Code: 404, Description: "no order 0", Data: []byte(`{"id":0}`)}
		}
		return natsmux.Reply([]byte("hello")), nil
	}, natsmux.WithSubject("orders.{id}.get"))
	middleware.AddLogAttrs(context.Background(), slog.String("ignored", "outside Logger"))

	for _, id := range []string{"42", "0"} {
		req := natsmux.NewRequest("orders."+id+".get", []byte("abc"))
		req.Header = nats.Header{"X-Request-Id": {"req-" + id}}
		_, _ = r.ServeNATS(context.Background(), req)
	}

	starts := sink.records(t, "nats request started")
	ends := sink.records(t, "nats request")
	if len(starts) != 2 || len(ends) != 2 {
		t.Fatalf("%d start and %d end records, want 2 of each:\n%s", len(starts), len(ends), strings.Join(sink.lines(), "\n"))
	}
	wantStart := map[string]any{"level": "INFO", "service": "", "endpoint": "get", "subject": "orders.42.get",
		"request_size": 3.0, "request_id": "req-42"}
	for k, v := range wantStart {
		if starts[0][k] != v {
			t.Errorf("start record %s = %v, want %v", k, starts[0][k], v)
		}
	}
	if _, ok := starts[0]["code"]; ok {
		t.Errorf("start record has a code: %v", starts[0])
	}
	tests := []struct {
		rec  map[string]any
		want map[string]any
	}{
		{ends[0], map[string]any{"level": "INFO", "endpoint": "get", "subject": "orders.42.get", "code": 0.0,
			"request_id": "req-42", "request_size": 3.0, "reply_size": 5.0, "order": "42", "items": 2.0}},
		{ends[1], map[string]any{"level": "WARN", "endpoint": "get", "subject": "orders.0.get", "code": 404.0,
			"request_id": "req-0", "reply_size": 8.0, "order": "0", "error": "no order 0"}},
	}
	for _, tt := range tests {
		for k, v := range tt.want {
			if tt.rec[k] != v {
				t.Errorf("end record %s = %v, want %v (record %v)", k, tt.rec[k], v, tt.rec)
			}
		}
		if d, ok := tt.rec["duration"].(float64); !ok || d <= 0 {
			t.Errorf("duration %v, want positive nanoseconds", tt.rec["duration"])
		}
		if _, ok := tt.rec["ignored"]; ok {
			t.Error("attributes added outside Logger reached a record")
		}
	}
}

// TestLoggerRecordTimeAndSource: the end record is stamped with the time the
// request's duration was measured to, the start record with the time it
// was measured from, and both name Logger as their source for a handler
// that adds one.
func TestLoggerRecordTimeAndSource(t *testing.T) {
	var sink logSink
	r := natsmux.NewRouter()
	r.Use(middleware.Logger(middleware.WithLogStart(),
		middleware.WithLogger(slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{AddSource: true})))))
	r.Handle("h", failWith(nil))
	_, _, _ = serveMemory(r, "h", nil)
	recs := sink.records(t, "")
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2: %v", len(recs), sink.lines())
	}
	var times [2]time.Time
	for i, rec := range recs {
		src, _ := rec["source"].(map[string]any)
		if file, _ := src["file"].(string); !strings.HasSuffix(file, "middleware/logger.go") {
			t.Errorf("record %d: source %v, want Logger's file", i, rec["source"])
		}
		var err error
		if times[i], err = time.Parse(time.RFC3339Nano, rec["time"].(string)); err != nil {
			t.Fatal(err)
		}
	}
	duration := time.Duration(recs[1]["duration"].(float64))
	if gap := times[1].Sub(times[0]) - duration; gap < -time.Millisecond || gap > time.Millisecond {
		t.Errorf("records %v apart with a duration of %v", times[1].Sub(times[0]), duration)
	}
}

// TestLogHandler: records that handlers log with the request's context, and
// Logger's own, carry the trace, request and endpoint ids, each key once.
func TestLogHandler(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	tr := newTracer(t)
	var sink logSink
	logger := slog.New(middleware.LogHandler(sink.handler()))

	r := natsmux.NewRouter()
	r.Use(tr.middleware(), middleware.RequestID(), middleware.Logger(middleware.WithLogger(logger)))
	r.HandleFunc("work", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		logger.InfoContext(ctx, "inside", "step", 1)
		logger.InfoContext(ctx, "own id", "request_id", "mine")
		return nil, nil
	})
	serve(t, nc, "worker", r)
	microtest.RequestMsg(t, nc, &nats.Msg{Subject: "work", Header: nats.Header{"X-Request-Id": {"r-1"}}})
	logger.Info("no request")

	span := tr.span(t, "process work")
	traceID, spanID := span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()
	tests := []struct {
		msg  string
		want map[string]any
	}{
		{"inside", map[string]any{"trace_id": traceID, "span_id": spanID, "request_id": "r-1", "service": "worker",
			"endpoint": "work", "step": 1.0}},
		{"own id", map[string]any{"trace_id": traceID, "request_id": "mine", "service": "worker"}},
		{"nats request", map[string]any{"trace_id": traceID, "span_id": spanID, "request_id": "r-1", "service": "worker",
			"endpoint": "work", "code": 0.0}},
		{"no request", map[string]any{"trace_id": nil, "span_id": nil, "request_id": nil, "service": nil, "endpoint": nil}},
	}
	for _, tt := range tests {
		recs := sink.records(t, tt.msg)
		if len(recs) != 1 {
			t.Fatalf("%d records %q, want 1", len(recs), tt.msg)
		}
		for k, v := range tt.want {
			if recs[0][k] != v {
				t.Errorf("record %q: %s = %v, want %v", tt.msg, k, recs[0][k], v)
			}
		}
	}
	for _, line := range sink.lines() {
		for _, key := range []string{`"request_id"`, `"service"`, `"trace_id"`} {
			if n := strings.Count(line, key); n > 1 {
				t.Errorf("%s %d times in %s", key, n, line)
			}
		}
	}
}

// TestLogHandlerWithAttrs: keys the logger was given with With are not
// stamped again, and LogHandler composes as a slog-multi middleware.
func TestLogHandlerWithAttrs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slogmulti.Pipe(middleware.LogHandler).Handler(slog.NewJSONHandler(&buf, nil))).
		With(slog.String("service", "from-with"))
	r := natsmux.NewRouter()
	r.Use(middleware.RequestID(middleware.WithRequestIDGenerator(func() string { return "id-1" })))
	r.HandleFunc("get", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		logger.InfoContext(ctx, "inside")
		return nil, nil
	})
	if _, err := r.ServeNATS(context.Background(), natsmux.NewRequest("get", nil)); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	if strings.Count(line, `"service"`) != 1 || !strings.Contains(line, `"service":"from-with"`) ||
		!strings.Contains(line, `"request_id":"id-1"`) || !strings.Contains(line, `"endpoint":"get"`) {
		t.Errorf("record %s", line)
	}
}
