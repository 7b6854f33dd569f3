package natsmux_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// mountService adds a service, mounts r on it and stops it at cleanup.
func mountService(t *testing.T, nc *nats.Conn, cfg micro.Config, r *natsmux.Router, opts ...natsmux.ServeOption) micro.Service {
	t.Helper()
	svc := microtest.AddService(t, nc, cfg)
	if err := natsmux.Mount(svc, r, opts...); err != nil {
		t.Fatal(err)
	}
	return svc
}

func echo(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	return natsmux.Reply(req.Data), nil
}

// TestInfoShowsTheRouter: group prefixes, queue groups and metadata follow
// ADR-32's inheritance, with the service's configuration at the root.
func TestInfoShowsTheRouter(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	r.HandleFunc("root", echo)
	r.Route("orders", func(r *natsmux.Router) {
		r.HandleFunc("get", echo, natsmux.WithSubject("{id}.get"), natsmux.WithMetadata(map[string]string{"k": "endpoint"}))
		r.HandleFunc("own", echo, natsmux.WithQueueGroup("own-q"))
		r.Route("admin", func(r *natsmux.Router) {
			r.HandleFunc("purge", echo)
			r.HandleFunc("named", echo, natsmux.WithQueueGroup("back"))
		}, natsmux.WithoutQueueGroup())
	}, natsmux.WithQueueGroup("orders-q"), natsmux.WithMetadata(map[string]string{"k": "group", "team": "sales"}))

	svc := mountService(t, nc, micro.Config{Name: "shop", Version: "1.0.0", QueueGroup: "svc-q"}, r)
	info := svc.Info()
	got := make([]micro.EndpointInfo, len(info.Endpoints))
	copy(got, info.Endpoints)
	want := []micro.EndpointInfo{
		{Name: "root", Subject: "root", QueueGroup: "svc-q"},
		{Name: "get", Subject: "orders.*.get", QueueGroup: "orders-q", Metadata: map[string]string{
			"k": "endpoint", "team": "sales", natsmux.TemplateMetadataKey: "orders.{id}.get"}},
		{Name: "own", Subject: "orders.own", QueueGroup: "own-q", Metadata: map[string]string{"k": "group", "team": "sales"}},
		{Name: "purge", Subject: "orders.admin.purge", QueueGroup: "", Metadata: map[string]string{"k": "group", "team": "sales"}},
		{Name: "named", Subject: "orders.admin.named", QueueGroup: "back", Metadata: map[string]string{"k": "group", "team": "sales"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("INFO endpoints (-want +got):\n%s", diff)
	}
	// A service that disables queue groups passes that on, too.
	plain := natsmux.NewRouter()
	plain.HandleFunc("x", echo)
	plainSvc := mountService(t, nc, micro.Config{Name: "plain", Version: "1.0.0", QueueGroupDisabled: true}, plain)
	if qg := plainSvc.Info().Endpoints[0].QueueGroup; qg != "" {
		t.Errorf("queue group on a service without: %q", qg)
	}
	// Before mounting, Endpoints resolves against a default service.
	if eps := r.Endpoints(); eps[0].QueueGroup != "q" || eps[0].Service != "" {
		t.Errorf("unmounted endpoint: %+v", eps[0])
	}
	if reply := microtest.Request(t, nc, "orders.42.get", []byte("hi")); string(reply.Data) != "hi" {
		t.Errorf("templated endpoint replied %q", reply.Data)
	}
}

// TestErrorReplies: each kind of error gives its headers and is counted
// with last_error "code:description".
func TestErrorReplies(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	errs := map[string]error{
		"error":    &natsmux.Error{Code: 422, Description: "invalid order", Data: []byte(`{"field":"qty"}`), Header: nats.Header{"X-Hint": {"qty>0"}}},
		"sentinel": natsmux.ErrNotFound,
		"coder":    quotaError{},
		"deadline": context.DeadlineExceeded,
		"plain":    errors.New("db password is hunter2"),
		"nocode":   &natsmux.Error{Description: "no code"},
		"nodesc":   &natsmux.Error{Code: 409},
	}
	for name, err := range errs {
		r.HandleFunc(name, func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, err })
	}
	svc := mountService(t, nc, micro.Config{Name: "errs", Version: "1.0.0"}, r)

	tests := []struct {
		subject  string
		code     string
		desc     string
		data     string
		header   string // X-Hint
		lastErr  string
		internal string // text that must not reach the caller
	}{
		{"error", "422", "invalid order", `{"field":"qty"}`, "qty>0", "422:invalid order", ""},
		{"sentinel", "404", "not found", "", "", "404:not found", ""},
		{"coder", "429", "quota exceeded for plan basic", "", "", "429:quota exceeded for plan basic", ""},
		{"deadline", "504", "timeout", "", "", "504:timeout", ""},
		{"plain", "500", "internal error", "", "", "500:internal error", "hunter2"},
		{"nocode", "500", "no code", "", "", "500:no code", ""},
		{"nodesc", "409", "error 409", "", "", "409:error 409", ""},
	}
	for _, tt := range tests {
		reply := microtest.Request(t, nc, tt.subject, nil)
		h := reply.Header
		if h.Get(micro.ErrorCodeHeader) != tt.code || h.Get(micro.ErrorHeader) != tt.desc || string(reply.Data) != tt.data || h.Get("X-Hint") != tt.header {
			t.Errorf("%s: headers %v data %q", tt.subject, h, reply.Data)
		}
		if tt.internal != "" && strings.Contains(string(reply.Data)+h.Get(micro.ErrorHeader), tt.internal) {
			t.Errorf("%s: internal error text reached the caller", tt.subject)
		}
	}
	stats := map[string]*micro.EndpointStats{}
	for _, e := range microtest.SettledStats(t, svc, len(tests)).Endpoints {
		stats[e.Name] = e
	}
	for _, tt := range tests {
		if s := stats[tt.subject]; s.NumRequests != 1 || s.NumErrors != 1 || s.LastError != tt.lastErr {
			t.Errorf("%s: stats %+v, want last_error %q", tt.subject, s, tt.lastErr)
		}
	}
}

func TestExposingErrorHandler(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	r.HandleFunc("plain", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return nil, errors.New("inventory service is down")
	})
	var seen atomic.Value
	opt := natsmux.WithErrorHandler(func(ctx context.Context, req *natsmux.Request, err error) *natsmux.Error {
		seen.Store(req.Endpoint.Name + ": " + err.Error())
		return natsmux.ExposingErrorHandler(ctx, req, err)
	})
	mountService(t, nc, micro.Config{Name: "expose", Version: "1.0.0"}, r, opt)
	reply := microtest.Request(t, nc, "plain", nil)
	if got := reply.Header.Get(micro.ErrorHeader); got != "inventory service is down" {
		t.Errorf("exposed description %q", got)
	}
	if seen.Load() != "plain: inventory service is down" {
		t.Errorf("error handler saw %v", seen.Load())
	}
}

