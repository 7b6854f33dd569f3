package natsmux_test

import (
	"context"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// TestWithIdempotent: the declaration reaches INFO on the endpoint that
// makes it and on every endpoint of a group that makes it, and nowhere
// else; an endpoint's own metadata stays.
func TestWithIdempotent(t *testing.T) {
	noop := func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil }
	r := natsmux.NewRouter()
	r.HandleFunc("get", noop, natsmux.WithIdempotent(), natsmux.WithMetadata(map[string]string{"team": "sales"}))
	r.HandleFunc("create", noop)
	r.Route("reports", func(r *natsmux.Router) {
		r.HandleFunc("daily", noop)
		r.HandleFunc("weekly", noop)
	}, natsmux.WithIdempotent())

	srv := microtest.NewServer(t)
	svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: "shop", Version: "1.0.0"})
	if err := natsmux.Mount(svc, r); err != nil {
		t.Fatal(err)
	}
	infos, err := micro.DiscoverInfo(context.Background(), srv.Connect(t), micro.WithDiscoveryService("shop"), micro.WithDiscoveryMax(1))
	if err != nil || len(infos) != 1 {
		t.Fatalf("INFO: %v, %v", infos, err)
	}
	want := map[string]bool{"get": true, "create": false, "daily": true, "weekly": true}
	for _, ep := range infos[0].Endpoints {
		if got := ep.Metadata[natsmux.IdempotentKey] == "true"; got != want[ep.Name] {
			t.Errorf("endpoint %s: idempotent %t in INFO (metadata %v), want %t", ep.Name, got, ep.Metadata, want[ep.Name])
		}
		if ep.Name == "get" && ep.Metadata["team"] != "sales" {
			t.Errorf("endpoint get lost its own metadata: %v", ep.Metadata)
		}
	}
}
