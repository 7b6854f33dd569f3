package compat_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/internal/compat"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestServiceCore plays the suite's tester against Serve: the checks are
// those the fixes made by other clients to pass the suite reveal.
func TestServiceCore(t *testing.T) {
	srv := microtest.NewServer(t)
	harness := srv.Connect(t)
	tester := srv.Connect(t)

	ctx, cancel := context.WithTimeout(context.Background(), microtest.DefaultTimeout)
	defer cancel()
	result := make(chan error, 1)
	base := srv.NumSubscriptions()
	go func() { result <- compat.Serve(ctx, harness) }()
	waitSubscribed(t, srv, base)

	cmd, _ := json.Marshal(compat.Command{Suite: "service", Test: "core", Command: "start", Config: compat.Canonical()})
	microtest.Request(t, tester, "tests.service.core.start.command", cmd)

	checkDiscovery(t, tester)
	checkEndpoints(t, tester)
	checkStats(t, tester)

	microtest.Request(t, tester, "tests.service.core.destroy.command", nil)
	if _, err := tester.Request("$SRV.PING.demo", nil, time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("PING after destroy: got %v, want no responders", err)
	}
	if err := tester.Publish("tests.service.core.pass.result", nil); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Receive(t, result, microtest.DefaultTimeout); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

func TestServiceCoreFailResult(t *testing.T) {
	srv := microtest.NewServer(t)
	harness := srv.Connect(t)
	tester := srv.Connect(t)
	result := make(chan error, 1)
	base := srv.NumSubscriptions()
	go func() { result <- compat.Serve(context.Background(), harness) }()
	waitSubscribed(t, srv, base)
	if err := tester.Publish("tests.service.core.fail.result", []byte("stats mismatch")); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Receive(t, result, microtest.DefaultTimeout); !errors.Is(err, compat.ErrFailed) {
		t.Fatalf("Serve after a fail result: got %v, want ErrFailed", err)
	}
}

func checkDiscovery(t *testing.T, nc *nats.Conn) {
	t.Helper()
	pings := request[micro.Ping](t, nc, "$SRV.PING")
	id := pings.ID
	for _, subject := range []string{"$SRV.PING", "$SRV.PING.demo", "$SRV.PING.demo." + id} {
		p := request[micro.Ping](t, nc, subject)
		want := micro.Ping{Type: micro.PingResponseType, ServiceIdentity: micro.ServiceIdentity{
			Name: "demo", ID: id, Version: "1.0.0", Metadata: map[string]string{"workload": "cpu"}}}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("%s (-want +got):\n%s", subject, diff)
		}
	}
	info := request[micro.Info](t, nc, "$SRV.INFO.demo."+id)
	want := []micro.EndpointInfo{
		{Name: "demo-default-queue", Subject: "demo.default", QueueGroup: "q", Metadata: map[string]string{"key": "value"}},
		{Name: "demo-custom-queue", Subject: "demo.default", QueueGroup: "endpoint-group"},
		{Name: "g1-parent-queue", Subject: "g1.parent.queue", QueueGroup: "q"},
		{Name: "g1-custom-queue", Subject: "g1.custom.queue", QueueGroup: "endpoint-group"},
		{Name: "g2-parent-queue", Subject: "g2.parent.queue", QueueGroup: "group-queue"},
		{Name: "g2-custom-queue", Subject: "g2.custom.queue", QueueGroup: "endpoint-group"},
		{Name: "faulty", Subject: "faulty", QueueGroup: "q"},
	}
	if diff := cmp.Diff(want, info.Endpoints); diff != "" {
		t.Errorf("INFO endpoints (-want +got):\n%s", diff)
	}
	if info.Description != "demo service" || info.Type != micro.InfoResponseType {
		t.Errorf("INFO: description %q type %q", info.Description, info.Type)
	}
}

func checkEndpoints(t *testing.T, nc *nats.Conn) {
	t.Helper()
	for _, subject := range []string{"demo.default", "g1.parent.queue", "g1.custom.queue", "g2.parent.queue", "g2.custom.queue"} {
		reply := microtest.Request(t, nc, subject, []byte("ping "+subject))
		if string(reply.Data) != "ping "+subject || micro.ResponseError(reply) != nil {
			t.Errorf("%s: echo got %q, error %v", subject, reply.Data, micro.ResponseError(reply))
		}
	}
	reply := microtest.Request(t, nc, "faulty", []byte("x"))
	if got := reply.Header.Get(micro.ErrorHeader); got != "handler error" {
		t.Errorf("faulty: %s = %q", micro.ErrorHeader, got)
	}
	if got := reply.Header.Get(micro.ErrorCodeHeader); got != "500" {
		t.Errorf("faulty: %s = %q", micro.ErrorCodeHeader, got)
	}
}

func checkStats(t *testing.T, nc *nats.Conn) {
	t.Helper()
	// demo.default has two endpoints in different queue groups: both answer,
	// and the second may still be counting when the first reply arrives.
	var stats micro.Stats
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		stats = request[micro.Stats](t, nc, "$SRV.STATS.demo")
		total := 0
		for _, e := range stats.Endpoints {
			total += e.NumRequests
		}
		return total == 7
	}, "7 requests counted over all endpoints")
	if stats.Started.Location() != time.UTC || stats.Started.IsZero() {
		t.Errorf("started %v is not a UTC time", stats.Started)
	}
	for _, e := range stats.Endpoints {
		if string(e.Data) != `{"endpoint":"`+e.Name+`"}` {
			t.Errorf("%s: data %s", e.Name, e.Data)
		}
		wantErrors, wantLast := 0, ""
		if e.Name == compat.FaultyEndpoint {
			wantErrors, wantLast = 1, "500:handler error"
		}
		if e.NumErrors != wantErrors || e.LastError != wantLast {
			t.Errorf("%s: num_errors %d last_error %q, want %d %q", e.Name, e.NumErrors, e.LastError, wantErrors, wantLast)
		}
	}
}

func request[T any](t *testing.T, nc *nats.Conn, subject string) T {
	t.Helper()
	var v T
	reply := microtest.Request(t, nc, subject, nil)
	if err := json.Unmarshal(reply.Data, &v); err != nil {
		t.Fatalf("%s: %v in %s", subject, err, reply.Data)
	}
	return v
}

// waitSubscribed waits until the harness's two subscriptions show on the
// server, so that the tester's first message is not lost.
func waitSubscribed(t *testing.T, srv *microtest.Server, base uint32) {
	t.Helper()
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		return srv.NumSubscriptions() >= base+2
	}, "harness subscribed")
}
