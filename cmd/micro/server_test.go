package main

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

var listeningPattern = regexp.MustCompile(`listening on (nats://\S+), monitoring on (http://\S+);`)

func TestServerRunsUntilASignal(t *testing.T) {
	in := invocation{signals: make(chan os.Signal, 1)}
	p := in.start(t, "server", "--port", "-1", "--monitor", "-1")
	var urls []string
	testutil.Eventually(t, microtest.DefaultTimeout, func() bool {
		urls = listeningPattern.FindStringSubmatch(p.stderr.String())
		return urls != nil
	}, "the server's start line; stderr so far: %s", &p.stderr)

	nc := microtest.Connect(t, urls[1], nats.NoReconnect())
	if !nc.IsConnected() {
		t.Fatal("not connected")
	}
	resp, err := http.Get(urls[2] + "/varz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/varz: %s", resp.Status)
	}

	in.signals <- syscall.SIGTERM
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d; stderr: %s", code, &p.stderr)
	}
	testutil.Eventually(t, microtest.DefaultTimeout, nc.IsClosed, "the client sees the server gone")
}

func TestServerOnABusyPort(t *testing.T) {
	busy := microtest.NewServer(t)
	port := strings.TrimPrefix(busy.URL, "nats://127.0.0.1:")
	invocation{}.run(t, "server", "-p", port).check(t, 1, "", "micro: cannot start a NATS server: listen tcp 127.0.0.1:"+port+": bind: address already in use\n")
}
