package natsmux_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// tag returns middleware that records its name on the way in and out.
func tag(trace *[]string, name string) natsmux.Middleware {
	return func(next natsmux.Handler) natsmux.Handler {
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			*trace = append(*trace, name+">")
			resp, err := next.ServeNATS(ctx, req)
			*trace = append(*trace, "<"+name)
			return resp, err
		})
	}
}

func ok(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
	return natsmux.Reply([]byte("ok")), nil
}

func call(t *testing.T, h natsmux.Handler, subject string) (*natsmux.Response, error) {
	t.Helper()
	return h.ServeNATS(context.Background(), natsmux.NewRequest(subject, nil))
}

func TestMiddlewareOrder(t *testing.T) {
	var trace []string
	r := natsmux.NewRouter()
	r.Use(tag(&trace, "a"), tag(&trace, "b"))
	r.Use(tag(&trace, "c"))
	g := r.Group("g")
	g.Use(tag(&trace, "g"))
	g.With(tag(&trace, "w")).HandleFunc("e", ok, natsmux.WithMiddleware(tag(&trace, "ep")))

	if _, err := call(t, r, "g.e"); err != nil {
		t.Fatal(err)
	}
	want := []string{"a>", "b>", "c>", "g>", "w>", "ep>", "<ep", "<w", "<g", "<c", "<b", "<a"}
	if diff := cmp.Diff(want, trace); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}

	trace = nil
	h := natsmux.Chain(tag(&trace, "x"), tag(&trace, "y"))(natsmux.HandlerFunc(ok))
	if _, err := call(t, h, "any"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"x>", "y>", "<y", "<x"}, trace); diff != "" {
		t.Errorf("Chain order (-want +got):\n%s", diff)
	}
}

// TestSiblingIsolation: groups and With-routers derived from one parent
// never see each other's middleware, however their stacks grow.
func TestSiblingIsolation(t *testing.T) {
	var trace []string
	r := natsmux.NewRouter()
	r.Use(tag(&trace, "root"), tag(&trace, "root2"), tag(&trace, "root3"))
	one := r.With(tag(&trace, "one"))
	two := r.With(tag(&trace, "two"))
	ga := r.Group("a")
	gb := r.Group("b")
	ga.Use(tag(&trace, "ga"))
	gb.Use(tag(&trace, "gb"))
	one.HandleFunc("one", ok)
	two.HandleFunc("two", ok)
	ga.HandleFunc("ax", ok, natsmux.WithSubject("x"))
	gb.HandleFunc("bx", ok, natsmux.WithSubject("x"))

	tests := map[string]string{
		"one": "root> root2> root3> one>",
		"two": "root> root2> root3> two>",
		"a.x": "root> root2> root3> ga>",
		"b.x": "root> root2> root3> gb>",
	}
	for subject, want := range tests {
		trace = nil
		if _, err := call(t, r, subject); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(trace[:len(trace)/2], " "); got != want {
			t.Errorf("%s: %s, want %s", subject, got, want)
		}
	}
}

func TestUseAfterHandlePanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func(r *natsmux.Router)
		want string // panic message substring; "" means no panic
	}{
		{"on the same router", func(r *natsmux.Router) {
			r.HandleFunc("e", ok)
			r.Use(tag(new([]string), "late"))
		}, "Use called after Handle"},
		{"on a parent of the router", func(r *natsmux.Router) {
			r.Group("g").HandleFunc("e", ok)
			r.Use(tag(new([]string), "late"))
		}, "Use called after Handle"},
		{"on a With-router's parent", func(r *natsmux.Router) {
			r.With().HandleFunc("e", ok)
			r.Use(tag(new([]string), "late"))
		}, "Use called after Handle"},
		{"on a sibling is fine", func(r *natsmux.Router) {
			r.Group("a").HandleFunc("e", ok)
			r.Group("b").Use(tag(new([]string), "fine"))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := panicMessage(func() { tt.fn(natsmux.NewRouter()) })
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("panic %q, want %q", got, tt.want)
			}
		})
	}
}

func panicMessage(fn func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprint(v)
		}
	}()
	fn()
	return ""
}

func TestRegistrationPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func(r *natsmux.Router)
		want string
	}{
		{"invalid name", func(r *natsmux.Router) { r.HandleFunc("a.b", ok) }, `Handle("a.b"): invalid name "a.b"`},
		{"nil handler", func(r *natsmux.Router) { r.Handle("e", nil) }, "nil handler"},
		{"duplicate subject", func(r *natsmux.Router) {
			r.HandleFunc("one", ok, natsmux.WithSubject("orders.get"))
			r.Group("orders").HandleFunc("get", ok)
		}, `subject "orders.get" is already served by endpoint "one"`},
		{"duplicate through parameters", func(r *natsmux.Router) {
			r.HandleFunc("one", ok, natsmux.WithSubject("orders.{id}"))
			r.HandleFunc("two", ok, natsmux.WithSubject("orders.{key}"))
		}, `subject "orders.*" is already served by endpoint "one"`},
		{"duplicate name", func(r *natsmux.Router) {
			r.Group("orders").HandleFunc("get", ok)
			r.Group("users").HandleFunc("get", ok)
		}, `an endpoint named "get" is already registered (subject "orders.get")`},
		{"literal under a parameter", func(r *natsmux.Router) {
			r.HandleFunc("get", ok, natsmux.WithSubject("orders.{id}"))
			r.HandleFunc("create", ok, natsmux.WithSubject("orders.create"))
		}, `subject "orders.create" overlaps "orders.{id}" of endpoint "get"`},
		{"parameter over a literal", func(r *natsmux.Router) {
			r.HandleFunc("create", ok, natsmux.WithSubject("orders.create"))
			r.HandleFunc("get", ok, natsmux.WithSubject("orders.{id}"))
		}, `subject "orders.{id}" overlaps "orders.create" of endpoint "create"`},
		{"tail over deeper subjects", func(r *natsmux.Router) {
			r.HandleFunc("item", ok, natsmux.WithSubject("orders.{id}.items"))
			r.HandleFunc("all", ok, natsmux.WithSubject("orders.>"))
		}, `subject "orders.>" overlaps "orders.{id}.items" of endpoint "item"`},
		{"everything", func(r *natsmux.Router) { r.HandleFunc("all", ok, natsmux.WithSubject(">")) }, `overlaps the discovery subject $SRV.PING`},
		{"every PING", func(r *natsmux.Router) { r.HandleFunc("ping", ok, natsmux.WithSubject("*.PING")) }, `overlaps the discovery subject $SRV.PING`},
		{"under $SRV", func(r *natsmux.Router) { r.HandleFunc("spy", ok, natsmux.WithSubject("$SRV.FOO")) }, `reserved for discovery`},
		{"parameter inside a token", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithSubject("orders.x{id}")) }, `token "x{id}": a parameter must be a whole token`},
		{"unclosed parameter", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithSubject("orders.{id")) }, "must be a whole token"},
		{"empty parameter", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithSubject("orders.{}")) }, `parameter name ""`},
		{"parameter with dots", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithSubject("orders.{a.b}")) }, "must be a whole token"},
		{"bad parameter name", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithSubject("orders.{1st}")) }, `parameter name "1st"`},
		{"duplicate parameter", func(r *natsmux.Router) {
			r.Group("t.{id}").HandleFunc("e", ok, natsmux.WithSubject("x.{id}"))
		}, "parameter {id} appears twice"},
		{"> not last", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithSubject("a.>.{id}")) }, "'>' before its last token"},
		{"empty token", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithSubject("a..b")) }, "empty token"},
		{"zero concurrency", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithMaxConcurrency(0)) }, "the limit must be at least 1"},
		{"empty queue group", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithQueueGroup("")) }, "use WithoutQueueGroup"},
		{"bad queue group", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithQueueGroup("a b")) }, "contains white space"},
		{"zero pending limits", func(r *natsmux.Router) { r.HandleFunc("e", ok, natsmux.WithPendingLimits(0, 0)) }, "at least one limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := panicMessage(func() { tt.fn(natsmux.NewRouter()) })
			if !strings.HasPrefix(got, "natsmux: ") || !strings.Contains(got, tt.want) {
				t.Errorf("panic %q, want one containing %q", got, tt.want)
			}
		})
	}
}

func TestSubjectParameters(t *testing.T) {
	r := natsmux.NewRouter()
	type seen struct {
		id, item, missing string
		params            map[string]string
		template          string
	}
	var got seen
	r.Route("tenants.{tenant}", func(r *natsmux.Router) {
		r.HandleFunc("item", func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			got = seen{req.Param("id"), req.Param("item"), req.Param("nope"), req.Params(), req.Endpoint.Template}
			return nil, nil
		}, natsmux.WithSubject("orders.{id}.items.{item}"))
	})
	r.HandleFunc("tail", ok, natsmux.WithSubject("events.{kind}.>"))

	if _, err := call(t, r, "tenants.acme.orders.42.items.7"); err != nil {
		t.Fatal(err)
	}
	want := seen{"42", "7", "", map[string]string{"tenant": "acme", "id": "42", "item": "7"}, "tenants.{tenant}.orders.{id}.items.{item}"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(seen{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	eps := r.Endpoints()
	if eps[0].Subject != "tenants.*.orders.*.items.*" || strings.Join(eps[0].Params(), ",") != "tenant,id,item" ||
		eps[0].Metadata[natsmux.TemplateMetadataKey] != eps[0].Template {
		t.Errorf("endpoint: %+v", eps[0])
	}
	if eps[1].Subject != "events.*.>" {
		t.Errorf("tail endpoint subject %q", eps[1].Subject)
	}
	if _, err := call(t, r, "events.created.a.b"); err != nil {
		t.Errorf("> matches several tokens: %v", err)
	}
}

func TestServeNATSInMemory(t *testing.T) {
	r := natsmux.NewRouter()
	hit := ""
	mark := func(name string) func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
		return func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			hit = name
			if natsmux.RequestFromContext(ctx) != req || natsmux.EndpointFromContext(ctx).Name != name {
				t.Errorf("%s: the context does not carry the request", name)
			}
			return nil, nil
		}
	}
	r.HandleFunc("wild", mark("wild"), natsmux.WithSubject("a.*"))
	r.HandleFunc("literal", mark("literal"), natsmux.WithSubject("b.c"))
	r.HandleFunc("tail", mark("tail"), natsmux.WithSubject("c.>"))
	tests := map[string]string{"a.b": "wild", "b.c": "literal", "c.d.e": "tail"}
	for subject, want := range tests {
		hit = ""
		if _, err := call(t, r, subject); err != nil || hit != want {
			t.Errorf("%s: served by %q (%v), want %q", subject, hit, err, want)
		}
	}
	_, err := call(t, r, "b")
	if natsmux.CodeOf(err) != 404 || !errors.Is(err, natsmux.ErrNotFound) {
		t.Errorf("unknown subject: %v", err)
	}
}

