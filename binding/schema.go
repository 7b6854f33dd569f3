package binding

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// Endpoint metadata keys under which typed handlers publish the JSON
// Schemas (draft 2020-12) of their request and response, as JSON text. INFO
// shows them, so `nats micro info` tells what an endpoint takes and
// returns.
const (
	RequestSchemaKey  = "natsmux.request_schema"
	ResponseSchemaKey = "natsmux.response_schema"
)

// SchemaMetadata returns the metadata that JSON's handlers publish, for
// hand-written handlers that use Decode and Encode:
//
//	r.HandleFunc("create", create, natsmux.WithMetadata(binding.SchemaMetadata[Order, Receipt]()))
//
// Of the options, only WithStrict matters: it forbids additional properties
// in the request schema.
func SchemaMetadata[In, Out any](opts ...Option) map[string]string {
	return schemaMetadata(reflect.TypeFor[In](), reflect.TypeFor[Out](), newConfig(opts).strict)
}

func schemaMetadata(in, out reflect.Type, strict bool) map[string]string {
	return map[string]string{
		RequestSchemaKey:  schemaOf(in, !strict),
		ResponseSchemaKey: schemaOf(out, true),
	}
}

// schemaOf generates t's schema. A field is required when a `validate` rule
// requires it (or a `jsonschema:"required"` tag says so), not merely
// because it lacks omitempty, so that the schema accepts what validation
// accepts. Additional properties are allowed where decoding ignores them.
func schemaOf(t reflect.Type, additional bool) string {
	defer func() {
		if v := recover(); v != nil { // the reflector panics on types JSON cannot carry, such as channels
			panic(fmt.Sprintf("binding: generating the JSON Schema of %s: %v", t, v))
		}
	}()
	r := &jsonschema.Reflector{
		Anonymous:                  true,
		RequiredFromJSONSchemaTags: true,
		AllowAdditionalProperties:  additional,
		Namer:                      defName,
	}
	s := r.ReflectFromType(t)
	requireFromRules(t, s, s.Definitions, map[*jsonschema.Schema]bool{})
	data, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("binding: generating the JSON Schema of %s: %v", t, err))
	}
	return string(data)
}

// defName names t's definition in $defs. The name of an instance of a
// generic type holds package paths, whose slashes would break the
// "#/$defs/..." references: Page[example.com/shop.Item] becomes Page_Item.
func defName(t reflect.Type) string {
	name := t.Name()
	if !strings.Contains(name, "[") {
		return name
	}
	parts := strings.FieldsFunc(name, func(r rune) bool { return strings.ContainsRune("[]*, ", r) })
	for i, p := range parts {
		parts[i] = p[strings.LastIndexByte(p, '.')+1:]
	}
	return strings.Join(parts, "_")
}

// requireFromRules walks t and its schema s side by side and marks the
// fields that `validate` tags require.
func requireFromRules(t reflect.Type, s *jsonschema.Schema, defs jsonschema.Definitions, seen map[*jsonschema.Schema]bool) {
	if s == nil {
		return
	}
	if name, ok := strings.CutPrefix(s.Ref, "#/$defs/"); ok {
		s = defs[name]
	}
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		requireFromRules(t.Elem(), s.Items, defs, seen)
	case reflect.Map:
		requireFromRules(t.Elem(), s.AdditionalProperties, defs, seen)
	case reflect.Struct:
		requireFields(t, s, defs, seen)
	}
}

func requireFields(t reflect.Type, s *jsonschema.Schema, defs jsonschema.Definitions, seen map[*jsonschema.Schema]bool) {
	if s.Properties == nil {
		return // a type with its own schema, such as time.Time
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		if name == "" && f.Anonymous {
			embedded := f.Type
			if embedded.Kind() == reflect.Pointer {
				embedded = embedded.Elem()
			}
			requireFields(embedded, s, defs, seen) // promoted to this object
			continue
		}
		prop, ok := s.Properties.Get(name)
		if !ok {
			continue
		}
		if requiredByRules(f.Tag.Get("validate")) && !slices.Contains(s.Required, name) {
			s.Required = append(s.Required, name)
		}
		requireFromRules(f.Type, prop, defs, seen)
	}
}

// requiredByRules reports whether a `validate` tag requires the field
// itself, rather than the elements after "dive".
func requiredByRules(tag string) bool {
	for rule := range strings.SplitSeq(tag, ",") {
		switch rule {
		case "dive":
			return false
		case "required":
			return true
		}
	}
	return false
}
