package devserver_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux/app/devserver"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStart(t *testing.T) {
	srv, err := devserver.Start(devserver.Options{Port: -1, MonitorPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !strings.HasPrefix(srv.ClientURL(), "nats://127.0.0.1:") {
		t.Errorf("client URL %q is not on loopback", srv.ClientURL())
	}
	microtest.Connect(t, srv.ClientURL())
	resp, err := http.Get(fmt.Sprintf("http://%s/varz", srv.MonitorAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var varz struct {
		Connections int `json:"connections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&varz); err != nil || varz.Connections != 1 {
		t.Errorf("/varz: %+v, %v", varz, err)
	}
	port := srv.Addr().(*net.TCPAddr).Port
	for _, o := range []devserver.Options{{Port: port}, {Port: -1, MonitorPort: srv.MonitorAddr().Port}} {
		if other, err := devserver.Start(o); err == nil {
			other.Shutdown()
			t.Errorf("Start(%+v) on a busy port succeeded", o)
		} else if !strings.Contains(err.Error(), "cannot start a NATS server") || !strings.Contains(err.Error(), "address already in use") {
			t.Errorf("Start(%+v): %v", o, err)
		}
	}
}

// TestStartAt: the server listens where the URL says, and stop stops it.
func TestStartAt(t *testing.T) {
	url := "nats://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	stop, err := devserver.StartAt(url)
	if err != nil {
		t.Fatal(err)
	}
	nc := microtest.Connect(t, url, nats.NoReconnect())
	if !nc.IsConnected() {
		t.Fatal("not connected")
	}
	stop()
	if other, err := nats.Connect(url, nats.NoReconnect()); err == nil {
		other.Close()
		t.Error("the server still runs after stop")
	}
}

func TestStartAtNeedsANATSURL(t *testing.T) {
	port := strconv.Itoa(testutil.FreePort(t))
	for _, url := range []string{"tls://127.0.0.1:" + port, "127.0.0.1:" + port, "nats://127.0.0.1:port",
		"nats://user:s3cret@127.0.0.1:" + port, "nats://s3cret@127.0.0.1:" + port} {
		stop, err := devserver.StartAt(url)
		if err == nil {
			stop()
			t.Errorf("StartAt(%q) started a server", url)
			continue
		}
		if !strings.Contains(err.Error(), "cannot start a NATS server at") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("StartAt(%q): %v", url, err)
		}
	}
}
