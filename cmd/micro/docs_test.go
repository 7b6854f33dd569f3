package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"go.yaml.in/yaml/v3"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

type (
	shopLine struct {
		SKU string `json:"sku" validate:"required,min=3"`
		Qty int    `json:"qty" validate:"required,gte=1,lte=50"`
	}
	shopBasket struct {
		Email string     `json:"email" validate:"required,email"`
		Lines []shopLine `json:"lines" validate:"required,min=1,dive"`
	}
	// shopBasketV2 adds a required field: a breaking change for callers.
	shopBasketV2 struct {
		shopBasket
		Store string `json:"store" validate:"required"`
	}
	// shopBasketV11 adds an optional field: callers are unaffected.
	shopBasketV11 struct {
		shopBasket
		Note string `json:"note,omitempty"`
	}
	shopTotal struct {
		Lines int `json:"lines"`
	}
)

// shopRouter is a typed service with a parameter and declared errors; in
// returns the type of its request.
func shopRouter[In any]() *natsmux.Router {
	r := natsmux.NewRouter()
	r.Route("shop", func(r *natsmux.Router) {
		r.Handle("total", binding.JSON(func(context.Context, *In) (*shopTotal, error) { return &shopTotal{Lines: 1}, nil }))
		r.Route("{store}", func(r *natsmux.Router) {
			r.HandleFunc("open", func(context.Context, *natsmux.Request) (*natsmux.Response, error) {
				return nil, natsmux.NewError(404, "no such store")
			})
		}, natsmux.WithParam("store", "the store's city", "berlin"), natsmux.WithError(404, "no such store"))
	})
	return r
}

func startShop[In any](t *testing.T, srv *microtest.Server, version string) {
	t.Helper()
	addService(t, srv.Connect(t), micro.Config{Name: "shop", Version: version, Description: "A shop"}, shopRouter[In]())
}

// validateAsyncAPI checks a document against the official AsyncAPI 3.0
// schema that the asyncapi package's tests keep.
func validateAsyncAPI(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	data, _ := json.Marshal(v)
	var generic any
	_ = json.Unmarshal(data, &generic)
	spec, err := jsonschema.Compile(filepath.Join("..", "..", "asyncapi", "testdata", "asyncapi-3.0.0.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(generic); err != nil {
		t.Errorf("not a valid AsyncAPI 3.0 document: %v", err)
	}
	return v
}

func TestDocsAsyncAPI(t *testing.T) {
	srv := microtest.NewServer(t)
	startShop[shopBasket](t, srv, "1.0.0")
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		file   string // where the document goes, else stdout
		isJSON bool
	}{
		{"yaml to stdout", []string{"docs", "shop"}, "", false},
		{"json to stdout", []string{"docs", "shop", "--format", "json"}, "", true},
		{"json file", []string{"docs", "shop", "-o", filepath.Join(dir, "shop.json")}, filepath.Join(dir, "shop.json"), true},
		{"yaml file", []string{"docs", "shop", "-o", filepath.Join(dir, "shop.yml")}, filepath.Join(dir, "shop.yml"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invocation{}.run(t, append(tt.args, "-s", srv.URL)...)
			r.check(t, 0, "", "")
			doc := []byte(r.stdout)
			if tt.file != "" {
				var err error
				if doc, err = os.ReadFile(tt.file); err != nil {
					t.Fatal(err)
				}
			}
			if got := json.Valid(doc); got != tt.isJSON {
				t.Errorf("JSON %v, want %v:\n%s", got, tt.isJSON, doc)
			}
			v := validateAsyncAPI(t, doc)
			if v["info"].(map[string]any)["title"] != "shop" {
				t.Errorf("info %v", v["info"])
			}
			ch := v["channels"].(map[string]any)["open"].(map[string]any)
			if ch["address"] != "shop.{store}.open" {
				t.Errorf("channel open %v", ch)
			}
			servers := v["servers"].(map[string]any)["nats"].(map[string]any)
			if servers["host"] != strings.TrimPrefix(srv.URL, "nats://") || servers["protocol"] != "nats" {
				t.Errorf("servers %v", servers)
			}
		})
	}
}

