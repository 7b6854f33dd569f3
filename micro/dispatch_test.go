package micro_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// gauge tracks how many handler calls run at once and the most seen.
type gauge struct {
	now, peak atomic.Int64
}

func (g *gauge) enter() {
	n := g.now.Add(1)
	for {
		peak := g.peak.Load()
		if n <= peak || g.peak.CompareAndSwap(peak, n) {
			return
		}
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

// requestAll sends n requests at once and returns their replies' errors.
func requestAll(t *testing.T, nc *nats.Conn, subject string, n int, timeout time.Duration) []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			reply, err := nc.Request(subject, fmt.Appendf(nil, "%d", i), timeout)
			if err == nil {
				err = micro.ResponseError(reply)
			}
			if err == nil && string(reply.Data) != fmt.Sprint(i) {
				err = fmt.Errorf("reply %q to request %d", reply.Data, i)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errs
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentDispatch: 50 requests to a 100ms handler. With the default
// limit they all run at once (a barrier opens only when all 50 are inside
// the handler); with limit 1 they run one by one, so the batch takes at
// least 50 handler times.
func TestConcurrentDispatch(t *testing.T) {
	const n, handlerTime = 50, 100 * time.Millisecond
	tests := []struct {
		name     string
		opts     []micro.EndpointOpt
		wantPeak int64
	}{
		{"default limit", nil, n},
		{"limit 1", []micro.EndpointOpt{micro.WithEndpointMaxConcurrency(1)}, 1},
		{"limit 10", []micro.EndpointOpt{micro.WithEndpointMaxConcurrency(10)}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := microtest.NewServer(t)
			svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "conc", Version: "1.0.0"})
			var g gauge
			all := make(chan struct{})
			var once sync.Once
			mustAdd(t, svc.AddEndpoint("work", micro.HandlerFunc(func(r micro.Request) {
				g.enter()
				defer g.leave()
				if g.now.Load() == tt.wantPeak {
					once.Do(func() { close(all) })
				}
				if tt.wantPeak == n {
					<-all // only opens once every request is in flight
				}
				time.Sleep(handlerTime)
				_ = r.Respond(r.Data())
			}), tt.opts...))

			start := time.Now()
			noErrors(t, requestAll(t, srv.Connect(t), "work", n, time.Minute))
			elapsed := time.Since(start)
			t.Logf("%d requests of %s took %s", n, handlerTime, elapsed)
			if g.peak.Load() != tt.wantPeak {
				t.Errorf("peak concurrency %d, want %d", g.peak.Load(), tt.wantPeak)
			}
			if minimum := handlerTime * n / time.Duration(tt.wantPeak); elapsed < minimum {
				t.Errorf("took %s, less than the %s the limit allows", elapsed, minimum)
			}
			if s := microtest.SettledStats(t, svc, n).Endpoints[0]; s.NumRequests != n || s.NumErrors != 0 || s.ProcessingTime < handlerTime*n {
				t.Errorf("stats: %+v", s)
			}
		})
	}
}

// TestConcurrencyLimitInheritance: an endpoint's limit comes from its own
// option, else its group's, else the service's, else the default. Stats
// handlers see it in Endpoint.MaxConcurrency.
func TestConcurrencyLimitInheritance(t *testing.T) {
	srv := microtest.NewServer(t)
	limitOf := func(e *micro.Endpoint) any { return e.MaxConcurrency }
	svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "lim", Version: "1.0.0", MaxConcurrency: 3, StatsHandler: limitOf,
		Endpoint: &micro.EndpointConfig{Subject: "base", Handler: echo, MaxConcurrency: 2}})
	mustAdd(t, svc.AddEndpoint("svc-level", echo))
	g := svc.AddGroup("g", micro.WithGroupMaxConcurrency(5))
	mustAdd(t, g.AddEndpoint("group-level", echo))
	mustAdd(t, g.AddGroup("sub").AddEndpoint("nested", echo))
	mustAdd(t, g.AddEndpoint("own", echo, micro.WithEndpointMaxConcurrency(7)))
	plain := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "lim-default", Version: "1.0.0", StatsHandler: limitOf})
	mustAdd(t, plain.AddEndpoint("default", echo))

	got := map[string]int{}
	for _, s := range []micro.Service{svc, plain} {
		for _, e := range s.Stats().Endpoints {
			got[e.Subject] = atoi(t, string(e.Data))
		}
	}
	want := map[string]int{"base": 2, "svc-level": 3, "g.group-level": 5, "g.sub.nested": 5, "g.own": 7,
		"default": micro.DefaultMaxConcurrency}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("limits by subject (-want +got):\n%s", diff)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

