// Package exampletest runs an example's services in its test as its main
// function does, through the app runner, against a test server.
package exampletest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// Start runs services with app.Run on srv until the test ends, and returns
// once every one of them serves all its endpoints. The test fails if Run
// returns an error.
func Start(t *testing.T, srv *microtest.Server, services ...app.Service) {
	t.Helper()
	ready := make(chan micro.Service, len(services))
	for i := range services {
		services[i].Options = append(services[i].Options, natsmux.WithOnStart(func(svc micro.Service) { ready <- svc }))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, services, app.WithConn(app.ConnOptions{URL: srv.URL}), app.WithLogger(slog.New(slog.DiscardHandler)))
	}()
	t.Cleanup(func() {
		cancel()
		if err := testutil.Receive(t, done, microtest.DefaultTimeout); err != nil {
			t.Errorf("app.Run: %v", err)
		}
	})
	for range services {
		testutil.Receive(t, ready, microtest.DefaultTimeout)
	}
}
