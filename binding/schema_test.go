package binding_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
		{"optional fields may be missing", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[{"sku":"a","qty":1}]}`, true},
		{"optional fields may be null", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","email":null,"note":null,"address":{"city":"Oslo","zip":null},"items":[{"sku":"a","qty":1}]}`, true},
		{"a rule that refuses the zero value requires the field", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[{"sku":"a"}]}`, false},
		{"omitempty lets the zero value through", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","email":"","address":{"city":"Oslo","zip":""},"items":[{"sku":"a","qty":1}]}`, true},
		{"wrong type", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":5,"address":{"city":"Oslo"},"items":[]}`, false},
		{"embedded field required", "create", binding.RequestSchemaKey, `{"customer":"ann","address":{"city":"Oslo"},"items":[]}`, false},
		{"receipt", "create", binding.ResponseSchemaKey, `{"id":"r-1","total":3}`, true},
		{"receipt with a wrong type", "create", binding.ResponseSchemaKey, `{"id":1,"total":3}`, false},
		{"receipt without a field encoding always writes", "create", binding.ResponseSchemaKey, `{"id":"r-1"}`, false},
		{"recursive", "tree", binding.RequestSchemaKey, `{"name":"a","children":[{"name":"b","children":[{"name":"c"}]}]}`, true},
		{"recursive, missing name at the top", "tree", binding.RequestSchemaKey, `{"children":[{"name":"b"}]}`, false},
		// Without dive the validator does not look into children, and
		// neither does the schema (Node_unchecked).
		{"recursive, elements without dive are not checked", "tree", binding.RequestSchemaKey, `{"name":"a","children":[{"name":"b","children":[{}]}]}`, true},
		{"minimum length from a rule", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"a","address":{"city":"Oslo"},"items":[{"sku":"a"}]}`, false},
		{"minimum items from a rule", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[]}`, false},
		{"maximum length from a rule", "create", binding.RequestSchemaKey, `{"tenant":"acme","customer":"ann","address":{"city":"Oslo"},"items":[{"sku":"a"}],"note":"far more than twenty characters"}`, false},
		{"generic", "tree", binding.ResponseSchemaKey, `{"items":[{"name":"a"}]}`, true},
		{"generic, missing items", "tree", binding.ResponseSchemaKey, `{}`, false},
		{"generic, a nil slice", "tree", binding.ResponseSchemaKey, `{"items":null}`, true},
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

// Bounds is a type whose validation rules all have a JSON Schema form.
type Bounds struct {
	Count   int               `json:"count" validate:"gt=0,lt=10"`
	Exact   float64           `json:"exact" validate:"len=3"`
	Tags    []string          `json:"tags" validate:"max=3,dive,min=2"`
	Labels  map[string]string `json:"labels" validate:"min=1"`
	Code    string            `json:"code" validate:"len=4"`
	Color   string            `json:"color" validate:"oneof=red green"`
	Site    string            `json:"site" validate:"url"`
	ID      string            `json:"id" validate:"uuid"`
	At      string            `json:"at" validate:"datetime=2006-01-02T15:04:05Z07:00"`
	Day     string            `json:"day" validate:"datetime=2006-01-02"`
	Tagged  string            `json:"tagged" jsonschema:"format=hostname" validate:"url"`
	Comment string            `json:"comment" validate:"startswith=x"` // checked, not published
}

func TestSchemaBounds(t *testing.T) {
	schema := binding.SchemaMetadata[Bounds, Bounds]()[binding.RequestSchemaKey]
	compile(t, schema)
	var doc struct {
		Defs map[string]struct {
			Properties map[string]map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(schema), &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Defs["Bounds"].Properties
	tests := []struct {
		field, keyword string
		want           any
	}{
		{"count", "exclusiveMinimum", 0.0},
		{"count", "exclusiveMaximum", 10.0},
		{"exact", "minimum", 3.0},
		{"exact", "maximum", 3.0},
		{"tags", "maxItems", 3.0},
		{"labels", "minProperties", 1.0},
		{"code", "minLength", 4.0},
		{"code", "maxLength", 4.0},
		{"site", "format", "uri"},
		{"id", "format", "uuid"},
		{"at", "format", "date-time"},
		{"day", "format", "date"},
		{"tagged", "format", "hostname"},
	}
	for _, tt := range tests {
		if got := props[tt.field][tt.keyword]; got != tt.want {
			t.Errorf("%s.%s = %v, want %v", tt.field, tt.keyword, got, tt.want)
		}
	}
	if got := fmt.Sprint(props["color"]["enum"]); got != "[red green]" {
		t.Errorf("color enum %s", got)
	}
	if _, ok := props["tags"]["minItems"]; ok {
		t.Error("a rule after dive bounded the slice instead of its elements")
	}
	if len(props["comment"]) != 1 {
		t.Errorf("comment: %v, want only its type", props["comment"])
	}
}

// TestSignupSchema: the schema of the docs' example accepts what its
// endpoint accepts, no seats (0 under omitempty) and null included.
func TestSignupSchema(t *testing.T) {
	r := natsmux.NewRouter()
	r.Handle("signup", binding.JSON(signup, binding.WithStrict()))
	schema := compile(t, r.Endpoints()[0].Metadata[binding.RequestSchemaKey])
	for _, tt := range []struct {
		doc   string
		valid bool
	}{
		{`{"email":"ann@example.com","plan":"pro"}`, true},
		{`{"email":"ann@example.com","plan":"pro","seats":0}`, true},
		{`{"email":"ann@example.com","plan":"pro","seats":null}`, true},
		{`{"email":"ann@example.com","plan":"pro","seats":500}`, true},
		{`{"email":"ann@example.com","plan":"pro","seats":501}`, false},
		{`{"email":"ann@example.com","plan":"pro","seats":-1}`, false},
		{`{"email":"ann@example.com","plan":"gold"}`, false},
		{`{"email":"ann@example.com"}`, false},
	} {
		_, err := r.ServeNATS(context.Background(), natsmux.NewRequest("signup", []byte(tt.doc)))
		verdict := schema.Validate(decodeJSON(t, tt.doc))
		if (err == nil) != tt.valid || (verdict == nil) != tt.valid {
			t.Errorf("%s: endpoint %v, schema %v, want valid = %v", tt.doc, err, verdict, tt.valid)
		}
	}
}

// Enums is a type whose oneof rules apply to numbers and quoted phrases.
type Enums struct {
	Level int    `json:"level" validate:"oneof=1 2 3"`
	Grade uint8  `json:"grade" validate:"oneof=1 2 300 01 +3"` // only what the field can hold, as the validator writes it
	Kind  string `json:"kind" validate:"oneof='dark blue' red"`
	Ptr   *int   `json:"ptr" validate:"omitempty,oneof=7 8"`
}

// TestSchemaEnums: an enum holds values of the field's JSON type.
func TestSchemaEnums(t *testing.T) {
	schema := binding.SchemaMetadata[Enums, Enums]()[binding.RequestSchemaKey]
	compile(t, schema)
	for _, want := range []string{
		`"level":{"type":"integer","enum":[1,2,3]}`,
		`"grade":{"type":"integer","enum":[1,2],"maximum":255,"minimum":0}`,
		`"kind":{"type":"string","enum":["dark blue","red"]}`,
		`"ptr":{"enum":[7,8,null],"type":["integer","null"]}`,
	} {
		if !strings.Contains(schema, want) {
			t.Errorf("the schema lacks %s:\n%s", want, schema)
		}
	}
}
