package asyncapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	refmicro "github.com/nats-io/nats.go/micro"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/asyncapi"
	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/schema"
	"github.com/natsmux/natsmux/internal/schema/validate"
	"github.com/natsmux/natsmux/micro"
	"github.com/natsmux/natsmux/microtest"
)

func build(t *testing.T, r *natsmux.Router, cfg micro.Config, opts ...asyncapi.Option) *asyncapi.Document {
	t.Helper()
	doc, err := asyncapi.FromRouter(r, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	checkSpec(t, doc)
	return doc
}

// TestDocumentsValidate: documents of several routers match the official
// AsyncAPI 3.0 schema, in JSON and YAML.
func TestDocumentsValidate(t *testing.T) {
	clash := natsmux.NewRouter()
	// Two schemas with a definition of one name and different contents,
	// and a schema whose references point into its root.
	clash.HandleFunc("a", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `{"$ref":"#/$defs/Item","$defs":{"Item":{"type":"object","properties":{"sku":{"type":"string"}}}}}`}))
	clash.HandleFunc("b", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `{"$ref":"#/$defs/Item","$defs":{"Item":{"type":"object","properties":{"shelf":{"type":"integer"}}}}}`}))
	clash.HandleFunc("c", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `{"type":"object","properties":{"next":{"$ref":"#"}}}`}))
	clash.HandleFunc("d", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"x y":{"type":"string"}},"type":"array","items":{"$ref":"#/definitions/x y"}}`}))
	clash.HandleFunc("e", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `not JSON`, binding.ResponseSchemaKey: `true`}))

	tests := map[string]*natsmux.Router{
		"orders": ordersRouter(),
		"empty":  natsmux.NewRouter(),
		"clash":  clash,
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			build(t, r, ordersConfig, asyncapi.WithServer("nats://127.0.0.1:4222"), asyncapi.WithServer("127.0.0.1:4223"))
		})
	}
}

func TestOrdersDocument(t *testing.T) {
	doc := build(t, ordersRouter(), ordersConfig)

	if doc.AsyncAPI != "3.0.0" || doc.Info.Title != "orders" || doc.Info.Version != "1.2.0" || doc.Info.Metadata["team"] != "shop" {
		t.Errorf("info %+v", doc.Info)
	}
	if s := doc.Servers["nats"]; s == nil || s.Protocol != "nats" {
		t.Errorf("servers %+v", doc.Servers)
	}
	addresses := map[string]string{}
	for id, ch := range doc.Channels {
		if ch.Address == nil {
			addresses[id] = "(null)"
		} else {
			addresses[id] = *ch.Address
		}
	}
	want := map[string]string{
		"create": "orders.create", "create.reply": "(null)",
		"get": "orders.{id}.get", "get.reply": "(null)",
		"item": "orders.{id}.items.{item}", "item.reply": "(null)",
		"lookup": "admin.get", "lookup.reply": "(null)",
		"broadcast": "admin.broadcast", "broadcast.reply": "(null)",
		"tree": "admin.tree", "tree.reply": "(null)",
	}
	if diff := cmp.Diff(want, addresses); diff != "" {
		t.Errorf("channel addresses (-want +got):\n%s", diff)
	}
	params := doc.Channels["item"].Parameters
	if diff := cmp.Diff(map[string]*asyncapi.Parameter{
		"id":   {Description: "the order's number", Examples: []string{"42"}},
		"item": {Description: "the item's SKU", Examples: []string{"tea"}},
	}, params); diff != "" {
		t.Errorf("parameters (-want +got):\n%s", diff)
	}

	ops := doc.Operations
	if b := ops["lookup"].Bindings; b == nil || b.NATS.Queue != "admin" || b.NATS.BindingVersion != "0.1.0" {
		t.Errorf("admin.get binding %+v", b)
	}
	if b := ops["create"].Bindings; b == nil || b.NATS.Queue != "q" {
		t.Errorf("create binding %+v", b)
	}
	if ops["broadcast"].Bindings != nil || !strings.Contains(ops["broadcast"].Description, "No queue group") {
		t.Errorf("broadcast %+v", ops["broadcast"])
	}
	if diff := cmp.Diff(map[string]string{"domain": "sales"}, ops["get"].Metadata); diff != "" {
		t.Errorf("metadata extension (-want +got):\n%s", diff)
	}
	create := ops["create"]
	if create.Action != "receive" || create.Channel.Ref != "#/channels/create" || create.Reply.Channel.Ref != "#/channels/create.reply" {
		t.Errorf("create %+v", create)
	}
	var replies []string
	for _, m := range create.Reply.Messages {
		replies = append(replies, m.Ref)
	}
	if diff := cmp.Diff([]string{"#/channels/create.reply/messages/reply", "#/channels/create.reply/messages/error.400",
		"#/channels/create.reply/messages/error.409", "#/channels/create.reply/messages/error"}, replies); diff != "" {
		t.Errorf("create's replies (-want +got):\n%s", diff)
	}

	msgs := doc.Components.Messages
	conflict := msgs["create.error.409"]
	if conflict.Summary != "an order with these items exists" || !strings.Contains(string(conflict.Headers), `"const":"409"`) ||
		conflict.Examples[0].Headers["Nats-Service-Error-Code"] != "409" {
		t.Errorf("409 message %+v %s", conflict, conflict.Headers)
	}
	if _, ok := msgs["get.error.400"]; ok {
		t.Error("an untyped endpoint documents a 400 it never declared")
	}
	if m := msgs["get.error.404"]; m == nil || m.Summary != "no such order" {
		t.Errorf("get's 404: %+v", m)
	}
	// Payloads refer to components, and no published $defs survive.
	if got := string(msgs["create.request"].Payload); got != `{"$ref":"#/components/schemas/Order"}` {
		t.Errorf("create's request payload %s", got)
	}
	for name, s := range doc.Components.Schemas {
		if strings.Contains(string(s), "$defs") || strings.Contains(string(s), `"$schema"`) {
			t.Errorf("component %s keeps a published schema's structure: %s", name, s)
		}
	}
	if got := string(doc.Components.Schemas["Order"]); !strings.Contains(got, `"$ref":"#/components/schemas/Item"`) {
		t.Errorf("Order does not refer to the component Item: %s", got)
	}
	if got := string(doc.Components.Schemas["Category"]); !strings.Contains(got, `"$ref":"#/components/schemas/Category"`) {
		t.Errorf("Category does not refer to itself: %s", got)
	}
}

// TestMessageExamples: each example validates against its message's
// payload, resolved within the document, as a validator sees it.
func TestMessageExamples(t *testing.T) {
	doc := build(t, ordersRouter(), ordersConfig)
	data, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	root, err := schema.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for id, m := range doc.Components.Messages {
		for _, ex := range m.Examples {
			if ex.Payload == nil {
				continue
			}
			// A schema document of the whole AsyncAPI document whose root
			// is the payload, so that its references resolve.
			withRoot := append(schema.Object{{Name: "$ref", Value: "#/components/messages/" + id + "/payload"}}, root.(schema.Object)...)
			text, _ := schema.Marshal(withRoot)
			v, err := validate.Compile(text)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.ValidateJSON(ex.Payload); err != nil {
				t.Errorf("%s example %s: %v", id, ex.Payload, err)
			}
			n++
		}
	}
	if n < 4 {
		t.Errorf("only %d payload examples", n)
	}
}

// TestFieldErrorsSchema: the documented payload of a validation failure
// matches what binding sends.
func TestFieldErrorsSchema(t *testing.T) {
	doc := build(t, ordersRouter(), ordersConfig)
	v, err := validate.Compile(doc.Components.Schemas["natsmux.FieldErrors"])
	if err != nil {
		t.Fatal(err)
	}
	sent := binding.NewValidationError(binding.FieldError{Field: "items[0].sku", Rule: "min", Param: "3"},
		binding.FieldError{Field: "email", Rule: "required"})
	if err := v.ValidateJSON(sent.Data); err != nil {
		t.Errorf("%s: %v", sent.Data, err)
	}
}

// TestSharedDefinitions: endpoints with the same type share one component;
// definitions of one name and different contents get names of their own.
func TestSharedDefinitions(t *testing.T) {
	r := natsmux.NewRouter()
	item := func(prop string) map[string]string {
		return map[string]string{binding.RequestSchemaKey: `{"$ref":"#/$defs/Item","$defs":{"Item":{"type":"object","properties":{"` + prop + `":{"type":"string"}}}}}`}
	}
	r.HandleFunc("a", ok, natsmux.WithMetadata(item("sku")))
	r.HandleFunc("b", ok, natsmux.WithMetadata(item("sku")))
	r.HandleFunc("c", ok, natsmux.WithMetadata(item("shelf")))
	doc := build(t, r, ordersConfig)
	var names []string
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"Item", "Item_2", "natsmux.FieldErrors"}, names); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	payloads := []string{string(doc.Components.Messages["a.request"].Payload), string(doc.Components.Messages["b.request"].Payload),
		string(doc.Components.Messages["c.request"].Payload)}
	if payloads[0] != payloads[1] || payloads[0] == payloads[2] || !strings.Contains(string(doc.Components.Schemas["Item_2"]), "shelf") {
		t.Errorf("payloads %v, Item_2 %s", payloads, doc.Components.Schemas["Item_2"])
	}
}

// TestUnreadableSchema: a schema that is no JSON leaves its payload out
// and says so; the document stays valid.
func TestUnreadableSchema(t *testing.T) {
	r := natsmux.NewRouter()
	r.HandleFunc("a", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `{"type":`}))
	doc := build(t, r, ordersConfig)
	m := doc.Components.Messages["a.request"]
	if m.Payload != nil || !strings.Contains(m.Description, "could not be read") {
		t.Errorf("message %+v", m)
	}
}

// TestFromLiveInfo: the document of a running service, from its INFO,
// equals the router's, and a service written with nats.go's micro gets one
// too.
func TestFromLiveInfo(t *testing.T) {
	srv := microtest.NewServer(t)
	nc := srv.Connect(t)
	svc := microtest.AddService(t, nc, ordersConfig)
	if err := natsmux.Mount(svc, ordersRouter()); err != nil {
		t.Fatal(err)
	}
	ref, err := refmicro.AddService(nc, refmicro.Config{Name: "reference", Version: "0.1.0",
		Endpoint: &refmicro.EndpointConfig{Subject: "ref.echo", Handler: refmicro.HandlerFunc(func(r refmicro.Request) { _ = r.Respond(r.Data()) })}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ref.Stop() })
	// ADR-32 lets two endpoints share a name (the router does not).
	for _, group := range []string{"a", "b"} {
		if err := ref.AddGroup(group).AddEndpoint("dup", refmicro.HandlerFunc(func(r refmicro.Request) { _ = r.Respond(nil) })); err != nil {
			t.Fatal(err)
		}
	}

	for _, name := range []string{"orders", "reference"} {
		infos, err := micro.DiscoverInfo(context.Background(), nc, micro.WithDiscoveryService(name))
		if err != nil || len(infos) != 1 {
			t.Fatalf("INFO of %s: %v %v", name, infos, err)
		}
		doc, err := asyncapi.FromInfo(infos[0], asyncapi.WithServer(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		checkSpec(t, doc)
		if name == "reference" {
			if ch := doc.Channels["default"]; ch == nil || *ch.Address != "ref.echo" {
				t.Errorf("nats.go service's channels: %+v", doc.Channels)
			}
			if a, b := doc.Channels["dup"], doc.Channels["dup_2"]; a == nil || b == nil || *a.Address != "a.dup" || *b.Address != "b.dup" {
				t.Errorf("endpoints of one name: %+v", doc.Channels)
			}
			continue
		}
		fromRouter := build(t, ordersRouter(), ordersConfig, asyncapi.WithServer(srv.URL))
		a, _ := json.Marshal(doc)
		b, _ := json.Marshal(fromRouter)
		if string(a) != string(b) {
			t.Errorf("from INFO:\n%s\nfrom the router:\n%s", a, b)
		}
	}
}

func TestWithServerErrors(t *testing.T) {
	for _, bad := range []string{"", "nats://", "a b:4222", "host/path", "::not a url"} {
		if _, err := asyncapi.FromRouter(natsmux.NewRouter(), ordersConfig, asyncapi.WithServer(bad)); err == nil {
			t.Errorf("WithServer(%q) accepted", bad)
		}
	}
}