// TestStatsExact: concurrent successes and errors are all counted.
func TestStatsExact(t *testing.T) {
	srv := microtest.NewServer(t)
	svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "exact", Version: "1.0.0"})
	mustAdd(t, svc.AddEndpoint("mixed", micro.HandlerFunc(func(r micro.Request) {
		time.Sleep(time.Millisecond) // long enough to run concurrently
		if strings.HasSuffix(string(r.Data()), "7") {
			_ = r.Error("418", "teapot", nil)
			return
		}
		_ = r.Respond(r.Data())
	})))
	const n = 400
	errs := requestAll(t, srv.Connect(t), "mixed", n, time.Minute)
	failed := 0
	for _, err := range errs {
		var se *micro.ServiceError
		switch {
		case errors.As(err, &se) && se.Code == 418:
			failed++
		case err != nil:
			t.Fatal(err)
		}
	}
	s := microtest.SettledStats(t, svc, n).Endpoints[0]
	if s.NumRequests != n || s.NumErrors != failed || failed != 40 || s.LastError != "418:teapot" {
		t.Errorf("stats %+v; %d error replies", s, failed)
	}
	if s.AverageProcessingTime != s.ProcessingTime/time.Duration(n) || s.AverageProcessingTime < time.Millisecond {
		t.Errorf("average %s of total %s over %d", s.AverageProcessingTime, s.ProcessingTime, n)
	}
}

func TestHandlerPanic(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	reported := make(chan *micro.NATSError, 10)
	svc := microtest.AddService(t, nc, micro.Config{Name: "panic", Version: "1.0.0",
		ErrorHandler: func(_ micro.Service, err *micro.NATSError) { reported <- err }})
	mustAdd(t, svc.AddEndpoint("boom", micro.HandlerFunc(func(r micro.Request) {
		if string(r.Data()) == "after reply" {
			_ = r.Respond([]byte("answered"))
		}
		if string(r.Data()) != "fine" {
			panic("secret internal detail")
		}
		_ = r.Respond([]byte("ok"))
	}), micro.WithEndpointMaxConcurrency(1)))

	tests := []struct {
		payload   string
		wantData  string
		wantError string
	}{
		{"explode", "", "service error 500: internal error"},
		{"fine", "ok", ""},
		{"after reply", "answered", ""},
		{"explode again", "", "service error 500: internal error"},
	}
	for _, tt := range tests {
		reply := microtest.Request(t, nc, "boom", []byte(tt.payload))
		errText := ""
		if err := micro.ResponseError(reply); err != nil {
			errText = err.Error()
		}
		if errText != tt.wantError || string(reply.Data) != tt.wantData {
			t.Errorf("%s: reply %q, error %q; want %q, %q", tt.payload, reply.Data, errText, tt.wantData, tt.wantError)
		}
		if strings.Contains(string(reply.Data)+fmt.Sprint(reply.Header), "secret") {
			t.Errorf("%s: the panic value leaked to the caller: %v", tt.payload, reply.Header)
		}
	}
	for range 3 {
		nerr := testutil.Receive(t, reported, microtest.DefaultTimeout)
		var perr *micro.PanicError
		if !errors.As(nerr, &perr) || perr.Value != "secret internal detail" || !strings.Contains(string(perr.Stack), "dispatch_test.go") {
			t.Errorf("reported %v (%#v)", nerr, perr)
		}
	}
	s := microtest.SettledStats(t, svc, 4).Endpoints[0]
	if s.NumRequests != 4 || s.NumErrors != 3 || s.LastError != "500:internal error" {
		t.Errorf("stats after panics: %+v", s)
	}
}

