package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/client"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

// TestChain: the first middleware runs first on the way out and last on
// the way back, as the service's natsmux.Chain does.
func TestChain(t *testing.T) {
	var trail []string
	mw := func(name string) client.Middleware {
		return func(next client.Invoker) client.Invoker {
			return client.InvokerFunc(func(ctx context.Context, inv *client.Invocation) (*nats.Msg, error) {
				trail = append(trail, name+" out")
				defer func() { trail = append(trail, name+" back") }()
				return next.Invoke(ctx, inv)
			})
		}
	}
	end := client.InvokerFunc(func(context.Context, *client.Invocation) (*nats.Msg, error) {
		trail = append(trail, "send")
		return &nats.Msg{}, nil
	})
	if _, err := client.Chain(mw("a"), mw("b"))(end).Invoke(context.Background(), &client.Invocation{}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a out", "b out", "send", "b back", "a back"}; !slices.Equal(trail, want) {
		t.Errorf("trail %v, want %v", trail, want)
	}
}

// invocations records what the middleware sees of each call.
type invocations struct {
	mu   sync.Mutex
	seen []client.Invocation
}

func (r *invocations) middleware(next client.Invoker) client.Invoker {
	return client.InvokerFunc(func(ctx context.Context, inv *client.Invocation) (*nats.Msg, error) {
		r.mu.Lock()
		r.seen = append(r.seen, *inv.Clone())
		r.mu.Unlock()
		return next.Invoke(ctx, inv)
	})
}

func (r *invocations) last(t *testing.T) client.Invocation {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		t.Fatal("no invocation seen")
	}
	return r.seen[len(r.seen)-1]
}

// TestCallOptions: headers from options reach the service alongside the
// client's own, reply headers come back on request, and the caller's
// header map is left alone.
func TestCallOptions(t *testing.T) {
	r := natsmux.NewRouter()
	r.HandleFunc("echo-headers", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		resp, err := natsmux.ReplyJSON(req.Header)
		return resp.SetHeader("X-Served-By", "shop-1"), err
	})
	e := newEnv(t, r, micro.Config{Name: "shop", Version: "1.0.0"})
	c := e.client(t)
	ctx := context.Background()

	var reply nats.Header
	got, err := client.Call[Quote, nats.Header](ctx, c, "echo-headers", &Quote{SKU: "tea", Qty: 1},
		client.WithHeader("X-Tenant", "acme"), client.WithHeader("X-Tag", "a"), client.WithHeader("X-Tag", "b"),
		client.WithHeaders(nats.Header{"X-Trace-Me": {"yes"}}), client.WithReplyHeader(&reply))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][]string{
		"X-Tenant": {"acme"}, "X-Tag": {"a", "b"}, "X-Trace-Me": {"yes"}, "Content-Type": {"application/json"},
	} {
		if !slices.Equal((*got)[key], want) {
			t.Errorf("the service saw %s: %v, want %v (all: %v)", key, (*got)[key], want, *got)
		}
	}
	if got.Get(micro.TimeoutHeader) == "" {
		t.Errorf("no deadline sent: %v", *got)
	}
	if reply.Get("X-Served-By") != "shop-1" {
		t.Errorf("reply headers %v", reply)
	}

	// A value slice with room to spare must not be written through.
	values := make([]string, 1, 4)
	values[0] = "mine"
	header := nats.Header{"X-Tag": values}
	if _, err := c.Request(ctx, "echo-headers", nil, header, client.WithHeader("X-Tag", "theirs")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(nats.Header{"X-Tag": {"mine"}}, header); diff != "" || values[:2][1] != "" {
		t.Errorf("the caller's header changed (-before +after):\n%s (spare slot %q)", diff, values[:2][1])
	}
}

