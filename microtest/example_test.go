package microtest_test

import (
	"context"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/app"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// This file holds the tests that docs/testing.md quotes.

// echoService is what a program's main would hand to app.Main.
func echoService() app.Service {
	r := natsmux.NewRouter()
	r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	})
	return app.Service{Config: micro.Config{Name: "echo", Version: "1.0.0"}, Router: r}
}

func TestEchoService(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.Serve(t, nc, echoService())

	reply := microtest.Request(t, nc, "echo", []byte("hello"))
	if string(reply.Data) != "hello" {
		t.Fatalf("got %q", reply.Data)
	}
	stats := microtest.SettledStats(t, svc, 1)
	if stats.Endpoints[0].NumErrors != 0 {
		t.Fatalf("errors counted: %+v", stats.Endpoints[0])
	}
}

func TestTwoInstances(t *testing.T) {
	srv := microtest.NewServer(t)
	caller := srv.Connect(t)
	// Each instance on a connection of its own, as in two processes.
	microtest.Serve(t, srv.Connect(t), echoService())
	microtest.Serve(t, srv.Connect(t), echoService())

	for range 10 {
		microtest.Request(t, caller, "echo", []byte("hi"))
	}
	stats := microtest.DiscoverSettledStats(t, caller, "echo", 10)
	if len(stats) != 2 {
		t.Fatalf("%d instances answered STATS, want 2", len(stats))
	}
}

func TestHandlerInMemory(t *testing.T) {
	r := natsmux.NewRouter()
	r.HandleFunc("get", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		if req.Param("id") != "42" {
			return nil, natsmux.ErrNotFound
		}
		return natsmux.Reply([]byte("the answer")), nil
	}, natsmux.WithSubject("items.{id}.get"))

	resp, err := r.ServeNATS(context.Background(), natsmux.NewRequest("items.42.get", nil))
	if err != nil || string(resp.Data) != "the answer" {
		t.Fatalf("got %v, %v", resp, err)
	}
	_, err = r.ServeNATS(context.Background(), natsmux.NewRequest("items.7.get", nil))
	if natsmux.CodeOf(err) != 404 {
		t.Fatalf("got %v, want a 404", err)
	}
}

func TestWithAuth(t *testing.T) {
	srv := microtest.NewServer(t, microtest.WithUserPassword("svc", "s3cret"))
	nc := srv.Connect(t) // authenticates as svc
	if !nc.IsConnected() {
		t.Fatal("not connected")
	}
}
