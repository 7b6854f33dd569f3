package middleware_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// replyRequestID answers with the request id on its context, or fails with
// 404 when the payload says so.
func replyRequestID(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	if string(req.Data) == "fail" {
		return nil, natsmux.ErrNotFound
	}
	return natsmux.Reply([]byte(middleware.RequestIDFromContext(ctx))), nil
}

func TestRequestIDEndToEnd(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	r.Use(middleware.RequestID())
	r.HandleFunc("id", replyRequestID)
	serve(t, nc, "ids", r)

	tests := []struct {
		name    string
		header  nats.Header
		payload string
		want    string // "" for a new id
	}{
		{"incoming id honoured", nats.Header{"X-Request-Id": {"abc-123"}}, "", "abc-123"},
		{"incoming id in another case", nats.Header{"x-request-id": {"lower"}}, "", "lower"},
		{"no id", nil, "", ""},
		{"id with a space replaced", nats.Header{"X-Request-Id": {"a b"}}, "", ""},
		{"overlong id replaced", nats.Header{"X-Request-Id": {strings.Repeat("x", middleware.MaxRequestIDLength+1)}}, "", ""},
		{"longest id honoured", nats.Header{"X-Request-Id": {strings.Repeat("x", middleware.MaxRequestIDLength)}}, "",
			strings.Repeat("x", middleware.MaxRequestIDLength)},
		{"error reply echoes the incoming id", nats.Header{"X-Request-Id": {"err-1"}}, "fail", "err-1"},
		{"error reply echoes a new id", nil, "fail", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := microtest.RequestMsg(t, nc, &nats.Msg{Subject: "id", Header: tt.header, Data: []byte(tt.payload)})
			echoed := reply.Header.Get(middleware.DefaultRequestIDHeader)
			switch {
			case tt.want != "" && echoed != tt.want:
				t.Errorf("reply header %q, want %q", echoed, tt.want)
			case tt.want == "" && (len(echoed) != 22 || echoed == tt.header.Get("X-Request-Id")):
				t.Errorf("reply header %q, want a new 22-character nuid", echoed)
			}
			wantCode := map[string]int{"fail": 404}[tt.payload]
			if code := codeOf(reply); code != wantCode {
				t.Errorf("code %d, want %d", code, wantCode)
			}
			if wantCode == 0 && string(reply.Data) != echoed {
				t.Errorf("id on the context %q, in the reply header %q", reply.Data, echoed)
			}
		})
	}
}

func TestRequestIDOptions(t *testing.T) {
	r := natsmux.NewRouter()
	r.Use(middleware.RequestID(middleware.WithRequestIDHeader("Trace-Me"),
		middleware.WithRequestIDGenerator(func() string { return "generated" })))
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
