package app_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// syncBuffer collects log output written from NATS callback goroutines.
type syncBuffer struct{ testutil.Buffer }

func (b *syncBuffer) logger() app.Option {
	return app.WithLogger(slog.New(slog.NewTextHandler(b, nil)))
}

func (b *syncBuffer) wait(t *testing.T, want string) {
	t.Helper()
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool { return strings.Contains(b.String(), want) },
		"log line %q; log so far:\n%s", want, b)
}

func echoService(name string) app.Service {
	r := natsmux.NewRouter()
	r.Route(name, func(r *natsmux.Router) {
		r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			return natsmux.Reply(req.Data), nil
		})
	})
	return app.Service{Config: micro.Config{Name: name, Version: "1.0.0"}, Router: r}
}

// running is a Run in progress.
type running struct {
	cancel   context.CancelFunc
	finished chan struct{} // closed when Run has returned err
	err      error
}

func startRun(t *testing.T, services []app.Service, opts ...app.Option) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, finished: make(chan struct{})}
	go func() {
		defer close(r.finished)
		r.err = app.Run(ctx, services, opts...)
	}()
	t.Cleanup(func() {
		cancel()
		testutil.Closed(t, r.finished, microtest.DefaultTimeout, "Run at cleanup")
	})
	return r
}

// stop cancels Run and returns its error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	testutil.Closed(t, r.finished, microtest.DefaultTimeout, "Run")
	return r.err
}

// waitEcho waits until subject answers and checks that it echoes.
func waitEcho(t *testing.T, nc *nats.Conn, subject string) {
	t.Helper()
	var reply *nats.Msg
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		var err error
		reply, err = nc.Request(subject, []byte("ping"), microtest.DefaultTimeout)
		return err == nil
	}, "%s answers", subject)
	if string(reply.Data) != "ping" {
		t.Errorf("%s replied %q", subject, reply.Data)
	}
}

func TestRunServesSeveralServicesOnOneConnection(t *testing.T) {
	srv := microtest.NewServer(t)
	var logs syncBuffer
	r := startRun(t, []app.Service{echoService("alpha"), echoService("beta")},
		app.WithConn(app.ConnOptions{URL: srv.URL}), logs.logger())
	nc := srv.Connect(t)
	waitEcho(t, nc, "alpha.echo")
	waitEcho(t, nc, "beta.echo")

	pings, err := micro.DiscoverPing(context.Background(), nc)
	if err != nil || len(pings) != 2 {
		t.Fatalf("PING: %d replies, %v", len(pings), err)
	}
	conns, err := srv.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var runConns []string
	for _, c := range conns.Conns {
		if c.Name != t.Name() {
			runConns = append(runConns, c.Name)
		}
	}
	if len(runConns) != 1 || runConns[0] != "alpha,beta" {
		t.Errorf("Run's connections: %q, want one named after the services", runConns)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("Run: %v", err)
	}
	for _, want := range []string{"connected to NATS", `msg="service ready" service=alpha version=1.0.0 id=`,
		`endpoints="echo alpha.echo"`, "services stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, &logs)
		}
	}
}

func TestRunReadsTheEnvironment(t *testing.T) {
	srv := microtest.NewServer(t, microtest.WithToken("env-token"))
	clearConnEnv(t)
	t.Setenv("NATS_URL", srv.URL)
	t.Setenv("NATS_TOKEN", "env-token")
	startRun(t, []app.Service{echoService("env")}, app.WithLogger(slog.New(slog.DiscardHandler)))
	waitEcho(t, srv.Connect(t), "env.echo")
}

func TestRunErrors(t *testing.T) {
	srv := microtest.NewServer(t)
	good := echoService("good")
	tests := []struct {
		name     string
		services []app.Service
		conn     app.ConnOptions
		want     string
	}{
		{"no services", nil, app.ConnOptions{URL: srv.URL}, "app: no services to run"},
		{"no router", []app.Service{good, {Config: micro.Config{Name: "bare"}}}, app.ConnOptions{URL: srv.URL}, `service 1 ("bare") has no router`},
		{"invalid config", []app.Service{good, {Config: micro.Config{Name: "bad name", Version: "1.0.0"}, Router: natsmux.NewRouter()}},
			app.ConnOptions{URL: srv.URL}, "app: service bad name:"},
		{"bad version", []app.Service{{Config: micro.Config{Name: "v", Version: "one"}, Router: natsmux.NewRouter()}},
			app.ConnOptions{URL: srv.URL}, "app: service v:"},
		{"bad connection options", []app.Service{good}, app.ConnOptions{URL: srv.URL, TLSKey: "k"}, "needs both --tlscert and --tlskey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), microtest.DefaultTimeout)
			defer cancel()
			err := app.Run(ctx, tt.services, app.WithConn(tt.conn), app.WithLogger(slog.New(slog.DiscardHandler)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: %v, want %q", err, tt.want)
			}
			if ctx.Err() != nil {
				t.Error("Run returned only when its context ended; a failing service should stop the others")
			}
		})
	}
}

