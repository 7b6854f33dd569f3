package asyncapi_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"go.yaml.in/yaml/v3"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/asyncapi"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
)

// The orders service of the tests: typed and plain endpoints, subject
// parameters with descriptions, declared errors, a group's queue group,
// an endpoint without queue group, two endpoints with one name, a
// recursive type, and two types of one name in different endpoints.
type (
	Item struct {
		SKU string `json:"sku" validate:"required,min=3"`
		Qty int    `json:"qty" validate:"required,gte=1,lte=100"`
	}
	Order struct {
		Email string `json:"email" validate:"required,email"`
		Items []Item `json:"items" validate:"required,min=1,dive"`
		Note  string `json:"note,omitempty" validate:"omitempty,max=200"`
	}
	Receipt struct {
		ID    string `json:"id" jsonschema:"format=uuid"`
		Total int    `json:"total"`
	}
	Category struct {
		Name     string      `json:"name" validate:"required"`
		Children []*Category `json:"children,omitempty" validate:"omitempty,dive"`
	}
)

func ok(context.Context, *natsmux.Request) (*natsmux.Response, error) { return nil, nil }

func ordersRouter() *natsmux.Router {
	r := natsmux.NewRouter()
	r.Route("orders", func(r *natsmux.Router) {
		r.Handle("create", binding.JSON(func(context.Context, *Order) (*Receipt, error) { return &Receipt{}, nil }),
			natsmux.WithError(409, "an order with these items exists"))
		r.Route("{id}", func(r *natsmux.Router) {
			r.HandleFunc("get", ok)
			r.HandleFunc("item", ok, natsmux.WithSubject("items.{item}"), natsmux.WithParam("item", "the item's SKU", "tea"))
		}, natsmux.WithParam("id", "the order's number", "42"), natsmux.WithError(404, "no such order"))
	}, natsmux.WithMetadata(map[string]string{"domain": "sales"}))
	r.Route("admin", func(r *natsmux.Router) {
		r.HandleFunc("lookup", ok, natsmux.WithSubject("get"))
		r.HandleFunc("broadcast", ok, natsmux.WithoutQueueGroup())
		r.Handle("tree", binding.JSON(func(context.Context, *Category) (*Category, error) { return nil, nil }))
	}, natsmux.WithQueueGroup("admin"))
	return r
}

var ordersConfig = micro.Config{Name: "orders", Version: "1.2.0", Description: "Orders",
	Metadata: map[string]string{"team": "shop"}}

// The official schema of AsyncAPI 3.0 documents, compiled once.
var specSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	f, err := os.Open("testdata/asyncapi-3.0.0.schema.json")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := c.AddResource("asyncapi-3.0.0.json", f); err != nil {
		return nil, err
	}
	return c.Compile("asyncapi-3.0.0.json")
})

// checkSpec checks a document, in JSON and in YAML, against the official
// schema, and that both encodings say the same.
func checkSpec(t *testing.T, doc *asyncapi.Document) {
	t.Helper()
	spec, err := specSchema()
	if err != nil {
		t.Fatal(err)
	}
	data, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON any
	if err := json.Unmarshal(data, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(fromJSON); err != nil {
		t.Fatalf("the document does not match AsyncAPI 3.0's schema: %#v\n%s", err, data)
	}
	text, err := doc.YAML()
	if err != nil {
		t.Fatal(err)
	}
	var fromYAML any
	if err := yaml.Unmarshal(text, &fromYAML); err != nil {
		t.Fatalf("the YAML does not parse: %v\n%s", err, text)
	}
	// Through JSON, so that numbers and maps compare alike.
	again, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	var roundTrip any
	if err := json.Unmarshal(again, &roundTrip); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(roundTrip)
	if string(a) != string(b) {
		t.Errorf("YAML and JSON differ:\n%s\n%s", text, data)
	}
}
