package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestWalkthrough runs the service as main does, against a test server,
// and checks what the seed's walkthrough shows: the echo, and the service
// in PING, INFO and STATS.
func TestWalkthrough(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, []app.Service{service()}, app.WithConn(app.ConnOptions{URL: srv.URL}),
			app.WithLogger(slog.New(slog.DiscardHandler)))
	}()
	microtest.Eventually(t, microtest.DefaultTimeout, func() bool {
		_, err := nc.Request("demo.ECHO", nil, microtest.DefaultTimeout)
		return err == nil
	}, "demo.ECHO answers")

	for _, payload := range []string{"Hello, world!", "", "second"} {
		if reply := microtest.Request(t, nc, "demo.ECHO", []byte(payload)); string(reply.Data) != payload {
			t.Errorf("echo of %q: %q", payload, reply.Data)
		}
	}

	infos, err := micro.DiscoverInfo(ctx, nc)
	if err != nil || len(infos) != 1 {
		t.Fatalf("INFO: %v, %v", infos, err)
	}
	info := infos[0]
	want := micro.Info{
		ServiceIdentity: micro.ServiceIdentity{Name: "demo-service", ID: info.ID, Version: "1.0.0", Metadata: map[string]string{}},
		Type:            micro.InfoResponseType,
		Description:     "Demo service",
		Endpoints:       []micro.EndpointInfo{{Name: "echo", Subject: "demo.ECHO", QueueGroup: "q"}},
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("INFO (-want +got):\n%s", diff)
	}
	stats, err := micro.DiscoverStats(ctx, nc, micro.WithDiscoveryService("demo-service"))
	if err != nil || len(stats) != 1 {
		t.Fatalf("STATS: %v, %v", stats, err)
	}
	// The readiness probe counts too.
	if ep := stats[0].Endpoints[0]; ep.NumRequests != 4 || ep.NumErrors != 0 {
		t.Errorf("STATS: %d requests, %d errors; want 4, 0", ep.NumRequests, ep.NumErrors)
	}

	cancel()
	if err := microtest.Receive(t, done, microtest.DefaultTimeout); err != nil {
		t.Errorf("Run: %v", err)
	}
}
