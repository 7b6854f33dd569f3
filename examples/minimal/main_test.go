package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestEcho is the test that docs/getting-started.md shows.
func TestEcho(t *testing.T) {
	nc := microtest.NewServer(t).Connect(t)
	microtest.Serve(t, nc, service())

	reply := microtest.Request(t, nc, "demo.ECHO", []byte("Hello, world!"))
	if string(reply.Data) != "Hello, world!" {
		t.Fatalf("got %q", reply.Data)
	}
}

// TestWalkthrough serves the service, as main does, on a test server, and
// checks what the seed's walkthrough shows: the echo, and the service in
// PING, INFO and STATS.
func TestWalkthrough(t *testing.T) {
	nc := microtest.NewServer(t).Connect(t)
	microtest.Serve(t, nc, service())

	for _, payload := range []string{"Hello, world!", "", "second"} {
		if reply := microtest.Request(t, nc, "demo.ECHO", []byte(payload)); string(reply.Data) != payload {
			t.Errorf("echo of %q: %q", payload, reply.Data)
		}
	}

	ctx := context.Background()
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
	stats := microtest.DiscoverSettledStats(t, nc, "demo-service", 3)
	if len(stats) != 1 {
		t.Fatalf("STATS of %d instances, want 1", len(stats))
	}
	if ep := stats[0].Endpoints[0]; ep.NumRequests != 3 || ep.NumErrors != 0 {
		t.Errorf("STATS: %d requests, %d errors; want 3, 0", ep.NumRequests, ep.NumErrors)
	}
}
