package middleware_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// replyRequestID answers with the request id on its context, or fails as
// the payload says: "fail" with 404, "panic" with a panic, "block" by
// outliving the endpoint's Timeout.
func replyRequestID(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	switch string(req.Data) {
	case "fail":
		return nil, natsmux.ErrNotFound
	case "panic":
		panic("asked to")
	case "block":
		<-ctx.Done()
		return natsmux.Reply([]byte("too late")), nil
	}
	return natsmux.Reply([]byte(middleware.RequestIDFromContext(ctx))), nil
}

// TestRequestIDEndToEnd: the id a request gets is on its context, and in
// the header of its error replies whoever sends them (the handler, Recover,
// Timeout's early 504); on successful replies only with
// WithRequestIDOnEveryReply.
func TestRequestIDEndToEnd(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	for _, everyReply := range []bool{false, true} {
		t.Run(fmt.Sprintf("every reply %t", everyReply), func(t *testing.T) {
			var opts []middleware.RequestIDOption
			if everyReply {
				opts = append(opts, middleware.WithRequestIDOnEveryReply())
			}
			r := natsmux.NewRouter()
			r.Use(middleware.RequestID(opts...), middleware.Recover())
			subject := fmt.Sprintf("ids-%t", everyReply)
			r.Group(subject).HandleFunc("id", replyRequestID, natsmux.WithMiddleware(middleware.Timeout(50*time.Millisecond)))
			serve(t, nc, subject, r)
			checkRequestIDs(t, nc, subject+".id", everyReply)
		})
	}
}

func checkRequestIDs(t *testing.T, nc *nats.Conn, subject string, everyReply bool) {
	tests := []struct {
		name     string
		header   nats.Header
		payload  string
		want     string // "" for a new id
		wantCode int
	}{
		{"incoming id honoured", nats.Header{"X-Request-Id": {"abc-123"}}, "", "abc-123", 0},
		{"incoming id in another case", nats.Header{"x-request-id": {"lower"}}, "", "lower", 0},
		{"no id", nil, "", "", 0},
		{"id with a space replaced", nats.Header{"X-Request-Id": {"a b"}}, "", "", 0},
		{"overlong id replaced", nats.Header{"X-Request-Id": {strings.Repeat("x", middleware.MaxRequestIDLength+1)}}, "", "", 0},
		{"longest id honoured", nats.Header{"X-Request-Id": {strings.Repeat("x", middleware.MaxRequestIDLength)}}, "",
			strings.Repeat("x", middleware.MaxRequestIDLength), 0},
		{"error reply echoes the incoming id", nats.Header{"X-Request-Id": {"err-1"}}, "fail", "err-1", 404},
		{"error reply echoes a new id", nil, "fail", "", 404},
		{"a recovered panic's reply echoes the id", nats.Header{"X-Request-Id": {"panic-1"}}, "panic", "panic-1", 500},
		{"an early 504 echoes the id", nats.Header{"X-Request-Id": {"late-1"}}, "block", "late-1", 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := microtest.RequestMsg(t, nc, &nats.Msg{Subject: subject, Header: tt.header, Data: []byte(tt.payload)})
			if code := codeOf(reply); code != tt.wantCode {
				t.Fatalf("code %d, want %d", code, tt.wantCode)
			}
			echoed := reply.Header.Get(middleware.DefaultRequestIDHeader)
			if tt.wantCode == 0 && !everyReply {
				if _, ok := reply.Header[middleware.DefaultRequestIDHeader]; ok || len(reply.Header) != 0 {
					t.Errorf("successful reply has headers %v, want none", reply.Header)
				}
				echoed = string(reply.Data) // the id on the context, checked below
			}
			switch {
			case tt.want != "" && echoed != tt.want:
				t.Errorf("request id %q, want %q", echoed, tt.want)
			case tt.want == "" && (len(echoed) != 22 || echoed == tt.header.Get("X-Request-Id")):
				t.Errorf("request id %q, want a new 22-character nuid", echoed)
			}
			if tt.wantCode == 0 && string(reply.Data) != echoed {
				t.Errorf("id on the context %q, in the reply header %q", reply.Data, echoed)
			}
		})
	}
}

func TestRequestIDOptions(t *testing.T) {
	r := natsmux.NewRouter()
	r.Use(middleware.RequestID(middleware.WithRequestIDHeader("Trace-Me"),
		middleware.WithRequestIDGenerator(func() string { return "generated" }), middleware.WithRequestIDOnEveryReply()))
	r.HandleFunc("id", replyRequestID)

	tests := []struct {
		name   string
		header nats.Header
		want   string
	}{
		{"generator", nil, "generated"},
		{"custom header", nats.Header{"Trace-Me": {"given"}}, "given"},
		{"default header ignored", nats.Header{"X-Request-Id": {"given"}}, "generated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := natsmux.NewRequest("id", nil)
			req.Header = tt.header
			resp, err := r.ServeNATS(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Data) != tt.want || resp.Header.Get("Trace-Me") != tt.want {
				t.Errorf("id %q, reply header %v; want %q", resp.Data, resp.Header, tt.want)
			}
		})
	}
	if id := middleware.RequestIDFromContext(context.Background()); id != "" {
		t.Errorf("RequestIDFromContext outside RequestID: %q", id)
	}
}
