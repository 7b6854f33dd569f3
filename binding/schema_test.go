package binding_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/micro"
)

// Node is recursive and generic types have package paths in their names:
// both once broke schema references.
type Node struct {
	Name     string `json:"name" validate:"required"`
	Children []Node `json:"children,omitempty"`
}

type Page[T any] struct {
	Items []T `json:"items" validate:"required"`
}

// TestSchemaInInfo: the schemas reach INFO over the wire, are valid JSON
// Schema, and accept and reject what the endpoint accepts and rejects.
func TestSchemaInInfo(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("create", binding.JSON(placeOrder), natsmux.WithSubject("orders.create"),
		natsmux.WithMetadata(map[string]string{"owner": "sales"}))
	r.Handle("strict", binding.JSON(placeOrder, binding.WithStrict()), natsmux.WithSubject("orders.strict"))
	r.Handle("tree", binding.JSON(func(_ context.Context, n *Node) (*Page[Node], error) { return &Page[Node]{Items: n.Children}, nil }))
	nc, _ := serve(t, r)

	infos, err := micro.DiscoverInfo(context.Background(), nc, micro.WithDiscoveryService("shop"))
	if err != nil || len(infos) != 1 {
		t.Fatalf("INFO: %v, %d replies", err, len(infos))
	}
	md := map[string]map[string]string{}
	for _, ep := range infos[0].Endpoints {
		md[ep.Name] = ep.Metadata
	}
	if md["create"]["owner"] != "sales" {
		t.Errorf("the endpoint's own metadata was lost: %v", md["create"])
	}

	tests := []struct {
		name     string
		endpoint string
		key      string
		doc      string
		valid    bool
	}{
		{"valid order", "create", binding.RequestSchemaKey, validOrder, true},
		{"additional property", "create", binding.RequestSchemaKey, `{"extra":1,` + validOrder[1:], true},
		{"additional property in strict mode", "strict", binding.RequestSchemaKey, `{"extra":1,` + validOrder[1:], false},
		{"required by a rule", "create", binding.RequestSchemaKey, `{"tenant":"acme","address":{"city":"Oslo"},"items":[]}`, false},
		{"required in a nested struct", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","address":{},"items":[]}`, false},
		{"required in slice elements", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[{"qty":1}]}`, false},
		{"optional fields may be missing", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[{"sku":"a"}]}`, true},
		{"wrong type", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":5,"address":{"city":"Oslo"},"items":[]}`, false},
		{"embedded field required", "create", binding.RequestSchemaKey, `{"customer":"ann","address":{"city":"Oslo"},"items":[]}`, false},
		{"receipt", "create", binding.ResponseSchemaKey, `{"id":"r-1","total":3}`, true},
		{"receipt with a wrong type", "create", binding.ResponseSchemaKey, `{"id":1,"total":3}`, false},
		{"recursive", "tree", binding.RequestSchemaKey, `{"name":"a","children":[{"name":"b","children":[{"name":"c"}]}]}`, true},
		{"recursive, missing name deep down", "tree", binding.RequestSchemaKey, `{"name":"a","children":[{"name":"b","children":[{}]}]}`, false},
		{"generic", "tree", binding.ResponseSchemaKey, `{"items":[{"name":"a"}]}`, true},
		{"generic, missing items", "tree", binding.ResponseSchemaKey, `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schema := compile(t, md[tt.endpoint][tt.key])
			var doc any
			dec := json.NewDecoder(strings.NewReader(tt.doc))
			dec.UseNumber()
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(doc); (err == nil) != tt.valid {
				t.Errorf("valid = %v, want %v (%v)\nschema %s", err == nil, tt.valid, err, md[tt.endpoint][tt.key])
			}
		})
	}
}

// compile checks text against the JSON Schema meta-schema and compiles it.
func compile(t *testing.T, text string) *jsonschema.Schema {
	t.Helper()
	if text == "" {
		t.Fatal("no schema")
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("schema.json", bytes.NewReader([]byte(text))); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("invalid schema: %v\n%s", err, text)
	}
	return s
}

// TestSchemaMetadataIsCopied: the router may add to the metadata it gets;
// the handler's own copy must not change.
func TestSchemaMetadataIsCopied(t *testing.T) {
	h := binding.JSON(placeOrder).(natsmux.MetadataProvider)
	md := h.EndpointMetadata()
	md[binding.RequestSchemaKey] = "changed"
	if h.EndpointMetadata()[binding.RequestSchemaKey] == "changed" {
		t.Error("EndpointMetadata returned the handler's own map")
	}
}