func TestPanicWithoutRecoverMiddleware(t *testing.T) {
	logs := captureDefaultLog(t)
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	r.HandleFunc("boom", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		if string(req.Data) == "panic" {
			panic("nil map somewhere")
		}
		return natsmux.Reply([]byte("fine")), nil
	})
	svc := mountService(t, nc, micro.Config{Name: "boom", Version: "1.0.0"}, r)
	for range 3 {
		reply := microtest.Request(t, nc, "boom", []byte("panic"))
		if reply.Header.Get(micro.ErrorCodeHeader) != "500" || reply.Header.Get(micro.ErrorHeader) != "internal error" {
			t.Errorf("panic reply: %v", reply.Header)
		}
	}
	if reply := microtest.Request(t, nc, "boom", []byte("ok")); string(reply.Data) != "fine" {
		t.Errorf("after panics: %q", reply.Data)
	}
	if s := microtest.SettledStats(t, svc, 4).Endpoints[0]; s.NumRequests != 4 || s.NumErrors != 3 || s.LastError != "500:internal error" {
		t.Errorf("stats: %+v", s)
	}
	// Each panic is logged once, with its stack.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log records, want 3:\n%s", len(lines), logs.String())
	}
	for _, line := range lines {
		var rec struct{ Msg, Panic, Stack string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Panic != "nil map somewhere" || !strings.Contains(rec.Stack, "mount_test.go") {
			t.Errorf("log record %s (%v)", line, err)
		}
	}
}

