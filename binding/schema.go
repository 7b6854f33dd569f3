package binding

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

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
	return schemaMetadata(reflect.TypeFor[In](), reflect.TypeFor[Out](), newConfig(opts))
}

func schemaMetadata(in, out reflect.Type, c *config) map[string]string {
	return map[string]string{
		RequestSchemaKey:  schemaOf(in, !c.strict),
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
		rules := fieldRules(f.Tag.Get("validate"))
		if slices.Contains(rules, "required") && !slices.Contains(s.Required, name) {
			s.Required = append(s.Required, name)
		}
		constrain(prop, f.Type, rules)
		requireFromRules(f.Type, prop, defs, seen)
	}
}

// fieldRules returns the rules of a `validate` tag that apply to the field
// itself, those before "dive" (which apply to its elements).
func fieldRules(tag string) []string {
	var rules []string
	for rule := range strings.SplitSeq(tag, ",") {
		if rule == "dive" {
			break
		}
		if rule != "" {
			rules = append(rules, rule)
		}
	}
	return rules
}

// constrain carries the bounds of a field's rules into its schema, so that
// INFO shows them: min, max, gte, lte, gt, lt and len as minimum and maximum
// for numbers, lengths for strings and counts for slices and maps; oneof as
// an enum; email, url, uuid and datetime (with an RFC 3339 or date-only
// layout) as formats, unless a jsonschema tag set one. Other rules are only
// checked, not published.
func constrain(prop *jsonschema.Schema, t reflect.Type, rules []string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for _, rule := range rules {
		name, param, _ := strings.Cut(rule, "=")
		switch name {
		case "email", "url", "uuid", "datetime":
			if prop.Format == "" { // a jsonschema tag's format wins
				prop.Format = formatOf(name, param)
			}
		case "oneof":
			for v := range strings.FieldsSeq(param) {
				prop.Enum = append(prop.Enum, v)
			}
		case "min", "max", "gte", "lte", "gt", "lt", "len":
			schemaBound(prop, t.Kind(), name, param)
		}
	}
}

// formatOf returns the JSON Schema format of a validation rule: email, uri,
// uuid, or for datetime the format its layout matches (date-time for RFC
// 3339, date for 2006-01-02), "" for another layout.
func formatOf(rule, layout string) string {
	switch rule {
	case "email":
		return "email"
	case "url":
		return "uri"
	case "uuid":
		return "uuid"
	}
	switch layout {
	case time.RFC3339, time.RFC3339Nano:
		return "date-time"
	case time.DateOnly:
		return "date"
	}
	return ""
}

// schemaBound sets one numeric bound on prop for a field of the given kind.
func schemaBound(prop *jsonschema.Schema, kind reflect.Kind, rule, param string) {
	switch kind {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		n, err := strconv.ParseUint(param, 10, 64)
		if err != nil {
			return
		}
		lower, upper := &prop.MinLength, &prop.MaxLength
		switch kind {
		case reflect.Slice, reflect.Array:
			lower, upper = &prop.MinItems, &prop.MaxItems
		case reflect.Map:
			lower, upper = &prop.MinProperties, &prop.MaxProperties
		}
		switch rule {
		case "min", "gte":
			*lower = &n
		case "max", "lte":
			*upper = &n
		case "len":
			*lower, *upper = &n, &n
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(param, 64); err != nil {
			return
		}
		v := json.Number(param)
		switch rule {
		case "min", "gte":
			prop.Minimum = v
		case "max", "lte":
			prop.Maximum = v
		case "gt":
			prop.ExclusiveMinimum = v
		case "lt":
			prop.ExclusiveMaximum = v
		case "len":
			prop.Minimum, prop.Maximum = v, v
		}
	}
}
