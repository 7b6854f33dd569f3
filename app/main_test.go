package app_test

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// freePort returns a loopback port that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestMainCode(t *testing.T) {
	srv := microtest.NewServer(t)
	unreachable := "nats://127.0.0.1:" + strconv.Itoa(freePort(t))
	tests := []struct {
		name     string
		args     []string
		cancel   bool // cancel the context once the service answers
		want     int
		wantText string
	}{
		{"help", []string{"--help"}, false, 0, "Usage: app.test [flags]\n\nRuns svc until interrupted."},
		{"help names variables", []string{"-h"}, false, 0, "-s, --server string"},
		{"unknown flag", []string{"--nope"}, false, 2, "unknown flag: --nope"},
		{"stray argument", []string{"extra"}, false, 2, `unexpected arguments: ["extra"]`},
		{"bad connection settings", []string{"-s", srv.URL, "--password", "x"}, false, 1, "a password needs a user"},
		{"unreachable server", []string{"--server", unreachable}, false, 1, "connecting to NATS at " + unreachable},
		{"runs until cancelled", []string{"-s", srv.URL}, true, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stderr syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- app.MainCode(ctx, tt.args, &stderr, []app.Service{echoService("svc")}, app.WithLogger(slog.New(slog.DiscardHandler)))
			}()
			if tt.cancel {
				waitEcho(t, srv.Connect(t), "svc.echo")
				cancel()
			}
			if got := testutil.Receive(t, done, microtest.DefaultTimeout); got != tt.want {
				t.Errorf("exit code %d, want %d; stderr:\n%s", got, tt.want, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.wantText) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantText, &stderr)
			}
		})
	}
}
