package micro

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startServer starts an in-process server for this package's internal
// tests (microtest imports this package, so they cannot use it).
func startServer(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	return ns
}

func connect(t *testing.T, ns *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestErrorQueueBounded: an ErrorHandler that falls behind a storm of
// errors holds at most maxQueuedCallbacks of them; the rest are counted and
// dropped, and the service's memory stays flat.
func TestErrorQueueBounded(t *testing.T) {
	ns := startServer(t)
	nc := connect(t, ns)
	release := make(chan struct{})
	svc, err := AddService(nc, Config{Name: "storm", Version: "1.0.0", ReplyPrefixes: []string{"_INBOX"},
		ErrorHandler: func(Service, *NATSError) { <-release }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddEndpoint("e", HandlerFunc(func(r Request) { _ = r.Respond(nil) })); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	caller := connect(t, ns)
	const storm, batch = 100_000, 10_000
	for sent := batch; sent <= storm; sent += batch {
		// No reply subject: refused, and each refusal is reported. In
		// batches, so that the subscription's buffer (64k messages) holds
		// them all.
		for range batch {
			if err := caller.Publish("e", nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := caller.Flush(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for svc.Stats().Endpoints[0].NumErrors < sent {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d refusals counted", svc.Stats().Endpoints[0].NumErrors, sent)
			}
			time.Sleep(time.Millisecond) // the stats cannot be awaited
		}
	}
	q := &svc.(*service).callbacks
	q.mu.Lock()
	queued, dropped := len(q.queue), q.dropped
	q.mu.Unlock()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if queued > maxQueuedCallbacks || dropped < storm-maxQueuedCallbacks-1 {
		t.Errorf("%d callbacks queued, %d dropped", queued, dropped)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 2<<20 {
		t.Errorf("the heap grew by %d KiB for %d errors", grown>>10, storm)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-svc.Done()
}