func TestStatsHandlerPanicAndSlowness(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	release := make(chan struct{})
	inStats := make(chan struct{}, 1)
	svc := microtest.AddService(t, nc, micro.Config{Name: "sh", Version: "1.0.0", ErrorHandler: func(micro.Service, *micro.NATSError) {},
		StatsHandler: func(e *micro.Endpoint) any {
			switch e.Name {
			case "bad":
				panic("stats handler bug")
			case "slow":
				inStats <- struct{}{}
				<-release
			}
			return e.Name
		}})
	mustAdd(t, svc.AddEndpoint("bad", echo))
	mustAdd(t, svc.AddEndpoint("ok", echo))

	stats := request[micro.Stats](t, nc, "$SRV.STATS.sh")
	// The panicking handler's endpoint keeps only the load stats; a string
	// is no object to merge them into.
	if _, ok := stats.Endpoints[0].LoadStats(); !ok || strings.Contains(string(stats.Endpoints[0].Data), "bad") ||
		string(stats.Endpoints[1].Data) != `"ok"` {
		t.Errorf("STATS with a panicking handler: %s / %s", stats.Endpoints[0].Data, stats.Endpoints[1].Data)
	}

	// While a STATS request is stuck in a slow StatsHandler, requests flow.
	mustAdd(t, svc.AddEndpoint("slow", echo))
	statsDone := make(chan error, 1)
	go func() {
		_, err := nc.Request("$SRV.STATS.sh", nil, microtest.DefaultTimeout)
		statsDone <- err
	}()
	testutil.Receive(t, inStats, microtest.DefaultTimeout)
	for _, subject := range []string{"ok", "slow", "bad"} {
		microtest.Request(t, nc, subject, nil)
	}
	close(release)
	if err := testutil.Receive(t, statsDone, microtest.DefaultTimeout); err != nil {
		t.Fatal(err)
	}
}

// TestBlockedCallHandsOff: on a fast endpoint, one call that blocks does not
// hold up the requests behind it; the watchdog makes a new leader.
func TestBlockedCallHandsOff(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "handoff", Version: "1.0.0"})
	unblock := make(chan struct{})
	mustAdd(t, svc.AddEndpoint("e", micro.HandlerFunc(func(r micro.Request) {
		if string(r.Data()) == "block" {
			<-unblock
		}
		_ = r.Respond(r.Data())
	})))
	// Warm up with fast calls, so the endpoint runs handlers inline.
	noErrors(t, requestAll(t, nc, "e", 100, microtest.DefaultTimeout))
	blocked := make(chan *nats.Msg, 1)
	go func() {
		reply, _ := nc.Request("e", []byte("block"), microtest.DefaultTimeout)
		blocked <- reply
	}()
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return svc.Stats().Endpoints[0].NumRequests == 100 }, "warm-up counted")
	noErrors(t, requestAll(t, nc, "e", 100, microtest.DefaultTimeout))
	close(unblock)
	if reply := testutil.Receive(t, blocked, microtest.DefaultTimeout); reply == nil || string(reply.Data) != "block" {
		t.Errorf("blocked request: %v", reply)
	}
}

// TestShutdownDrainsInFlight: 1000 requests in flight when Shutdown starts
// are all answered; none is lost.
func TestShutdownDrainsInFlight(t *testing.T) {
	srv := microtest.NewServer(t)
	svc, err := micro.AddService(srv.Connect(t), micro.Config{Name: "drain", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var entered atomic.Int64
	gate := make(chan struct{})
	mustAdd(t, svc.AddEndpoint("slow", micro.HandlerFunc(func(r micro.Request) {
		if entered.Add(1) == micro.DefaultMaxConcurrency {
			close(gate)
		}
		<-gate
		time.Sleep(time.Millisecond)
		_ = r.Respond(r.Data())
	})))
	client := srv.Connect(t)
	errs := make(chan []error, 1)
	go func() { errs <- requestAll(t, client, "slow", n, time.Minute) }()
	// Shut down once the handlers are full and the rest wait in the
	// subscription: everything already delivered must still be answered.
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		return entered.Load() >= micro.DefaultMaxConcurrency
	}, "handlers busy")
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		in, _ := srv.Varz(nil)
		return in != nil && in.InMsgs >= n
	}, "all requests reached the server")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	noErrors(t, testutil.Receive(t, errs, time.Minute))
	if got := entered.Load(); got != n {
		t.Errorf("%d handler calls, want %d", got, n)
	}
	testutil.Closed(t, svc.Done(), microtest.DefaultTimeout, "service")
}

// TestShutdownHandsOver: once Shutdown returns, the server has taken the
// unsubscribe, so an instance replacing this one in its queue group gets
// every request published after, even when the old connection closes at
// once. (After Stop, which returns before the server has it, about one
// round in two hundred loses its request to the closed connection.)
func TestShutdownHandsOver(t *testing.T) {
	srv := microtest.NewServer(t)
	for round := range 400 {
		nc := srv.Connect(t)
		svc, err := micro.AddService(nc, micro.Config{Name: "rolling", Version: "1.0.0"})
		if err != nil {
			t.Fatal(err)
		}
		mustAdd(t, svc.AddEndpoint("echo", micro.HandlerFunc(func(r micro.Request) { _ = r.Respond(r.Data()) })))
		if _, err := nc.Request("echo", nil, microtest.DefaultTimeout); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := svc.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		nc.Close()
	}
}

