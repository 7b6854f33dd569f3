package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
	"github.com/natsmux/natsmux/middleware"
)

// mainProgramEnv, when set, makes the test binary run app.Main as a
// service's main function would, with the logger it names, instead of the
// tests: see TestMainLoggerIsSlogsDefault.
const mainProgramEnv = "APP_TEST_MAIN_LOGGER"

func TestMain(m *testing.M) {
	if logger, ok := os.LookupEnv(mainProgramEnv); ok {
		runMainProgram(logger)
	}
	// The machine's natscli contexts must not change what the tests
	// connect to.
	dir, err := os.MkdirTemp("", "app-test-config-")
	if err != nil {
		panic(err)
	}
	_ = os.Setenv("XDG_CONFIG_HOME", dir)
	code := 0
	defer func() { _ = os.RemoveAll(dir); os.Exit(code) }()
	code = runVerified(m)
}

// runVerified runs the tests and checks for leaked goroutines.
func runVerified(m *testing.M) int {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}

// runMainProgram is a service's main: a router behind middleware.Logger
// without a logger of its own, so it logs to slog.Default(), run by
// app.Main with the named logger, if any.
func runMainProgram(logger string) {
	r := natsmux.NewRouter()
	r.Use(middleware.Logger())
	r.HandleFunc("hello", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	})
	svc := app.Service{Config: micro.Config{Name: "main-program", Version: "1.0.0"}, Router: r}
	switch logger {
	case "discard":
		app.New(app.WithLogger(slog.New(slog.DiscardHandler))).Main(svc)
	default:
		app.Main(svc)
	}
}

var discard = app.WithLogger(slog.New(slog.DiscardHandler))

// mainRun is one run of Program.main in the test process.
type mainRun struct {
	stderr     syncBuffer
	code       int
	setDefault *slog.Logger // the logger Main made slog's default
}

// runMain runs p's main with args until it returns; with cancel, it
// cancels the context once svc.echo answers on srv.
func runMain(t *testing.T, p app.Program, srv *microtest.Server, cancel bool, args ...string) *mainRun {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	r := &mainRun{}
	done := make(chan int, 1)
	go func() {
		done <- p.MainCode(ctx, args, &r.stderr, []app.Service{echoService("svc")}, func(l *slog.Logger) { r.setDefault = l })
	}()
	if cancel {
		waitEcho(t, srv.Connect(t), "svc.echo")
		stop()
	}
	r.code = testutil.Receive(t, done, microtest.DefaultTimeout)
	return r
}

func TestMainCode(t *testing.T) {
	srv := microtest.NewServer(t)
	unreachable := "nats://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	tests := []struct {
		name     string
		args     []string
		cancel   bool // cancel the context once the service answers
		want     int
		wantText string
	}{
		{"help", []string{"--help"}, false, 0, "Usage: app.test [flags]\n\nRuns svc until interrupted.\n\nFlags:"},
		{"help names variables", []string{"-h"}, false, 0, "-s, --server string"},
		{"help names contexts", []string{"-h"}, false, 0, "--context string"},
		{"unknown flag", []string{"--nope"}, false, 2, "unknown flag: --nope"},
		{"stray argument", []string{"extra"}, false, 2, `unexpected arguments: ["extra"]`},
		{"bad connection settings", []string{"-s", srv.URL, "--password", "x"}, false, 1, "a password needs a user"},
		{"unreachable server", []string{"--server", unreachable}, false, 1, "connecting to NATS at " + unreachable},
		{"unknown context", []string{"--context", "nope"}, false, 1, `natscli context "nope": not found`},
		{"runs until cancelled", []string{"-s", srv.URL}, true, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(t, app.New(discard), srv, tt.cancel, tt.args...)
			if r.code != tt.want {
				t.Errorf("exit code %d, want %d; stderr:\n%s", r.code, tt.want, &r.stderr)
			}
			if !strings.Contains(r.stderr.String(), tt.wantText) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantText, &r.stderr)
			}
		})
	}
}