// TestReplyHeaders: ReplyHeader's headers go on every reply and
// SetErrorReplyHeader's on error replies only, over ReplyHeader's; the
// handler's own Response.Header and Error.Header win over both.
func TestReplyHeaders(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	stamp := func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			req.ReplyHeader().Set("Request-Id", "r-1")
			req.ReplyHeader().Set("Shared", "middleware")
			req.SetErrorReplyHeader("Failed", "first", "then replaced")
			req.SetErrorReplyHeader("Shared", "on error")
			req.SetErrorReplyHeader("Failed", "yes")
			return next.ServeNATS(ctx, req)
		})
	}
	r := natsmux.NewRouter()
	r.Use(stamp)
	r.HandleFunc("ok", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply([]byte("x")).SetHeader("Shared", "handler"), nil
	})
	r.HandleFunc("fail", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return nil, &natsmux.Error{Code: 400, Description: "no", Header: nats.Header{"Shared": {"error"}}}
	})
	r.HandleFunc("conflict", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, natsmux.ErrConflict })
	r.HandleFunc("empty", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil })
	mountService(t, nc, micro.Config{Name: "hdr", Version: "1.0.0"}, r)

	tests := []struct{ subject, shared, failed string }{
		{"ok", "handler", ""},
		{"fail", "error", "yes"},
		{"conflict", "on error", "yes"},
		{"empty", "middleware", ""},
	}
	for _, tt := range tests {
		reply := microtest.Request(t, nc, tt.subject, nil)
		if reply.Header.Get("Request-Id") != "r-1" || reply.Header.Get("Shared") != tt.shared ||
			!slices.Equal(reply.Header.Values("Failed"), slices.DeleteFunc([]string{tt.failed}, func(v string) bool { return v == "" })) {
			t.Errorf("%s: headers %v, want Shared %q and Failed %q", tt.subject, reply.Header, tt.shared, tt.failed)
		}
	}
	if msg := panicMessage(func() { natsmux.NewRequest("x", nil).SetErrorReplyHeader("", "v") }); !strings.Contains(msg, "empty key") {
		t.Errorf("SetErrorReplyHeader with an empty key: panic %q", msg)
	}
}

func TestEndpointsAddedAfterMount(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	client := srv.Connect(t)
	r := natsmux.NewRouter()
	r.HandleFunc("first", echo)
	a := mountService(t, nc, micro.Config{Name: "late-a", Version: "1.0.0"}, r)
	b := mountService(t, srv.Connect(t), micro.Config{Name: "late-b", Version: "1.0.0", QueueGroup: "b-q"}, r)

	r.Group("more").HandleFunc("second", echo)
	// Live on both services before Handle returned.
	if n := len(a.Info().Endpoints) + len(b.Info().Endpoints); n != 4 {
		t.Errorf("%d endpoints on the two services, want 4", n)
	}
	if reply := microtest.Request(t, client, "more.second", []byte("hi")); string(reply.Data) != "hi" {
		t.Errorf("late endpoint replied %q", reply.Data)
	}
	if qg := b.Info().Endpoints[1].QueueGroup; qg != "b-q" {
		t.Errorf("late endpoint on b: queue group %q", qg)
	}

	// A stopped service is forgotten, not an error.
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	r.HandleFunc("third", echo)
	if n := len(b.Info().Endpoints); n != 3 {
		t.Errorf("b has %d endpoints, want 3", n)
	}
}

func TestRequestWithoutReplySubject(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	var calls atomic.Int64
	r.HandleFunc("fire", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		calls.Add(1)
		return natsmux.Reply([]byte("ignored")), nil
	})
	r.HandleFunc("fail", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		calls.Add(1)
		return nil, natsmux.ErrConflict
	})
	svc := mountService(t, nc, micro.Config{Name: "fire", Version: "1.0.0"}, r)
	for _, subject := range []string{"fire", "fail"} {
		if err := nc.Publish(subject, nil); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		s := svc.Stats()
		return calls.Load() == 2 && s.Endpoints[0].NumRequests == 1 && s.Endpoints[1].NumRequests == 1
	}, "both handled")
	s := svc.Stats()
	// A successful handler sends nothing and counts no error; a failed one
	// counts its error, since there is no one to tell, as code:description.
	if s.Endpoints[0].NumErrors != 0 || s.Endpoints[1].NumErrors != 1 || s.Endpoints[1].LastError != "409:conflict" {
		t.Errorf("stats: %+v %+v", s.Endpoints[0], s.Endpoints[1])
	}
}