// TestShutdownDeadlineCancelsContexts: a handler that outlives Shutdown's
// deadline sees its context cancelled; Done fires once it returns.
func TestShutdownDeadlineCancelsContexts(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	doneHandler := make(chan struct{})
	svc, err := micro.AddService(nc, micro.Config{Name: "deadline", Version: "1.0.0",
		DoneHandler: func(micro.Service) { close(doneHandler) }})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	cause := make(chan error, 1)
	mustAdd(t, svc.AddEndpoint("stuck", micro.HandlerFunc(func(r micro.Request) {
		close(started)
		<-r.Context().Done()
		cause <- r.Context().Err()
		_ = r.Error("503", "shutting down", nil)
	})))
	reply := make(chan *nats.Msg, 1)
	go func() {
		m, _ := nc.Request("stuck", nil, microtest.DefaultTimeout)
		reply <- m
	}()
	testutil.Closed(t, started, microtest.DefaultTimeout, "handler start")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = svc.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown past its deadline: %v", err)
	}
	if err := testutil.Receive(t, cause, microtest.DefaultTimeout); !errors.Is(err, context.Canceled) {
		t.Errorf("handler context: %v", err)
	}
	if m := testutil.Receive(t, reply, microtest.DefaultTimeout); m == nil || m.Header.Get(micro.ErrorCodeHeader) != "503" {
		t.Errorf("reply of the cancelled handler: %v", m)
	}
	testutil.Closed(t, doneHandler, microtest.DefaultTimeout, "DoneHandler")
	testutil.Closed(t, svc.Done(), microtest.DefaultTimeout, "service")
}

func TestRequestContextDeadline(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "ctx", Version: "1.0.0"})
	type seen struct {
		deadline time.Time
		ok       bool
	}
	got := make(chan seen, 1)
	mustAdd(t, svc.AddEndpoint("d", micro.HandlerFunc(func(r micro.Request) {
		d, ok := r.Context().Deadline()
		got <- seen{d, ok}
		_ = r.Respond(nil)
	})))
	tests := []struct {
		header string
		want   time.Duration // 0: no deadline
	}{
		{"", 0},
		{"1500ms", 1500 * time.Millisecond},
		{"2s", 2 * time.Second},
		{"750", 750 * time.Millisecond},
		{"-1s", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		msg := nats.NewMsg("d")
		if tt.header != "" {
			msg.Header.Set(micro.TimeoutHeader, tt.header)
		}
		before := time.Now()
		microtest.RequestMsg(t, nc, msg)
		s := testutil.Receive(t, got, microtest.DefaultTimeout)
		if tt.want == 0 {
			if s.ok {
				t.Errorf("%q: deadline %v, want none", tt.header, s.deadline)
			}
			continue
		}
		if !s.ok || s.deadline.Before(before.Add(tt.want)) || s.deadline.After(time.Now().Add(tt.want)) {
			t.Errorf("%q: deadline %v (ok %v), want about %s from the request", tt.header, s.deadline, s.ok, tt.want)
		}
	}
	// An expired deadline cancels the context while the handler runs.
	expired := make(chan error, 1)
	mustAdd(t, svc.AddEndpoint("expire", micro.HandlerFunc(func(r micro.Request) {
		<-r.Context().Done()
		expired <- r.Context().Err()
		_ = r.Error("504", "timeout", nil)
	})))
	msg := nats.NewMsg("expire")
	msg.Header.Set(micro.TimeoutHeader, "20ms")
	microtest.RequestMsg(t, nc, msg)
	if err := testutil.Receive(t, expired, microtest.DefaultTimeout); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context after the caller's timeout: %v", err)
	}
}

