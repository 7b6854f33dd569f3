package schema

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Schema is one node of a JSON Schema document, read through the keywords
// that examples, comparisons and field tables need. References ("$ref")
// resolve within the document: "#/$defs/...", "#/definitions/...", "#" and
// any other local JSON pointer.
type Schema struct {
	root any
	node any // Object, or bool for the schemas true and false
}

// maxRefs bounds a chain of references, so that a cycle of $refs ends.
const maxRefs = 32

// Parse reads a JSON Schema document.
func Parse(data []byte) (*Schema, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return FromValue(v)
}

// FromValue makes a schema of a decoded document, such as one that embeds
// schemas (an AsyncAPI document), whose references resolve within it.
func FromValue(root any) (*Schema, error) {
	switch root.(type) {
	case Object, bool:
		return &Schema{root: root, node: root}, nil
	}
	return nil, fmt.Errorf("a schema must be a JSON object or a boolean, not %s", kindOf(root))
}

// At returns the schema at a JSON pointer of s's document, or nil.
func (s *Schema) At(pointer string) *Schema {
	v, ok := Pointer(s.root, pointer)
	if !ok {
		return nil
	}
	switch v.(type) {
	case Object, bool:
		return &Schema{root: s.root, node: v}
	}
	return nil
}

// Value returns the schema's node as decoded.
func (s *Schema) Value() any { return s.node }

// Resolve follows s's references and returns the schema they lead to. It
// fails on a reference outside the document, one that leads nowhere, or a
// cycle of references.
func (s *Schema) Resolve() (*Schema, error) {
	cur := s
	for range maxRefs {
		ref, ok := cur.str("$ref")
		if !ok {
			return cur, nil
		}
		pointer, local := strings.CutPrefix(ref, "#")
		if !local {
			return nil, fmt.Errorf("reference %q is outside the schema", ref)
		}
		next := cur.At(pointer)
		if next == nil {
			return nil, fmt.Errorf("reference %q leads nowhere", ref)
		}
		cur = next
	}
	return nil, fmt.Errorf("more than %d references in a row, a cycle?", maxRefs)
}

// Ref returns the schema's reference, if it is one.
func (s *Schema) Ref() string {
	ref, _ := s.str("$ref")
	return ref
}

// Never reports the schema false, which no value matches.
func (s *Schema) Never() bool { b, ok := s.node.(bool); return ok && !b }

func (s *Schema) get(name string) (any, bool) {
	obj, ok := s.node.(Object)
	if !ok {
		return nil, false
	}
	return obj.Get(name)
}

func (s *Schema) str(name string) (string, bool) {
	v, ok := s.get(name)
	str, isStr := v.(string)
	return str, ok && isStr
}

func (s *Schema) sub(v any) *Schema {
	switch v.(type) {
	case Object, bool:
		return &Schema{root: s.root, node: v}
	}
	return nil
}

// Types returns the JSON types the schema allows ("string", "integer", ...);
// none means any, or that the other keywords decide.
func (s *Schema) Types() []string {
	v, _ := s.get("type")
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	if _, ok := s.get("properties"); ok {
		return []string{"object"}
	}
	return nil
}

// Property is one declared property of an object schema.
type Property struct {
	Name   string
	Schema *Schema
}

// Properties returns the declared properties, in document order.
func (s *Schema) Properties() []Property {
	v, _ := s.get("properties")
	obj, _ := v.(Object)
	out := make([]Property, 0, len(obj))
	for _, m := range obj {
		if sub := s.sub(m.Value); sub != nil {
			out = append(out, Property{m.Name, sub})
		}
	}
	return out
}

// Property returns the declared property name, or nil.
func (s *Schema) Property(name string) *Schema {
	for _, p := range s.Properties() {
		if p.Name == name {
			return p.Schema
		}
	}
	return nil
}

// Required returns the names of the required properties.
func (s *Schema) Required() []string { return s.strings("required") }

func (s *Schema) strings(name string) []string {
	v, _ := s.get(name)
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if str, ok := e.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// IsRequired reports whether the property name is required.
func (s *Schema) IsRequired(name string) bool {
	for _, r := range s.Required() {
		if r == name {
			return true
		}
	}
	return false
}

// Additional returns the schema of properties beyond the declared ones: nil
// when they may be anything, a false schema when there may be none.
func (s *Schema) Additional() *Schema {
	v, _ := s.get("additionalProperties")
	return s.sub(v)
}

// Items returns the schema of an array's items, or nil for any.
func (s *Schema) Items() *Schema {
	v, _ := s.get("items")
	return s.sub(v)
}

// Enum returns the allowed values, if the schema lists them.
func (s *Schema) Enum() ([]any, bool) {
	v, ok := s.get("enum")
	list, isList := v.([]any)
	return list, ok && isList
}

// Const returns the one allowed value, if the schema has one.
func (s *Schema) Const() (any, bool) { return s.get("const") }

// Number returns a numeric keyword, such as "minimum".
func (s *Schema) Number(name string) (float64, bool) {
	v, _ := s.get(name)
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

// Count returns a non-negative integer keyword, such as "minLength".
func (s *Schema) Count(name string) (int, bool) {
	f, ok := s.Number(name)
	if !ok || f < 0 || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

// Text returns a string keyword: "format", "pattern", "description",
// "title".
func (s *Schema) Text(name string) string {
	str, _ := s.str(name)
	return str
}

// Examples returns the values of the "examples" keyword.
func (s *Schema) Examples() []any {
	v, _ := s.get("examples")
	list, _ := v.([]any)
	return list
}

// Branches returns the schemas of a combining keyword: "anyOf", "oneOf" or
// "allOf".
func (s *Schema) Branches(keyword string) []*Schema {
	v, _ := s.get(keyword)
	list, _ := v.([]any)
	var out []*Schema
	for _, e := range list {
		if sub := s.sub(e); sub != nil {
			out = append(out, sub)
		}
	}
	return out
}

// kindOf names the JSON type of a decoded value.
func kindOf(v any) string {
	switch n := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := n.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case Object:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
