package client_test

import (
	"context"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
)

// TestDiscovery: the helpers find the service, its typed endpoint's schemas
// and its stats, under the default prefix or the client's own.
func TestDiscovery(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("quote", binding.JSON(quote))
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.2.3", APIPrefix: "ALT"})
	ctx := context.Background()
	alt := e.client(t, client.WithPrefix("ALT"))
	if _, err := client.Call[Quote, Price](ctx, alt, "quote", &Quote{SKU: "tea", Qty: 1}); err != nil {
		t.Fatal(err)
	}

	pings, err := alt.Ping(ctx, micro.WithDiscoveryService("shop"))
	if err != nil || len(pings) != 1 || pings[0].Version != "1.2.3" {
		t.Fatalf("Ping: %+v, %v", pings, err)
	}
	id := pings[0].ID
	infos, err := alt.Info(ctx, micro.WithDiscoveryInstance("shop", id))
	if err != nil || len(infos) != 1 || infos[0].Endpoints[0].Metadata[binding.RequestSchemaKey] == "" {
		t.Errorf("Info: %+v, %v", infos, err)
	}
	stats, err := alt.Stats(ctx, micro.WithDiscoveryInstance("shop", id))
	if err != nil || len(stats) != 1 || stats[0].Endpoints[0].NumRequests != 1 {
		t.Fatalf("Stats: %+v, %v", stats, err)
	}
	if load, ok := stats[0].Endpoints[0].LoadStats(); !ok || load.Latency.Max <= 0 || load.MaxConcurrency != micro.DefaultMaxConcurrency {
		t.Errorf("LoadStats: %+v, %v", load, ok)
	}
	// Under $SRV nobody answers, and the caller's options win over the
	// client's prefix.
	if pings, err := e.client(t).Ping(ctx, micro.WithDiscoveryQuiet(micro.DefaultDiscoveryQuiet/3)); err != nil || len(pings) != 0 {
		t.Errorf("Ping under $SRV: %+v, %v", pings, err)
	}
	if pings, err := alt.Ping(ctx, micro.WithDiscoveryPrefix("$SRV"), micro.WithDiscoveryQuiet(micro.DefaultDiscoveryQuiet/3)); err != nil || len(pings) != 0 {
		t.Errorf("Ping with the prefix overridden: %+v, %v", pings, err)
	}
	if _, err := e.client(t, client.WithPrefix("bad prefix")).Ping(ctx); err == nil {
		t.Error("an invalid prefix gave no error")
	}
}