func TestPendingLimitsSlowConsumer(t *testing.T) {
	srv := microtest.NewServer(t)
	connErrors := make(chan error, 100)
	nc := srv.Connect(t, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { connErrors <- err }))
	reported := make(chan *micro.NATSError, 100)
	svc := microtest.AddService(t, nc, micro.Config{Name: "pending", Version: "1.0.0",
		ErrorHandler: func(_ micro.Service, err *micro.NATSError) { reported <- err }})
	gate := make(chan struct{})
	var handled atomic.Int64
	mustAdd(t, svc.AddEndpoint("limited", micro.HandlerFunc(func(r micro.Request) {
		<-gate
		handled.Add(1)
	}), micro.WithEndpointMaxConcurrency(1), micro.WithEndpointPendingLimits(5, -1)))

	publisher := srv.Connect(t)
	for i := range 50 {
		if err := publisher.Publish("limited", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := publisher.Flush(); err != nil {
		t.Fatal(err)
	}
	nerr := testutil.Receive(t, reported, microtest.DefaultTimeout)
	if !errors.Is(nerr, nats.ErrSlowConsumer) || nerr.Subject != "limited" {
		t.Errorf("reported %v", nerr)
	}
	// The connection's own error handler still hears of it.
	if err := testutil.Receive(t, connErrors, microtest.DefaultTimeout); !errors.Is(err, nats.ErrSlowConsumer) {
		t.Errorf("connection error handler got %v", err)
	}
	close(gate)
	// The service keeps running: a new request is answered once the backlog
	// clears.
	mustAdd(t, svc.AddEndpoint("alive", echo))
	microtest.Request(t, nc, "alive", nil)
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		s := svc.Stats().Endpoints[0]
		return s.NumRequests == int(handled.Load()) && s.NumRequests > 0 && s.NumRequests < 50
	}, "backlog handled")
	s := svc.Stats().Endpoints[0]
	if s.NumErrors == 0 || s.LastError != nats.ErrSlowConsumer.Error() {
		t.Errorf("stats after a slow consumer: %+v", s)
	}
	t.Logf("%d of 50 messages handled, the rest dropped by the pending limit", s.NumRequests)
}

func TestRequestWithoutReplySubject(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "noreply", Version: "1.0.0"})
	results := make(chan error, 1)
	mustAdd(t, svc.AddEndpoint("e", micro.HandlerFunc(func(r micro.Request) {
		results <- r.Respond([]byte("nobody listens"))
	})))
	if err := nc.Publish("e", nil); err != nil {
		t.Fatal(err)
	}
	err := testutil.Receive(t, results, microtest.DefaultTimeout)
	if !errors.Is(err, micro.ErrRespond) || !errors.Is(err, nats.ErrMsgNoReply) {
		t.Errorf("Respond without reply subject: %v", err)
	}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return svc.Stats().Endpoints[0].NumErrors == 1 }, "error counted")
}

func TestErrorArguments(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "args", Version: "1.0.0"})
	results := make(chan error, 3)
	mustAdd(t, svc.AddEndpoint("e", micro.HandlerFunc(func(r micro.Request) {
		results <- r.Error("", "desc", nil)
		results <- r.Error("500", "", nil)
		results <- r.RespondJSON(make(chan int))
		_ = r.Error("400", "bad input", []byte(`{"field":"x"}`), micro.WithHeaders(micro.Headers{"X-Extra": {"1"}}))
	})))
	reply := microtest.Request(t, nc, "e", nil)
	for _, want := range []error{micro.ErrArgRequired, micro.ErrArgRequired, micro.ErrMarshalResponse} {
		if err := testutil.Receive(t, results, microtest.DefaultTimeout); !errors.Is(err, want) {
			t.Errorf("got %v, want %v", err, want)
		}
	}
	var se *micro.ServiceError
	if err := micro.ResponseError(reply); !errors.As(err, &se) || se.Code != 400 || se.Description != "bad input" ||
		string(se.Data) != `{"field":"x"}` || reply.Header.Get("X-Extra") != "1" {
		t.Errorf("error reply: %v %v %q", err, reply.Header, reply.Data)
	}
}

func TestRespondMsg(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "msg", Version: "1.0.0"})
	mustAdd(t, svc.AddEndpoint("e", micro.HandlerFunc(func(r micro.Request) {
		_ = r.RespondMsg(&nats.Msg{Subject: "ignored", Data: r.Data(), Header: nats.Header{"X-Kind": {"msg"}}})
	})))
	reply := microtest.Request(t, nc, "e", []byte("payload"))
	if string(reply.Data) != "payload" || reply.Header.Get("X-Kind") != "msg" {
		t.Errorf("reply %q, headers %v", reply.Data, reply.Header)
	}
	if err := nc.Publish("e", nil); err != nil {
		t.Fatal(err)
	}
	if s := microtest.SettledStats(t, svc, 2).Endpoints[0]; s.NumErrors != 1 || !strings.Contains(s.LastError, "message does not have a reply") {
		t.Errorf("stats after a RespondMsg without reply subject: %+v", s)
	}
}
