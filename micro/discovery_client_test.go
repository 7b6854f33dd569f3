package micro_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestDiscover(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	var ids []string
	for _, name := range []string{"alpha", "alpha", "beta"} {
		svc := microtest.AddService(t, srv.Connect(t), micro.Config{Name: name, Version: "1.2.3"})
		ids = append(ids, svc.Info().ID)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		opts []micro.DiscoveryOpt
		want []string // ids
	}{
		{"all", nil, ids},
		{"by name", []micro.DiscoveryOpt{micro.WithDiscoveryService("alpha")}, ids[:2]},
		{"by instance", []micro.DiscoveryOpt{micro.WithDiscoveryInstance("alpha", ids[1])}, ids[1:2]},
		{"max", []micro.DiscoveryOpt{micro.WithDiscoveryMax(1)}, nil},
		{"unknown name", []micro.DiscoveryOpt{micro.WithDiscoveryService("gamma")}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pings, err := micro.DiscoverPing(ctx, nc, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pings {
				got = append(got, p.ID)
			}
			if tt.want == nil { // only the count is known
				if len(got) != 1 {
					t.Errorf("got %d replies, want 1", len(got))
				}
				return
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}

	infos, err := micro.DiscoverInfo(ctx, nc, micro.WithDiscoveryService("beta"))
	if err != nil || len(infos) != 1 || infos[0].Type != micro.InfoResponseType || infos[0].Version != "1.2.3" {
		t.Errorf("DiscoverInfo: %+v, %v", infos, err)
	}
	stats, err := micro.DiscoverStats(ctx, nc, micro.WithDiscoveryService("beta"))
	if err != nil || len(stats) != 1 || stats[0].Started.IsZero() {
		t.Errorf("DiscoverStats: %+v, %v", stats, err)
	}
	raw, err := micro.Discover(ctx, nc, micro.InfoVerb)
	if err != nil || len(raw) != 3 {
		t.Fatalf("Discover: %d documents, %v", len(raw), err)
	}
	for _, doc := range raw {
		validateSchema(t, doc)
	}
}

func TestDiscoverEnds(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)

	// No service at all: an empty answer at once, thanks to no-responders.
	start := time.Now()
	pings, err := micro.DiscoverPing(context.Background(), nc, micro.WithDiscoveryQuiet(time.Minute))
	if err != nil || len(pings) != 0 {
		t.Errorf("no services: %v, %v", pings, err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("no services: waited for the quiet interval")
	}

	microtest.AddService(t, nc, micro.Config{Name: "one", Version: "1.0.0"})
	// A deadline on ctx is a normal end.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	pings, err = micro.DiscoverPing(ctx, nc, micro.WithDiscoveryQuiet(time.Minute))
	if err != nil || len(pings) != 1 {
		t.Errorf("deadline: %v, %v", pings, err)
	}
	// Cancelling is reported.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := micro.DiscoverPing(ctx, nc); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestDiscoverOptionErrors(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	tests := []struct {
		opt  micro.DiscoveryOpt
		want string
	}{
		{micro.WithDiscoveryService("a.b"), `invalid service name "a.b"`},
		{micro.WithDiscoveryInstance("a", "x.y"), `invalid instance id "x.y"`},
		{micro.WithDiscoveryMax(0), "max replies must be at least 1"},
		{micro.WithDiscoveryQuiet(0), "quiet interval must be positive"},
		{micro.WithDiscoveryPrefix("$SRV.*"), "may not contain wildcards"},
	}
	for _, tt := range tests {
		if _, err := micro.Discover(context.Background(), nc, micro.PingVerb, tt.opt); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want an error containing %q", err, tt.want)
		}
	}
	if _, err := micro.Discover(context.Background(), nc, micro.Verb(9)); !errors.Is(err, micro.ErrVerbNotSupported) {
		t.Errorf("unknown verb: %v", err)
	}
}

func TestResponseError(t *testing.T) {
	tests := []struct {
		name   string
		header nats.Header
		data   string
		want   *micro.ServiceError // nil: not an error reply
	}{
		{"no headers", nil, "ok", nil},
		{"other headers", nats.Header{"X": {"1"}}, "ok", nil},
		{"error reply", nats.Header{micro.ErrorHeader: {"not found"}, micro.ErrorCodeHeader: {"404"}}, "{}",
			&micro.ServiceError{Code: 404, Description: "not found", Data: []byte("{}")}},
		{"code only", nats.Header{micro.ErrorCodeHeader: {"503"}}, "",
			&micro.ServiceError{Code: 503}},
		{"non-numeric code", nats.Header{micro.ErrorHeader: {"oops"}, micro.ErrorCodeHeader: {"E42"}}, "",
			&micro.ServiceError{Code: 500, Description: `oops (invalid error code "E42")`}},
		{"description only", nats.Header{micro.ErrorHeader: {"oops"}}, "",
			&micro.ServiceError{Code: 500, Description: `oops (invalid error code "")`}},
		{"zero code", nats.Header{micro.ErrorHeader: {"odd"}, micro.ErrorCodeHeader: {"0"}}, "",
			&micro.ServiceError{Code: 500, Description: `odd (invalid error code "0")`}},
		{"negative code", nats.Header{micro.ErrorHeader: {"odd"}, micro.ErrorCodeHeader: {"-1"}}, "",
			&micro.ServiceError{Code: 500, Description: `odd (invalid error code "-1")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := micro.ResponseError(&nats.Msg{Header: tt.header, Data: []byte(tt.data)})
			if tt.want == nil {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			var se *micro.ServiceError
			if !errors.As(err, &se) || se.Code != tt.want.Code || se.Description != tt.want.Description || string(se.Data) != string(tt.want.Data) {
				t.Errorf("got %#v, want %#v", err, tt.want)
			}
		})
	}
	if micro.ResponseError(nil) != nil {
		t.Error("ResponseError(nil) is not nil")
	}
}

// TestDiscoverBounded: a responder that never stops answering cannot hold a
// discovery without a deadline for longer than DefaultDiscoveryTimeout, nor
// make it collect more than DefaultDiscoveryMax replies.
func TestDiscoverBounded(t *testing.T) {
	t.Run("a reply every 100ms", func(t *testing.T) {
		t.Parallel()
		srv := microtest.NewServer(t)
		rogue := srv.Connect(t)
		stop := make(chan struct{})
		defer close(stop)
		if _, err := rogue.Subscribe("$SRV.PING", func(m *nats.Msg) {
			go func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						_ = rogue.Publish(m.Reply, []byte(`{"type":"io.nats.micro.v1.ping_response","name":"rogue"}`))
					}
				}
			}()
		}); err != nil {
			t.Fatal(err)
		}
		if err := rogue.Flush(); err != nil { // the server has the subscription before anyone pings
			t.Fatal(err)
		}
		started := time.Now()
		pings, err := micro.DiscoverPing(context.Background(), srv.Connect(t))
		if err != nil || len(pings) == 0 {
			t.Fatalf("got %d pings, %v", len(pings), err)
		}
		if took := time.Since(started); took > micro.DefaultDiscoveryTimeout+2*time.Second {
			t.Errorf("discovery took %s", took)
		}
	})
	t.Run("a flood of replies", func(t *testing.T) {
		t.Parallel()
		srv := microtest.NewServer(t)
		rogue := srv.Connect(t)
		if _, err := rogue.Subscribe("$SRV.PING", func(m *nats.Msg) {
			for range micro.DefaultDiscoveryMax + 500 {
				_ = rogue.Publish(m.Reply, []byte(`{}`))
			}
		}); err != nil {
			t.Fatal(err)
		}
		if err := rogue.Flush(); err != nil {
			t.Fatal(err)
		}
		raw, err := micro.Discover(context.Background(), srv.Connect(t), micro.PingVerb)
		if err != nil || len(raw) != micro.DefaultDiscoveryMax {
			t.Errorf("got %d replies, %v; want the cap of %d", len(raw), err, micro.DefaultDiscoveryMax)
		}
	})
}
