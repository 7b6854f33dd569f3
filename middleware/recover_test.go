package middleware_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/middleware"
)

// panicky panics with the request's payload as the value.
func panicky(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	panic(string(req.Data))
}

func TestRecover(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		handler   natsmux.HandlerFunc
		wantCode  int
		wantPanic any // the panic value in the error's cause
	}{
		{"no panic", echo, 0, nil},
		{"error passes", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, natsmux.ErrNotFound }, 404, nil},
		{"panic with a string", panicky, 500, "payload"},
		{"panic with an error", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { panic(errBoom) }, 500, errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := natsmux.NewRouter()
			r.Use(middleware.Recover())
			r.Handle("h", tt.handler)
			_, resp, err := serveMemory(r, "h", []byte("payload"))
			if got := natsmux.CodeOf(err); got != tt.wantCode {
				t.Fatalf("code %d (%v), want %d", got, err, tt.wantCode)
			}
			if tt.wantPanic == nil {
				return
			}
			var e *natsmux.Error
			var perr *micro.PanicError
			if resp != nil || !errors.As(err, &e) || !errors.As(err, &perr) {
				t.Fatalf("got %v, %v; want a *natsmux.Error caused by a *micro.PanicError", resp, err)
			}
			if e.Description != "internal error" || e.Data != nil {
				t.Errorf("caller sees %q %q, want only \"internal error\"", e.Description, e.Data)
			}
			if perr.Value != tt.wantPanic || !strings.Contains(string(perr.Stack), "middleware_test.TestRecover") {
				t.Errorf("panic %v with stack\n%s", perr.Value, perr.Stack)
			}
		})
	}
}

// TestAbortPassesThrough: every middleware lets natsmux.ErrAbortHandler go
// on up, so that the adapter ends the request without a reply or a log.
func TestAbortPassesThrough(t *testing.T) {
	tests := []struct {
		name string
		mw   natsmux.Middleware
	}{
		{"Recover", middleware.Recover()},
		{"Timeout", middleware.Timeout(time.Minute)},
		{"RequestID", middleware.RequestID()},
		{"Logger", middleware.Logger(middleware.WithLogger(slog.New(slog.DiscardHandler)))},
		{"Limit", middleware.Limit(1)},
		{"Metrics", middleware.Metrics()},
		{"Tracing", middleware.Tracing()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.mw(natsmux.HandlerFunc(func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
				panic(natsmux.ErrAbortHandler)
			}))
			defer func() {
				if v := recover(); v != natsmux.ErrAbortHandler { //nolint:errorlint // the sentinel is panicked
					t.Errorf("panic %v, want natsmux.ErrAbortHandler", v)
				}
			}()
			_, _ = h.ServeNATS(context.Background(), natsmux.NewRequest("h", nil))
			t.Error("no panic")
		})
	}
}