func TestReplyHelpers(t *testing.T) {
	resp, err := natsmux.ReplyJSON(map[string]int{"n": 1})
	if err != nil || string(resp.Data) != `{"n":1}` {
		t.Errorf("ReplyJSON: %s %v", resp.Data, err)
	}
	if _, err := natsmux.ReplyJSON(make(chan int)); natsmux.CodeOf(err) != 500 {
		t.Errorf("ReplyJSON of a channel: %v", err)
	}
	r := natsmux.Reply([]byte("x")).SetHeader("A", "1").SetHeader("B", "2")
	if r.Header.Get("A") != "1" || r.Header.Get("B") != "2" || string(r.Data) != "x" {
		t.Errorf("SetHeader: %+v", r)
	}
}

func TestContextAccessors(t *testing.T) {
	ctx := context.Background()
	if natsmux.RequestFromContext(ctx) != nil || natsmux.EndpointFromContext(ctx) != nil {
		t.Error("accessors on an empty context")
	}
	req := natsmux.NewRequest("s", nil)
	req.Endpoint = &natsmux.Endpoint{Name: "e"}
	ctx = natsmux.WithRequest(ctx, req)
	if natsmux.RequestFromContext(ctx) != req || natsmux.EndpointFromContext(ctx).Name != "e" {
		t.Error("accessors after WithRequest")
	}
	type other struct{}
	ctx = context.WithValue(ctx, other{}, 1)
	if natsmux.RequestFromContext(ctx) != req || ctx.Value(other{}) != 1 {
		t.Error("values through a derived context")
	}
}

// TestEndpointOf: a middleware learns its endpoint when the router builds
// the chain, as the endpoint is on each mount, and a handler wrapped by hand
// has none.
func TestEndpointOf(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	var built []string
	r := natsmux.NewRouter()
	r.Use(func(next natsmux.Handler) natsmux.Handler {
		ep := natsmux.EndpointOf(next)
		built = append(built, fmt.Sprintf("%s/%s/%s", ep.Service, ep.Name, ep.QueueGroup))
		return natsmux.HandlerFunc(func(ctx context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			if req.Endpoint != ep {
				t.Errorf("built for %p, serving %p", ep, req.Endpoint)
			}
			return next.ServeNATS(ctx, req)
		})
	}, func(next natsmux.Handler) natsmux.Handler { return next })
	r.HandleFunc("get", ok)
	mountService(t, nc, micro.Config{Name: "svc", Version: "1.0.0", QueueGroup: "workers"}, r)
	if _, err := call(t, r, "get"); err != nil {
		t.Fatal(err)
	}
	microtest.Request(t, nc, "get", nil)
	if want := []string{"svc/get/workers", "/get/q"}; !slices.Equal(built, want) {
		t.Errorf("chains built for %q, want %q", built, want)
	}
	if natsmux.EndpointOf(natsmux.HandlerFunc(ok)) != nil {
		t.Error("a handler the router did not hand over has an endpoint")
	}
}

func TestGetHeader(t *testing.T) {
	req := natsmux.NewRequest("x", nil)
	req.Header = nats.Header{"x-request-id": {"lower"}, "Content-Type": {"application/json"}, "Both": {"exact"}, "BOTH": {"upper"}}
	for key, want := range map[string]string{
		"X-Request-Id": "lower", "content-type": "application/json", "Both": "exact", "missing": "",
	} {
		if got := req.GetHeader(key); got != want {
			t.Errorf("GetHeader(%q) = %q, want %q", key, got, want)
		}
	}
	if natsmux.NewRequest("x", nil).GetHeader("a") != "" {
		t.Error("a request without headers has one")
	}
}
