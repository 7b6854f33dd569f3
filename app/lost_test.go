package app_test

import (
	"testing"
	"time"

	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

// TestRunStopsQuicklyWithoutItsServer: when the server a service runs on is
// gone (as when another program's embedded server stops), stopping does not
// wait for it: nothing can be drained, and Run says so and returns nil at
// once, well within the shutdown timeout.
func TestRunStopsQuicklyWithoutItsServer(t *testing.T) {
	srv := microtest.NewServer(t)
	var logs syncBuffer
	r := startRun(t, []app.Service{echoService("orphan")}, app.WithConn(app.ConnOptions{URL: srv.URL}), logs.logger())
	waitEcho(t, srv.Connect(t), "orphan.echo")
	srv.Shutdown()
	logs.wait(t, "disconnected from NATS")
	started := time.Now()
	r.cancel()
	testutil.Closed(t, r.finished, 5*time.Second, "Run without its server") // the shutdown timeout is 10s
	if r.err != nil {
		t.Errorf("Run: %v", r.err)
	}
	logs.wait(t, "nothing to drain")
	t.Logf("stopped in %s", time.Since(started))
}
