package microtest_test

import (
	"context"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// This file holds the tests that docs/testing.md quotes.

func TestEchoService(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)

	r := natsmux.NewRouter()
	r.HandleFunc("echo", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		return natsmux.Reply(req.Data), nil
	})
	svc, err := micro.AddService(nc, micro.Config{Name: "echo", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Shutdown(context.Background()) })
	if err := natsmux.Mount(svc, r); err != nil {
		t.Fatal(err)
	}

	reply := microtest.Request(t, nc, "echo", []byte("hello"))
	if string(reply.Data) != "hello" {
		t.Fatalf("got %q", reply.Data)
	}
	stats := microtest.SettledStats(t, svc, 1)
	if stats.Endpoints[0].NumErrors != 0 {
		t.Fatalf("errors counted: %+v", stats.Endpoints[0])
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