func TestMountErrors(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	// The router refuses $SRV at Handle; the service's own prefix is known
	// only when it is mounted.
	r.HandleFunc("spy", echo, natsmux.WithSubject("tenant.PING"))
	svc, err := micro.AddService(nc, micro.Config{Name: "bad", Version: "1.0.0", APIPrefix: "tenant"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = svc.Stop() }()
	err = natsmux.Mount(svc, r)
	if !errors.Is(err, micro.ErrConfigValidation) || !strings.Contains(err.Error(), `mounting endpoint "spy" on service bad`) {
		t.Errorf("Mount: %v", err)
	}
}

// TestServeGracefulShutdown: when Serve's context ends, requests in flight
// finish and are answered; then Serve returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	client := srv.Connect(t)
	r := natsmux.NewRouter()
	const n = 20
	inside := make(chan struct{}, n)
	release := make(chan struct{})
	r.HandleFunc("slow", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		select {
		case inside <- struct{}{}:
		default: // a probe that raced the drain
		}
		<-release
		return natsmux.Reply(req.Data), nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	started := make(chan micro.Service, 2)
	onStart := natsmux.WithOnStart(func(svc micro.Service) { started <- svc })
	go func() {
		served <- natsmux.Serve(ctx, nc, micro.Config{Name: "graceful", Version: "1.0.0"}, r, onStart, onStart)
	}()
	for range 2 { // every hook is called
		if svc := testutil.Receive(t, started, microtest.DefaultTimeout); len(svc.Info().Endpoints) != 1 {
			t.Fatalf("OnStart before the endpoints were live: %+v", svc.Info())
		}
	}

	var wg sync.WaitGroup
	replies := make(chan string, n)
	for range n {
		wg.Go(func() {
			m, err := client.Request("slow", []byte("done"), microtest.DefaultTimeout)
			if err != nil {
				replies <- err.Error()
				return
			}
			replies <- string(m.Data)
		})
	}
	for range n {
		testutil.Receive(t, inside, microtest.DefaultTimeout)
	}
	cancel()
	// Serve waits for the handlers; new requests find no responder.
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		_, err := client.Request("slow", nil, time.Second)
		return errors.Is(err, nats.ErrNoResponders)
	}, "no new requests after shutdown starts")
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with handlers in flight", err)
	default:
	}
	close(release)
	wg.Wait()
	close(replies)
	for got := range replies {
		if got != "done" {
			t.Errorf("in-flight request: %s", got)
		}
	}
	if err := testutil.Receive(t, served, microtest.DefaultTimeout); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	started := make(chan struct{})
	r.HandleFunc("stuck", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- natsmux.Serve(ctx, nc, micro.Config{Name: "stuck", Version: "1.0.0"}, r,
			natsmux.WithShutdownTimeout(20*time.Millisecond))
	}()
	client := srv.Connect(t)
	waitServing(t, client, "stuck", 1)
	reply := make(chan *nats.Msg, 1)
	go func() {
		m, _ := client.Request("stuck", nil, microtest.DefaultTimeout)
		reply <- m
	}()
	testutil.Closed(t, started, microtest.DefaultTimeout, "handler start")
	cancel()
	if err := testutil.Receive(t, served, microtest.DefaultTimeout); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve: %v, want a deadline error", err)
	}
	if m := testutil.Receive(t, reply, microtest.DefaultTimeout); m == nil || m.Header.Get(micro.ErrorCodeHeader) != "503" {
		t.Errorf("cancelled handler replied %v", m)
	}
}