func TestDocsUsage(t *testing.T) {
	f := newFixture(t)
	startShop[shopBasket](t, f.srv, "1.0.0")
	startShop[shopBasketV11](t, f.srv, "1.1.0")
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"docs"}, exitUsage, "an AsyncAPI document describes one service; found demo-service 1.0.0, orders 2.1.0, shop 1.0.0, shop 1.1.0"},
		{[]string{"docs", "shop"}, exitUsage, "found shop 1.0.0, shop 1.1.0: name one, and choose a version with --version"},
		{[]string{"docs", "shop", "--version", "9.9.9"}, exitError, "no service answered in version 9.9.9"},
		{[]string{"docs", "nobody"}, exitError, "no instance of service nobody answered"},
		{[]string{"docs", "shop", "--format", "pdf"}, exitUsage, `unknown format "pdf"`},
		{[]string{"docs", "shop", "--html", "--format", "json"}, exitUsage, "--html and --format json disagree"},
		{[]string{"docs", "shop", "--version", "1.0.0", "--expect", "/nonexistent/old.yaml"}, exitError, "reading the expected document"},
		{[]string{"docs", "a", "b"}, exitUsage, "accepts between 0 and 1 arg(s), received 2"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			invocation{}.run(t, append(tt.args, "-s", f.srv.URL)...).check(t, tt.code, "", tt.stderr)
		})
	}
	// One version of several, by --version.
	r := invocation{}.run(t, "docs", "shop", "--version", "1.1.0", "-s", f.srv.URL)
	r.check(t, 0, "version: 1.1.0", "")
}

// TestDocsExpect: against the document callers were written for, a new
// required request field and a kept major version are warned of; an added
// optional field is not.
func TestDocsExpect(t *testing.T) {
	old := microtest.NewServer(t)
	startShop[shopBasket](t, old, "1.0.0")
	expected := filepath.Join(t.TempDir(), "shop-1.0.0.yaml")
	invocation{}.run(t, "docs", "shop", "-o", expected, "-s", old.URL).check(t, 0, "", "")

	tests := []struct {
		name    string
		start   func(*testing.T, *microtest.Server, string)
		version string
		warn    []string
	}{
		{"compatible", startShop[shopBasketV11], "1.1.0", nil},
		{"breaking", startShop[shopBasketV2], "1.1.0", []string{
			"micro: warning: shop: shop.total: request store: is now required",
			"micro: warning: shop: version 1.0.0 to 1.1.0 keeps the major version across breaking changes",
		}},
		{"breaking with a new major version", startShop[shopBasketV2], "2.0.0", []string{
			"micro: warning: shop: shop.total: request store: is now required",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := microtest.NewServer(t)
			tt.start(t, srv, tt.version)
			r := invocation{}.run(t, "docs", "shop", "--expect", expected, "-o", os.DevNull, "-s", srv.URL)
			r.check(t, 0, "", "")
			got := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if tt.warn == nil && r.stderr != "" || tt.warn != nil && strings.Join(got, "\n") != strings.Join(tt.warn, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", r.stderr, strings.Join(tt.warn, "\n"))
			}
		})
	}
}

// TestDocsHTML: the page holds every endpoint of every service, the fields
// of the schemas, the errors and a request line, and live counters when
// asked; it is one file, with no script and nothing loaded from elsewhere.
func TestDocsHTML(t *testing.T) {
	f := newFixture(t)
	startShop[shopBasket](t, f.srv, "1.0.0")
	for range 3 {
		microtest.Request(t, f.nc, "shop.total", []byte(`{"email":"ann@example.com","lines":[{"sku":"tea","qty":2}]}`))
	}
	microtest.Request(t, f.nc, "shop.total", []byte(`{}`))
	r := invocation{}.run(t, "docs", "--html", "--stats", "-s", f.srv.URL)
	r.check(t, 0, "<!DOCTYPE html>", "")
	page := r.stdout
	for _, want := range []string{
		`data-endpoint="echo"`, `data-endpoint="get"`, `data-endpoint="headers"`, `data-endpoint="silent"`,
		`data-endpoint="total"`, `data-endpoint="open"`,
		"<code>orders.{id}.get</code>", "subscribes to orders.*.get", "no queue group: every instance answers",
		`<td class="path">lines[].sku</td><td>string</td><td><span class="req">required</span></td><td>length ≥ 3</td>`,
		`<td class="path">lines[].qty</td><td>integer</td>`, "≥ 1; ≤ 50",
		`<td class="path">{store}</td><td>the store&#39;s city</td><td><code>berlin</code></td>`,
		`<td class="path">404</td><td>no such store</td>`, `<td class="path">400</td>`,
		`micro request shop.total &#39;{&#34;email&#34;:&#34;ann@example.com&#34;`,
		`micro request shop.berlin.open`, `micro request orders.1.get`,
		"<tr><td>4</td><td>1</td>", // shop.total: 4 requests, 1 error
		`<td class="path">returns</td><td>order</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for _, banned := range []string{"<script", "src=", `href="http`, "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("the page holds %s: it must be self-contained", banned)
		}
	}
}
