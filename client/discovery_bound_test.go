package client_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/internal/testutil"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// rogue answers each $SRV.PING, one after the other, with count valid PING
// replies, one every interval (0: as fast as it can), until the test ends.
func rogue(t *testing.T, srv *microtest.Server, count int, interval time.Duration) {
	t.Helper()
	doc, err := json.Marshal(micro.Ping{ServiceIdentity: micro.ServiceIdentity{Name: "rogue", ID: "R", Version: "6.6.6"}, Type: micro.PingResponseType})
	if err != nil {
		t.Fatal(err)
	}
	nc := srv.Connect(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	requests := make(chan string, 1)
	if _, err := nc.Subscribe("$SRV.PING", func(m *nats.Msg) { requests <- m.Reply }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(max(interval, time.Millisecond))
		defer tick.Stop()
		for {
			var reply string
			select {
			case reply = <-requests:
			case <-stop:
				return
			}
			for range count {
				if nc.Publish(reply, doc) != nil {
					return
				}
				if interval == 0 {
					continue
				}
				select {
				case <-tick.C:
				case <-stop:
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
}

// TestDiscoveryBounds: a responder that never stops answering cannot keep
// a discovery call without a deadline waiting forever (the client's
// timeout applies), nor make its reply list grow past micro.DefaultDiscoveryMax.
func TestDiscoveryBounds(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		srv := microtest.NewServer(t)
		rogue(t, srv, 1_000_000, 20*time.Millisecond) // well inside the quiet interval
		c, err := client.New(srv.Connect(t), client.WithTimeout(400*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			pings []micro.Ping
			err   error
			took  time.Duration
		}
		done := make(chan result, 1)
		go func() {
			start := time.Now()
			pings, err := c.Ping(context.Background())
			done <- result{pings, err, time.Since(start)}
		}()
		res := testutil.Receive(t, done, microtest.DefaultTimeout)
		t.Logf("Ping without a deadline against a responder that answers every 20ms: %d replies in %s", len(res.pings), res.took.Round(time.Millisecond))
		if res.err != nil || len(res.pings) < 2 || len(res.pings) > 100 {
			t.Errorf("Ping: %d replies, %v", len(res.pings), res.err)
		}
	})
	t.Run("reply cap", func(t *testing.T) {
		srv := microtest.NewServer(t)
		rogue(t, srv, 3*micro.DefaultDiscoveryMax, 0)
		// Generous waits, so that only the cap ends the collection however
		// slow the machine.
		c, err := client.New(srv.Connect(t), client.WithTimeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		pings, err := c.Ping(context.Background(), micro.WithDiscoveryQuiet(microtest.DefaultTimeout))
		if err != nil || len(pings) != micro.DefaultDiscoveryMax {
			t.Errorf("Ping: %d replies, %v; want %d", len(pings), err, micro.DefaultDiscoveryMax)
		}
		// The caller may ask for fewer.
		pings, err = c.Ping(context.Background(), micro.WithDiscoveryQuiet(microtest.DefaultTimeout), micro.WithDiscoveryMax(3))
		if err != nil || len(pings) != 3 {
			t.Errorf("Ping with a max of 3: %d replies, %v", len(pings), err)
		}
	})
}
