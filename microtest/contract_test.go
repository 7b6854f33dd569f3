package microtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

type (
	Line struct {
		SKU string `json:"sku" validate:"required,min=3,max=12"`
		Qty int    `json:"qty" validate:"required,gte=1,lte=50"`
	}
	Basket struct {
		Email string `json:"email" validate:"required,email"`
		Kind  string `json:"kind" validate:"required,oneof=retail wholesale"`
		Lines []Line `json:"lines" validate:"required,min=1,max=3,dive"`
		Note  string `json:"note,omitempty" validate:"omitempty,max=20"`
	}
	Total struct {
		Lines int    `json:"lines"`
		Code  string `json:"code" jsonschema:"format=uuid"`
	}
)

// shop is a service that keeps its contract: a strict typed endpoint, one
// behind a parameter that answers with a declared error, one with an empty
// reply, and an untyped endpoint.
func shop() *natsmux.Router {
	r := natsmux.NewRouter()
	r.Route("shop", func(r *natsmux.Router) {
		r.Handle("total", binding.JSON(func(_ context.Context, b *Basket) (*Total, error) {
			return &Total{Lines: len(b.Lines), Code: "3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}, nil
		}, binding.WithStrict()))
		r.Route("{store}", func(r *natsmux.Router) {
			r.Handle("reserve", binding.JSON(func(context.Context, *Basket) (*Total, error) {
				return nil, natsmux.NewError(404, "no such store")
			}))
		}, natsmux.WithParam("store", "the store's city", "berlin"), natsmux.WithError(404, "no such store"))
		r.Handle("clear", binding.JSON(func(context.Context, *Basket) (*Total, error) { return nil, nil }))
		r.HandleFunc("ping", func(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil })
	})
	return r
}

func serve(t *testing.T, r *natsmux.Router) (*nats.Conn, micro.Service) {
	t.Helper()
	nc := microtest.NewServer(t).Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "shop", Version: "1.0.0"})
	if err := natsmux.Mount(svc, r); err != nil {
		t.Fatal(err)
	}
	return nc, svc
}

// TestShopContract is the contract test of docs/contracts.md.
func TestShopContract(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, micro.Config{Name: "shop", Version: "1.0.0"})
	if err := natsmux.Mount(svc, shop()); err != nil {
		t.Fatal(err)
	}
	microtest.CheckContract(t, nc, "shop")
}

// TestCheckContractBound: an endpoint whose schema has more invalid
// variants than MaxContractCases gets that many invalid requests, and the
// two valid ones.
func TestCheckContractBound(t *testing.T) {
	props := make([]string, 200)
	for i := range props {
		props[i] = fmt.Sprintf(`"f%d":{"type":"string","maxLength":3}`, i)
	}
	requestSchema := `{"type":"object","properties":{` + strings.Join(props, ",") + `}}`
	r := natsmux.NewRouter()
	r.HandleFunc("wide", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
		var in map[string]any
		if json.Unmarshal(req.Data, &in) != nil {
			return nil, natsmux.NewError(400, "not an object")
		}
		var fields []binding.FieldError
		for name, v := range in {
			if s, ok := v.(string); !ok || len(s) > 3 {
				fields = append(fields, binding.FieldError{Field: name, Rule: "max"})
			}
		}
		if len(fields) > 0 {
			return nil, binding.NewValidationError(fields...)
		}
		return nil, nil
	}, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: requestSchema}))
	nc, svc := serve(t, r)
	microtest.CheckContract(t, nc, "shop")
	if got := microtest.SettledStats(t, svc, 2+microtest.MaxContractCases).Endpoints[0].NumRequests; got != 2+microtest.MaxContractCases {
		t.Errorf("%d requests", got)
	}
}

