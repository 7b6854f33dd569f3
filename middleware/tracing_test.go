package middleware_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// TestTracingAcrossServices: a caller calls service A, whose handler calls
// service B; the three spans form one trace, each the child of the one
// before, across three connections.
func TestTracingAcrossServices(t *testing.T) {
	srv := microtest.NewServer(t)
	tr := newTracer(t)
	propagator := propagation.TraceContext{}

	b := natsmux.NewRouter()
	b.Use(tr.middleware())
	b.HandleFunc("lookup", echo, natsmux.WithSubject("b.lookup"))
	serve(t, srv.Connect(t), "b", b)

	aConn := srv.Connect(t)
	a := natsmux.NewRouter()
	a.Use(tr.middleware())
	a.HandleFunc("order", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		out := nats.NewMsg("b.lookup")
		out.Data = req.Data
		propagator.Inject(ctx, natsmux.HeaderCarrier(out.Header))
		reply, err := aConn.RequestMsgWithContext(ctx, out)
		if err != nil {
			return nil, err
		}
		return natsmux.Reply(reply.Data), nil
	}, natsmux.WithSubject("a.orders.{id}"))
	serve(t, aConn, "a", a)

	ctx, root := tr.Tracer("caller").Start(context.Background(), "caller")
	msg := nats.NewMsg("a.orders.42")
	msg.Data = []byte("hi")
	propagator.Inject(ctx, natsmux.HeaderCarrier(msg.Header))
	reply := microtest.RequestMsg(t, srv.Connect(t), msg)
	root.End()
	if string(reply.Data) != "hi" {
		t.Fatalf("reply %q", reply.Data)
	}

	caller := tr.span(t, "caller")
	spanA := tr.span(t, "process a.orders.{id}")
	spanB := tr.span(t, "process b.lookup")
	tests := []struct {
		name   string
		child  trace.SpanContext
		parent trace.SpanContext
	}{
		{"A is the caller's child", spanA.Parent(), caller.SpanContext()},
		{"B is A's child", spanB.Parent(), spanA.SpanContext()},
	}
	for _, tt := range tests {
		if !tt.child.IsRemote() || tt.child.TraceID() != tt.parent.TraceID() || tt.child.SpanID() != tt.parent.SpanID() {
			t.Errorf("%s: parent %v, want remote %v", tt.name, tt.child, tt.parent)
		}
	}
	got := attrs(spanA.Attributes())
	want := map[attribute.Key]string{
		"messaging.system":               "nats",
		"messaging.operation.name":       "process",
		"messaging.operation.type":       "process",
		"messaging.destination.name":     "a.orders.42",
		"messaging.destination.template": "a.orders.{id}",
		"messaging.consumer.group.name":  "q",
		"natsmux.service.name":           "a",
		"natsmux.endpoint.name":          "order",
	}
	for k, v := range want {
		if got[k].AsString() != v {
			t.Errorf("attribute %s = %q, want %q", k, got[k].String(), v)
		}
	}
	if len(got) != len(want) || spanA.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("attributes %v, kind %v", spanA.Attributes(), spanA.SpanKind())
	}
}

// TestTracingHeaderCase: a trace context sent by another client is honoured
// whatever the case of its header's name.
func TestTracingHeaderCase(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	tr := newTracer(t)
	r := natsmux.NewRouter()
	r.Use(tr.middleware())
	r.HandleFunc("echo", echo)
	serve(t, nc, "echo", r)

	const traceID, spanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, key := range []string{"traceparent", "Traceparent", "TRACEPARENT"} {
		t.Run(key, func(t *testing.T) {
			tr.spans.Reset()
			msg := &nats.Msg{Subject: "echo", Header: nats.Header{key: {"00-" + traceID + "-" + spanID + "-01"}}}
			microtest.RequestMsg(t, nc, msg)
			parent := tr.span(t, "process echo").Parent()
			if parent.TraceID().String() != traceID || parent.SpanID().String() != spanID {
				t.Errorf("parent %s/%s, want %s/%s", parent.TraceID(), parent.SpanID(), traceID, spanID)
			}
		})
	}
}

func TestTracingResults(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantType   string // error.type; "" for none
		wantStatus codes.Code
	}{
		{"success", nil, "", codes.Unset},
		{"client error", natsmux.ErrNotFound, "404", codes.Unset},
		{"server error", errors.New("disk on fire"), "500", codes.Error},
		{"unavailable", natsmux.ErrServiceUnavailable, "503", codes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracer(t)
			r := natsmux.NewRouter()
			r.Use(tr.middleware())
			r.Handle("h", failWith(tt.err))
			_, _, _ = serveMemory(r, "h", nil)
			span := tr.span(t, "process h")
			got := attrs(span.Attributes())
			if got["error.type"].AsString() != tt.wantType || span.Status().Code != tt.wantStatus {
				t.Errorf("error.type %q, status %v; want %q, %v", got["error.type"].String(), span.Status(), tt.wantType, tt.wantStatus)
			}
			if code, ok := got[middleware.ErrorCodeKey]; ok != (tt.err != nil) || (ok && code.String() != tt.wantType) {
				t.Errorf("natsmux.error.code %v, want %q", code.String(), tt.wantType)
			}
		})
	}
}

func TestTracingOptions(t *testing.T) {
	tr := newTracer(t)
	r := natsmux.NewRouter()
	r.Use(tr.middleware(
		middleware.WithSpanKind(trace.SpanKindServer),
		middleware.WithSpanNameFormatter(func(ep *natsmux.Endpoint) string { return "serve " + ep.Name }),
		middleware.WithTracingFilter(func(req *natsmux.Request) bool { return req.Subject != "health" }),
	))
	r.HandleFunc("health", echo)
	r.HandleFunc("work", echo)
	for _, subject := range []string{"health", "work", "work"} {
		if _, _, err := serveMemory(r, subject, nil); err != nil {
			t.Fatal(err)
		}
	}
	names := spanNames(tr.spans.Ended())
	if len(names) != 2 || names[0] != "serve work" || names[1] != "serve work" {
		t.Fatalf("spans %v, want two \"serve work\"", names)
	}
	if kind := tr.spans.Ended()[0].SpanKind(); kind != trace.SpanKindServer {
		t.Errorf("kind %v", kind)
	}
}

// TestTracingEndsAbortedSpans: a panic that passes Tracing, such as an
// abort, still ends the span, marked as an error unless it is an abort.
func TestTracingEndsAbortedSpans(t *testing.T) {
	tests := []struct {
		name       string
		value      any
		wantStatus codes.Code
	}{
		{"abort", natsmux.ErrAbortHandler, codes.Unset},
		{"panic", "boom", codes.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracer(t)
			h := tr.middleware()(natsmux.HandlerFunc(func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
				panic(tt.value)
			}))
			func() {
				defer func() {
					if v := recover(); v != tt.value {
						t.Errorf("panic %v, want %v", v, tt.value)
					}
				}()
				_, _ = h.ServeNATS(context.Background(), natsmux.NewRequest("x", nil))
			}()
			if span := tr.span(t, "process"); span.Status().Code != tt.wantStatus {
				t.Errorf("status %v, want %v", span.Status(), tt.wantStatus)
			}
		})
	}
}
