package micro

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestWatchdogSleepsAndWakes: the watchdog sleeps once leaders have been
// idle, and a call that blocks afterwards still gets a new leader, so the
// requests behind it are served. (An internal test, since microtest imports
// this package.)
func TestWatchdogSleepsAndWakes(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	svc, err := AddService(nc, Config{Name: "watch", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(); <-svc.Done() })
	entered, unblock := make(chan struct{}), make(chan struct{})
	err = svc.AddEndpoint("e", HandlerFunc(func(r Request) {
		if string(r.Data()) == "block" {
			close(entered)
			<-unblock
		}
		_ = r.Respond(r.Data())
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Request("e", nil, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	w := svc.(*service).watchdog
	deadline := time.Now().Add(10 * time.Second)
	for !w.asleep.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the watchdog did not sleep while the endpoint was idle")
		}
		time.Sleep(time.Millisecond) // polling a condition the test cannot be told about
	}

	blocked := make(chan error, 1)
	go func() {
		_, err := nc.Request("e", []byte("block"), 10*time.Second)
		blocked <- err
	}()
	<-entered
	for i := range 10 {
		if _, err := nc.Request("e", []byte{byte(i)}, 10*time.Second); err != nil {
			t.Fatalf("request %d behind a blocked call: %v", i, err)
		}
	}
	close(unblock)
	if err := <-blocked; err != nil {
		t.Fatalf("blocked request: %v", err)
	}
}