// TestRunReportsAShutdownTimeout: a handler that outlives the service's
// shutdown timeout makes Run fail.
func TestRunReportsAShutdownTimeout(t *testing.T) {
	srv := microtest.NewServer(t)
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	r := natsmux.NewRouter()
	r.HandleFunc("slow", func(ctx context.Context, _ *natsmux.Request) (*natsmux.Response, error) {
		close(started)
		<-release
		return nil, nil
	})
	svc := app.Service{Config: micro.Config{Name: "slow", Version: "1.0.0"}, Router: r,
		Options: []natsmux.ServeOption{natsmux.WithShutdownTimeout(time.Millisecond)}}
	run := startRun(t, []app.Service{svc}, app.WithConn(app.ConnOptions{URL: srv.URL}), app.WithLogger(slog.New(slog.DiscardHandler)))
	nc := srv.Connect(t)
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		infos, _ := micro.DiscoverInfo(context.Background(), nc, micro.WithDiscoveryMax(1))
		return len(infos) == 1 && len(infos[0].Endpoints) == 1
	}, "the endpoint is up")
	if err := nc.PublishRequest("slow", "nobody", nil); err != nil {
		t.Fatal(err)
	}
	testutil.Closed(t, started, microtest.DefaultTimeout, "the slow handler")
	if err := run.stop(t); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run: %v, want the shutdown deadline", err)
	}
}

func TestRunLogsDisconnectionsAndReconnects(t *testing.T) {
	srv := microtest.NewServer(t)
	var logs syncBuffer
	startRun(t, []app.Service{echoService("rec")}, app.WithConn(app.ConnOptions{URL: srv.URL}), logs.logger(),
		app.WithNATSOptions(nats.ReconnectWait(10*time.Millisecond)))
	nc := srv.Connect(t, nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	waitEcho(t, nc, "rec.echo")
	for range 2 {
		srv.Restart()
		logs.wait(t, "reconnected to NATS")
		waitEcho(t, nc, "rec.echo")
	}
	if n := strings.Count(logs.String(), `msg="disconnected from NATS; reconnecting"`); n != 2 {
		t.Errorf("%d disconnection lines, want 2:\n%s", n, &logs)
	}
	if n := strings.Count(logs.String(), `msg="reconnected to NATS" url=`+srv.URL); n != 2 {
		t.Errorf("%d reconnection lines, want 2:\n%s", n, &logs)
	}
}

// TestRunStartsAnEmbeddedServer: with the development server opted in, no
// server configured and none running at the default URL, Run starts one
// there and stops it on exit.
func TestRunStartsAnEmbeddedServer(t *testing.T) {
	clearConnEnv(t)
	url := "nats://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	var logs syncBuffer
	r := startRun(t, []app.Service{echoService("dev")}, app.WithDefaultURL(url), devserver.Fallback(), logs.logger())
	logs.wait(t, "started an embedded nats-server")
	nc := microtest.Connect(t, url)
	waitEcho(t, nc, "dev.echo")
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if other, err := nats.Connect(url, nats.NoReconnect()); err == nil {
		other.Close()
		t.Error("the embedded server still runs after Run returned")
	}
}

// TestRunWithoutTheDevServerStartsNone: without devserver.Fallback, no
// server configured and none running, Run fails and says how to configure
// one.
func TestRunWithoutTheDevServerStartsNone(t *testing.T) {
	clearConnEnv(t)
	url := "nats://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	var logs syncBuffer
	err := app.Run(t.Context(), []app.Service{echoService("prod")}, app.WithDefaultURL(url), logs.logger())
	if err == nil || !strings.Contains(err.Error(), "no servers available") || !strings.Contains(err.Error(), "set NATS_URL, --server or a natscli context") {
		t.Errorf("Run: %v", err)
	}
	if strings.Contains(logs.String(), "embedded") {
		t.Errorf("log speaks of an embedded server:\n%s", &logs)
	}
	if nc, err := nats.Connect(url, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Error("a server runs at the default URL")
	}
}

// TestRunUsesTheServerAtTheDefaultURL: a server that answers at the
// default URL is used, and no other is started.
func TestRunUsesTheServerAtTheDefaultURL(t *testing.T) {
	clearConnEnv(t)
	srv := microtest.NewServer(t)
	var logs syncBuffer
	startRun(t, []app.Service{echoService("found")}, app.WithDefaultURL(srv.URL), devserver.Fallback(), logs.logger())
	waitEcho(t, srv.Connect(t), "found.echo")
	if strings.Contains(logs.String(), "embedded") {
		t.Errorf("started a server although one was running:\n%s", &logs)
	}
}

// TestRunLogsReadyBeforeStopping: cancelled as soon as it starts, Run logs
// each service's "service ready" before "stopping services", never after.
func TestRunLogsReadyBeforeStopping(t *testing.T) {
	srv := microtest.NewServer(t)
	for i := range 5 {
		var logs syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := app.Run(ctx, []app.Service{echoService("a"), echoService("b")}, app.WithConn(app.ConnOptions{URL: srv.URL}), logs.logger())
		if err != nil {
			t.Fatalf("Run %d: %v", i, err)
		}
		ready, stopping := strings.LastIndex(logs.String(), "service ready"), strings.Index(logs.String(), "stopping services")
		if strings.Count(logs.String(), "service ready") != 2 || ready > stopping {
			t.Fatalf("Run %d logged:\n%s", i, &logs)
		}
	}
}