func TestServeConnectionClosed(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	served := make(chan error, 1)
	go func() {
		served <- natsmux.Serve(context.Background(), nc, micro.Config{Name: "closing", Version: "1.0.0"}, natsmux.NewRouter())
	}()
	client := srv.Connect(t)
	waitServing(t, client, "closing", 0)
	nc.Close()
	if err := testutil.Receive(t, served, microtest.DefaultTimeout); err == nil || !strings.Contains(err.Error(), "connection closed") {
		t.Errorf("Serve after the connection closed: %v", err)
	}
	if err := natsmux.Serve(context.Background(), nc, micro.Config{Name: "x", Version: "1.0.0"}, natsmux.NewRouter()); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("Serve on a closed connection: %v", err)
	}
}

func TestStatsCountRouterRequests(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	r.HandleFunc("e", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		time.Sleep(time.Millisecond)
		return nil, nil
	})
	svc := mountService(t, nc, micro.Config{Name: "count", Version: "1.0.0"}, r)
	for range 5 {
		microtest.Request(t, nc, "e", nil)
	}
	microtest.SettledStats(t, svc, 5)
	raw := microtest.Request(t, nc, "$SRV.STATS.count", nil)
	var stats micro.Stats
	if err := json.Unmarshal(raw.Data, &stats); err != nil {
		t.Fatal(err)
	}
	if e := stats.Endpoints[0]; e.NumRequests != 5 || e.ProcessingTime < 5*time.Millisecond {
		t.Errorf("stats: %+v", e)
	}
}

// waitServing waits until the service started by Serve in another goroutine
// shows endpoints in INFO: Serve mounts after the service answers PING.
func waitServing(t *testing.T, nc *nats.Conn, name string, endpoints int) {
	t.Helper()
	subject, _ := micro.ControlSubject(micro.InfoVerb, name, "")
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		m, err := nc.Request(subject, nil, time.Second)
		if err != nil {
			return false
		}
		var info micro.Info
		return json.Unmarshal(m.Data, &info) == nil && len(info.Endpoints) == endpoints
	}, "service %s serving %d endpoints", name, endpoints)
}

func TestAbortHandler(t *testing.T) {
	logs := captureDefaultLog(t)
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	r := natsmux.NewRouter()
	r.HandleFunc("abort", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		panic(natsmux.ErrAbortHandler)
	})
	svc := mountService(t, nc, micro.Config{Name: "abort", Version: "1.0.0"}, r)
	if _, err := nc.Request("abort", nil, 200*time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("aborted request: %v, want a timeout", err)
	}
	if s := microtest.SettledStats(t, svc, 1).Endpoints[0]; s.NumErrors != 0 {
		t.Errorf("stats: %+v", s)
	}
	if logs.String() != "" {
		t.Errorf("an abort was logged: %s", logs.String())
	}
	_, err := r.ServeNATS(context.Background(), natsmux.NewRequest("abort", nil))
	if !errors.Is(err, natsmux.ErrAbortHandler) {
		t.Errorf("in memory: %v", err)
	}
}

// captureDefaultLog sends slog's default logger to a buffer, as JSON, until
// the test ends.
func captureDefaultLog(t *testing.T) *testutil.Buffer {
	t.Helper()
	logs := &testutil.Buffer{}
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	slog.SetDefault(slog.New(slog.NewJSONHandler(logs, nil)))
	return logs
}

