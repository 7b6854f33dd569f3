package middleware_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/middleware"
)

// tag is middleware that marks replies it wraps, to show where it applied.
func tag(next natsmux.Handler) natsmux.Handler {
	return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		resp, err := next.ServeNATS(ctx, req)
		if resp != nil {
			resp.Data = append([]byte("tagged "), resp.Data...)
		}
		return resp, err
	})
}

func TestMaybe(t *testing.T) {
	var endpointCalls atomic.Int32
	isAdmin := func(ep *natsmux.Endpoint) bool {
		endpointCalls.Add(1)
		return ep.Metadata["admin"] == "true"
	}
	tests := []struct {
		name          string
		mw            natsmux.Middleware
		want          map[string]string // subject -> reply
		wantDecisions int32             // calls of the endpoint predicate
	}{
		{"request predicate", middleware.Maybe(tag, func(req *natsmux.Request) bool { return strings.HasSuffix(req.Subject, ".debug") }),
			map[string]string{"public.debug": "tagged public.debug", "public.x": "public.x", "admin.x": "admin.x"}, 0},
		{"endpoint predicate", middleware.MaybeEndpoint(tag, isAdmin),
			map[string]string{"public.debug": "public.debug", "public.x": "public.x", "admin.x": "tagged admin.x"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpointCalls.Store(0)
			r := natsmux.NewRouter()
			r.Use(tt.mw)
			r.HandleFunc("public", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
				return natsmux.Reply([]byte(req.Subject)), nil
			}, natsmux.WithSubject("public.*"))
			r.HandleFunc("admin", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
				return natsmux.Reply([]byte(req.Subject)), nil
			}, natsmux.WithSubject("admin.*"), natsmux.WithMetadata(map[string]string{"admin": "true"}))
			// Concurrent first requests, so that an endpoint decided twice would show.
			var wg sync.WaitGroup
			for range 4 {
				for subject, want := range tt.want {
					wg.Go(func() {
						_, resp, err := serveMemory(r, subject, nil)
						if err != nil || string(resp.Data) != want {
							t.Errorf("%s: %q, %v; want %q", subject, resp.Data, err, want)
						}
					})
				}
			}
			wg.Wait()
			if n := endpointCalls.Load(); n != tt.wantDecisions {
				t.Errorf("endpoint predicate called %d times, want %d", n, tt.wantDecisions)
			}
		})
	}
}