// TestIdempotence: a call is idempotent when it says so, else when the
// client was told its subject is, else when INFO says every endpoint on
// its subject is; WithIdempotent(false) wins over all.
func TestIdempotence(t *testing.T) {
	noop := func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil }
	newer := natsmux.NewRouter()
	newer.HandleFunc("get", noop, natsmux.WithSubject("orders.{id}.get"), natsmux.WithIdempotent())
	newer.HandleFunc("create", noop, natsmux.WithSubject("orders.create"))
	newer.HandleFunc("list", noop, natsmux.WithSubject("orders.list"), natsmux.WithIdempotent())
	e := newEnv(t, newer, micro.Config{Name: "orders", Version: "2.0.0"})
	// An older instance, mid-way through a rolling deployment, still has a
	// list that is not idempotent.
	older := natsmux.NewRouter()
	older.HandleFunc("list", noop, natsmux.WithSubject("orders.list"))
	if err := natsmux.Mount(microtest.AddService(t, e.srv.Connect(t), micro.Config{Name: "orders", Version: "1.0.0"}), older); err != nil {
		t.Fatal(err)
	}

	var seen invocations
	c := e.client(t, client.WithMiddleware(seen.middleware), client.WithIdempotentSubjects("orders.create"))
	ctx := context.Background()
	if err := c.LearnEndpoints(ctx, micro.WithDiscoveryService("orders"), micro.WithDiscoveryMax(2)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		subject    string
		opts       []client.CallOption
		idempotent bool
		template   string
	}{
		{"declared in INFO", "orders.42.get", nil, true, "orders.{id}.get"},
		{"the call says no", "orders.42.get", []client.CallOption{client.WithIdempotent(false)}, false, "orders.{id}.get"},
		{"the client was told", "orders.create", nil, true, "orders.create"},
		{"the call says no to the client", "orders.create", []client.CallOption{client.WithIdempotent(false)}, false, "orders.create"},
		{"one instance does not declare it", "orders.list", nil, false, "orders.list"},
		{"the call vouches for it", "orders.list", []client.CallOption{client.WithIdempotent(true)}, true, "orders.list"},
		{"the call names a template", "orders.list", []client.CallOption{client.WithTemplate("orders.{view}")}, false, "orders.{view}"},
		{"unknown subject", "nobody.home", nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _ = c.Request(ctx, tt.subject, nil, nil, tt.opts...)
			inv := seen.last(t)
			if inv.Subject != tt.subject || inv.Idempotent != tt.idempotent || inv.Template != tt.template {
				t.Errorf("invocation %s, idempotent %t, template %q; want idempotent %t, template %q",
					inv.Subject, inv.Idempotent, inv.Template, tt.idempotent, tt.template)
			}
		})
	}

	if _, err := client.New(e.nc, client.WithIdempotentSubjects("orders..get")); err == nil || !strings.Contains(err.Error(), `idempotent subject "orders..get"`) {
		t.Errorf("an invalid pattern gave %v", err)
	}
	if _, err := client.New(e.nc, client.WithMiddleware(nil)); err == nil || err.Error() != "client: middleware 0 is nil" {
		t.Errorf("a nil middleware gave %v", err)
	}
}

// TestLearnEndpointsBound: a responder that answers INFO with more
// endpoints than MaxLearnedEndpoints makes the client learn that many and
// say what it left out.
func TestLearnEndpointsBound(t *testing.T) {
	srv := microtest.NewServer(t)
	const offered = client.MaxLearnedEndpoints + 904
	info := micro.Info{ServiceIdentity: micro.ServiceIdentity{Name: "flood", ID: "X", Version: "1.0.0"}, Type: micro.InfoResponseType}
	for i := range offered {
		info.Endpoints = append(info.Endpoints, micro.EndpointInfo{
			Name: fmt.Sprint("e", i), Subject: fmt.Sprint("flood.", i), Metadata: map[string]string{natsmux.IdempotentKey: "true"},
		})
	}
	doc, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	rogue := srv.Connect(t)
	if _, err := rogue.Subscribe("$SRV.INFO", func(m *nats.Msg) { _ = m.Respond(doc) }); err != nil {
		t.Fatal(err)
	}
	if err := rogue.Flush(); err != nil {
		t.Fatal(err)
	}

	var seen invocations
	c, err := client.New(srv.Connect(t), client.WithMiddleware(seen.middleware))
	if err != nil {
		t.Fatal(err)
	}
	err = c.LearnEndpoints(context.Background(), micro.WithDiscoveryMax(1))
	if want := fmt.Sprintf("client: 904 endpoint subjects beyond the limit of %d were not learned", client.MaxLearnedEndpoints); err == nil || err.Error() != want {
		t.Errorf("LearnEndpoints: %v, want %q", err, want)
	}
	for subject, want := range map[string]bool{"flood.0": true, fmt.Sprint("flood.", client.MaxLearnedEndpoints-1): true, fmt.Sprint("flood.", offered-1): false} {
		_, _ = c.Request(context.Background(), subject, nil, nil)
		if got := seen.last(t).Idempotent; got != want {
			t.Errorf("%s: idempotent %t, want %t", subject, got, want)
		}
	}
	// Nobody answering leaves what was learned.
	if err := c.LearnEndpoints(context.Background(), micro.WithDiscoveryService("nobody")); err != nil {
		t.Fatal(err)
	}
	if _, _ = c.Request(context.Background(), "flood.0", nil, nil); !seen.last(t).Idempotent {
		t.Error("an empty discovery forgot what was learned")
	}
}
