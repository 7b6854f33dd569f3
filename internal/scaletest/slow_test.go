package scaletest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// TestSlowConsumer fills the pending buffer of an endpoint that handles one
// request at a time while its handler is blocked: NATS drops what does not
// fit, the endpoint counts a slow consumer error, the service's ErrorHandler
// hears of it, and the service keeps serving, that endpoint included.
func TestSlowConsumer(t *testing.T) {
	const pendingLimit, burst = 8, 100
	srv := microtest.NewServer(t)
	asyncErrs := make(chan *micro.NATSError, 16)
	cfg := micro.Config{Name: "slow", Version: "1.0.0", ErrorHandler: serviceErrorsTo(asyncErrs)}

	blocked, release := make(chan struct{}, 1), make(chan struct{})
	r := natsmux.NewRouter()
	r.HandleFunc("block", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		select {
		case blocked <- struct{}{}:
			<-release // only the first request blocks
		default:
		}
		return natsmux.Reply(req.Data), nil
	}, natsmux.WithSubject("slow.block"), natsmux.WithMaxConcurrency(1), natsmux.WithPendingLimits(pendingLimit, -1))
	r.HandleFunc("other", echo, natsmux.WithSubject("slow.other"))
	// nats.go's default error handler would print the slow consumer report;
	// the service passes it on to the connection's handler after its own.
	quiet := nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	svc := mount(t, srv.Connect(t, quiet), cfg, r)

	caller := srv.Connect(t)
	replies, err := caller.SubscribeSync(nats.NewInbox())
	if err != nil {
		t.Fatal(err)
	}
	send := func() {
		if err := caller.PublishRequest("slow.block", replies.Subject, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	send()
	testutil.Receive(t, blocked, microtest.DefaultTimeout)
	for range burst {
		send()
	}
	if err := caller.Flush(); err != nil {
		t.Fatal(err)
	}

	report := testutil.Receive(t, asyncErrs, microtest.DefaultTimeout)
	if report.Subject != "slow.block" || !errors.Is(report, nats.ErrSlowConsumer) {
		t.Errorf("ErrorHandler got %v, want a slow consumer on slow.block", report)
	}
	// While the endpoint is stuck, the rest of the service answers.
	if reply := microtest.Request(t, caller, "slow.other", []byte("hi")); string(reply.Data) != "hi" {
		t.Errorf("other endpoint replied %q", reply.Data)
	}
	close(release)

	// The endpoint answers what it kept, then new requests. One that comes
	// while the buffer is still full is dropped too, so ask again, as a
	// caller that timed out would.
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		reply, err := caller.Request("slow.block", []byte("again"), 100*time.Millisecond)
		return err == nil && string(reply.Data) == "again"
	}, "the released endpoint answers")
	// The endpoint handles requests in arrival order and the server keeps
	// the order of the replies, so every reply to the burst is here now.
	answered, _, err := replies.Pending()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("burst of %d behind a blocked handler with a pending limit of %d: %d answered, %d dropped",
		burst+1, pendingLimit, answered, burst+1-answered)
	if answered < 1 || answered > burst/2 {
		t.Errorf("%d of %d requests answered; want the blocked one and about the pending limit", answered, burst+1)
	}

	// A handler's request is counted just after its reply is sent.
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		return svc.Stats().Endpoints[0].NumRequests >= answered+1
	}, "the %d answered requests and the one after the release counted", answered+1)
	stats := svc.Stats().Endpoints[0]
	t.Logf("stats of slow.block: %d requests, %d errors, last error %q", stats.NumRequests, stats.NumErrors, stats.LastError)
	if stats.NumErrors < 1 || !strings.Contains(stats.LastError, "slow consumer") {
		t.Errorf("stats: %d errors, last error %q; want the slow consumer counted", stats.NumErrors, stats.LastError)
	}
	if svc.Stopped() {
		t.Error("the service stopped")
	}
}
