package microtest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestServerAuth(t *testing.T) {
	tests := []struct {
		name  string
		opt   microtest.Option
		wrong nats.Option
	}{
		{"user and password", microtest.WithUserPassword("alice", "s3cret"), nats.UserInfo("alice", "wrong")},
		{"token", microtest.WithToken("t0ken"), nats.Token("wrong")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := microtest.NewServer(t, tt.opt)
			nc := srv.Connect(t) // authenticates with what the option set
			if !nc.IsConnected() {
				t.Fatal("not connected")
			}
			_, err := nats.Connect(srv.URL, nats.NoReconnect(), tt.wrong)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
				t.Errorf("wrong credentials: %v", err)
			}
		})
	}
}

func TestServerOptionsAndJetStream(t *testing.T) {
	plain := microtest.NewServer(t)
	if plain.JetStreamEnabled() {
		t.Error("JetStream on by default")
	}
	js := microtest.NewServer(t, microtest.WithJetStream(), microtest.WithOptions(func(o *server.Options) {
		o.ServerName = "js-node"
	}))
	if !js.JetStreamEnabled() || js.Name() != "js-node" {
		t.Errorf("JetStream %v, name %q", js.JetStreamEnabled(), js.Name())
	}
	if !strings.HasPrefix(js.URL, "nats://127.0.0.1:") {
		t.Errorf("URL %q is not on loopback", js.URL)
	}
}

func TestServerRestartKeepsPort(t *testing.T) {
	srv := microtest.NewServer(t)
	port := srv.Port()
	reconnected := make(chan struct{}, 1)
	nc := srv.Connect(t, nats.ReconnectWait(10*time.Millisecond), nats.MaxReconnects(-1),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	srv.Restart()
	if srv.Port() != port {
		t.Errorf("port %d after restart, want %d", srv.Port(), port)
	}
	testutil.Receive(t, reconnected, microtest.DefaultTimeout)
	if _, err := nc.Subscribe("x", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestRequestHelpers(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	if _, err := nc.Subscribe("echo", func(m *nats.Msg) { _ = m.RespondMsg(&nats.Msg{Data: m.Data, Header: m.Header}) }); err != nil {
		t.Fatal(err)
	}
	if reply := microtest.Request(t, nc, "echo", []byte("hi")); string(reply.Data) != "hi" {
		t.Errorf("Request: %q", reply.Data)
	}
	msg := nats.NewMsg("echo")
	msg.Header.Set("X-Test", "1")
	if reply := microtest.RequestMsg(t, nc, msg); reply.Header.Get("X-Test") != "1" {
		t.Errorf("RequestMsg headers: %v", reply.Header)
	}
	ft := &fakeTB{TB: t}
	ft.run(func() { microtest.Request(ft, nc, "nobody.listens", nil) })
	if !strings.Contains(ft.failure, `request to "nobody.listens"`) {
		t.Errorf("Request to nobody: %q", ft.failure)
	}
}

// fakeTB records a fatal failure instead of failing the real test, so that
// the helpers' failure paths can be checked.
type fakeTB struct {
	testing.TB
	failure string
}

var errFatal = errors.New("fatal")

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failure = fmt.Sprintf(format, args...)
	panic(errFatal)
}

func (f *fakeTB) run(fn func()) {
	defer func() {
		if v := recover(); v != nil && v != errFatal { //nolint:errorlint // comparing the sentinel panic value
			panic(v)
		}
	}()
	fn()
}

func TestWaitHelpers(t *testing.T) {
	tests := []struct {
		name string
		call func(tb testing.TB)
		want string // failure message substring; "" means success
	}{
		{"eventually true", func(tb testing.TB) {
			n := 0
			testutil.Eventually(tb, time.Second, func() bool { n++; return n > 3 }, "n grows")
		}, ""},
		{"eventually never", func(tb testing.TB) {
			testutil.Eventually(tb, 20*time.Millisecond, func() bool { return false }, "the %s", "impossible")
		}, "condition not met within 20ms: the impossible"},
		{"receive value", func(tb testing.TB) {
			ch := make(chan int, 1)
			ch <- 7
			if testutil.Receive(tb, ch, time.Second) != 7 {
				tb.Fatalf("wrong value")
			}
		}, ""},
		{"receive nothing", func(tb testing.TB) {
			testutil.Receive(tb, make(chan int), 10*time.Millisecond)
		}, "no int received within 10ms"},
		{"receive from closed", func(tb testing.TB) {
			ch := make(chan string)
			close(ch)
			testutil.Receive(tb, ch, time.Second)
		}, "channel closed while waiting for a string"},
		{"closed", func(tb testing.TB) {
			ch := make(chan struct{})
			close(ch)
			testutil.Closed(tb, ch, time.Second, "thing")
		}, ""},
		{"never closed", func(tb testing.TB) {
			testutil.Closed(tb, make(chan struct{}), 10*time.Millisecond, "thing")
		}, "thing not done within 10ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := &fakeTB{TB: t}
			ft.run(func() { tt.call(ft) })
			if tt.want == "" && ft.failure != "" || !strings.Contains(ft.failure, tt.want) {
				t.Errorf("failure %q, want %q", ft.failure, tt.want)
			}
		})
	}
}