// TestMainHelpTellsOfTheDevServer: --help mentions the embedded server
// when the program opted in to it, and only then.
func TestMainHelpTellsOfTheDevServer(t *testing.T) {
	const fallback = "starts an embedded NATS server there\nfor development"
	with := runMain(t, app.New(devserver.Fallback(), discard), nil, false, "--help")
	if !strings.Contains(with.stderr.String(), "answering at nats://127.0.0.1:4222, it "+fallback) {
		t.Errorf("help with the dev server:\n%s", &with.stderr)
	}
	without := runMain(t, app.New(discard), nil, false, "--help")
	if strings.Contains(without.stderr.String(), "embedded") {
		t.Errorf("help without the dev server mentions it:\n%s", &without.stderr)
	}
}

// TestMainLogFormat: Main logs as --log-format or NATSMUX_LOG_FORMAT say,
// text by default, and makes that logger slog's default; a program's own
// logger replaces the flag.
func TestMainLogFormat(t *testing.T) {
	srv := microtest.NewServer(t)
	tests := []struct {
		name     string
		env      string
		args     []string
		want     string
		wantCode int
	}{
		{"text by default", "", nil, `level=INFO msg="connected to NATS" url=` + srv.URL, 0},
		{"json flag", "", []string{"--log-format", "json"}, `"level":"INFO","msg":"connected to NATS","url":"` + srv.URL + `"}`, 0},
		{"json from the environment", "JSON", nil, `"msg":"service ready","service":"svc"`, 0},
		{"flag wins over the environment", "json", []string{"--log-format=text"}, `level=INFO msg="service ready" service=svc`, 0},
		{"unknown format", "", []string{"--log-format", "yaml"}, `unknown log format "yaml": want text or json`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(app.LogFormatEnv, tt.env)
			r := runMain(t, app.New(), srv, tt.wantCode == 0, append(tt.args, "-s", srv.URL)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr.String(), tt.want) {
				t.Errorf("exit code %d, want %d; stderr lacks %q:\n%s", r.code, tt.wantCode, tt.want, &r.stderr)
			}
			if tt.wantCode == 0 && r.setDefault == nil {
				t.Error("Main did not make its logger slog's default")
			}
		})
	}

	var own syncBuffer
	r := runMain(t, app.New(own.logger()), srv, false, "--log-format", "json")
	if r.code != 2 || !strings.Contains(r.stderr.String(), "unknown flag: --log-format") {
		t.Errorf("with the program's logger, --log-format: exit code %d; stderr:\n%s", r.code, &r.stderr)
	}
}

// TestMainLoggerIsSlogsDefault runs app.Main in a process of its own, as a
// service's main: middleware.Logger, given no logger, logs each request
// with Main's logger, so app.WithLogger with a discarding logger silences it.
func TestMainLoggerIsSlogsDefault(t *testing.T) {
	srv := microtest.NewServer(t)
	clearConnEnv(t)
	for _, tt := range []struct {
		logger string
		logged bool
	}{{"default", true}, {"discard", false}} {
		t.Run(tt.logger, func(t *testing.T) {
			var stderr syncBuffer
			cmd := exec.Command(os.Args[0], "-s", srv.URL)
			cmd.Env = append(os.Environ(), mainProgramEnv+"="+tt.logger)
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			nc := srv.Connect(t)
			waitEcho(t, nc, "hello")
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("the program: %v; stderr:\n%s", err, &stderr)
			}
			if got := strings.Contains(stderr.String(), `msg="nats request"`); got != tt.logged {
				t.Errorf("request logged: %t, want %t; stderr:\n%s", got, tt.logged, &stderr)
			}
			if !tt.logged && stderr.String() != "" {
				t.Errorf("a discarding logger, yet stderr:\n%s", &stderr)
			}
		})
	}
}