// TestUnsafeParametersRefused: a subject parameter holding a wildcard, a
// control character or invalid UTF-8 is answered 400 before the handler
// runs, over NATS and in memory alike, and the middleware sees the 400.
func TestUnsafeParametersRefused(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	var handled, observed atomic.Int32
	r := natsmux.NewRouter()
	r.Use(func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			resp, err := next.ServeNATS(ctx, req)
			if natsmux.CodeOf(err) == 400 {
				observed.Add(1)
			}
			return resp, err
		})
	})
	r.HandleFunc("get", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		handled.Add(1)
		return natsmux.Reply([]byte(req.Param("id"))), nil
	}, natsmux.WithSubject("orders.{id}.get"))
	mountService(t, nc, micro.Config{Name: "params", Version: "1.0.0"}, r)

	tests := []struct {
		id, want string // want: "" for a 400
	}{
		{"42", "42"},
		{"ñandú", "ñandú"},
		{"*", ""},
		{">", ""},
		{"a\x00b", ""},
		{"\x1b[31mred", ""},
		{"\x7f", ""},
		{"\xc2\x9b", ""}, // C1 control CSI
		{"\xff\xfe", ""},
	}
	for _, tt := range tests {
		subject := "orders." + tt.id + ".get"
		reply, err := nc.Request(subject, nil, microtest.DefaultTimeout)
		if err != nil {
			t.Fatalf("%q: %v", tt.id, err)
		}
		_, memErr := r.ServeNATS(context.Background(), natsmux.NewRequest(subject, nil))
		if tt.want != "" {
			if string(reply.Data) != tt.want || memErr != nil {
				t.Errorf("%q: reply %q, in memory %v", tt.id, reply.Data, memErr)
			}
			continue
		}
		if reply.Header.Get(micro.ErrorCodeHeader) != "400" || !strings.Contains(reply.Header.Get(micro.ErrorHeader), "invalid subject parameter {id}") ||
			natsmux.CodeOf(memErr) != 400 {
			t.Errorf("%q: reply %v, in memory %v; want 400", tt.id, reply.Header, memErr)
		}
	}
	if handled.Load() != 4 || observed.Load() != 2*7 {
		t.Errorf("handled %d, middleware saw %d 400s", handled.Load(), observed.Load())
	}
}

// TestCallerTimeoutInMemory: in memory, as over NATS, the caller's
// micro.TimeoutHeader gives the request its deadline, and an earlier
// deadline wins over a later Timeout.
func TestCallerTimeoutInMemory(t *testing.T) {
	r := natsmux.NewRouter()
	deadlines := make(chan time.Duration, 1)
	r.Handle("h", natsmux.HandlerFunc(func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		d, _ := ctx.Deadline()
		deadlines <- time.Until(d)
		return nil, nil
	}), natsmux.WithMiddleware(func(next natsmux.Handler) natsmux.Handler { return natsmux.TimeoutHandler(next, time.Hour) }))
	for _, tt := range []struct {
		header   string
		min, max time.Duration
	}{
		{"2s", time.Second, 2 * time.Second},
		{"1500", time.Second, 1500 * time.Millisecond},
		{"", 59 * time.Minute, time.Hour}, // no header: Timeout's
	} {
		req := natsmux.NewRequest("h", nil)
		if tt.header != "" {
			req.Header = nats.Header{micro.TimeoutHeader: {tt.header}}
		}
		if _, err := r.ServeNATS(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if left := <-deadlines; left < tt.min || left > tt.max {
			t.Errorf("header %q: deadline in %s, want between %s and %s", tt.header, left, tt.min, tt.max)
		}
	}
}

// TestServedAgainAndAgain: a router served on one connection after another
// keeps no stopped service, and so no closed connection, alive.
func TestServedAgainAndAgain(t *testing.T) {
	srv := microtest.NewServer(t, microtest.WithOptions(func(o *server.Options) { o.MaxClosedClients = 1 })) // the server keeps closed connections for its monitoring, 10000 by default
	r := natsmux.NewRouter()
	r.HandleFunc("echo", echo)
	var before, after runtime.MemStats
	round := func() {
		nc, err := nats.Connect(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- natsmux.Serve(ctx, nc, micro.Config{Name: "again", Version: "1.0.0"}, r,
				natsmux.WithOnStart(func(micro.Service) { close(started) }))
		}()
		<-started
		if reply, err := nc.Request("echo", []byte("x"), microtest.DefaultTimeout); err != nil || string(reply.Data) != "x" {
			t.Fatalf("echo: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		nc.Close()
	}
	for range 20 { // warm up caches and pools
		round()
	}
	runtime.GC()
	runtime.ReadMemStats(&before)
	const rounds = 300
	for range rounds {
		round()
	}
	if n := natsmux.MountCount(r); n != 0 {
		t.Errorf("%d mounts left after every service stopped", n)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// A leak of the first landing's size (about 40 KiB a round) would add
	// 12 MiB; what is left is noise.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 512<<10 {
		t.Errorf("the heap grew by %d KiB over %d rounds", grown>>10, rounds)
	}
}