// brokenServices are services that break their contracts, each with what
// CheckContract must say about it.
var brokenServices = map[string]struct {
	router func() *natsmux.Router
	want   string
}{
	"undeclared error": {func() *natsmux.Router {
		r := natsmux.NewRouter()
		r.Handle("total", binding.JSON(func(context.Context, *Basket) (*Total, error) { return nil, natsmux.NewError(404, "gone") }))
		return r
	}, `error 404 "gone", which the endpoint does not declare`},
	"reply unlike its schema": {func() *natsmux.Router {
		r := natsmux.NewRouter()
		r.HandleFunc("total", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return natsmux.Reply([]byte(`{"lines":"many"}`)), nil
		}, natsmux.WithMetadata(binding.SchemaMetadata[Basket, Total]()))
		return r
	}, "does not match the published response schema"},
	"rule not enforced": {func() *natsmux.Router {
		r := natsmux.NewRouter()
		r.HandleFunc("total", func(_ context.Context, req *natsmux.Request) (*natsmux.Response, error) {
			var b map[string]any
			if json.Unmarshal(req.Data, &b) != nil {
				return nil, natsmux.NewError(400, "not JSON")
			}
			return nil, nil // accepts any object
		}, natsmux.WithMetadata(binding.SchemaMetadata[Basket, Total]()))
		return r
	}, "want a 400"},
	"400 without field errors": {func() *natsmux.Router {
		r := natsmux.NewRouter()
		r.HandleFunc("total", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
			return nil, natsmux.NewError(400, "no")
		}, natsmux.WithMetadata(binding.SchemaMetadata[Basket, Total]()), natsmux.WithError(400, "always"))
		return r
	}, `the 400 names fields [], want "email" among them`},
	"invalid schema": {func() *natsmux.Router {
		r := natsmux.NewRouter()
		r.HandleFunc("total", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `{"type":5}`}))
		return r
	}, "metadata natsmux.request_schema is no valid JSON Schema"},
	"misplaced parameter": {func() *natsmux.Router {
		r := natsmux.NewRouter()
		r.HandleFunc("total", ok, natsmux.WithParam("id", "an id", ""))
		return r
	}, `metadata describes parameter "id", which subject total lacks`},
}

func ok(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil }

// TestCheckContractFails: CheckContract fails the test of each broken
// service, saying why. Each runs in a child process of this test binary,
// whose failure is the expected outcome.
func TestCheckContractFails(t *testing.T) {
	if scenario := os.Getenv("CONTRACT_SCENARIO"); scenario != "" {
		t.Skip("run as a child")
	}
	scenarios := []string{"fake discovery", "instances disagree"}
	for name := range brokenServices {
		scenarios = append(scenarios, name)
	}
	for _, name := range scenarios {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenContract$", "-test.v")
			cmd.Env = append(os.Environ(), "CONTRACT_SCENARIO="+name)
			out, err := cmd.CombinedOutput()
			want := map[string]string{
				"fake discovery":     "reply does not match ADR-32's schema",
				"instances disagree": "publish different endpoints",
			}[name]
			if s, ok := brokenServices[name]; ok {
				want = s.want
			}
			if err == nil || !strings.Contains(string(out), want) {
				t.Errorf("CheckContract: %v, output lacks %q:\n%s", err, want, out)
			}
		})
	}
}

// TestBrokenContract is the child of TestCheckContractFails: it fails.
func TestBrokenContract(t *testing.T) {
	scenario := os.Getenv("CONTRACT_SCENARIO")
	if scenario == "" {
		t.Skip("run by TestCheckContractFails")
	}
	if scenario == "fake discovery" {
		nc := microtest.NewServer(t).Connect(t)
		// A responder that answers discovery with documents lacking most
		// of their fields.
		for _, verb := range []string{"PING", "INFO", "STATS"} {
			typ := map[string]string{"PING": micro.PingResponseType, "INFO": micro.InfoResponseType, "STATS": micro.StatsResponseType}[verb]
			sub, err := nc.Subscribe("$SRV."+verb+".fake", func(m *nats.Msg) {
				_ = m.Respond([]byte(`{"type":"` + typ + `","name":"fake","endpoints":[]}`))
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sub.Unsubscribe() })
		}
		microtest.CheckContract(t, nc, "fake")
		return
	}
	if scenario == "instances disagree" {
		nc, svc := serve(t, shop())
		other := microtest.AddService(t, nc, svc.Config())
		r := shop()
		r.HandleFunc("extra", ok)
		if err := natsmux.Mount(other, r); err != nil {
			t.Fatal(err)
		}
		microtest.CheckContract(t, nc, "shop")
		return
	}
	nc, _ := serve(t, brokenServices[scenario].router())
	microtest.CheckContract(t, nc, "shop")
}
